//! Cross-origin policy for the polling endpoint and the WebSocket upgrade.
//!
//! Browsers let any page open a WebSocket to any host and send "simple" cross-origin polling
//! requests. Without an origin check, a hostile page can use a visitor's cookies against the
//! server (cross-site WebSocket hijacking). Following python-engineio, the default is therefore
//! **same origin**, and a request whose `Origin` is not accepted is actively refused with `403`
//! (the JS server only omits the CORS headers and leaves enforcement to the browser, which does
//! nothing for WebSockets).
//!
//! The rules that this module implements, so that they apply identically to polling and to the
//! WebSocket upgrade:
//!
//! * A request **without** an `Origin` header is never rejected: it comes from a non-browser
//!   client, which CORS does not constrain (python-engineio#131 crashed on exactly this).
//! * `Origin: null` is an ordinary value: rejected unless listed or the policy is [`CorsOrigins::Any`].
//! * A non-UTF-8 or malformed `Origin` is rejected, unless the policy is [`CorsOrigins::Off`].
//! * A rejection never echoes the origin and carries no CORS header (engine.io PR#452).
//!
//! Everything here is pure: the caller decides with [`check`], decorates its response with
//! [`apply`], answers preflights with [`preflight`] and refusals with [`rejected`].

use bytes::Bytes;
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_REQUEST_HEADERS, CONTENT_TYPE, HOST, ORIGIN, VARY,
};
use http::{HeaderMap, HeaderValue, Response, StatusCode};

/// Which cross-origin requests the server accepts (python-engineio's `cors_allowed_origins`).
///
/// The policy applies to polling requests and to WebSocket upgrades alike. Requests without an
/// `Origin` header (non-browser clients) are always accepted, whatever the policy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CorsOrigins {
    /// Only the server's own origin (scheme://host of the request, honouring X-Forwarded-Proto
    /// and X-Forwarded-Host). The default.
    ///
    /// Use it when the page that runs the client is served by the same host (or through the
    /// same reverse proxy) as the Engine.IO endpoint.
    #[default]
    SameOrigin,
    /// Any origin ('*'); the request's origin is echoed back.
    ///
    /// Use it for public endpoints that carry no ambient credentials; with credentials enabled,
    /// any web page can act on behalf of a visitor.
    Any,
    /// Exactly these origins (compared exactly, e.g. `"https://example.com"`).
    ///
    /// Use it when the client pages live on other, known hosts. Entries are compared byte for
    /// byte with the `Origin` header: no trailing slash, no path, default ports omitted.
    List(Vec<String>),
    /// No CORS handling at all: no headers added, nothing rejected.
    ///
    /// Use it when a framework layer in front of the server (for example a tower `CorsLayer`)
    /// already handles CORS.
    Off,
}

/// What [`check`] concluded about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsDecision {
    /// The request has no `Origin` header: not a cross-origin browser request; accept it and add
    /// no CORS headers.
    NoOrigin,
    /// The policy is [`CorsOrigins::Off`]: accept it and add no CORS headers.
    Off,
    /// The origin is accepted; the value is the origin to echo in Access-Control-Allow-Origin.
    Allowed(HeaderValue),
    /// The origin is not accepted: answer with [`rejected`].
    Rejected,
}

/// Decides whether a request is acceptable under `policy`.
///
/// `secure` tells whether the connection itself is TLS; it gives the default scheme (`https`
/// rather than `http`) when computing the server's own origin for [`CorsOrigins::SameOrigin`]
/// and there is no `X-Forwarded-Proto`. The server's host comes from `X-Forwarded-Host` (first
/// value) or else `Host`; with neither (e.g. an HTTP/2 request whose authority the caller did not
/// copy into `Host`), a same-origin check cannot succeed and the request is rejected.
pub fn check(policy: &CorsOrigins, headers: &HeaderMap, secure: bool) -> CorsDecision {
    if *policy == CorsOrigins::Off {
        return CorsDecision::Off;
    }
    let mut origins = headers.get_all(ORIGIN).iter();
    let Some(origin) = origins.next() else {
        return CorsDecision::NoOrigin;
    };
    if origins.next().is_some() {
        // Several Origin headers: a browser never does this.
        return CorsDecision::Rejected;
    }
    let Some(parsed) = origin.to_str().ok().and_then(parse_origin) else {
        return CorsDecision::Rejected;
    };
    let allowed = match policy {
        CorsOrigins::Off | CorsOrigins::Any => true,
        CorsOrigins::List(list) => list.iter().any(|o| o.as_bytes() == origin.as_bytes()),
        CorsOrigins::SameOrigin => match (parsed, own_origin(headers, secure)) {
            (ParsedOrigin::Tuple(theirs), Some(own)) => theirs.same_as(&own.as_tuple()),
            _ => false,
        },
    };
    if allowed {
        CorsDecision::Allowed(origin.clone())
    } else {
        CorsDecision::Rejected
    }
}

