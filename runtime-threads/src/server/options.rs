//! The options of the blocking server that the protocol core does not see: the HTTP options
//! shared with the async server ([`HttpOptions`]: mount path, CORS, cookie, compression,
//! static files) and the limits of a thread-per-connection front end.

use std::time::Duration;

use engineio_core::http::HttpOptions;

/// Options applied around the protocol core: the shared HTTP options, handler scheduling and
/// the limits of the HTTP front end. Set through [`ServerBuilder`](super::ServerBuilder).
#[derive(Debug, Clone)]
pub(crate) struct ServerOptions {
    pub(crate) http: HttpOptions,
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
    /// The read buffer of each WebSocket, kept for the socket's life.
    pub(crate) ws_read_buffer: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            http: HttpOptions::default(),
            async_handlers: false,
            max_pending_messages: 1024,
            header_read_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(5),
            max_header_bytes: 16 * 1024,
            max_connections: 1024,
            handler_threads: 64,
            write_timeout: Duration::from_secs(10),
            ws_read_buffer: 4 * 1024,
        }
    }
}

/// The most header lines in one request head (more is answered with 431).
pub(crate) const MAX_HEADERS: usize = 100;
