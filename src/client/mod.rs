//! The async Engine.IO client.
//!
//! [`Client`] connects to an Engine.IO v4 server (the JavaScript `engine.io`,
//! python-engineio, or this crate's server) over HTTP long-polling, WebSocket, or polling
//! upgraded to WebSocket, with `https`/`wss` through rustls. It offers the reference clients'
//! API (python-engineio's `AsyncClient`: `connect`, handlers for connect, message and
//! disconnect, `send`, `disconnect`, `wait`, `sid`, `transport`) and a stream face
//! ([`Client::recv`]).
//!
//! # Example
//!
//! ```no_run
//! use engineio::client::Client;
//! use engineio::Message;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Handlers: called in order, one at a time.
//! let client = Client::builder()
//!     .on_message(|client: Client, message: Message| async move {
//!         println!("server says {message:?}");
//!         if message.as_text() == Some("bye") {
//!             client.disconnect().await;
//!         }
//!     })
//!     .connect("http://localhost:5000")
//!     .await?;
//! client.send("hello")?;
//! client.send(vec![1u8, 2, 3])?; // binary
//! let reason = client.wait().await;
//! println!("disconnected: {reason}");
//!
//! // Or the stream face: no `on_message`, read messages with `recv`.
//! let client = Client::connect("ws://localhost:5000?token=secret").await?;
//! client.send_json(&serde_json::json!({ "hello": "world" }))?;
//! while let Some(message) = client.recv().await {
//!     println!("{message:?}");
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Design
//!
//! The protocol lives in the sans-IO [`engineio_core::client::Client`]: the handshake, the
//! long-poll loop, POST batching under `maxPayload`, the heartbeat deadline, the upgrade and
//! the close are all decided there. This module only carries out what it asks:
//!
//! - one **driver** task per connection owns the core; it feeds it what the network reports
//!   (with `runtime.now()`), drains its transmits and events after every input, and arms one
//!   runtime timer at its `poll_timeout`;
//! - each HTTP request is a small task on hyper's client connection API, with a pool of idle
//!   connections so the long-poll GET and the POSTs reuse sockets; each WebSocket is a task on
//!   async-tungstenite that reads frames and writes batches; both report back to the driver
//!   through a channel, and the core's `Abort` cancels a request in flight;
//! - a **dispatcher** task runs the handlers in order, one at a time, and feeds the bounded
//!   `recv` queue (which slows dispatch down when full, and never drops a message).
//!
//! [`Client::send`] and [`Client::disconnect`] call into the core directly (behind a mutex
//! that is never held across an `.await` or while user code runs) and wake the driver, so
//! `send` reports the core's verdict ([`SendError`]) at once.
//!
//! Nothing here depends on a particular runtime: sockets, timers and tasks come from the
//! [`Runtime`](crate::runtime::Runtime) (tokio by default).
//!
//! # Lifetime
//!
//! A connection lives until [`Client::disconnect`], until the server or the network ends it,
//! or until the last [`Client`] handle is dropped, which closes it gracefully. Handlers get a
//! handle of their own for each call. Reconnecting is building a new client, as with the
//! reference clients.

mod builder;
mod dispatch;
mod driver;
mod error;
mod http;
mod net;
#[cfg(all(test, feature = "server", feature = "tokio"))]
mod tests;
mod tls;
mod websocket;

use std::fmt;
use std::sync::Arc;

use engineio_core::{DisconnectReason, Message, SendError, Transport};
use serde::Serialize;

pub use builder::ClientBuilder;
pub use engineio_core::client::ClientConfig;
pub use error::{ConnectError, SendJsonError};
#[cfg(feature = "tls")]
pub use rustls_pki_types::CertificateDer;

use dispatch::Shared;

/// A connection to an Engine.IO server: a cheap handle, cloned freely and shared between
/// tasks.
///
/// Made by [`Client::connect`] or [`ClientBuilder::connect`]. The connection stays open while
/// any handle exists (or until it ends); dropping the last one closes it.
#[derive(Clone)]
#[must_use = "dropping the last Client handle closes the connection"]
pub struct Client {
    shared: Arc<Shared>,
    /// Keeps the connection open; `None` only in a handle given to a handler after every
    /// application handle was dropped.
    _alive: Option<Arc<Alive>>,
}

