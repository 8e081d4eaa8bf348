//! The HTTP-side options both servers apply around the protocol core (those the core does not
//! see): where the server is mounted, CORS, the cookie, compression and static files. Each
//! server embeds them in its own options, next to what only it needs (scheduling, limits).

use super::cookie::Cookie;
use super::cors::CorsOrigins;
use super::static_files::StaticFiles;

/// The shared HTTP options of a server; the defaults follow python-engineio and the JS server.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// The Engine.IO path, normalised to start and end with `/` (see [`normalise_path`]).
    /// Default `/engine.io/`.
    pub path: String,
    /// The accepted origins. Default: same origin.
    pub cors: CorsOrigins,
    /// Whether CORS answers allow credentials. Default `true`.
    pub cors_credentials: bool,
    /// The session cookie set on the handshake, if any. Default none.
    pub cookie: Option<Cookie>,
    /// Whether payloads are compressed (when the client accepts it). Default `true`.
    pub compression: bool,
    /// The smallest payload compressed, in bytes. Default 1024.
    pub compression_threshold: usize,
    /// The static files served outside the Engine.IO path. Default none.
    pub static_files: StaticFiles,
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
        }
    }
}

impl HttpOptions {
    /// True if `path` is the Engine.IO endpoint (with or without the trailing slash).
    pub fn is_engine_path(&self, path: &str) -> bool {
        path == self.path || path.len() + 1 == self.path.len() && self.path.starts_with(path)
    }
}

/// Normalises a mount path to `/path/` (the same rule as the client's Engine.IO path).
pub fn normalise_path(path: &str) -> String {
    super::url::normalize_path(path)
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
