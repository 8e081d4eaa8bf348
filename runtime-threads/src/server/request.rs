//! What application handlers see of the request that opened a session.

use std::net::SocketAddr;

use engineio_core::Transport;

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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
