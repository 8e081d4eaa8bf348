//! The server: one [`Server`] routes every request to its session's state machine.
//!
//! # Driving a server
//!
//! The methods fall in four groups (the shape of quinn-proto's `Connection`):
//!
//! - **inputs**: [`handle_request`](Server::handle_request), [`handle_body`](Server::handle_body),
//!   [`handle_body_end`](Server::handle_body_end), [`handle_request_closed`](Server::handle_request_closed),
//!   [`handle_ws_frame`](Server::handle_ws_frame), [`handle_ws_written`](Server::handle_ws_written),
//!   [`handle_ws_closed`](Server::handle_ws_closed), [`handle_ws_error`](Server::handle_ws_error),
//!   [`handle_timeout`](Server::handle_timeout);
//! - **commands** from the application: [`send`](Server::send), [`close`](Server::close),
//!   [`close_all`](Server::close_all), [`shutdown`](Server::shutdown),
//!   [`authorize`](Server::authorize), [`accept_connect`](Server::accept_connect),
//!   [`reject_connect`](Server::reject_connect);
//! - **outputs**: [`poll_transmit`](Server::poll_transmit), [`poll_event`](Server::poll_event),
//!   [`poll_timeout`](Server::poll_timeout);
//! - **getters**: [`session_count`](Server::session_count), [`transport`](Server::transport), …
//!
//! After every input or command, drain `poll_transmit` and `poll_event` until both return
//! `None`, then (re)arm one timer at `poll_timeout`. When it fires, call `handle_timeout(now)`
//! and drain again. Calling `handle_timeout` early is harmless. Every request handed to
//! `handle_request` gets exactly one [`Transmit::Respond`] or [`Transmit::AcceptWebSocket`];
//! a request the peer abandoned is reported with `handle_request_closed` so that its session
//! can react.
//!
//! A misbehaving client never makes an input fail: it gets an HTTP error or a closed socket,
//! and its session ends with [`Event::Disconnected`]. `Err` is only for local misuse, such as
//! sending to a session that does not exist.

mod config;
mod outputs;
mod polling;
mod request;
mod session;
mod timers;
mod websocket;

use crate::id_map::{shrink_when_sparse, IdMap};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use crate::packet::{Frame, Message};
use crate::sid::{Sid, SidGenerator};
use crate::types::{DisconnectReason, RequestId, SendError, Transport, WsFailure};

pub use config::ServerConfig;
pub use outputs::{Event, Transmit};
pub use request::{ErrorCode, Method, Request, Response, ResponseKind};

use outputs::{Ctx, Outputs, RouteKind};
use request::{has_invalid_header_char, Query};
use session::{unauthorized, Deadlines, Session};
use timers::{TimerOwner, Timers};

/// The application's answer to [`Event::Authorize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    /// Go on with the handshake.
    Accept,
    /// Refuse it with this HTTP status (403 in the reference) and message, sent as
    /// `{"code":4,"message":…}`.
    Reject {
        /// The HTTP status.
        status: u16,
        /// The message of the JSON body.
        message: String,
    },
}

/// A command named a request that is not waiting for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownRequest(pub RequestId);

impl std::fmt::Display for UnknownRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "request {} is not waiting for authorization", self.0)
    }
}

impl std::error::Error for UnknownRequest {}

/// A handshake waiting for the application's authorization; no session exists yet.
#[derive(Debug, Clone, Copy)]
struct PendingHandshake {
    transport: Transport,
    b64: bool,
    eio_ok: bool,
}

/// The Engine.IO server state machine: routing, the session table and every session's protocol.
///
/// See the [module documentation](self) for the drain contract.
#[derive(Debug)]
pub struct Server {
    config: Arc<ServerConfig>,
    sids: SidGenerator,
    sessions: IdMap<Sid, Session>,
    pending: IdMap<RequestId, PendingHandshake>,
    timers: Timers,
    out: Outputs,
    shutting_down: bool,
}