/// Adds Access-Control-Allow-Origin (echoed origin), Vary: Origin, and
/// Access-Control-Allow-Credentials: true when `credentials`, for Allowed only.
pub fn apply(decision: &CorsDecision, credentials: bool, headers: &mut HeaderMap) {
    let CorsDecision::Allowed(origin) = decision else {
        return;
    };
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    add_vary(headers, "Origin");
    if credentials {
        headers.insert(
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

/// The answer to a preflight OPTIONS: 204 with the `apply` headers plus
/// Access-Control-Allow-Methods: OPTIONS, GET, POST and Access-Control-Allow-Headers echoing
/// Access-Control-Request-Headers (if any); for Rejected, the `rejected()` response.
///
/// For `NoOrigin` and `Off` the answer is a bare 204: there is no origin to grant anything to.
pub fn preflight(
    decision: &CorsDecision,
    credentials: bool,
    request: &HeaderMap,
) -> Response<Bytes> {
    if *decision == CorsDecision::Rejected {
        return rejected();
    }
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    if let CorsDecision::Allowed(_) = decision {
        let headers = response.headers_mut();
        apply(decision, credentials, headers);
        headers.insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("OPTIONS, GET, POST"),
        );
        if let Some(requested) = requested_headers(request) {
            headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, requested);
        }
        add_vary(headers, "Access-Control-Request-Headers");
    }
    response
}

/// The body of [`rejected`]: Engine.IO error code 4 ("Forbidden").
const REJECTED_BODY: &str = r#"{"code":4,"message":"Not an accepted origin"}"#;

/// 403, Content-Type application/json, body {"code":4,"message":"Not an accepted origin"}, no
/// CORS headers (never echo a rejected origin).
pub fn rejected() -> Response<Bytes> {
    let mut response = Response::new(Bytes::from_static(REJECTED_BODY.as_bytes()));
    *response.status_mut() = StatusCode::FORBIDDEN;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// An origin in the RFC 6454 serialisation: `scheme://host[:port]`, or the opaque `null`.
enum ParsedOrigin<'a> {
    Null,
    Tuple(OriginTuple<'a>),
}

/// The parts of a `scheme://host[:port]` origin, as they appear in the text.
struct OriginTuple<'a> {
    scheme: &'a str,
    host: &'a str,
    port: Option<&'a str>,
}

impl OriginTuple<'_> {
    /// The port, with the scheme's default port treated as absent.
    fn effective_port(&self) -> Option<&str> {
        let default =
            if self.scheme.eq_ignore_ascii_case("http") || self.scheme.eq_ignore_ascii_case("ws") {
                Some("80")
            } else if self.scheme.eq_ignore_ascii_case("https")
                || self.scheme.eq_ignore_ascii_case("wss")
            {
                Some("443")
            } else {
                None
            };
        match self.port {
            Some(p) if Some(p) == default => None,
            other => other,
        }
    }

    /// Same scheme and host (case-insensitively) and same port (default ports elided).
    fn same_as(&self, other: &OriginTuple<'_>) -> bool {
        self.scheme.eq_ignore_ascii_case(other.scheme)
            && self.host.eq_ignore_ascii_case(other.host)
            && self.effective_port() == other.effective_port()
    }
}

/// Parses an `Origin` header value; `None` when malformed.
fn parse_origin(value: &str) -> Option<ParsedOrigin<'_>> {
    if value == "null" {
        return Some(ParsedOrigin::Null);
    }
    let (scheme, authority) = value.split_once("://")?;
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) {
        return None;
    }
    let (host, port) = split_authority(authority)?;
    Some(ParsedOrigin::Tuple(OriginTuple { scheme, host, port }))
}

