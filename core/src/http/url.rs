//! The server's address for a client, parsed once from the URL the application gives, and the
//! request URLs built from it (shared by the async and the blocking clients).
//!
//! As in python-engineio, the URL names the server (scheme, host, port) and may carry a query
//! of the application's own (`?token=…`), which is sent on every request before the
//! Engine.IO parameters; its path is ignored (Socket.IO uses it for namespaces), the Engine.IO
//! path comes from the client builder's `engineio_path` option.

use http::Uri;

use super::error::ConnectError;

/// Where the server is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `https` / `wss`: TLS on both transports.
    pub secure: bool,
    /// The host to connect to and to name in TLS (IPv6 without brackets).
    pub host: String,
    /// The port to connect to (the scheme's default when the URL names none).
    pub port: u16,
    /// The `Host` header: the host (IPv6 in brackets) and the port unless it is the default.
    pub authority: String,
    /// The Engine.IO path, with a leading and a trailing slash.
    pub path: String,
    /// The application's own query, without `?` (may be empty).
    pub query: String,
}

impl Target {
    /// Parses `url` (`http://`, `https://`, `ws://` or `wss://`; `ws` is `http` and `wss` is
    /// `https`) and normalizes `engineio_path`.
    pub fn parse(url: &str, engineio_path: &str) -> Result<Self, ConnectError> {
        let invalid = |detail: &str| ConnectError::InvalidUrl(format!("{url:?}: {detail}"));
        // A fragment never goes to the server.
        let without_fragment = url.split('#').next().unwrap_or_default();
        let uri: Uri = without_fragment
            .trim()
            .parse()
            .map_err(|error| invalid(&format!("{error}")))?;
        let secure = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
            Some("http" | "ws") => false,
            Some("https" | "wss") => true,
            Some(other) => return Err(invalid(&format!("unsupported scheme {other:?}"))),
            None => {
                return Err(invalid(
                    "missing scheme (http://, https://, ws:// or wss://)",
                ))
            }
        };
        let Some(bracketed) = uri.host().filter(|host| !host.is_empty()) else {
            return Err(invalid("missing host"));
        };
        let default_port = if secure { 443 } else { 80 };
        let port = uri.port_u16().unwrap_or(default_port);
        let authority = if port == default_port {
            bracketed.to_owned()
        } else {
            format!("{bracketed}:{port}")
        };
        let host = bracketed
            .strip_prefix('[')
            .and_then(|host| host.strip_suffix(']'))
            .unwrap_or(bracketed)
            .to_owned();
        Ok(Self {
            secure,
            host,
            port,
            authority,
            path: normalize_path(engineio_path),
            query: uri.query().unwrap_or_default().to_owned(),
        })
    }

    /// The origin-form request target of a polling request: `/engine.io/?<user>&<engine.io>`.
    pub fn request_target(&self, engineio_query: &str) -> String {
        let mut target =
            String::with_capacity(self.path.len() + self.query.len() + engineio_query.len() + 2);
        target.push_str(&self.path);
        target.push('?');
        if !self.query.is_empty() {
            target.push_str(&self.query);
            target.push('&');
        }
        target.push_str(engineio_query);
        target
    }

    /// The absolute URL of a WebSocket: `ws[s]://host[:port]/engine.io/?<user>&<engine.io>`.
    pub fn websocket_url(&self, engineio_query: &str) -> String {
        let scheme = if self.secure { "wss" } else { "ws" };
        format!(
            "{scheme}://{}{}",
            self.authority,
            self.request_target(engineio_query)
        )
    }
}

/// Adds a leading and a trailing slash if missing (`engine.io` → `/engine.io/`).
pub fn normalize_path(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        "/".to_owned()
    } else {
        format!("/{trimmed}/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_schemes_ports_and_queries() {
        let target = Target::parse("http://localhost:3000", "/engine.io/").unwrap();
        assert!(!target.secure);
        assert_eq!((target.host.as_str(), target.port), ("localhost", 3000));
        assert_eq!(target.authority, "localhost:3000");
        assert_eq!(
            target.request_target("EIO=4&transport=polling"),
            "/engine.io/?EIO=4&transport=polling"
        );

        let target = Target::parse("wss://example.com/chat?token=a%20b#frag", "socket.io").unwrap();
        assert!(target.secure);
        assert_eq!((target.host.as_str(), target.port), ("example.com", 443));
        assert_eq!(target.authority, "example.com");
        assert_eq!(target.path, "/socket.io/");
        assert_eq!(
            target.websocket_url("EIO=4&transport=websocket"),
            "wss://example.com/socket.io/?token=a%20b&EIO=4&transport=websocket"
        );

        let target = Target::parse("ws://[::1]:8080/", "").unwrap();
        assert_eq!((target.host.as_str(), target.port), ("::1", 8080));
        assert_eq!(target.authority, "[::1]:8080");
        assert_eq!(target.path, "/");

        let target = Target::parse("HTTPS://example.com:443", "/engine.io").unwrap();
        assert!(target.secure);
        assert_eq!(target.authority, "example.com");
    }

    #[test]
    fn rejects_what_is_not_a_server_url() {
        for url in [
            "",
            "not a url",
            "localhost:3000",
            "ftp://example.com",
            "http://",
            "/path",
        ] {
            assert!(
                matches!(
                    Target::parse(url, "/engine.io/"),
                    Err(ConnectError::InvalidUrl(_))
                ),
                "{url:?} should be invalid"
            );
        }
    }
}
