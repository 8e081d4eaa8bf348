//! Fuzzes the pure helpers of engineio-core's `http` module with arbitrary strings and bytes:
//! query parsing (`is_handshake`, `requested_transport`, `ConnectRequest::query`), the CORS
//! decision, its headers and preflight, the session cookie and the client's cookie jar,
//! `Accept-Encoding` negotiation and compression, static-file resolution, client URLs and
//! mount paths, and upgrade detection.
//!
//! Asserts, beyond "no panic": a CORS decision only ever echoes the one `Origin` the request
//! carries (and one the policy lists); a cookie is a valid header whose value holds only
//! cookie octets; a negotiated encoding round-trips through the matching decoder; a resolved
//! static file is a configured file or a plain path inside a configured directory (never
//! `..`, never elsewhere); a parsed client URL gives a `/…/` path and a `ws[s]://` URL.
#![no_main]

use std::io::Read;
use std::path::{Component, PathBuf};

use arbitrary::Arbitrary;
use engineio_core::http::client::RequestHeaders;
use engineio_core::http::compression::{self, Encoding};
use engineio_core::http::cors::{self, CorsDecision, CorsOrigins};
use engineio_core::http::options::normalise_path;
use engineio_core::http::url::{normalize_path, Target};
use engineio_core::http::{request, response, static_files};
use engineio_core::http::{ConnectRequest, Cookie, HttpOptions, SameSite, StaticFiles};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Op {
    Query {
        query: String,
        key: String,
    },
    Cors {
        policy: u8,
        list: Vec<String>,
        origins: Vec<Vec<u8>>,
        host: Option<Vec<u8>>,
        forwarded_host: Option<Vec<u8>>,
        forwarded_proto: Option<Vec<u8>>,
        requested: Vec<Vec<u8>>,
        secure: bool,
        credentials: bool,
    },
    Cookie {
        name: String,
        path: Option<String>,
        domain: Option<String>,
        http_only: bool,
        secure: bool,
        same_site: u8,
        max_age: Option<u32>,
        sid: String,
    },
    Jar {
        set_cookies: Vec<Vec<u8>>,
        own: Option<Vec<u8>>,
    },
    AcceptEncoding {
        value: Vec<u8>,
        body: Vec<u8>,
    },
    Static {
        entries: Vec<(String, bool)>,
        default_file: Option<String>,
        url: String,
    },
    Url {
        url: String,
        path: String,
        query: String,
    },
    Upgrade {
        headers: Vec<(u8, Vec<u8>)>,
    },
    EnginePath {
        mount: String,
        path: String,
    },
}

fuzz_target!(|ops: Vec<Op>| {
    for op in ops {
        match op {
            Op::Query { query, key } => query_op(&query, &key),
            Op::Cors {
                policy,
                list,
                origins,
                host,
                forwarded_host,
                forwarded_proto,
                requested,
                secure,
                credentials,
            } => {
                let mut headers = HeaderMap::new();
                for origin in &origins {
                    append(&mut headers, header::ORIGIN, origin);
                }
                for (name, value) in [
                    ("host", host),
                    ("x-forwarded-host", forwarded_host),
                    ("x-forwarded-proto", forwarded_proto),
                ] {
                    if let Some(value) = value {
                        append(&mut headers, HeaderName::from_static(name), &value);
                    }
                }
                for value in &requested {
                    append(&mut headers, header::ACCESS_CONTROL_REQUEST_HEADERS, value);
                }
                let policy = match policy % 4 {
                    0 => CorsOrigins::SameOrigin,
                    1 => CorsOrigins::Any,
                    2 => CorsOrigins::List(list),
                    _ => CorsOrigins::Off,
                };
                cors_op(&policy, &headers, secure, credentials);
            }
            Op::Cookie {
                name,
                path,
                domain,
                http_only,
                secure,
                same_site,
                max_age,
                sid,
            } => {
                let cookie = Cookie {
                    name,
                    path,
                    domain,
                    http_only,
                    secure,
                    same_site: [
                        None,
                        Some(SameSite::Strict),
                        Some(SameSite::Lax),
                        Some(SameSite::None),
                    ][usize::from(same_site % 4)],
                    max_age: max_age.map(|secs| std::time::Duration::from_secs(secs.into())),
                };
                cookie_op(&cookie, &sid);
            }
            Op::Jar { set_cookies, own } => jar_op(&set_cookies, own.as_deref()),
            Op::AcceptEncoding { value, body } => encoding_op(&value, &body),
            Op::Static {
                entries,
                default_file,
                url,
            } => static_op(&entries, default_file, &url),
            Op::Url { url, path, query } => url_op(&url, &path, &query),
            Op::Upgrade { headers } => {
                let names = [
                    header::UPGRADE,
                    header::CONNECTION,
                    header::SEC_WEBSOCKET_KEY,
                    header::SEC_WEBSOCKET_VERSION,
                    header::ORIGIN,
                ];
                let mut map = HeaderMap::new();
                for (name, value) in &headers {
                    append(&mut map, names[usize::from(name % 5)].clone(), value);
                }
                if request::is_upgrade_request(&map) {
                    assert!(map.contains_key(header::SEC_WEBSOCKET_KEY));
                    assert!(map[header::SEC_WEBSOCKET_VERSION] == "13");
                    // A refusal of such a request is the plain kind.
                    let refused = response::origin_refused(&map);
                    assert_eq!(refused.status(), 403);
                    assert_eq!(refused.headers()[header::CONNECTION], "close");
                }
            }
            Op::EnginePath { mount, path } => {
                let options = HttpOptions {
                    path: normalise_path(&mount),
                    ..HttpOptions::default()
                };
                assert!(options.path.starts_with('/') && options.path.ends_with('/'));
                if options.is_engine_path(&path) {
                    assert!(path == options.path || format!("{path}/") == options.path);
                }
            }
        }
    }
});