/// Splits `host[:port]` (host may be a bracketed IPv6 literal); `None` when malformed.
fn split_authority(authority: &str) -> Option<(&str, Option<&str>)> {
    let (host, port, host_ok) = if let Some(inner) = authority.strip_prefix('[') {
        // An IPv6 literal: `[hex:digits:and.dots]`.
        let (literal, rest) = inner.split_once(']')?;
        let port = match rest {
            "" => None,
            _ => Some(rest.strip_prefix(':')?),
        };
        let ok = !literal.is_empty()
            && literal
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.'));
        (&authority[..literal.len() + 2], port, ok)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        let ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
        (host, port, ok)
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    (host_ok && port_ok).then_some((host, port))
}

/// The first comma-separated value of a header, trimmed; `None` when absent, empty or not UTF-8.
fn first_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?;
    let first = value.split(',').next()?.trim();
    (!first.is_empty()).then(|| first.to_owned())
}

/// The server's own origin as seen by the client: `<scheme>://<host>`.
fn own_origin(headers: &HeaderMap, secure: bool) -> Option<OwnedOrigin> {
    let host = first_value(headers, "x-forwarded-host").or_else(|| {
        headers
            .get(HOST)?
            .to_str()
            .ok()
            .map(|h| h.trim().to_owned())
    })?;
    let scheme = first_value(headers, "x-forwarded-proto")
        .unwrap_or_else(|| if secure { "https" } else { "http" }.to_owned());
    let (h, p) = split_authority(&host)?;
    Some(OwnedOrigin {
        scheme,
        host: h.to_owned(),
        port: p.map(str::to_owned),
    })
}

/// An owned [`OriginTuple`], computed from the request headers.
struct OwnedOrigin {
    scheme: String,
    host: String,
    port: Option<String>,
}

impl OwnedOrigin {
    fn as_tuple(&self) -> OriginTuple<'_> {
        OriginTuple {
            scheme: &self.scheme,
            host: &self.host,
            port: self.port.as_deref(),
        }
    }
}

/// All Access-Control-Request-Headers values joined with ", ", if any.
fn requested_headers(request: &HeaderMap) -> Option<HeaderValue> {
    let mut values = request.get_all(ACCESS_CONTROL_REQUEST_HEADERS).iter();
    let first = values.next()?;
    let mut joined = first.as_bytes().to_vec();
    for value in values {
        joined.extend_from_slice(b", ");
        joined.extend_from_slice(value.as_bytes());
    }
    HeaderValue::from_bytes(&joined).ok()
}

