//! What a server learns from a request head before the core sees it: the handshake request
//! handlers inspect ([`ConnectRequest`]), whether a request opens a session, and whether it
//! asks for a WebSocket. Shared by the async and the blocking servers.

use std::net::SocketAddr;

use http::header;

use crate::Transport;

/// The handshake request of a session: what `authorize` and `on_connect` handlers inspect
/// (python-engineio's `environ`).
#[derive(Debug, Clone)]
pub struct ConnectRequest {
    /// The HTTP method (always `GET` for a handshake).
    pub method: http::Method,
    /// The request URI, with the query string.
    pub uri: http::Uri,
    /// The request headers.
    pub headers: http::HeaderMap,
    /// The peer's address, when the server knows it (`serve` does; a mounted service may not).
    pub remote_addr: Option<SocketAddr>,
    /// The transport the session starts on.
    pub transport: Transport,
}

impl ConnectRequest {
    /// Returns the first value of the query parameter `key`, percent-decoded.
    ///
    /// Browsers cannot set headers on a WebSocket, so tokens often travel in the query.
    pub fn query(&self, key: &str) -> Option<String> {
        let query = self.uri.query()?;
        crate::query::pairs(query)
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.into_owned())
    }

    /// Returns a header's value as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// The handshake request for a request head, or `None` if the request is not a handshake
    /// (its `query` has a `sid`). The transport is the query's `transport` (polling when
    /// missing or unknown).
    ///
    /// The request owns its bytes: HTTP parsers (hyper) hand out header values and the URI
    /// as slices of the connection's read buffer, and a plain clone would keep that whole
    /// buffer (8 KiB in hyper) alive for as long as the request is kept.
    pub fn for_handshake(
        method: &http::Method,
        uri: &http::Uri,
        headers: &http::HeaderMap,
        remote_addr: Option<SocketAddr>,
        query: &str,
    ) -> Option<Self> {
        StoredRequest::for_handshake(method, uri, headers, remote_addr, query)
            .map(|stored| stored.to_request())
    }
}

/// A [`ConnectRequest`] packed for keeping beside a session for its whole life (what
/// `connect_request(sid)` answers from).
///
/// A `HeaderMap` costs about 100 bytes per header in slots and indices; here the names and
/// values sit back to back in one allocation, which cuts a browser's handshake (a dozen
/// headers) from ~1.5 KiB to its text. [`to_request`](Self::to_request) rebuilds the
/// request: a few small allocations, on the rare call that asks for it.
#[derive(Debug, Clone)]
pub struct StoredRequest {
    method: http::Method,
    /// The length of the request target at the start of `text`.
    uri_len: u32,
    /// The request target as it was written, then every header's name then value, back to
    /// back, in the request's order.
    text: Box<[u8]>,
    spans: Box<[HeaderSpan]>,
    remote_addr: Option<SocketAddr>,
    transport: Transport,
}

/// Where one header lies in [`StoredRequest::text`].
#[derive(Debug, Clone, Copy)]
struct HeaderSpan {
    name_len: u32,
    value_len: u32,
    sensitive: bool,
}

impl StoredRequest {
    /// Packs `request`.
    pub fn new(request: &ConnectRequest) -> Self {
        Self::for_transport(
            &request.method,
            &request.uri,
            &request.headers,
            request.remote_addr,
            request.transport,
        )
    }

    /// The handshake request for a request head, packed straight from it, or `None` if the
    /// request is not a handshake (the same test as [`ConnectRequest::for_handshake`]). A
    /// server that keeps only the packed form until a handler asks for the request skips the
    /// `HeaderMap` copy: a copied value and a parsed name per header, a sixth of a WebSocket
    /// session's set-up when measured.
    pub fn for_handshake(
        method: &http::Method,
        uri: &http::Uri,
        headers: &http::HeaderMap,
        remote_addr: Option<SocketAddr>,
        query: &str,
    ) -> Option<Self> {
        let transport = handshake_transport(query)?;
        Some(Self::for_transport(
            method,
            uri,
            headers,
            remote_addr,
            transport,
        ))
    }