fn append(headers: &mut HeaderMap, name: HeaderName, value: &[u8]) {
    if let Ok(value) = HeaderValue::from_bytes(value) {
        headers.append(name, value);
    }
}

fn query_op(query: &str, key: &str) {
    let has_sid = query_values(query, "sid").next().is_some();
    assert_eq!(request::is_handshake(query), !has_sid);
    let _ = request::requested_transport(query);
    let Ok(uri) = format!("/engine.io/?{query}").parse::<http::Uri>() else {
        return;
    };
    let headers = HeaderMap::new();
    let method = http::Method::GET;
    let seen = uri.query().unwrap_or("");
    match ConnectRequest::for_handshake(&method, &uri, &headers, None, seen) {
        Some(info) => {
            assert_eq!(info.transport, request::requested_transport(seen));
            assert_eq!(info.query(key), query_values(seen, key).next());
        }
        None => assert!(!request::is_handshake(seen)),
    }
}

/// The percent-decoded values of `key` in `query`, as `form_urlencoded` reads them.
fn query_values<'a>(query: &'a str, key: &'a str) -> impl Iterator<Item = String> + 'a {
    form_urlencoded::parse(query.as_bytes())
        .filter(move |(name, _)| name == key)
        .map(|(_, value)| value.into_owned())
}

fn cors_op(policy: &CorsOrigins, headers: &HeaderMap, secure: bool, credentials: bool) {
    let decision = cors::check(policy, headers, secure);
    let origins: Vec<&HeaderValue> = headers.get_all(header::ORIGIN).iter().collect();
    match &decision {
        CorsDecision::Off => assert_eq!(*policy, CorsOrigins::Off),
        CorsDecision::NoOrigin => assert!(origins.is_empty()),
        CorsDecision::Allowed(echoed) => {
            assert_eq!(origins, [echoed], "only the request's one origin is echoed");
            if let CorsOrigins::List(list) = policy {
                assert!(list.iter().any(|o| o.as_bytes() == echoed.as_bytes()));
            }
        }
        CorsDecision::Rejected => assert!(!origins.is_empty()),
    }
    let mut out = HeaderMap::new();
    cors::apply(&decision, credentials, &mut out);
    match &decision {
        CorsDecision::Allowed(echoed) => {
            assert_eq!(&out[header::ACCESS_CONTROL_ALLOW_ORIGIN], echoed);
            assert_eq!(
                out.contains_key(header::ACCESS_CONTROL_ALLOW_CREDENTIALS),
                credentials
            );
        }
        _ => assert!(out.is_empty(), "CORS headers for {decision:?}"),
    }
    let preflight = cors::preflight(&decision, credentials, headers);
    let expected = if decision == CorsDecision::Rejected {
        403
    } else {
        204
    };
    assert_eq!(preflight.status().as_u16(), expected);
    if decision == CorsDecision::Rejected {
        assert!(!preflight
            .headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
        assert_eq!(response::origin_refused(headers).status(), 403);
    }
}

fn cookie_op(cookie: &Cookie, sid: &str) {
    let value = engineio_core::http::cookie::set_cookie(cookie, sid);
    let text = value.to_str().expect("a cookie header is visible ASCII");
    let pair = text.split("; ").next().unwrap_or_default();
    let (name, val) = pair.split_once('=').expect("name=value first");
    assert!(name == cookie.name || name == "io", "cookie name {name:?}");
    let octet = |b: u8| matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e);
    assert!(val.bytes().all(octet), "cookie value {val:?}");
}

