//! The HTTP-side options of a server (those the protocol core does not see).

use std::time::Duration;

use engineio_core::http::cookie::Cookie;
use engineio_core::http::cors::CorsOrigins;
use engineio_core::http::static_files::StaticFiles;

/// Options the async server applies around the protocol core: where it is mounted, CORS,
/// cookies, compression, static files and handler scheduling.
///
/// Set them through [`ServerBuilder`](super::ServerBuilder); the defaults follow
/// python-engineio and the JS server.
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
    /// The most messages queued for one session's handlers before the session is closed.
    pub(crate) max_pending_messages: usize,
    pub(crate) header_read_timeout: Duration,
    /// The size of the WebSocket read buffer (tungstenite zero-fills it on every read, so it
    /// is kept small rather than tungstenite's 128 KiB default).
    pub(crate) ws_read_buffer: usize,
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
            ws_read_buffer: 8 * 1024,
        }
    }
}

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
