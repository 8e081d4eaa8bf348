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
        form_urlencoded::parse(query.as_bytes())
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
    pub fn for_handshake(
        method: &http::Method,
        uri: &http::Uri,
        headers: &http::HeaderMap,
        remote_addr: Option<SocketAddr>,
        query: &str,
    ) -> Option<Self> {
        is_handshake(query).then(|| Self {
            method: method.clone(),
            uri: detached_uri(uri),
            headers: detached_headers(headers),
            remote_addr,
            transport: requested_transport(query),
        })
    }
}

/// A copy of `headers` that owns its bytes.
///
/// HTTP parsers (hyper) hand out header values as slices of the connection's read buffer:
/// a plain clone would keep that whole buffer (8 KiB in hyper) alive for as long as the
/// session lives, which multiplies by every idle session.
fn detached_headers(headers: &http::HeaderMap) -> http::HeaderMap {
    let mut detached = http::HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let mut copy = http::HeaderValue::from_bytes(value.as_bytes())
            .unwrap_or_else(|_| http::HeaderValue::from_static(""));
        copy.set_sensitive(value.is_sensitive());
        detached.append(detached_name(name), copy);
    }
    detached
}

/// A header name that owns its bytes (standard names are static already).
fn detached_name(name: &http::HeaderName) -> http::HeaderName {
    http::HeaderName::from_bytes(name.as_str().as_bytes()).unwrap_or_else(|_| name.clone())
}

/// A copy of `uri` that owns its bytes, for the same reason as [`detached_headers`].
fn detached_uri(uri: &http::Uri) -> http::Uri {
    http::Uri::from_maybe_shared(bytes::Bytes::copy_from_slice(uri.to_string().as_bytes()))
        .unwrap_or_else(|_| uri.clone())
}

/// A request without a `sid` opens a session (if the core agrees).
pub fn is_handshake(query: &str) -> bool {
    !form_urlencoded::parse(query.as_bytes()).any(|(key, _)| key == "sid")
}

/// The transport a query asks for (`transport=`), polling when missing or unknown.
pub fn requested_transport(query: &str) -> Transport {
    form_urlencoded::parse(query.as_bytes())
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