impl Server {
    /// Creates a server. `seed` seeds the session-id generator: pass 32 bytes from the operating
    /// system's RNG (`getrandom`) in production, a constant in tests.
    pub fn new(config: Arc<ServerConfig>, seed: [u8; 32]) -> Self {
        Self {
            config,
            sids: SidGenerator::new(seed),
            sessions: IdMap::default(),
            pending: IdMap::default(),
            timers: Timers::default(),
            out: Outputs::default(),
            shutting_down: false,
        }
    }

    /// The options this server runs with.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Routes a new request to the Engine.IO path. `request` is a fresh id the runtime chose.
    ///
    /// The checks run in the reference's order: transport, Origin charset, then either the
    /// session (`sid`, `EIO`, transport mismatch, method) or the handshake (method, WebSocket
    /// upgrade, authorization, `EIO`).
    ///
    /// Returns the transport of the session `request` opens when the core took it as a
    /// handshake: it then names `request` in [`Event::Authorize`], [`Event::Connecting`] or
    /// [`Event::Connected`], before any other input. A runtime that keeps a handshake's
    /// details for the application (the headers a connect handler reads) can keep them for
    /// these requests only, and need not look at the query itself.
    pub fn handle_request(
        &mut self,
        now: Instant,
        request: RequestId,
        head: Request<'_>,
    ) -> Option<Transport> {
        let query = Query::parse(head.query);
        let transport = query
            .transport
            .value()
            .and_then(Transport::from_query)
            .filter(|&transport| self.config.transports.contains(transport));
        let Some(transport) = transport else {
            self.refuse(request, ErrorCode::UnknownTransport);
            return None;
        };
        if head.origin.is_some_and(has_invalid_header_char) {
            self.refuse(request, ErrorCode::BadRequest);
            return None;
        }
        let eio_ok = query.eio.value() == Some("4");
        if !query.sid.is_missing() {
            self.route_to_session(now, request, &head, &query, transport, eio_ok);
            return None;
        }
        if head.method != Method::Get {
            self.refuse(request, ErrorCode::BadHandshakeMethod);
            return None;
        }
        if transport == Transport::WebSocket && !head.websocket {
            self.refuse(request, ErrorCode::BadRequest);
            return None;
        }
        if self.shutting_down {
            let response = Response::error_with(ErrorCode::BadRequest, 503, "Server shutting down");
            self.out.respond(request, response);
            return None;
        }
        let pending = PendingHandshake {
            transport,
            b64: query.b64,
            eio_ok,
        };
        if self.config.authorize {
            self.pending.insert(request, pending);
            let owner = TimerOwner::Handshake(request);
            self.timers
                .schedule(owner, Some(now + self.config.handshake_timeout));
            self.out
                .events
                .push_back(Event::Authorize { request, transport });
            Some(transport)
        } else {
            self.handshake(now, request, pending).then_some(transport)
        }
    }

    fn route_to_session(
        &mut self,
        now: Instant,
        request: RequestId,
        head: &Request<'_>,
        query: &Query<'_>,
        transport: Transport,
        eio_ok: bool,
    ) {
        let session = query
            .sid
            .value()
            .and_then(Sid::parse)
            .filter(|sid| self.sessions.get(sid).is_some_and(Session::is_connected));
        let Some(sid) = session else {
            return self.refuse(request, ErrorCode::UnknownSid);
        };
        // Stricter than the reference, which checks `EIO` only at the handshake: a request
        // that changes protocol revision mid-session is refused rather than misread.
        if !eio_ok {
            return self.refuse(request, ErrorCode::UnsupportedProtocolVersion);
        }
        let config = Arc::clone(&self.config);
        let Some(session) = self.sessions.get_mut(&sid) else {
            return;
        };
        let mut ctx = Ctx {
            now,
            config: &config,
            out: &mut self.out,
        };
        let wants_upgrade = transport == Transport::WebSocket && head.websocket;
        match (session.transport, transport) {
            (Transport::Polling, Transport::Polling) => match head.method {
                Method::Get => session.handle_poll(request, &mut ctx),
                Method::Post => session.handle_post(request, head, &mut ctx),
                Method::Other => ctx
                    .out
                    .respond(request, Response::error(ErrorCode::BadRequest)),
            },
            (Transport::Polling, Transport::WebSocket)
                if wants_upgrade
                    && config.allow_upgrades
                    && session.upgrade.is_none()
                    && matches!(session.phase, session::Phase::Open) =>
            {
                session.start_upgrade(request, &mut ctx);
            }
            // Transport mismatch, a second WebSocket for an upgraded or upgrading session, or a
            // WebSocket request without the upgrade header.
            _ => ctx
                .out
                .respond(request, Response::error(ErrorCode::BadRequest)),
        }
        self.settle(sid);
    }

