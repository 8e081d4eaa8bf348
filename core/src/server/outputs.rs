//! The server's output queues and its table of live requests.

use std::collections::VecDeque;

use crate::id_map::IdMap;
use std::time::Instant;

use crate::packet::Frames;
use crate::sid::Sid;
use crate::types::{DisconnectReason, RequestId, Transport};

use super::config::ServerConfig;
use super::request::Response;
use super::Message;

/// Something the runtime must do on the network, drained with
/// [`Server::poll_transmit`](super::Server::poll_transmit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transmit {
    /// Answer the HTTP request `request` (possibly a GET held for seconds). The request is done.
    ///
    /// The answer may come before the body was asked for (an unknown sid, a declared size over
    /// `maxPayload`) or in the middle of it (413 at the chunk that crosses the limit). The
    /// runtime then must not treat the rest of the body as the next request: close the
    /// connection after the response (or read and discard the rest, bounded).
    Respond {
        /// The request to answer.
        request: RequestId,
        /// The response to write.
        response: Response,
    },
    /// Read the body of the POST `request` and pass it to
    /// [`Server::handle_body`](super::Server::handle_body) and
    /// [`Server::handle_body_end`](super::Server::handle_body_end). Until this arrives the body
    /// must stay unread: the core asks only once the request is routed and its declared size fits.
    ReadBody {
        /// The POST whose body is wanted.
        request: RequestId,
    },
    /// Complete the WebSocket handshake (101) of `request`; from now on `request` names the
    /// socket in `WsSend`, `WsClose` and the `handle_ws_*` inputs.
    AcceptWebSocket {
        /// The upgrade request, and from now on the socket.
        request: RequestId,
    },
    /// Write these frames on the socket, in order, then flush and report with
    /// [`Server::handle_ws_written`](super::Server::handle_ws_written), once per `WsSend`.
    ///
    /// Normally one batch is outstanding per socket and the next one holds everything queued
    /// meanwhile; a close (the rest of the buffer and `1`) may follow without waiting, so a
    /// runtime writes batches in order and reports each one.
    WsSend {
        /// The socket.
        socket: RequestId,
        /// One frame per packet.
        frames: Frames,
    },
    /// Close the socket with this WebSocket close code after writing what was sent before.
    /// The core has forgotten the socket: reporting its end afterwards is allowed and ignored.
    WsClose {
        /// The socket.
        socket: RequestId,
        /// 1000 normal, 1002 protocol error, 1007 invalid UTF-8, 1009 message too big.
        code: u16,
    },
}

/// Something the application should know, drained with
/// [`Server::poll_event`](super::Server::poll_event).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A handshake waits for [`Server::authorize`](super::Server::authorize) (only with
    /// [`ServerConfig::authorize`]). No session exists yet.
    Authorize {
        /// The handshake request; the runtime still holds its headers.
        request: RequestId,
        /// The transport asked for.
        transport: Transport,
    },
    /// A session was allocated and waits for
    /// [`Server::accept_connect`](super::Server::accept_connect) or
    /// [`Server::reject_connect`](super::Server::reject_connect) (only with
    /// [`ServerConfig::confirm_connect`]).
    Connecting {
        /// The new session.
        sid: Sid,
        /// The handshake request.
        request: RequestId,
        /// Its transport.
        transport: Transport,
    },
    /// A session is open: its open packet is on the way.
    Connected {
        /// The session.
        sid: Sid,
        /// The handshake request.
        request: RequestId,
        /// Its transport.
        transport: Transport,
    },
    /// A message from the client.
    Message {
        /// The session.
        sid: Sid,
        /// The message.
        message: Message,
    },
    /// The session moved from polling to WebSocket.
    Upgraded {
        /// The session.
        sid: Sid,
    },
    /// The session ended. Emitted exactly once for every `Connected` session.
    Disconnected {
        /// The session.
        sid: Sid,
        /// Why it ended.
        reason: DisconnectReason,
    },
}

/// What a live request or socket is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouteKind {
    /// The handshake of a session waiting for `accept_connect`.
    Connecting,
    /// A poll held until there is something to send.
    HeldGet,
    /// A POST whose body is being read.
    Post,
    /// The session's WebSocket.
    Socket,
    /// A WebSocket probing an upgrade.
    Probe,
}

#[derive(Debug, Default)]
pub(crate) struct Outputs {
    pub(crate) transmits: VecDeque<Transmit>,
    pub(crate) events: VecDeque<Event>,
    pub(crate) routes: IdMap<RequestId, (Sid, RouteKind)>,
}

impl Outputs {
    pub(crate) fn respond(&mut self, request: RequestId, response: Response) {
        self.transmits
            .push_back(Transmit::Respond { request, response });
    }

    pub(crate) fn ws_send(&mut self, socket: RequestId, frames: Frames) {
        self.transmits
            .push_back(Transmit::WsSend { socket, frames });
    }

    pub(crate) fn ws_close(&mut self, socket: RequestId, code: u16) {
        self.transmits.push_back(Transmit::WsClose { socket, code });
    }

    pub(crate) fn route(&mut self, request: RequestId, sid: Sid, kind: RouteKind) {
        self.routes.insert(request, (sid, kind));
    }

    pub(crate) fn unroute(&mut self, request: RequestId) {
        self.routes.remove(&request);
        crate::id_map::shrink_when_sparse(&mut self.routes);
    }
}

/// What a session handler needs: the time, the options and the output queues.
pub(crate) struct Ctx<'a> {
    pub(crate) now: Instant,
    pub(crate) config: &'a ServerConfig,
    pub(crate) out: &'a mut Outputs,
}
