//! [`ServerBuilder`]: every option of the server, with the reference defaults.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use engineio_core::runtime::Runtime;
use engineio_core::{
    BufferLimits, DisconnectReason, Message, Server as CoreServer, ServerConfig, Sid, Transports,
};

use super::engine::Shared;
use super::handlers::{Handlers, MessageHandler};
use super::incoming::{Incoming, IncomingSender};
use super::options::ServerOptions;
use super::Server;
use engineio_core::http::cookie::Cookie;
use engineio_core::http::cors::CorsOrigins;
use engineio_core::http::options::normalise_path;
use engineio_core::http::static_files::StaticFiles;
use engineio_core::http::{ConnectRequest, Forbidden, Rejection};

/// Configures a [`Server`]. Every option has the default of the JS `engine.io` server and
/// python-engineio (noted on each setter).
#[derive(Default)]
pub struct ServerBuilder {
    core: ServerConfig,
    options: ServerOptions,
    handlers: Handlers,
    runtime: Option<Arc<dyn Runtime>>,
    seed: Option<[u8; 32]>,
}

impl std::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("core", &self.core)
            .field("options", &self.options)
            .field("handlers", &self.handlers)
            .finish_non_exhaustive()
    }
}

impl ServerBuilder {
    /// Time between pings. Default 25 s.
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.core.ping_interval = interval;
        self
    }

    /// Extra time advertised to clients on top of the ping interval (python-engineio's
    /// `ping_interval=(interval, grace)`). Default 0.
    pub fn ping_interval_grace(mut self, grace: Duration) -> Self {
        self.core.ping_interval_grace = grace;
        self
    }

    /// Time a client has to answer a ping. Default 20 s.
    pub fn ping_timeout(mut self, timeout: Duration) -> Self {
        self.core.ping_timeout = timeout;
        self
    }

    /// Time a WebSocket probe has to complete an upgrade. Default 10 s.
    pub fn upgrade_timeout(mut self, timeout: Duration) -> Self {
        self.core.upgrade_timeout = timeout;
        self
    }

    /// Time a server-side close waits for a polling client's next GET. Default 30 s.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.core.close_timeout = timeout;
        self
    }

    /// Time the `authorize` and `on_connect` handlers have before the handshake is refused
    /// with 503. Default 10 s.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.core.handshake_timeout = timeout;
        self
    }

    /// The largest polling body or WebSocket message accepted, advertised as `maxPayload`
    /// (`maxHttpBufferSize`). Default 1 000 000 bytes.
    pub fn max_http_buffer_size(mut self, bytes: usize) -> Self {
        self.core.max_payload = bytes;
        self
    }

    /// The most packets one polling body may carry. Default 10 000.
    pub fn max_packets_per_payload(mut self, packets: usize) -> Self {
        self.core.max_packets_per_payload = packets;
        self
    }

    /// The most packets one poll response carries (python-engineio's client accepts 16).
    /// Default: no cap, as in the reference servers.
    pub fn max_packets_per_poll(mut self, packets: usize) -> Self {
        self.core.max_packets_per_poll = Some(packets.max(1));
        self
    }

    /// The transports accepted. Default both.
    pub fn transports(mut self, transports: Transports) -> Self {
        self.core.transports = transports;
        self
    }

    /// Whether polling sessions may upgrade to WebSocket. Default true.
    pub fn allow_upgrades(mut self, allow: bool) -> Self {
        self.core.allow_upgrades = allow;
        self
    }

    /// Bounds of each session's outgoing buffer and what happens when it is full.
    pub fn buffer_limits(mut self, limits: BufferLimits) -> Self {
        self.core.buffer = limits;
        self
    }

    /// A message sent to every client right after the open packet (JS `initialPacket`).
    pub fn initial_packet(mut self, message: impl Into<Message>) -> Self {
        self.core.initial_message = Some(message.into());
        self
    }

    /// Compress polling responses with gzip or deflate when the client accepts it. Default on.
    pub fn http_compression(mut self, enabled: bool) -> Self {
        self.options.http.compression = enabled;
        self
    }

    /// The smallest response body that gets compressed. Default 1024 bytes.
    pub fn compression_threshold(mut self, bytes: usize) -> Self {
        self.options.http.compression_threshold = bytes;
        self
    }

    /// Set a session cookie on the polling handshake. Default none.
    pub fn cookie(mut self, cookie: Cookie) -> Self {
        self.options.http.cookie = Some(cookie);
        self
    }

    /// Which cross-origin requests are accepted, on polling and on the WebSocket upgrade
    /// alike. Default same-origin.
    pub fn cors_allowed_origins(mut self, origins: CorsOrigins) -> Self {
        self.options.http.cors = origins;
        self
    }

    /// Whether allowed cross-origin requests may carry credentials. Default true.
    pub fn cors_credentials(mut self, credentials: bool) -> Self {
        self.options.http.cors_credentials = credentials;
        self
    }

    /// The Engine.IO path. Default `/engine.io/` (socket.io uses `/socket.io/`).
    pub fn engineio_path(mut self, path: &str) -> Self {
        self.options.http.path = normalise_path(path);
        self
    }

    /// Static files served beside the Engine.IO path.
    pub fn static_files(mut self, files: StaticFiles) -> Self {
        self.options.http.static_files = files;
        self
    }

    /// Run each message handler as its own task (python-engineio's default) instead of one
    /// at a time per session in arrival order (this crate's default).
    pub fn async_handlers(mut self, concurrent: bool) -> Self {
        self.options.async_handlers = concurrent;
        self
    }

    /// The most messages queued for one session's handlers before the session is closed.
    /// Default 1024.
    pub fn max_pending_messages(mut self, messages: usize) -> Self {
        self.options.max_pending_messages = messages.max(1);
        self
    }

    /// The WebSocket read buffer each socket keeps for its whole life. Default 512 bytes.
    ///
    /// Reads from the network go through a 64 KiB buffer per thread, and what does not fit
    /// here waits in a buffer that exists only while it holds bytes, so a small buffer
    /// costs no extra system calls; it costs a copy per this many bytes of a large message.
    /// Raise it for traffic of large messages, where memory per idle session matters less.
    /// Values under 14 bytes (the largest frame header) are raised to 14.
    pub fn ws_read_buffer_size(mut self, bytes: usize) -> Self {
        self.options.ws_read_buffer = bytes.max(14);
        self
    }

    /// Time a client has to send each request's head, counted from the connection's opening
    /// and then from each response: a connection that sends nothing, or sends its head too
    /// slowly (slow-loris), is closed. No deadline runs while a request is being answered (a
    /// long poll, a body being read). Default 10 s.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.options.header_read_timeout = timeout;
        self
    }

    /// The runtime to use. Default: [`crate::runtime::default_runtime`].
    pub fn runtime(mut self, runtime: Arc<dyn Runtime>) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// A fixed seed for session ids: for reproducible tests only. By default the seed comes
    /// from the operating system.
    pub fn rng_seed(mut self, seed: [u8; 32]) -> Self {
        self.seed = Some(seed);
        self
    }

    /// A hook that runs before any session exists and may refuse the handshake (JS
    /// `allowRequest`): `Err(Forbidden)` answers 403 (or the status you set).
    pub fn authorize<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Arc<ConnectRequest>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Forbidden>> + Send + 'static,
    {
        self.handlers.authorize = Some(Arc::new(move |request| Box::pin(hook(request))));
        self
    }

    /// Runs when a session is allocated, before the client gets its open packet;
    /// `Err(Rejection)` refuses it with 401 (python-engineio's connect handler).
    pub fn on_connect<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Server, Sid, Arc<ConnectRequest>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Rejection>> + Send + 'static,
    {
        self.handlers.connect = Some(Arc::new(move |server, sid, request| {
            Box::pin(handler(server, sid, request))
        }));
        self
    }

    /// Runs for every message from a client, one at a time per session, in arrival order
    /// (unless `async_handlers` is on). A handler with nothing to await is cheaper as
    /// [`on_message_sync`](Self::on_message_sync).
    pub fn on_message<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Server, Sid, Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.handlers.message = Some(MessageHandler::Async(Arc::new(
            move |server, sid, message| Box::pin(handler(server, sid, message)),
        )));
        self
    }

    /// Runs for every message from a client, like [`on_message`](Self::on_message), for a
    /// handler that has nothing to wait for: a plain function rather than an async one
    /// (python-engineio's servers take both kinds too). Replaces any `on_message` handler.
    ///
    /// Call this for the per-message hot path, such as an echo or a relay through
    /// [`Server::send`]: the handler is called directly, usually on the task that read the
    /// message, with no future boxed per message. It must not block: other sockets' I/O
    /// may be waiting behind it. Order and `async_handlers` work as for `on_message`.
    ///
    /// ```
    /// # async fn demo() {
    /// let server = engineio::server::Server::builder()
    ///     .on_message_sync(|server, sid, message| {
    ///         let _ = server.send(&sid, message);
    ///     })
    ///     .build();
    /// # let _ = server;
    /// # }
    /// ```
    pub fn on_message_sync<F>(mut self, handler: F) -> Self
    where
        F: Fn(Server, Sid, Message) + Send + Sync + 'static,
    {
        self.handlers.message = Some(MessageHandler::Sync(Arc::new(handler)));
        self
    }

    /// Runs once when a connected session ends, after its last message handler.
    pub fn on_disconnect<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Server, Sid, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.handlers.disconnect = Some(Arc::new(move |server, sid, reason| {
            Box::pin(handler(server, sid, reason))
        }));
        self
    }

    /// Builds the server. Must run where the runtime can spawn (inside it, for tokio).
    pub fn build(self) -> Server {
        self.build_with(None)
    }

    /// Builds the server with the stream face: every connected session is also delivered as
    /// a [`Socket`](super::Socket) through the returned [`Incoming`].
    pub fn build_incoming(self) -> (Server, Incoming) {
        let (sender, incoming) = IncomingSender::new(1024, 256);
        (self.build_with(Some(sender)), incoming)
    }

    fn build_with(mut self, incoming: Option<IncomingSender>) -> Server {
        let runtime = crate::runtime::resolve(self.runtime.take());
        self.core.authorize = self.handlers.authorize.is_some();
        self.core.confirm_connect = self.handlers.connect.is_some();
        let seed = self.seed.unwrap_or_else(os_seed);
        let core = CoreServer::new(Arc::new(self.core), seed);
        Server {
            shared: Shared::new(runtime, core, self.options, self.handlers, incoming),
        }
    }
}

/// 32 bytes from the operating system's random source.
fn os_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).expect("the operating system's random source is available");
    seed
}
