//! The stream face of the server: accept sockets, then `recv` and `send` in a loop.
//!
//! Built with [`ServerBuilder::build_incoming`](super::ServerBuilder::build_incoming). Each
//! connected session becomes a [`Socket`] in [`Incoming`]; its messages queue in a bounded
//! channel, and a full channel makes that session's message delivery wait (nothing is
//! dropped), while other sessions go on. Handlers, if any are set too, still run.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use engineio_core::{DisconnectReason, Message, SendError, Sid, Transport};

use super::shared::Shared;
use super::Server;

/// The sockets of new sessions, in the order they connected.
#[derive(Debug)]
pub struct Incoming {
    sockets: Receiver<Socket>,
    server: Weak<Shared>,
}

impl Incoming {
    /// Waits for the next connected session; `None` once the server is gone.
    pub fn accept(&self) -> Option<Socket> {
        self.sockets.recv().ok().map(|socket| self.bind(socket))
    }

    /// Like [`accept`](Self::accept), waiting at most `timeout`.
    pub fn accept_timeout(&self, timeout: Duration) -> Option<Socket> {
        self.sockets
            .recv_timeout(timeout)
            .ok()
            .map(|socket| self.bind(socket))
    }

    fn bind(&self, mut socket: Socket) -> Socket {
        socket.server = self.server.upgrade().map(|shared| Server { shared });
        socket
    }
}

/// Feeds [`Incoming`].
#[derive(Debug)]
pub(crate) struct IncomingSender {
    sockets: SyncSender<Socket>,
    capacity: usize,
}

impl IncomingSender {
    pub(crate) fn new(accept_backlog: usize, capacity: usize) -> (Self, Receiver<Socket>) {
        let (sockets, receiver) = mpsc::sync_channel(accept_backlog);
        (Self { sockets, capacity }, receiver)
    }

    pub(crate) fn incoming(receiver: Receiver<Socket>, server: &Server) -> Incoming {
        Incoming {
            sockets: receiver,
            server: Arc::downgrade(&server.shared),
        }
    }

    /// A session connected: give it a message queue and offer its socket; a session nobody
    /// will accept (the backlog is full) is closed.
    pub(crate) fn connected(&self, shared: &Shared, sid: Sid) {
        let (inbox, messages) = mpsc::sync_channel(self.capacity);
        let Some(reason) = shared.with_entry(&sid, |entry| {
            entry.inbox = Some(inbox);
            Arc::clone(&entry.reason)
        }) else {
            return;
        };
        let socket = Socket {
            sid,
            server: None,
            messages,
            reason,
        };
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            self.sockets.try_send(socket)
        {
            tracing::warn!(%sid, "accept backlog full; closing the session");
            shared.with_entry(&sid, |entry| entry.inbox = None);
            // Called on the engine thread: the close goes through the command channel.
            shared.input(super::engine::Command::Call(Box::new(move |core, now| {
                let _ = core.close(now, &sid);
            })));
        }
    }
}

/// One session, as the stream face sees it.
#[derive(Debug)]
pub struct Socket {
    sid: Sid,
    server: Option<Server>,
    messages: Receiver<Message>,
    reason: Arc<Mutex<Option<DisconnectReason>>>,
}

impl Socket {
    /// The session id.
    pub fn sid(&self) -> Sid {
        self.sid
    }

    /// Waits for the next message; `None` once the session has ended and every message
    /// received before the end has been read.
    pub fn recv(&self) -> Option<Message> {
        self.messages.recv().ok()
    }

    /// Like [`recv`](Self::recv), waiting at most `timeout`: `Err(true)` when the session has
    /// ended, `Err(false)` when the time ran out.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Message, bool> {
        self.messages
            .recv_timeout(timeout)
            .map_err(|error| error == RecvTimeoutError::Disconnected)
    }

    /// Queues a message for the client.
    pub fn send(&self, message: impl Into<Message>) -> Result<(), SendError> {
        match &self.server {
            Some(server) => server.send(&self.sid, message),
            None => Err(SendError::UnknownSession),
        }
    }

    /// Closes the session.
    pub fn close(&self) -> Result<(), SendError> {
        match &self.server {
            Some(server) => server.disconnect(&self.sid),
            None => Err(SendError::UnknownSession),
        }
    }

    /// The session's transport, or `None` once it has ended.
    pub fn transport(&self) -> Option<Transport> {
        self.server.as_ref()?.transport(&self.sid)
    }

    /// Why the session ended, once it has (after `recv` returned `None`).
    pub fn disconnect_reason(&self) -> Option<DisconnectReason> {
        *self.reason.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The server this socket belongs to, unless it is gone.
    pub fn server_handle(&self) -> Option<&Server> {
        self.server.as_ref()
    }
}
