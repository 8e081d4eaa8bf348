//! The options of the async server that the protocol core does not see: the HTTP options
//! shared with the blocking server ([`HttpOptions`]: mount path, CORS, cookie, compression,
//! static files) and those only this server has.

use std::time::Duration;

use engineio_core::http::HttpOptions;

/// Options the async server applies around the protocol core: the shared HTTP options, handler
/// scheduling and the limits of the hyper front end.
///
/// Set them through [`ServerBuilder`](super::ServerBuilder); the defaults follow
/// python-engineio and the JS server.
#[derive(Debug, Clone)]
pub(crate) struct ServerOptions {
    pub(crate) http: HttpOptions,
    pub(crate) async_handlers: bool,
    /// The most messages queued for one session's handlers before the session is closed.
    pub(crate) max_pending_messages: usize,
    pub(crate) header_read_timeout: Duration,
    /// The size of tungstenite's read buffer. Every socket holds it for its whole life and
    /// tungstenite zero-fills it before each read, so it is small (not tungstenite's
    /// 128 KiB); system calls read through the thread's scratch buffer instead (see
    /// `read_ahead`), so a burst still costs one read.
    pub(crate) ws_read_buffer: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            http: HttpOptions::default(),
            async_handlers: false,
            max_pending_messages: 1024,
            header_read_timeout: Duration::from_secs(10),
            ws_read_buffer: 512,
        }
    }
}