/// Adds `token` to `Vary` unless some `Vary` value already lists it (or `*`).
fn add_vary(headers: &mut HeaderMap, token: &'static str) {
    let present = headers.get_all(VARY).iter().any(|v| {
        v.to_str().is_ok_and(|s| {
            s.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t.eq_ignore_ascii_case(token))
        })
    });
    if !present {
        headers.append(VARY, HeaderValue::from_static(token));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderName;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn allowed(origin: &str) -> CorsDecision {
        CorsDecision::Allowed(HeaderValue::from_str(origin).unwrap())
    }

    fn list() -> CorsOrigins {
        CorsOrigins::List(vec![
            "https://example.com".into(),
            "http://localhost:3000".into(),
        ])
    }

    fn body_bytes(response: Response<Bytes>) -> Bytes {
        response.into_body()
    }

    #[test]
    fn default_policy_is_same_origin() {
        assert_eq!(CorsOrigins::default(), CorsOrigins::SameOrigin);
    }

    #[test]
    fn no_origin_is_never_rejected() {
        let h = headers(&[("host", "example.com")]);
        for policy in [CorsOrigins::SameOrigin, CorsOrigins::Any, list()] {
            assert_eq!(
                check(&policy, &h, false),
                CorsDecision::NoOrigin,
                "{policy:?}"
            );
        }
        assert_eq!(check(&CorsOrigins::Off, &h, false), CorsDecision::Off);
        assert_eq!(
            check(&CorsOrigins::SameOrigin, &HeaderMap::new(), true),
            CorsDecision::NoOrigin
        );
    }

    #[test]
    fn off_accepts_everything() {
        for origin in ["https://evil.com", "null", "not an origin"] {
            let h = headers(&[("host", "example.com"), ("origin", origin)]);
            assert_eq!(check(&CorsOrigins::Off, &h, false), CorsDecision::Off);
        }
        let mut h = HeaderMap::new();
        h.insert(
            ORIGIN,
            HeaderValue::from_bytes(b"https://\xffx.com").unwrap(),
        );
        assert_eq!(check(&CorsOrigins::Off, &h, false), CorsDecision::Off);
    }

    #[test]
    fn same_origin_matching_and_not() {
        let policy = CorsOrigins::SameOrigin;
        let h = headers(&[("host", "example.com"), ("origin", "http://example.com")]);
        assert_eq!(check(&policy, &h, false), allowed("http://example.com"));
        // The connection is TLS: the expected scheme is https.
        assert_eq!(check(&policy, &h, true), CorsDecision::Rejected);
        let h = headers(&[("host", "example.com"), ("origin", "https://example.com")]);
        assert_eq!(check(&policy, &h, true), allowed("https://example.com"));
        assert_eq!(check(&policy, &h, false), CorsDecision::Rejected);
        let h = headers(&[("host", "example.com"), ("origin", "http://evil.com")]);
        assert_eq!(check(&policy, &h, false), CorsDecision::Rejected);
        let h = headers(&[
            ("host", "example.com:8080"),
            ("origin", "http://example.com"),
        ]);
        assert_eq!(check(&policy, &h, false), CorsDecision::Rejected);
        let h = headers(&[
            ("host", "example.com:8080"),
            ("origin", "http://example.com:8080"),
        ]);
        assert_eq!(
            check(&policy, &h, false),
            allowed("http://example.com:8080")
        );
    }

    #[test]
    fn same_origin_is_case_insensitive_and_ignores_default_ports() {
        let policy = CorsOrigins::SameOrigin;
        let h = headers(&[("host", "Example.COM"), ("origin", "HTTP://example.com")]);
        assert_eq!(check(&policy, &h, false), allowed("HTTP://example.com"));
        let h = headers(&[
            ("host", "example.com:443"),
            ("origin", "https://example.com"),
        ]);
        assert_eq!(check(&policy, &h, true), allowed("https://example.com"));
        let h = headers(&[("host", "example.com"), ("origin", "http://example.com:80")]);
        assert_eq!(check(&policy, &h, false), allowed("http://example.com:80"));
        let h = headers(&[("host", "[::1]:3000"), ("origin", "http://[::1]:3000")]);
        assert_eq!(check(&policy, &h, false), allowed("http://[::1]:3000"));
    }

    #[test]
    fn same_origin_honours_forwarded_headers() {
        let policy = CorsOrigins::SameOrigin;
        let h = headers(&[
            ("host", "backend:8000"),
            ("x-forwarded-host", "public.example.com, proxy.internal"),
            ("x-forwarded-proto", "https, http"),
            ("origin", "https://public.example.com"),
        ]);
        assert_eq!(
            check(&policy, &h, false),
            allowed("https://public.example.com")
        );
        // The forwarded host replaces Host.
        let h = headers(&[
            ("host", "backend:8000"),
            ("x-forwarded-host", "public.example.com"),
            ("origin", "http://backend:8000"),
        ]);
        assert_eq!(check(&policy, &h, false), CorsDecision::Rejected);
        // Only the scheme is forwarded.
        let h = headers(&[
            ("host", "example.com"),
            ("x-forwarded-proto", "https"),
            ("origin", "https://example.com"),
        ]);
        assert_eq!(check(&policy, &h, false), allowed("https://example.com"));
        let h = headers(&[
            ("host", "example.com"),
            ("x-forwarded-proto", "https"),
            ("origin", "http://example.com"),
        ]);
        assert_eq!(check(&policy, &h, false), CorsDecision::Rejected);
        // Only the host is forwarded; the scheme comes from `secure`.
        let h = headers(&[
            ("host", "backend"),
            ("x-forwarded-host", "example.com"),
            ("origin", "https://example.com"),
        ]);
        assert_eq!(check(&policy, &h, true), allowed("https://example.com"));
    }

    #[test]
    fn same_origin_without_host_rejects() {
        let h = headers(&[("origin", "http://example.com")]);
        assert_eq!(
            check(&CorsOrigins::SameOrigin, &h, false),
            CorsDecision::Rejected
        );
    }

    #[test]
    fn null_origin_is_an_ordinary_value() {
        let h = headers(&[("host", "example.com"), ("origin", "null")]);
        assert_eq!(
            check(&CorsOrigins::SameOrigin, &h, false),
            CorsDecision::Rejected
        );
        assert_eq!(check(&list(), &h, false), CorsDecision::Rejected);
        assert_eq!(check(&CorsOrigins::Any, &h, false), allowed("null"));
        let with_null = CorsOrigins::List(vec!["null".into()]);
        assert_eq!(check(&with_null, &h, false), allowed("null"));
    }

    #[test]
    fn any_echoes_the_origin() {
        let h = headers(&[
            ("host", "example.com"),
            ("origin", "https://other.org:8443"),
        ]);
        assert_eq!(
            check(&CorsOrigins::Any, &h, false),
            allowed("https://other.org:8443")
        );
        let h = headers(&[
            ("host", "example.com"),
            ("x-forwarded-host", "elsewhere"),
            ("origin", "http://example.com"),
        ]);
        assert_eq!(
            check(&CorsOrigins::Any, &h, false),
            allowed("http://example.com")
        );
    }

    #[test]
    fn list_compares_exactly() {
        let policy = list();
        let h = headers(&[("host", "example.com"), ("origin", "https://example.com")]);
        assert_eq!(check(&policy, &h, false), allowed("https://example.com"));
        let h = headers(&[("host", "example.com"), ("origin", "http://localhost:3000")]);
        assert_eq!(check(&policy, &h, false), allowed("http://localhost:3000"));
        for origin in [
            "http://example.com",
            "https://EXAMPLE.com",
            "https://example.com:443",
            "https://example.com.evil.org",
            "https://evil.org",
        ] {
            let h = headers(&[("host", "example.com"), ("origin", origin)]);
            assert_eq!(
                check(&policy, &h, false),
                CorsDecision::Rejected,
                "{origin}"
            );
        }
        // The list replaces same-origin: the server's own origin is not implied.
        let h = headers(&[("host", "myself.net"), ("origin", "http://myself.net")]);
        assert_eq!(check(&policy, &h, false), CorsDecision::Rejected);
        // Forwarded headers are irrelevant for a list.
        let h = headers(&[
            ("x-forwarded-host", "evil.org"),
            ("origin", "https://example.com"),
        ]);
        assert_eq!(check(&policy, &h, false), allowed("https://example.com"));
    }

    #[test]
    fn malformed_origins_are_rejected() {
        let mut h = headers(&[("host", "example.com")]);
        h.insert(
            ORIGIN,
            HeaderValue::from_bytes(b"http://ex\xe4mple.com").unwrap(),
        );
        for policy in [CorsOrigins::SameOrigin, CorsOrigins::Any, list()] {
            assert_eq!(
                check(&policy, &h, false),
                CorsDecision::Rejected,
                "{policy:?}"
            );
        }
        for origin in [
            "",
            "example.com",
            "http://",
            "http://example.com/",
            "http://example.com/path",
            "http://user@example.com",
            "http://example.com:",
            "http://example.com:port",
            "1http://example.com",
            "http://exa mple.com",
            "http://[::1",
            "http://[::1]x",
            "http://[]",
            "http://::1",
            "http://a:1:2",
            "http://[zz::1]",
        ] {
            let h = headers(&[("host", "example.com"), ("origin", origin)]);
            for policy in [CorsOrigins::SameOrigin, CorsOrigins::Any] {
                assert_eq!(
                    check(&policy, &h, false),
                    CorsDecision::Rejected,
                    "{origin:?}"
                );
            }
        }
        // Two Origin headers.
        let h = headers(&[
            ("host", "example.com"),
            ("origin", "http://example.com"),
            ("origin", "http://example.com"),
        ]);
        assert_eq!(check(&CorsOrigins::Any, &h, false), CorsDecision::Rejected);
    }

    #[test]
    fn apply_adds_headers_for_allowed_only() {
        let mut h = HeaderMap::new();
        apply(&allowed("https://example.com"), true, &mut h);
        assert_eq!(h[ACCESS_CONTROL_ALLOW_ORIGIN], "https://example.com");
        assert_eq!(h[VARY], "Origin");
        assert_eq!(h[ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        assert_eq!(h.len(), 3);

        let mut h = HeaderMap::new();
        apply(&allowed("https://example.com"), false, &mut h);
        assert_eq!(h[ACCESS_CONTROL_ALLOW_ORIGIN], "https://example.com");
        assert!(!h.contains_key(ACCESS_CONTROL_ALLOW_CREDENTIALS));

        for decision in [
            CorsDecision::NoOrigin,
            CorsDecision::Off,
            CorsDecision::Rejected,
        ] {
            let mut h = HeaderMap::new();
            apply(&decision, true, &mut h);
            assert!(h.is_empty(), "{decision:?}");
        }
    }

    #[test]
    fn apply_keeps_existing_vary() {
        let mut h = headers(&[("vary", "Accept-Encoding")]);
        apply(&allowed("https://example.com"), true, &mut h);
        let vary: Vec<_> = h.get_all(VARY).iter().collect();
        assert_eq!(vary, ["Accept-Encoding", "Origin"]);
        // Applying twice does not duplicate Vary: Origin.
        apply(&allowed("https://example.com"), true, &mut h);
        assert_eq!(h.get_all(VARY).iter().count(), 2);
    }

    #[test]
    fn preflight_with_request_headers() {
        let request = headers(&[
            ("origin", "https://example.com"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "content-type, x-token"),
        ]);
        let response = preflight(&allowed("https://example.com"), true, &request);
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let h = response.headers();
        assert_eq!(h[ACCESS_CONTROL_ALLOW_ORIGIN], "https://example.com");
        assert_eq!(h[ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        assert_eq!(h[ACCESS_CONTROL_ALLOW_METHODS], "OPTIONS, GET, POST");
        assert_eq!(h[ACCESS_CONTROL_ALLOW_HEADERS], "content-type, x-token");
        let vary: Vec<_> = h.get_all(VARY).iter().collect();
        assert_eq!(vary, ["Origin", "Access-Control-Request-Headers"]);
        assert!(body_bytes(response).is_empty());
    }

    #[test]
    fn preflight_joins_repeated_request_headers() {
        let request = headers(&[
            ("access-control-request-headers", "content-type"),
            ("access-control-request-headers", "x-token"),
        ]);
        let response = preflight(&allowed("https://example.com"), false, &request);
        assert_eq!(
            response.headers()[ACCESS_CONTROL_ALLOW_HEADERS],
            "content-type, x-token"
        );
        assert!(!response
            .headers()
            .contains_key(ACCESS_CONTROL_ALLOW_CREDENTIALS));
    }

    #[test]
    fn preflight_without_request_headers() {
        let request = headers(&[("origin", "https://example.com")]);
        let response = preflight(&allowed("https://example.com"), true, &request);
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            response.headers()[ACCESS_CONTROL_ALLOW_METHODS],
            "OPTIONS, GET, POST"
        );
        assert!(!response
            .headers()
            .contains_key(ACCESS_CONTROL_ALLOW_HEADERS));
    }

    #[test]
    fn preflight_without_origin_or_off_is_bare() {
        let request = headers(&[("access-control-request-headers", "x-token")]);
        for decision in [CorsDecision::NoOrigin, CorsDecision::Off] {
            let response = preflight(&decision, true, &request);
            assert_eq!(response.status(), StatusCode::NO_CONTENT);
            assert!(response.headers().is_empty(), "{decision:?}");
        }
    }

    #[test]
    fn preflight_rejected_is_the_rejection() {
        let request = headers(&[
            ("origin", "https://evil.org"),
            ("access-control-request-headers", "x-token"),
        ]);
        let response = preflight(&CorsDecision::Rejected, true, &request);
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(!response.headers().contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
        assert!(!response
            .headers()
            .contains_key(ACCESS_CONTROL_ALLOW_HEADERS));
        assert_eq!(body_bytes(response), REJECTED_BODY.as_bytes());
    }

    #[test]
    fn rejected_body_is_exact() {
        let response = rejected();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(response.headers().len(), 1);
        let body = body_bytes(response);
        assert_eq!(
            &body[..],
            br#"{"code":4,"message":"Not an accepted origin"}"#
        );
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": 4, "message": "Not an accepted origin"})
        );
    }
}
