//! The HTTP-side options of a server (those the protocol core does not see).

use std::time::Duration;

use engineio_core::http::cookie::Cookie;
use engineio_core::http::cors::CorsOrigins;
use engineio_core::http::static_files::StaticFiles;

/// Options applied around the protocol core: mount path, CORS, cookie, compression, static
/// files, handler scheduling and the limits of the HTTP front end. Set through
/// [`ServerBuilder`](super::ServerBuilder).
#[derive(Debug, Clone)]
pub(crate) struct HttpOptions {
    /// The Engine.IO path, normalised to start and end with `/`. Default `/engine.io/`.
    pub(crate) path: String,
    pub(crate) cors: CorsOrigins,
    pub(crate) cors_credentials: bool,
    pub(crate) cookie: Option<Cookie>,
    pub(crate) compression: bool,
    pub(crate) compression_threshold: usize,
    pub(crate) static_files: StaticFiles,
    pub(crate) async_handlers: bool,
    pub(crate) max_pending_messages: usize,
    /// Time a client has to send a request head (and between two body reads).
    pub(crate) header_read_timeout: Duration,
    /// Time an idle keep-alive connection waits for its next request.
    pub(crate) keep_alive_timeout: Duration,
    /// The largest request head.
    pub(crate) max_header_bytes: usize,
    /// The most concurrent connections (each has a thread); more are refused with 503.
    pub(crate) max_connections: usize,
    /// The most threads running handlers at once.
    pub(crate) handler_threads: usize,
    /// How long a blocked socket write may take before the connection is dropped.
    pub(crate) write_timeout: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            path: "/engine.io/".into(),
            cors: CorsOrigins::default(),
            cors_credentials: true,
            cookie: None,
            compression: true,
            compression_threshold: 1024,
            static_files: StaticFiles::default(),
            async_handlers: false,
            max_pending_messages: 1024,
            header_read_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(5),
            max_header_bytes: 16 * 1024,
            max_connections: 1024,
            handler_threads: 64,
            write_timeout: Duration::from_secs(10),
        }
    }
}

/// The most header lines in one request head (more is answered with 431).
pub(crate) const MAX_HEADERS: usize = 100;

/// Normalises a mount path to `/path/`.
pub(crate) fn normalise_path(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else {
        format!("/{trimmed}/")
    }
}

impl HttpOptions {
    /// True if `path` is the Engine.IO endpoint (with or without the trailing slash).
    pub(crate) fn is_engine_path(&self, path: &str) -> bool {
        path == self.path || path.len() + 1 == self.path.len() && self.path.starts_with(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(normalise_path("engine.io"), "/engine.io/");
        assert_eq!(normalise_path("/socket.io/"), "/socket.io/");
        let options = HttpOptions::default();
        assert!(options.is_engine_path("/engine.io/"));
        assert!(options.is_engine_path("/engine.io"));
        assert!(!options.is_engine_path("/engine.iox"));
        assert!(!options.is_engine_path("/engine.io/x"));
        assert!(!options.is_engine_path("/"));
    }
}