    /// Opens the session of a handshake that passed every check but `EIO`, or refuses it for
    /// the wrong `EIO`; true if the session opened.
    fn handshake(&mut self, now: Instant, request: RequestId, pending: PendingHandshake) -> bool {
        if !pending.eio_ok {
            self.refuse(request, ErrorCode::UnsupportedProtocolVersion);
            return false;
        }
        let mut sid = self.sids.next_sid();
        while self.sessions.contains_key(&sid) {
            sid = self.sids.next_sid();
        }
        let config = Arc::clone(&self.config);
        let mut ctx = Ctx {
            now,
            config: &config,
            out: &mut self.out,
        };
        let mut session = Session::new(sid, pending.transport, pending.b64, request, &mut ctx);
        if config.confirm_connect {
            ctx.out.events.push_back(Event::Connecting {
                sid,
                request,
                transport: pending.transport,
            });
        } else {
            session.open(&mut ctx);
        }
        self.sessions.insert(sid, session);
        self.settle(sid);
        true
    }

    fn refuse(&mut self, request: RequestId, code: ErrorCode) {
        self.out.respond(request, Response::error(code));
    }

    /// The next chunk of the body of a POST the core asked for with [`Transmit::ReadBody`].
    pub fn handle_body(&mut self, now: Instant, request: RequestId, chunk: Bytes) {
        self.with_route(now, request, |session, ctx| session.handle_body(chunk, ctx));
    }

    /// The end of that body.
    pub fn handle_body_end(&mut self, now: Instant, request: RequestId) {
        self.with_route(now, request, |session, ctx| session.handle_body_end(ctx));
    }

    /// The peer went away before `request` was answered (a held GET, a POST being read, a
    /// handshake waiting for the application). The request needs no response any more.
    pub fn handle_request_closed(&mut self, now: Instant, request: RequestId) {
        if self.pending.remove(&request).is_some() {
            self.timers.remove(TimerOwner::Handshake(request));
            return;
        }
        self.with_route(now, request, |session, ctx| {
            session.handle_request_closed(request, ctx);
        });
    }

    /// A data frame arrived on a WebSocket the core accepted.
    pub fn handle_ws_frame(&mut self, now: Instant, socket: RequestId, frame: Frame) {
        let Some(&(sid, kind)) = self.out.routes.get(&socket) else {
            return;
        };
        self.with_session_telling(now, sid, |session, ctx| match kind {
            RouteKind::Probe => {
                session.handle_probe_frame(frame, ctx);
                Deadlines::Moved
            }
            _ => session.handle_socket_frame(frame, ctx),
        });
    }

    /// Data frames that arrived together on a WebSocket, in order: the same as one
    /// [`handle_ws_frame`](Self::handle_ws_frame) per frame, for less.
    ///
    /// Call it with the frames one read gave (a client's burst): the socket's session is looked
    /// up and its deadline settled once for the run rather than once per frame. A probe's
    /// frames still go one at a time, because they change the socket's role mid-run (`5`
    /// makes the probe the session's socket), and frames after the one that ends the session
    /// or takes the socket from it are dropped, as separate calls would drop them.
    pub fn handle_ws_frames(
        &mut self,
        now: Instant,
        socket: RequestId,
        frames: impl IntoIterator<Item = Frame>,
    ) {
        let mut frames = frames.into_iter().peekable();
        while frames.peek().is_some() {
            let Some(&(sid, kind)) = self.out.routes.get(&socket) else {
                return;
            };
            if kind != RouteKind::Socket {
                if let Some(frame) = frames.next() {
                    self.handle_ws_frame(now, socket, frame);
                }
                continue;
            }
            let mut found = false;
            self.with_session_telling(now, sid, |session, ctx| {
                found = true;
                let mut deadlines = Deadlines::Kept;
                for frame in frames.by_ref() {
                    if session.handle_socket_frame(frame, ctx) == Deadlines::Moved {
                        deadlines = Deadlines::Moved;
                    }
                    if session.ended || session.socket != Some(socket) {
                        break;
                    }
                }
                deadlines
            });
            if !found {
                return;
            }
        }
    }

