//! One session's state machine: its phase, transports, buffer and deadlines.
//!
//! The transport-specific rules live beside it (`polling.rs`, `websocket.rs`); this file holds
//! what every transport shares: opening, flushing the buffer into whichever sink is ready (a held
//! GET or an idle WebSocket), the heartbeat, closing, and the one place a session ends
//! ([`Session::terminate`]), which answers everything still outstanding.

use std::time::Instant;

use bytes::{Bytes, BytesMut};

use crate::buffer::{OutBuffer, Overflow};
use crate::packet::open::open_text;
use crate::packet::{payload, Frame, Frames, Message, Packet, PayloadDecoder};
use crate::sid::Sid;
use crate::types::{DisconnectReason, RequestId, SendError, Transport};

use super::outputs::{Ctx, Event, RouteKind};
use super::request::{ErrorCode, Response, ResponseKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Allocated, waiting for the application to accept the connection.
    Connecting {
        request: RequestId,
        deadline: Instant,
    },
    Open,
    /// The server closed a polling session; the next GET gets the rest of the buffer and `1`.
    Closing {
        deadline: Instant,
        reason: DisconnectReason,
    },
}

/// Whether an input may have moved a session's deadlines. The server settles the session's
/// place in the timer queue after an input only when it may have (or the session ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deadlines {
    /// None moved: a message, a send, a batch written.
    Kept,
    /// Some may have moved.
    Moved,
}

/// A POST whose body is being read.
#[derive(Debug)]
pub(crate) struct Post {
    pub(crate) request: RequestId,
    pub(crate) received: usize,
    pub(crate) decoder: PayloadDecoder,
    pub(crate) packets: Vec<Packet>,
}

/// A WebSocket opened with this session's sid, probing an upgrade.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Upgrade {
    pub(crate) socket: RequestId,
    /// `2probe` was answered: polls now get `6` until `5`.
    pub(crate) probed: bool,
    pub(crate) deadline: Instant,
    pub(crate) batches_in_flight: u32,
}

#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) sid: Sid,
    pub(crate) transport: Transport,
    /// The client asked for `b64=1`: binary goes as base64 text on WebSocket too.
    pub(crate) b64: bool,
    pub(crate) phase: Phase,
    pub(crate) held_get: Option<RequestId>,
    pub(crate) post: Option<Post>,
    pub(crate) socket: Option<RequestId>,
    pub(crate) batches_in_flight: u32,
    pub(crate) upgrade: Option<Upgrade>,
    pub(crate) buffer: OutBuffer,
    pub(crate) next_ping: Option<Instant>,
    pub(crate) pong_deadline: Option<Instant>,
    /// Set once the session is over; the server then removes it.
    pub(crate) ended: bool,
    /// The deadline the timer queue holds for this session (a mirror of its entry, so that
    /// the common input, which leaves the deadline where it was, costs no lookup there).
    pub(crate) timer_at: Option<Instant>,
}

impl Session {
    pub(crate) fn new(
        sid: Sid,
        transport: Transport,
        b64: bool,
        request: RequestId,
        ctx: &mut Ctx<'_>,
    ) -> Self {
        ctx.out.route(request, sid, RouteKind::Connecting);
        Self {
            sid,
            transport,
            b64,
            phase: Phase::Connecting {
                request,
                deadline: ctx.now + ctx.config.handshake_timeout,
            },
            held_get: None,
            post: None,
            socket: None,
            batches_in_flight: 0,
            upgrade: None,
            buffer: OutBuffer::default(),
            next_ping: None,
            pong_deadline: None,
            ended: false,
            timer_at: None,
        }
    }

    pub(crate) fn is_connected(&self) -> bool {
        !matches!(self.phase, Phase::Connecting { .. })
    }

