//! Application handlers and the jobs that carry events to them (the refusals they can return,
//! [`Rejection`] and [`Forbidden`], are shared with the async server, in
//! [`engineio_core::http::refusal`]).
//!
//! Handlers are plain closures. They run on the dispatcher's threads (see
//! [`dispatch`](super::dispatch)), never on the engine thread and never while a lock is held,
//! so a handler may call any [`Server`] method, `send` and `disconnect` included.

use std::sync::Arc;

use engineio_core::{DisconnectReason, Message, Sid};

use super::Server;
use engineio_core::http::{ConnectRequest, Forbidden, Rejection};

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