    /// Packs the head of a request the core took as a handshake over `transport` (what
    /// [`Server::handle_request`](crate::server::Server::handle_request) returned for it).
    pub fn for_transport(
        method: &http::Method,
        uri: &http::Uri,
        headers: &http::HeaderMap,
        remote_addr: Option<SocketAddr>,
        transport: Transport,
    ) -> Self {
        // A server's request target is nearly always a path and query (origin form), kept
        // as written; any other form is written out whole.
        let written;
        let target = match (uri.scheme(), uri.authority(), uri.path_and_query()) {
            (None, None, Some(path)) => path.as_str(),
            _ => {
                written = uri.to_string();
                &written
            }
        };
        let size = target.len()
            + headers
                .iter()
                .map(|(name, value)| name.as_str().len() + value.len())
                .sum::<usize>();
        let mut text = Vec::with_capacity(size);
        text.extend_from_slice(target.as_bytes());
        let mut spans = Vec::with_capacity(headers.len());
        for (name, value) in headers {
            text.extend_from_slice(name.as_str().as_bytes());
            text.extend_from_slice(value.as_bytes());
            spans.push(HeaderSpan {
                // An HTTP parser bounds a header far below 4 GiB.
                name_len: u32::try_from(name.as_str().len()).unwrap_or(u32::MAX),
                value_len: u32::try_from(value.len()).unwrap_or(u32::MAX),
                sensitive: value.is_sensitive(),
            });
        }
        Self {
            method: method.clone(),
            // A parser bounds a request target far below 4 GiB too.
            uri_len: u32::try_from(target.len()).unwrap_or(u32::MAX),
            text: text.into_boxed_slice(),
            spans: spans.into_boxed_slice(),
            remote_addr,
            transport,
        }
    }

    /// The request as it was packed.
    pub fn to_request(&self) -> ConnectRequest {
        let mut headers = http::HeaderMap::with_capacity(self.spans.len());
        let (target, mut rest) = self.text.split_at(self.uri_len as usize);
        for span in self.spans.iter() {
            let (name, after) = rest.split_at(span.name_len as usize);
            let (value, after) = after.split_at(span.value_len as usize);
            rest = after;
            // Both were a valid name and value when packed.
            if let (Ok(name), Ok(mut value)) = (
                http::HeaderName::from_bytes(name),
                http::HeaderValue::from_bytes(value),
            ) {
                value.set_sensitive(span.sensitive);
                headers.append(name, value);
            }
        }
        ConnectRequest {
            method: self.method.clone(),
            // It was a valid target when packed.
            uri: http::Uri::from_maybe_shared(bytes::Bytes::copy_from_slice(target))
                .unwrap_or_default(),
            headers,
            remote_addr: self.remote_addr,
            transport: self.transport,
        }
    }
}

/// [`is_handshake`] and [`requested_transport`] in one pass over the query: `None` when it
/// has a `sid`, else the transport it asks for.
fn handshake_transport(query: &str) -> Option<Transport> {
    // Nearly every request carries its `sid` as written: finding it costs a scan for `&`,
    // where the decoding parse costs several times that.
    if has_plain_sid(query) {
        return None;
    }
    let mut transport = None;
    for (key, value) in crate::query::pairs(query) {
        if key == "sid" {
            return None;
        }
        if transport.is_none() && key == "transport" {
            transport = Some(Transport::from_query(&value).unwrap_or(Transport::Polling));
        }
    }
    Some(transport.unwrap_or(Transport::Polling))
}

/// True if a pair of `query` has the key `sid` as written (`sid=…`, or a bare `sid`). An
/// escaped key (`s%69d`) is not seen here; the decoding parse that follows finds it.
fn has_plain_sid(query: &str) -> bool {
    let bytes = query.as_bytes();
    std::iter::once(0)
        .chain(memchr::memchr_iter(b'&', bytes).map(|at| at + 1))
        .any(|start| {
            let pair = &bytes[start..];
            pair.starts_with(b"sid") && matches!(pair.get(3), None | Some(b'=' | b'&'))
        })
}

/// A request without a `sid` opens a session (if the core agrees).
pub fn is_handshake(query: &str) -> bool {
    !crate::query::pairs(query).any(|(key, _)| key == "sid")
}

