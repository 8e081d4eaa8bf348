//! [`ClientBuilder`]: the options of a connection, its handlers, and `connect`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use engineio_core::client::ClientConfig;
use engineio_core::http::client::ClientOptions;
use engineio_core::{DisconnectReason, Message, Transports};
use http::header::{HeaderName, HeaderValue};

use super::dispatch::Handlers;
use super::net::Context;
use super::{Client, ConnectError};

/// Options for one connection; made by [`Client::builder`], consumed by
/// [`connect`](Self::connect).
///
/// Every option has a default that works against the reference servers, so the shortest use
/// is `Client::builder().connect(url)` (or [`Client::connect`]).
#[derive(Default)]
pub struct ClientBuilder {
    options: ClientOptions,
    handlers: Handlers,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("ClientBuilder");
        self.options.debug_fields(&mut out);
        out.finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Creates a builder with the defaults; the same as [`Client::builder`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Chooses the transports the client may use (default: both).
    ///
    /// With polling enabled the handshake goes over polling and upgrades to WebSocket when the
    /// server offers it; [`Transports::WEBSOCKET`] connects straight over WebSocket (no sticky
    /// sessions needed); [`Transports::POLLING`] never opens a WebSocket.
    pub fn transports(mut self, transports: Transports) -> Self {
        self.options.transports = Some(transports);
        self
    }

    /// Whether to upgrade from polling to WebSocket when the server offers it (default `true`).
    pub fn upgrade(mut self, upgrade: bool) -> Self {
        self.options.upgrade = Some(upgrade);
        self
    }

    /// Adds a header to every HTTP request and to the WebSocket handshake (authentication,
    /// a custom `User-Agent`, …). Call it once per header; repeated names are all sent.
    ///
    /// An invalid name or value makes [`connect`](Self::connect) fail with
    /// [`ConnectError::InvalidHeader`].
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        K: TryInto<HeaderName>,
        K::Error: fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: fmt::Display,
    {
        self.options.add_header(name, value);
        self
    }

    /// Sets the Engine.IO path on the server (default `/engine.io/`; Socket.IO servers use
    /// `/socket.io/`). A missing leading or trailing slash is added.
    pub fn engineio_path(mut self, path: &str) -> Self {
        self.options.set_engineio_path(path);
        self
    }

    /// Bounds the handshake, each POST and the opening of a WebSocket (default 5 s).
    ///
    /// Long-poll GETs are not bounded by it: the server holds them until it has something to
    /// send, and the heartbeat deadline (`pingInterval + pingTimeout`) ends a dead connection.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.options.request_timeout = timeout;
        self
    }

    /// Bounds the messages read from the server that the application has not taken yet
    /// (default 1024, as the server's `max_pending_messages`).
    ///
    /// Messages wait for the `on_message` handler (one at a time) or for `Client::recv`.
    /// When this many are waiting, the client stops reading from the server: the WebSocket
    /// reader thread reads no further frame, and the next long-poll GET is not sent, until
    /// the application catches up. This is backpressure, not loss: nothing read is dropped,
    /// and the server's own bounded buffer decides what happens to what it could not send. On
    /// polling, one response may carry more than the bound (the server batches what it has,
    /// within its `maxPayload`); the next GET waits until the backlog is under it again.
    ///
    /// While the client does not read, it does not read the server's pings either: a handler
    /// that stays behind for longer than `pingInterval + pingTimeout` ends the connection with
    /// a ping timeout, and the messages read before still reach it. The `recv` queue holds up
    /// to 1024 messages more.
    pub fn max_pending_messages(mut self, messages: usize) -> Self {
        self.options.max_pending_messages = messages;
        self
    }

    /// Whether to verify the server's TLS certificate (default `true`).
    ///
    /// # Danger
    ///
    /// `false` accepts **any** certificate for **any** name, like python-engineio's
    /// `ssl_verify=False`: anyone on the network path can impersonate the server and read and
    /// change the traffic. Use it only against a test server; to trust a private CA or a
    /// self-signed certificate, prefer `add_root_certificate` (with the `tls` feature).
    pub fn ssl_verify(mut self, verify: bool) -> Self {
        self.options.tls.verify = verify;
        self
    }

    /// Trusts `certificate` (DER) as a root, in addition to the Mozilla roots of
    /// webpki-roots: for a private CA or a self-signed server certificate. It applies to
    /// polling and WebSocket alike.
    #[cfg(feature = "tls")]
    pub fn add_root_certificate(
        mut self,
        certificate: rustls_pki_types::CertificateDer<'static>,
    ) -> Self {
        self.options.tls.roots.push(certificate);
        self
    }

    /// Sets the core's settings: connect, upgrade and close timeouts, buffer limits, … .
    /// [`transports`](Self::transports) and [`upgrade`](Self::upgrade), when called, override
    /// the fields of the same name, whatever the order of the calls.
    pub fn config(mut self, config: ClientConfig) -> Self {
        self.options.config = config;
        self
    }

    /// Runs `handler` once the connection is open, before any `on_message`.
    pub fn on_connect<F>(mut self, handler: F) -> Self
    where
        F: Fn(Client) + Send + Sync + 'static,
    {
        self.handlers.on_connect = Some(Arc::new(handler));
        self
    }

    /// Runs `handler` for each message from the server, in arrival order, one at a time, on
    /// the client's dispatcher thread.
    ///
    /// Messages taken by this handler do not reach [`Client::recv`]. The next message waits
    /// for the handler to return, so start a thread for long work instead of doing it here.
    pub fn on_message<F>(mut self, handler: F) -> Self
    where
        F: Fn(Client, Message) + Send + Sync + 'static,
    {
        self.handlers.on_message = Some(Arc::new(handler));
        self
    }

    /// Runs `handler` once when the connection ends, after the last `on_message`.
    pub fn on_disconnect<F>(mut self, handler: F) -> Self
    where
        F: Fn(Client, DisconnectReason) + Send + Sync + 'static,
    {
        self.handlers.on_disconnect = Some(Arc::new(handler));
        self
    }

    /// Connects to the Engine.IO server at `url` and returns once the session is open.
    ///
    /// `url` is `http://`, `https://`, `ws://` or `wss://` (the WebSocket schemes mean the
    /// same as the HTTP ones) with a host, an optional port and an optional query of your own
    /// (`?token=…`, sent with every request). Its path is ignored: set the Engine.IO path with
    /// [`engineio_path`](Self::engineio_path).
    ///
    /// Blocks the calling thread (at most the core's `connect_timeout`). No async runtime is
    /// involved: it may be called from anywhere, including inside an async runtime's thread
    /// (where blocking is the caller's choice).
    pub fn connect(self, url: &str) -> Result<Client, ConnectError> {
        let plan = self.options.into_plan(url)?;
        let ctx = Arc::new(Context::new(
            plan.target,
            &plan.tls,
            plan.headers,
            plan.request_timeout,
            plan.max_pending_messages,
        )?);
        super::start(ctx, plan.config, self.handlers)
    }
}