    /// The earliest of this session's deadlines; `Some` for every live session.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        if self.ended {
            return None;
        }
        let phase = match self.phase {
            Phase::Connecting { deadline, .. } | Phase::Closing { deadline, .. } => Some(deadline),
            Phase::Open => None,
        };
        // Written out: this runs on every input a session gets, and the iterator form
        // (an array of options, flattened) cost half again as much in a profile.
        let mut next = self.next_ping;
        for candidate in [
            phase,
            self.pong_deadline,
            self.upgrade.map(|upgrade| upgrade.deadline),
        ] {
            next = match (next, candidate) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        next
    }

    /// Sends the open packet on the handshake request and starts the heartbeat.
    pub(crate) fn open(&mut self, ctx: &mut Ctx<'_>) {
        let Phase::Connecting { request, .. } = self.phase else {
            return;
        };
        let config = ctx.config;
        let open = open_text(
            &self.sid,
            self.transport == Transport::Polling
                && config.allow_upgrades
                && config.transports.websocket,
            millis(config.ping_interval + config.ping_interval_grace),
            millis(config.ping_timeout),
            config.max_payload as u64,
        );
        self.phase = Phase::Open;
        self.next_ping = Some(ctx.now + config.ping_interval);
        // What follows the open packet: usually nothing.
        let mut packets = Vec::new();
        if let Some(initial) = &config.initial_message {
            packets.push(Packet::Message(initial.clone()));
        }
        packets.extend(self.buffer.take_all());
        ctx.out.unroute(request);
        match self.transport {
            Transport::Polling => {
                let kind = ResponseKind::Handshake { sid: self.sid };
                let body = if packets.is_empty() {
                    Bytes::from(open)
                } else {
                    let mut out =
                        BytesMut::with_capacity(open.len() + 1 + payload::encoded_len(&packets));
                    out.extend_from_slice(open.as_bytes());
                    out.extend_from_slice(&[payload::SEPARATOR]);
                    payload::encode(&packets, &mut out);
                    out.freeze()
                };
                ctx.out.respond(request, Response::payload(body, kind));
            }
            Transport::WebSocket => {
                ctx.out
                    .transmits
                    .push_back(super::Transmit::AcceptWebSocket { request });
                ctx.out.route(request, self.sid, RouteKind::Socket);
                self.socket = Some(request);
                self.batches_in_flight += 1;
                let mut frames = Frames::from(Frame::Text(open.into()));
                frames.extend(Packet::to_frames(&packets, self.b64));
                ctx.out.ws_send(request, frames);
            }
        }
        tracing::debug!(sid = %self.sid, transport = %self.transport, "session open");
        ctx.out.events.push_back(Event::Connected {
            sid: self.sid,
            request,
            transport: self.transport,
        });
    }

    /// Refuses a session that is still connecting; it ends without a `Disconnected` event.
    pub(crate) fn refuse(&mut self, response: Response, ctx: &mut Ctx<'_>) {
        if let Phase::Connecting { request, .. } = self.phase {
            ctx.out.unroute(request);
            ctx.out.respond(request, response);
            self.ended = true;
        }
    }

    /// Queues an application message and flushes it if a sink is ready.
    pub(crate) fn send(&mut self, message: Message, ctx: &mut Ctx<'_>) -> Result<(), SendError> {
        if self.ended || matches!(self.phase, Phase::Closing { .. }) {
            return Err(SendError::Closed);
        }
        if let Some(socket) = self.idle_socket() {
            if OutBuffer::admits_alone(&message, &ctx.config.buffer) {
                // Nothing queued and the socket's writer is free: the message is the whole
                // next batch, so it goes out without a trip through the buffer.
                self.batches_in_flight += 1;
                let frame = Packet::Message(message).to_frame(self.b64);
                ctx.out.ws_send(socket, frame.into());
                return Ok(());
            }
        }
        match self.buffer.push_message(message, &ctx.config.buffer) {
            Ok(()) => {
                self.flush(ctx);
                Ok(())
            }
            Err(Overflow::Reject) => Err(SendError::BufferFull),
            Err(Overflow::Close) => {
                self.terminate(DisconnectReason::BufferOverflow, ctx);
                Err(SendError::Closed)
            }
        }
    }

    /// The session's WebSocket, when it is open, nothing is queued and no batch is being
    /// written: what is sent now can go out at once, as a batch of its own.
    fn idle_socket(&self) -> Option<RequestId> {
        match (self.transport, self.phase) {
            (Transport::WebSocket, Phase::Open)
                if self.batches_in_flight == 0 && self.buffer.is_empty() =>
            {
                self.socket
            }
            _ => None,
        }
    }

    /// Moves queued packets into whichever sink is ready: the held GET, or the WebSocket when
    /// its previous batch has been written.
    pub(crate) fn flush(&mut self, ctx: &mut Ctx<'_>) {
        if self.ended || !self.is_connected() {
            return;
        }
        match self.transport {
            Transport::Polling => {
                if self.upgrade.is_some_and(|upgrade| upgrade.probed) {
                    return; // Polls get `6` now; the buffer waits for the WebSocket.
                }
                let closing = matches!(self.phase, Phase::Closing { .. });
                if let Some(get) = self.held_get {
                    if closing || !self.buffer.is_empty() {
                        self.answer_poll(get, ctx);
                    }
                }
            }
            Transport::WebSocket => {
                let Some(socket) = self.socket else { return };
                if self.batches_in_flight == 0 && !self.buffer.is_empty() {
                    self.batches_in_flight += 1;
                    // Encoded where they wait: no vector of packets on the way.
                    let frames = Packet::to_frames(self.buffer.iter(), self.b64);
                    self.buffer.clear();
                    ctx.out.ws_send(socket, frames);
                }
            }
        }
    }

    /// Answers a poll with what is queued (up to `max_packets_per_poll`), and `1` once a
    /// closing session has nothing left, which ends it.
    pub(crate) fn answer_poll(&mut self, get: RequestId, ctx: &mut Ctx<'_>) {
        let mut packets = match ctx.config.max_packets_per_poll {
            Some(max) => self.buffer.take_batch(usize::MAX, max.max(1)),
            None => self.buffer.take_all(),
        };
        let closing = match self.phase {
            Phase::Closing { reason, .. } if self.buffer.is_empty() => Some(reason),
            _ => None,
        };
        if closing.is_some() {
            packets.push(Packet::Close);
        }
        if self.held_get == Some(get) {
            self.held_get = None;
            ctx.out.unroute(get);
        }
        ctx.out.respond(
            get,
            Response::payload(encode(&packets), ResponseKind::Payload),
        );
        if let Some(reason) = closing {
            self.terminate(reason, ctx);
        }
    }

    /// Closes the session from the server side with `reason`.
    ///
    /// On WebSocket the rest of the buffer and `1` are written, then the socket is closed. On
    /// polling they wait for the next GET, for at most `close_timeout`.
    pub(crate) fn close(&mut self, reason: DisconnectReason, ctx: &mut Ctx<'_>) {
        match self.phase {
            _ if self.ended => {}
            Phase::Connecting { .. } => self.refuse(unauthorized(None), ctx),
            Phase::Closing { .. } => {}
            Phase::Open => {
                // A probe that already answered `3probe` stays: its client has paused polling
                // and is about to send `5`, so the close goes out over the new WebSocket (or
                // over polling if the probe fails and the client polls again). An earlier
                // probe is dropped; that client is still polling.
                if !self.upgrade.is_some_and(|upgrade| upgrade.probed) {
                    self.abort_upgrade(ctx);
                }
                match self.transport {
                    Transport::WebSocket => self.terminate(reason, ctx),
                    Transport::Polling => {
                        self.phase = Phase::Closing {
                            deadline: ctx.now + ctx.config.close_timeout,
                            reason,
                        };
                        self.next_ping = None;
                        self.pong_deadline = None;
                        self.flush(ctx);
                    }
                }
            }
        }
    }

    /// Runs the deadlines that are due at `ctx.now`.
    pub(crate) fn handle_timeout(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now;
        match self.phase {
            Phase::Connecting { deadline, .. } if deadline <= now => {
                let response =
                    Response::error_with(ErrorCode::BadRequest, 503, "Handshake timed out");
                self.refuse(response, ctx);
                return;
            }
            Phase::Closing { deadline, reason } if deadline <= now => {
                self.terminate(reason, ctx);
                return;
            }
            _ => {}
        }
        if self.pong_deadline.is_some_and(|deadline| deadline <= now) {
            self.terminate(DisconnectReason::PingTimeout, ctx);
            return;
        }
        if self.upgrade.is_some_and(|upgrade| upgrade.deadline <= now) {
            tracing::debug!(sid = %self.sid, "upgrade timed out; staying on polling");
            self.abort_upgrade(ctx);
        }
        if self.next_ping.is_some_and(|at| at <= now) {
            self.next_ping = None;
            self.pong_deadline = Some(now + ctx.config.ping_timeout);
            self.buffer.push_control(Packet::Ping);
            self.flush(ctx);
        }
    }

    /// A pong restarts the ping interval; one nobody asked for changes nothing.
    pub(crate) fn handle_pong(&mut self, ctx: &mut Ctx<'_>) {
        if self.pong_deadline.take().is_some() {
            self.next_ping = Some(ctx.now + ctx.config.ping_interval);
        }
    }

    /// Ends the session now: answers the held GET, the POST being read and the sockets, forgets
    /// every route, and reports `Disconnected` if the session was connected.
    pub(crate) fn terminate(&mut self, reason: DisconnectReason, ctx: &mut Ctx<'_>) {
        if self.ended {
            return;
        }
        if let Phase::Connecting { .. } = self.phase {
            let response = Response::error(ErrorCode::BadRequest);
            return self.refuse(response, ctx);
        }
        self.ended = true;
        if let Some(get) = self.held_get.take() {
            ctx.out.unroute(get);
            // The reference answers a poll held across a client's `1` with a noop.
            let last = if reason == DisconnectReason::ClientDisconnect {
                Packet::Noop
            } else {
                Packet::Close
            };
            ctx.out.respond(
                get,
                Response::payload(encode(&[last]), ResponseKind::Payload),
            );
        }
        if let Some(post) = self.post.take() {
            ctx.out.unroute(post.request);
            ctx.out
                .respond(post.request, Response::error(ErrorCode::UnknownSid));
        }
        self.abort_upgrade(ctx);
        if let Some(socket) = self.socket.take() {
            ctx.out.unroute(socket);
            let code = match reason {
                DisconnectReason::ServerDisconnect | DisconnectReason::ServerShutdown => {
                    let mut packets = self.buffer.take_all();
                    packets.push(Packet::Close);
                    let frames = Packet::to_frames(&packets, self.b64);
                    ctx.out.ws_send(socket, frames);
                    1000
                }
                DisconnectReason::PayloadTooLarge => 1009,
                DisconnectReason::ParseError | DisconnectReason::TransportError(_) => 1002,
                _ => 1000,
            };
            if reason != DisconnectReason::TransportClose {
                ctx.out.ws_close(socket, code);
            }
        }
        self.buffer.clear();
        self.next_ping = None;
        self.pong_deadline = None;
        tracing::debug!(sid = %self.sid, %reason, "session closed");
        ctx.out.events.push_back(Event::Disconnected {
            sid: self.sid,
            reason,
        });
    }

    /// Drops an upgrade in progress; the session carries on over polling.
    pub(crate) fn abort_upgrade(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(upgrade) = self.upgrade.take() {
            ctx.out.unroute(upgrade.socket);
            ctx.out.ws_close(upgrade.socket, 1000);
        }
    }
}

/// Encodes packets as one polling payload, in a buffer of its exact length (the server's
/// open packet, whose length would cost a second serialization, is written by
/// [`Session::open`] itself and never comes here).
pub(crate) fn encode(packets: &[Packet]) -> Bytes {
    let mut out = BytesMut::with_capacity(payload::encoded_len(packets));
    payload::encode(packets, &mut out);
    out.freeze()
}

/// The 401 body of a refused connection (python-engineio's shape).
pub(crate) fn unauthorized(body: Option<Bytes>) -> Response {
    let body = body.unwrap_or_else(|| Bytes::from_static(br#"{"message":"Unauthorized"}"#));
    Response::refused(401, Some(super::request::JSON), body)
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