/// The transport a query asks for (`transport=`), polling when missing or unknown.
pub fn requested_transport(query: &str) -> Transport {
    crate::query::pairs(query)
        .find(|(key, _)| key == "transport")
        .and_then(|(_, value)| Transport::from_query(&value))
        .unwrap_or(Transport::Polling)
}

/// True if the headers ask for a WebSocket (RFC 6455 §4.2.1: Upgrade, Connection, a key,
/// version 13). A request that fails this is, for the core, a plain GET.
pub fn is_upgrade_request(headers: &http::HeaderMap) -> bool {
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|value| {
            value
                .to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    has_token(header::UPGRADE, "websocket")
        && has_token(header::CONNECTION, "upgrade")
        && headers.contains_key(header::SEC_WEBSOCKET_KEY)
        && headers
            .get(header::SEC_WEBSOCKET_VERSION)
            .is_some_and(|v| v == "13")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// True if `part` lies inside `whole`'s memory.
    fn shares_memory(whole: &[u8], part: &[u8]) -> bool {
        let range = whole.as_ptr_range();
        range.contains(&part.as_ptr())
    }

    #[test]
    fn a_stored_request_gives_back_the_same_request() {
        let mut headers = http::HeaderMap::new();
        headers.append(header::HOST, "example.com".parse().unwrap());
        headers.append(header::COOKIE, "a=1".parse().unwrap());
        headers.append(header::COOKIE, "b=2".parse().unwrap());
        let mut secret = http::HeaderValue::from_static("Bearer t");
        secret.set_sensitive(true);
        headers.append(header::AUTHORIZATION, secret);
        // Bytes over 0x7f are allowed in values (obs-text).
        let value = http::HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap();
        headers.append("x-custom-name", value);
        headers.append("x-empty", http::HeaderValue::from_static(""));
        let request = ConnectRequest {
            method: http::Method::GET,
            uri: "/engine.io/?EIO=4&transport=polling&token=x"
                .parse()
                .unwrap(),
            headers,
            remote_addr: Some("127.0.0.1:4000".parse().unwrap()),
            transport: Transport::Polling,
        };
        let back = StoredRequest::new(&request).to_request();
        assert_eq!(back.method, request.method);
        assert_eq!(back.uri, request.uri);
        assert_eq!(back.headers, request.headers);
        let order = |r: &ConnectRequest| -> Vec<(String, Vec<u8>, bool)> {
            r.headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec(), v.is_sensitive()))
                .collect()
        };
        assert_eq!(order(&back), order(&request), "order and sensitivity kept");
        assert_eq!(back.remote_addr, request.remote_addr);
        assert_eq!(back.transport, request.transport);
        assert_eq!(back.query("token").as_deref(), Some("x"));
    }

    #[test]
    fn one_pass_agrees_with_the_two_helpers() {
        for query in [
            "",
            "EIO=4",
            "EIO=4&transport=polling",
            "EIO=4&transport=websocket&t=x",
            "transport=carrier-pigeon",
            "transport=websocket&transport=polling",
            "transport=polling&transport=websocket",
            "EIO=4&transport=websocket&sid=abc",
            "%73id=abc",
            "transport=websocket&sid",
            "tr%61nsport=websocket",
            "sid=abc&EIO=4",
            "sid",
            "sid&transport=websocket",
            "&&sid=",
            "sidx=abc&transport=websocket",
            "xsid=abc",
            "EIO=4&sids=1",
            "EIO=4&s%69d=1",
        ] {
            let expected = is_handshake(query).then(|| requested_transport(query));
            assert_eq!(handshake_transport(query), expected, "{query:?}");
        }
    }

    #[test]
    fn handshake_request_does_not_keep_the_read_buffer_alive() {
        // A parser's read buffer, with the head's values as slices of it (as hyper does).
        let buffer =
            bytes::Bytes::from(b"/engine.io/?EIO=4&transport=websocket value custom-name".to_vec());
        let uri = http::Uri::from_maybe_shared(buffer.slice(0..37)).unwrap();
        let mut headers = http::HeaderMap::new();
        let value = http::HeaderValue::from_maybe_shared(buffer.slice(38..43)).unwrap();
        assert!(shares_memory(&buffer, value.as_bytes()));
        headers.insert(http::HeaderName::from_static("custom-name"), value);

        let request = ConnectRequest::for_handshake(
            &http::Method::GET,
            &uri,
            &headers,
            None,
            uri.query().unwrap(),
        )
        .unwrap();

        let copied = request.headers.get("custom-name").unwrap();
        assert_eq!(copied, "value");
        assert!(!shares_memory(&buffer, copied.as_bytes()));
        assert_eq!(request.uri, uri);
        assert!(!shares_memory(&buffer, request.uri.path().as_bytes()));
        assert_eq!(request.transport, Transport::WebSocket);

        // Packed straight from the head: the same request, and none of the buffer either.
        let stored = StoredRequest::for_handshake(
            &http::Method::GET,
            &uri,
            &headers,
            None,
            uri.query().unwrap(),
        )
        .unwrap();
        assert!(!shares_memory(&buffer, &stored.text));
        let rebuilt = stored.to_request();
        assert_eq!(rebuilt.uri, request.uri);
        assert_eq!(rebuilt.headers, request.headers);
        assert_eq!(rebuilt.transport, request.transport);
        assert!(StoredRequest::for_handshake(
            &http::Method::GET,
            &uri,
            &headers,
            None,
            "EIO=4&sid=x"
        )
        .is_none());
    }

    #[test]
    fn every_form_of_target_is_kept() {
        for target in [
            "http://example.com/engine.io/?EIO=4",
            "/engine.io/?EIO=4&transport=polling",
            "*",
        ] {
            let uri: http::Uri = target.parse().unwrap();
            let request = ConnectRequest {
                method: http::Method::GET,
                uri: uri.clone(),
                headers: http::HeaderMap::new(),
                remote_addr: None,
                transport: Transport::Polling,
            };
            assert_eq!(
                StoredRequest::new(&request).to_request().uri,
                uri,
                "{target}"
            );
        }
    }

    #[test]
    fn reads_query_and_headers() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-token", "abc".parse().unwrap());
        let request = ConnectRequest {
            method: http::Method::GET,
            uri: "/engine.io/?EIO=4&transport=polling&token=a%20b"
                .parse()
                .unwrap(),
            headers,
            remote_addr: None,
            transport: Transport::Polling,
        };
        assert_eq!(request.query("token").as_deref(), Some("a b"));
        assert_eq!(request.query("missing"), None);
        assert_eq!(request.header("x-token"), Some("abc"));
    }

    #[test]
    fn handshakes_and_transports() {
        assert!(is_handshake("EIO=4&transport=polling"));
        assert!(!is_handshake("EIO=4&transport=polling&sid=abc"));
        assert_eq!(
            requested_transport("transport=websocket"),
            Transport::WebSocket
        );
        assert_eq!(
            requested_transport("transport=carrier-pigeon"),
            Transport::Polling
        );
        let uri: http::Uri = "/engine.io/?EIO=4&sid=x".parse().unwrap();
        let headers = http::HeaderMap::new();
        let request =
            ConnectRequest::for_handshake(&http::Method::GET, &uri, &headers, None, "sid=x");
        assert!(request.is_none());
    }

    #[test]
    fn upgrade_requests() {
        let mut headers = http::HeaderMap::new();
        headers.insert(header::UPGRADE, "WebSocket".parse().unwrap());
        headers.insert(header::CONNECTION, "keep-alive, Upgrade".parse().unwrap());
        headers.insert(
            header::SEC_WEBSOCKET_KEY,
            "dGhlIHNhbXBsZSBub25jZQ==".parse().unwrap(),
        );
        assert!(!is_upgrade_request(&headers));
        headers.insert(header::SEC_WEBSOCKET_VERSION, "13".parse().unwrap());
        assert!(is_upgrade_request(&headers));
        headers.insert(header::CONNECTION, "keep-alive".parse().unwrap());
        assert!(!is_upgrade_request(&headers));
    }
}