    /// The runtime finished writing the last [`Transmit::WsSend`] batch for `socket`. Until
    /// then, further packets for that socket wait in the session's buffer and go as one batch.
    pub fn handle_ws_written(&mut self, now: Instant, socket: RequestId) {
        if let Some(&(sid, _)) = self.out.routes.get(&socket) {
            // As a send: a flush, which moves no deadline.
            self.with_session_telling(now, sid, |session, ctx| {
                session.handle_ws_written(socket, ctx);
                Deadlines::Kept
            });
        }
    }

    /// The WebSocket closed (a close frame, or the connection ended).
    pub fn handle_ws_closed(&mut self, now: Instant, socket: RequestId) {
        self.with_route(now, socket, |session, ctx| {
            session.handle_ws_gone(socket, DisconnectReason::TransportClose, None, ctx);
        });
    }

    /// The WebSocket library failed on `socket` (see [`WsFailure`]). The socket can still be
    /// written, so the core answers with a [`Transmit::WsClose`] carrying the failure's code
    /// (1002, 1007 or 1009): on the session's socket the session then ends with
    /// [`WsFailure::reason`]; on an upgrade probe only the probe is dropped and the session
    /// stays on polling. A socket the core no longer knows gets nothing.
    pub fn handle_ws_error(&mut self, now: Instant, socket: RequestId, failure: WsFailure) {
        self.with_route(now, socket, |session, ctx| {
            let code = failure.close_code();
            session.handle_ws_gone(socket, failure.reason(), Some(code), ctx);
        });
    }

