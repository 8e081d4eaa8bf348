//! Application handlers, the refusals they can return, and the jobs that carry events to them.
//!
//! Handlers are plain closures. They run on the dispatcher's threads (see
//! [`dispatch`](super::dispatch)), never on the engine thread and never while a lock is held,
//! so a handler may call any [`Server`] method, `send` and `disconnect` included.

use std::sync::Arc;

use engineio_core::{Bytes, DisconnectReason, Message, Sid};

use super::request::ConnectRequest;
use super::Server;

pub(crate) type AuthorizeFn =
    Arc<dyn Fn(Arc<ConnectRequest>) -> Result<(), Forbidden> + Send + Sync>;
pub(crate) type ConnectFn =
    Arc<dyn Fn(Server, Sid, Arc<ConnectRequest>) -> Result<(), Rejection> + Send + Sync>;
pub(crate) type MessageFn = Arc<dyn Fn(Server, Sid, Message) + Send + Sync>;
pub(crate) type DisconnectFn = Arc<dyn Fn(Server, Sid, DisconnectReason) + Send + Sync>;

/// The application's handlers.
#[derive(Clone, Default)]
pub(crate) struct Handlers {
    pub(crate) authorize: Option<AuthorizeFn>,
    pub(crate) connect: Option<ConnectFn>,
    pub(crate) message: Option<MessageFn>,
    pub(crate) disconnect: Option<DisconnectFn>,
}

impl std::fmt::Debug for Handlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handlers")
            .field("authorize", &self.authorize.is_some())
            .field("connect", &self.connect.is_some())
            .field("message", &self.message.is_some())
            .field("disconnect", &self.disconnect.is_some())
            .finish()
    }
}

/// Refuses a connection from an `on_connect` handler: the handshake is answered with 401 and
/// a JSON body, and the session ends without a disconnect (python-engineio's
/// `ConnectionRefusedError`).
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    body: serde_json::Value,
}

impl Rejection {
    /// A rejection with the body `{"message":"Unauthorized"}`.
    pub fn new() -> Self {
        Self::message("Unauthorized")
    }

    /// A rejection with the body `{"message":<message>}`.
    pub fn message(message: impl Into<String>) -> Self {
        Self {
            body: serde_json::json!({ "message": message.into() }),
        }
    }

    /// A rejection with any JSON body.
    pub fn with_body(body: serde_json::Value) -> Self {
        Self { body }
    }

    pub(crate) fn into_body(self) -> Bytes {
        Bytes::from(self.body.to_string())
    }
}

impl Default for Rejection {
    fn default() -> Self {
        Self::new()
    }
}

/// Refuses a handshake from an `authorize` hook, before any session exists: the request is
/// answered with the status (403 by default) and `{"code":4,"message":…}` (the JS server's
/// `allowRequest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forbidden {
    pub(crate) status: u16,
    pub(crate) message: String,
}

impl Forbidden {
    /// 403 with the reference message `Forbidden`.
    pub fn new() -> Self {
        Self::message("Forbidden")
    }

    /// 403 with this message.
    pub fn message(message: impl Into<String>) -> Self {
        Self {
            status: 403,
            message: message.into(),
        }
    }

    /// Changes the HTTP status (for example 401, or 429 when rate limiting).
    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }
}

impl Default for Forbidden {
    fn default() -> Self {
        Self::new()
    }
}

/// One thing a session's handlers must do, in order.
#[derive(Debug)]
pub(crate) enum Job {
    /// Run `on_connect` and accept or reject the session (always the first job).
    Connect(Arc<ConnectRequest>),
    /// Run `on_message` (and feed the stream face).
    Message(Message),
    /// Run `on_disconnect`; the session's last job.
    Disconnect(DisconnectReason),
}