/// Dropped with the last handle: the driver then closes the connection.
struct Alive {
    _sender: futures_channel::oneshot::Sender<()>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let core = self.shared.core();
        f.debug_struct("Client")
            .field("sid", &core.sid())
            .field("transport", &core.transport())
            .field("closed", &core.is_closed())
            .finish()
    }
}

impl Client {
    /// Returns a [`ClientBuilder`] to set options and handlers before connecting.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// Connects to `url` with the default options (both transports, upgrade on); see
    /// [`ClientBuilder::connect`].
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        Self::builder().connect(url).await
    }

    /// Returns the session id the server assigned (kept after the connection ends).
    pub fn sid(&self) -> Option<String> {
        self.shared.core().sid().map(str::to_owned)
    }

    /// Returns the transport in use: [`Transport::Polling`], then [`Transport::WebSocket`]
    /// after an upgrade (the last one used, after the connection ends).
    pub fn transport(&self) -> Option<Transport> {
        self.shared.core().transport()
    }

    /// The messages read from the server that the application has not taken yet (handlers
    /// not run, or not yet on the `recv` queue), including a frame the WebSocket reader has
    /// reserved room for. At most [`max_pending_messages`](ClientBuilder::max_pending_messages) on WebSocket (plus one
    /// poll response on polling): at the bound the client stops reading.
    pub fn pending_messages(&self) -> usize {
        self.shared.backlog.pending()
    }

    /// Queues a message for the server: text from a `String` or `&'static str`, binary from
    /// a `Vec<u8>` or [`Bytes`](crate::Bytes). Returns at once; the message goes out with the
    /// next POST or WebSocket batch.
    ///
    /// Fails with [`SendError::Closed`] once the connection is closing or closed,
    /// [`SendError::PayloadTooLarge`] for a message larger than the server's `maxPayload`, and
    /// [`SendError::BufferFull`] when the outgoing buffer is full (see
    /// [`ClientConfig::buffer`]).
    pub fn send(&self, message: impl Into<Message>) -> Result<(), SendError> {
        let now = self.shared.runtime.now();
        let sent = self.shared.core().send(now, message.into());
        self.shared.kick();
        sent
    }

    /// Sends `value` serialized as JSON, as a text message.
    pub fn send_json<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), SendJsonError> {
        let text = serde_json::to_string(value)?;
        Ok(self.send(text)?)
    }

    /// Receives the next message from the server: the stream face, for clients without an
    /// [`on_message`](ClientBuilder::on_message) handler (which takes them all).
    ///
    /// Messages wait here in arrival order (up to 1024 before delivery waits for a reader,
    /// none dropped; the heartbeat goes on meanwhile). Returns `None` once the connection has
    /// ended and every message has been received. With an `on_message` handler it only ever
    /// returns `None`, at the end; do not await it from inside a handler.
    pub async fn recv(&self) -> Option<Message> {
        self.shared.recv().await
    }

    /// Closes the connection gracefully and resolves once it is closed.
    ///
    /// What is queued goes out first, then the close packet: on polling in a last POST that
    /// the server answers, on WebSocket in a last batch, written before this resolves (within
    /// [`request_timeout`](ClientBuilder::request_timeout)), so a program may exit right after.
    /// Outside a handler it also waits for `on_disconnect` to have run. On a closed
    /// connection it only waits for the end.
    pub async fn disconnect(&self) {
        let now = self.shared.runtime.now();
        self.shared.core().close(now);
        self.shared.kick();
        self.shared.wait().await;
    }

    /// Resolves when the connection ends, with the reason, after `on_disconnect` has run.
    ///
    /// Called from a handler it resolves as soon as the connection has ended, since the
    /// handlers run one at a time.
    pub async fn wait(&self) -> DisconnectReason {
        self.shared.wait().await
    }
}