    /// Runs every deadline due at `now`: pings, ping timeouts, upgrade and close deadlines,
    /// handshakes the application did not answer. Calling it early does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(owner) = self.timers.pop_due(now) {
            match owner {
                TimerOwner::Handshake(request) => {
                    if self.pending.remove(&request).is_some() {
                        let response =
                            Response::error_with(ErrorCode::BadRequest, 503, "Handshake timed out");
                        self.out.respond(request, response);
                    }
                }
                TimerOwner::Session(sid) => {
                    self.with_session(now, sid, |session, ctx| {
                        // The queue no longer holds an entry for it.
                        session.timer_at = None;
                        session.handle_timeout(ctx);
                    });
                }
            }
        }
        self.timers.prune();
    }

    /// Answers [`Event::Authorize`]: accept to go on with the handshake, or reject it.
    pub fn authorize(
        &mut self,
        now: Instant,
        request: RequestId,
        decision: Authorization,
    ) -> Result<(), UnknownRequest> {
        let pending = self
            .pending
            .remove(&request)
            .ok_or(UnknownRequest(request))?;
        self.timers.remove(TimerOwner::Handshake(request));
        match decision {
            Authorization::Accept => {
                self.handshake(now, request, pending);
            }
            Authorization::Reject { status, message } => {
                let response = Response::error_with(ErrorCode::Forbidden, status, &message);
                self.out.respond(request, response);
            }
        }
        Ok(())
    }

    /// Opens a session held in [`Event::Connecting`]: its open packet goes out and
    /// [`Event::Connected`] follows.
    pub fn accept_connect(&mut self, now: Instant, sid: &Sid) -> Result<(), SendError> {
        self.command(now, sid, |session, ctx| {
            session.open(ctx);
            Ok(())
        })
    }

    /// Refuses a session held in [`Event::Connecting`] with 401 and `body` (JSON; default
    /// `{"message":"Unauthorized"}`). It ends without a `Disconnected` event.
    pub fn reject_connect(
        &mut self,
        now: Instant,
        sid: &Sid,
        body: Option<Bytes>,
    ) -> Result<(), SendError> {
        self.command(now, sid, |session, ctx| {
            session.refuse(unauthorized(body), ctx);
            Ok(())
        })
    }

    /// Queues a message for the session; it goes out on the next poll or WebSocket write.
    pub fn send(
        &mut self,
        now: Instant,
        sid: &Sid,
        message: impl Into<Message>,
    ) -> Result<(), SendError> {
        let message = message.into();
        let mut result = Err(SendError::UnknownSession);
        // A send queues and flushes, and a flush moves no deadline (it may end the session).
        self.with_session_telling(now, *sid, |session, ctx| {
            result = session.send(message, ctx);
            Deadlines::Kept
        });
        result
    }

    /// Closes the session from the server side; `Disconnected` with
    /// [`DisconnectReason::ServerDisconnect`] follows once the client has been told (on polling,
    /// at its next GET or after `close_timeout`).
    pub fn close(&mut self, now: Instant, sid: &Sid) -> Result<(), SendError> {
        self.command(now, sid, |session, ctx| {
            session.close(DisconnectReason::ServerDisconnect, ctx);
            Ok(())
        })
    }

    /// Ends the session at once with `reason`, without waiting for a polling client to come
    /// back for its close packet: a held GET gets `1`, a WebSocket gets `1` and a close frame,
    /// and `Disconnected` follows now. Use it where waiting is not an option (the end of a
    /// graceful shutdown); [`close`](Self::close) is the polite form.
    pub fn abort(
        &mut self,
        now: Instant,
        sid: &Sid,
        reason: DisconnectReason,
    ) -> Result<(), SendError> {
        self.command(now, sid, |session, ctx| {
            session.terminate(reason, ctx);
            Ok(())
        })
    }

    /// Closes every session with [`DisconnectReason::ServerDisconnect`].
    pub fn close_all(&mut self, now: Instant) {
        self.close_every(now, DisconnectReason::ServerDisconnect);
    }

    /// Refuses new handshakes (503) and closes every session with
    /// [`DisconnectReason::ServerShutdown`]. The caller keeps driving the server until
    /// [`session_count`](Self::session_count) is 0 or its own deadline passes.
    pub fn shutdown(&mut self, now: Instant) {
        self.shutting_down = true;
        let pending: Vec<RequestId> = self.pending.keys().copied().collect();
        for request in pending {
            let _ = self.authorize(
                now,
                request,
                Authorization::Reject {
                    status: 503,
                    message: "Server shutting down".into(),
                },
            );
        }
        self.close_every(now, DisconnectReason::ServerShutdown);
    }

    fn close_every(&mut self, now: Instant, reason: DisconnectReason) {
        let sids: Vec<Sid> = self.sessions.keys().copied().collect();
        for sid in sids {
            self.with_session(now, sid, |session, ctx| session.close(reason, ctx));
        }
    }

    /// Returns the next thing to write on the network, or `None` when drained.
    #[must_use]
    #[inline]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.transmits.pop_front()
    }

    /// Returns the next application event, or `None` when drained.
    #[must_use]
    #[inline]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.out.events.pop_front()
    }

    /// Returns when [`handle_timeout`](Self::handle_timeout) should be called next; `Some`
    /// whenever a session or a pending handshake exists.
    #[must_use]
    #[inline]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Number of live sessions (connecting, open or closing).
    #[inline]
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Returns the ids of the live sessions.
    pub fn sids(&self) -> impl Iterator<Item = Sid> + '_ {
        self.sessions.keys().copied()
    }

    /// The session's current transport, or `None` if there is no such session.
    pub fn transport(&self, sid: &Sid) -> Option<Transport> {
        self.sessions.get(sid).map(|session| session.transport)
    }

    /// True while the session has a WebSocket probing an upgrade.
    pub fn is_upgrading(&self, sid: &Sid) -> bool {
        self.sessions
            .get(sid)
            .is_some_and(|session| session.upgrade.is_some())
    }

    /// Number of messages queued for the session and not yet handed to the runtime.
    pub fn queued_messages(&self, sid: &Sid) -> Option<usize> {
        self.sessions
            .get(sid)
            .map(|session| session.buffer.message_count())
    }

    fn command(
        &mut self,
        now: Instant,
        sid: &Sid,
        act: impl FnOnce(&mut Session, &mut Ctx<'_>) -> Result<(), SendError>,
    ) -> Result<(), SendError> {
        let mut result = Err(SendError::UnknownSession);
        self.with_session(now, *sid, |session, ctx| result = act(session, ctx));
        result
    }

    fn with_route(
        &mut self,
        now: Instant,
        request: RequestId,
        act: impl FnOnce(&mut Session, &mut Ctx<'_>),
    ) {
        if let Some(&(sid, _)) = self.out.routes.get(&request) {
            self.with_session(now, sid, act);
        }
    }

    /// Runs `act` on a session, then settles it: removes it if it ended, or makes sure its
    /// next deadline is scheduled.
    fn with_session(
        &mut self,
        now: Instant,
        sid: Sid,
        act: impl FnOnce(&mut Session, &mut Ctx<'_>),
    ) {
        self.with_session_telling(now, sid, |session, ctx| {
            act(session, ctx);
            Deadlines::Moved
        });
    }

    /// Runs `act` on a session, which says whether it may have moved the session's
    /// deadlines; settles the session only if it did or the session ended. Settling is a
    /// tenth of the cost of a message's inputs (a frame, a send, a batch written), which move
    /// none. Debug builds check every [`Deadlines::Kept`].
    fn with_session_telling(
        &mut self,
        now: Instant,
        sid: Sid,
        act: impl FnOnce(&mut Session, &mut Ctx<'_>) -> Deadlines,
    ) {
        let Some(session) = self.sessions.get_mut(&sid) else {
            return;
        };
        #[cfg(debug_assertions)]
        let before = session.next_deadline();
        let mut ctx = Ctx {
            now,
            config: &self.config,
            out: &mut self.out,
        };
        let deadlines = act(session, &mut ctx);
        if deadlines == Deadlines::Moved || session.ended {
            if !keep_scheduled(&mut self.timers, session) {
                self.remove_session(sid);
            }
        } else {
            #[cfg(debug_assertions)]
            debug_assert_eq!(
                session.next_deadline(),
                before,
                "a deadline moved, unsettled"
            );
        }
    }

    /// Removes an ended session, or makes sure its next deadline is scheduled.
    fn settle(&mut self, sid: Sid) {
        if let Some(session) = self.sessions.get_mut(&sid) {
            if !keep_scheduled(&mut self.timers, session) {
                self.remove_session(sid);
            }
        }
    }

    /// Forgets an ended session; the tables give their memory back once mostly empty.
    fn remove_session(&mut self, sid: Sid) {
        self.sessions.remove(&sid);
        shrink_when_sparse(&mut self.sessions);
        shrink_when_sparse(&mut self.pending);
    }
}

/// Makes sure a live session's next deadline is in the timer queue; for an ended session,
/// forgets its timer and returns false (the caller removes the session).
fn keep_scheduled(timers: &mut Timers, session: &mut Session) -> bool {
    if session.ended {
        timers.remove(TimerOwner::Session(session.sid));
        timers.prune();
        return false;
    }
    let deadline = session.next_deadline();
    // What `Timers::schedule` would decide, from the session's mirror of its entry: nothing
    // to do when no deadline is held and none is wanted, or when the one held comes no later
    // than the one wanted (it wakes the session early, harmlessly). The common input leaves
    // the deadline where it was and so costs no lookup in the queue.
    let unchanged = match (deadline, session.timer_at) {
        (None, None) => true,
        (Some(wanted), Some(held)) => held <= wanted,
        _ => false,
    };
    if !unchanged {
        timers.schedule(TimerOwner::Session(session.sid), deadline);
        session.timer_at = deadline;
    }
    true
}
