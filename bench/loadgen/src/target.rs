//! The server's address, parsed once from `--url`.
//!
//! Only plain `http://host:port/path` (or `ws://`) is supported: the load generator measures
//! servers over loopback, and TLS would make it, not the server, the bottleneck. The host is
//! resolved once at start, so no DNS look-up happens on the hot path.

use std::io;
use std::net::SocketAddr;

use tokio::net::TcpStream;

use crate::SetupError;

/// Where to send the load.
#[derive(Clone, Debug)]
pub struct Target {
    /// The resolved socket address.
    pub addr: SocketAddr,
    /// The `Host` header value (`host:port`).
    pub host: String,
    /// The path and query from the URL, e.g. `/engine.io/`.
    pub path: String,
    /// The same URL with a `ws://` scheme, for the WebSocket handshake.
    pub ws_url: String,
}

impl Target {
    /// Parses `url` and resolves its host.
    pub async fn resolve(url: &str) -> Result<Self, SetupError> {
        let (host, path) = split_url(url)?;
        let addr = tokio::net::lookup_host(&host)
            .await
            .map_err(|e| SetupError(format!("cannot resolve {host}: {e}")))?
            .next()
            .ok_or_else(|| SetupError(format!("{host} resolves to no address")))?;
        let ws_url = format!("ws://{host}{path}");
        Ok(Self {
            addr,
            host,
            path,
            ws_url,
        })
    }

    /// `path` with extra query parameters appended (`?` or `&` as needed).
    pub fn with_query(&self, query: &str) -> String {
        join_query(&self.path, query)
    }

    /// The WebSocket URL with extra query parameters appended.
    pub fn ws_with_query(&self, query: &str) -> String {
        join_query(&self.ws_url, query)
    }

    /// Opens a TCP connection with Nagle off (every request and frame is latency-bound).
    pub async fn connect(&self) -> io::Result<TcpStream> {
        let stream = TcpStream::connect(self.addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

/// Appends `query` to `base` with the right separator.
fn join_query(base: &str, query: &str) -> String {
    if query.is_empty() {
        return base.to_owned();
    }
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{query}")
}

/// Splits `http://host:port/path?query` into `host:port` and `/path?query`.
fn split_url(url: &str) -> Result<(String, String), SetupError> {
    let rest = ["http://", "ws://"]
        .iter()
        .find_map(|scheme| url.strip_prefix(scheme))
        .ok_or_else(|| {
            SetupError(format!(
                "unsupported URL {url:?}: use http://host:port/path"
            ))
        })?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(SetupError(format!("URL {url:?} has no host")));
    }
    let host = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        || authority.ends_with(']')
    {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_owned()
    };
    Ok((host, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        let (h, p) = split_url("http://127.0.0.1:5000/engine.io/").unwrap();
        assert_eq!((h.as_str(), p.as_str()), ("127.0.0.1:5000", "/engine.io/"));
        let (h, p) = split_url("ws://localhost").unwrap();
        assert_eq!((h.as_str(), p.as_str()), ("localhost:80", "/"));
        let (h, p) = split_url("http://h:1?x=1").unwrap();
        assert_eq!((h.as_str(), p.as_str()), ("h:1", "/?x=1"));
        assert!(split_url("https://h:1/").is_err());
        assert!(split_url("http:///x").is_err());
    }

    #[test]
    fn joins_queries() {
        assert_eq!(join_query("/e/", "EIO=4"), "/e/?EIO=4");
        assert_eq!(join_query("/e/?a=1", "c=2"), "/e/?a=1&c=2");
        assert_eq!(join_query("/e/", ""), "/e/");
    }
}