fn jar_op(set_cookies: &[Vec<u8>], own: Option<&[u8]>) {
    let jar = RequestHeaders::new(HeaderMap::new());
    let mut response = HeaderMap::new();
    for value in set_cookies {
        append(&mut response, header::SET_COOKIE, value);
    }
    jar.store_cookies(&response);
    let mut request = HeaderMap::new();
    if let Some(own) = own {
        append(&mut request, header::COOKIE, own);
    }
    jar.add_to(&mut request);
    if let Some(line) = request.get(header::COOKIE).and_then(|v| v.to_str().ok()) {
        // The application's own cookies, then at most 32 kept from the server.
        let own_pairs = own.map_or(0, |own| own.split(|b| *b == b';').count());
        assert!(
            line.split("; ").count() <= own_pairs + 32 + 1,
            "cookie line {line:?}"
        );
    }
}

fn encoding_op(value: &[u8], body: &[u8]) {
    assert_eq!(compression::negotiate(None), None);
    let Ok(value) = HeaderValue::from_bytes(value) else {
        return;
    };
    let Some(encoding) = compression::negotiate(Some(&value)) else {
        return;
    };
    let lower = String::from_utf8_lossy(value.as_bytes()).to_ascii_lowercase();
    let named = match encoding {
        Encoding::Gzip => lower.contains("gzip"),
        Encoding::Deflate => lower.contains("deflate"),
    };
    assert!(named || lower.contains('*'), "{encoding:?} from {lower:?}");
    let compressed = compression::compress(encoding, body);
    let mut round = Vec::new();
    match encoding {
        Encoding::Gzip => flate2::read::GzDecoder::new(&compressed[..]).read_to_end(&mut round),
        Encoding::Deflate => {
            flate2::read::ZlibDecoder::new(&compressed[..]).read_to_end(&mut round)
        }
    }
    .expect("our own compression decodes");
    assert_eq!(round, body);
}

fn static_op(entries: &[(String, bool)], default_file: Option<String>, url: &str) {
    let mut files = StaticFiles::new();
    let mut file_paths = Vec::new();
    let mut dirs = Vec::new();
    for (i, (url, is_dir)) in entries.iter().take(6).enumerate() {
        if *is_dir {
            let dir = PathBuf::from(format!("/srv/fuzz/dir{i}"));
            files = files.dir(url.clone(), dir.clone());
            dirs.push(dir);
        } else {
            let file = PathBuf::from(format!("/srv/fuzz/file{i}.html"));
            files = files.file(url.clone(), file.clone());
            file_paths.push(file);
        }
    }
    if let Some(name) = default_file {
        files = files.default_file(name);
    }
    let Some(resolved) = static_files::resolve(&files, url) else {
        return;
    };
    assert!(
        !resolved
            .path
            .components()
            .any(|c| c == Component::ParentDir),
        "{url:?} resolved to {:?}",
        resolved.path
    );
    let inside = file_paths.contains(&resolved.path)
        || dirs.iter().any(|dir| {
            // The directory itself (an empty default file name) is inside too; reading it
            // answers 404.
            resolved
                .path
                .strip_prefix(dir)
                .is_ok_and(|tail| tail.components().all(|c| matches!(c, Component::Normal(_))))
        });
    assert!(inside, "{url:?} escaped to {:?}", resolved.path);
}

fn url_op(url: &str, path: &str, query: &str) {
    let normalized = normalize_path(path);
    assert!(normalized.starts_with('/') && normalized.ends_with('/'));
    let Ok(target) = Target::parse(url, path) else {
        return;
    };
    assert_eq!(target.path, normalized);
    assert!(!target.host.is_empty());
    assert!(target.request_target(query).starts_with(&target.path));
    let ws = target.websocket_url(query);
    let scheme = if target.secure { "wss://" } else { "ws://" };
    assert!(ws.starts_with(scheme), "{ws}");
}
