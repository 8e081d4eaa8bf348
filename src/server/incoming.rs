//! The stream face of the server: accept sockets, then `recv` and `send` in a loop.
//!
//! Built with [`ServerBuilder::build_incoming`](super::ServerBuilder::build_incoming). Each
//! connected session becomes a [`Socket`] in [`Incoming`]; its messages queue in a bounded
//! channel, and a full channel makes that session's message delivery wait (nothing is dropped),
//! while other sessions go on. Handlers, if any are set too, still run.

use std::sync::{Arc, Mutex, PoisonError};

use engineio_core::{DisconnectReason, Message, SendError, Sid, Transport};
use futures_channel::mpsc;
use futures_util::StreamExt;

use super::Server;

/// The sockets of new sessions, in the order they connected.
#[derive(Debug)]
pub struct Incoming {
    sockets: mpsc::Receiver<Socket>,
}

impl Incoming {
    /// Waits for the next connected session; `None` once the server is gone.
    pub async fn accept(&mut self) -> Option<Socket> {
        self.sockets.next().await
    }
}

/// Feeds [`Incoming`].
#[derive(Debug)]
pub(crate) struct IncomingSender {
    sockets: Mutex<mpsc::Sender<Socket>>,
    /// Capacity of each socket's message queue.
    pub(crate) capacity: usize,
}

impl IncomingSender {
    pub(crate) fn new(accept_backlog: usize, capacity: usize) -> (Self, Incoming) {
        let (sender, sockets) = mpsc::channel(accept_backlog);
        (
            Self {
                sockets: Mutex::new(sender),
                capacity,
            },
            Incoming { sockets },
        )
    }

    /// Queues a socket for `accept`; a session nobody will accept is closed.
    pub(crate) fn push(&self, socket: Socket) {
        let mut sender = self.sockets.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(error) = sender.try_send(socket) {
            let socket = error.into_inner();
            tracing::warn!(sid = %socket.sid, "accept backlog full; closing the session");
            if let Some(server) = &socket.server {
                let _ = server.disconnect(&socket.sid);
            }
        }
    }
}

/// One session, as the stream face sees it.
#[derive(Debug)]
pub struct Socket {
    sid: Sid,
    server: Option<Server>,
    messages: mpsc::Receiver<Message>,
    reason: Arc<Mutex<Option<DisconnectReason>>>,
}

impl Socket {
    pub(crate) fn new(
        sid: Sid,
        messages: mpsc::Receiver<Message>,
        reason: Arc<Mutex<Option<DisconnectReason>>>,
    ) -> Self {
        Self {
            sid,
            server: None,
            messages,
            reason,
        }
    }

    pub(crate) fn bind(mut self, server: Server) -> Self {
        self.server = Some(server);
        self
    }

    fn server(&self) -> &Server {
        self.server
            .as_ref()
            .expect("sockets are bound before they are accepted")
    }

    /// The session id.
    pub fn sid(&self) -> Sid {
        self.sid
    }

    /// Waits for the next message; `None` once the session has ended and every message
    /// received before the end has been read.
    pub async fn recv(&mut self) -> Option<Message> {
        self.messages.next().await
    }

    /// Queues a message for the client.
    pub fn send(&self, message: impl Into<Message>) -> Result<(), SendError> {
        self.server().send(&self.sid, message)
    }

    /// Closes the session.
    pub fn close(&self) -> Result<(), SendError> {
        self.server().disconnect(&self.sid)
    }

    /// The session's transport, or `None` once it has ended.
    pub fn transport(&self) -> Option<Transport> {
        self.server().transport(&self.sid)
    }

    /// Why the session ended, once it has (after `recv` returned `None`).
    pub fn disconnect_reason(&self) -> Option<DisconnectReason> {
        *self.reason.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The server this socket belongs to.
    pub fn server_handle(&self) -> &Server {
        self.server()
    }
}
