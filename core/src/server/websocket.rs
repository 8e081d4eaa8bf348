//! The WebSocket transport and the upgrade from polling.
//!
//! Upgrade, the reference's way: the client opens a WebSocket with its sid while polling goes
//! on; `2probe` is answered with `3probe`, and from then on the held GET and every later GET get
//! `6` so that the client can pause polling; `5` moves the session onto the WebSocket and flushes
//! the buffer there. Anything else on the probe, its closing, or `upgradeTimeout` passing drops
//! only the probe: the session stays on polling.

use crate::packet::{Frame, Packet};
use crate::types::{DisconnectReason, RequestId, Transport};

use super::outputs::{Ctx, Event, RouteKind};
use super::request::{Response, ResponseKind};
use super::session::{encode, Deadlines, Session, Upgrade};

impl Session {
    /// A WebSocket with this session's sid: the start of an upgrade.
    pub(crate) fn start_upgrade(&mut self, socket: RequestId, ctx: &mut Ctx<'_>) {
        ctx.out
            .transmits
            .push_back(super::Transmit::AcceptWebSocket { request: socket });
        ctx.out.route(socket, self.sid, RouteKind::Probe);
        self.upgrade = Some(Upgrade {
            socket,
            probed: false,
            deadline: ctx.now + ctx.config.upgrade_timeout,
            batches_in_flight: 0,
        });
    }

    /// A frame on the probe socket.
    pub(crate) fn handle_probe_frame(&mut self, frame: Frame, ctx: &mut Ctx<'_>) {
        let Some(upgrade) = self.upgrade.as_mut() else {
            return;
        };
        match Packet::from_frame(frame) {
            Ok(Packet::PingProbe) if !upgrade.probed => {
                upgrade.probed = true;
                upgrade.batches_in_flight += 1;
                let socket = upgrade.socket;
                ctx.out
                    .ws_send(socket, Packet::PongProbe.to_frame(false).into());
                if let Some(get) = self.held_get.take() {
                    ctx.out.unroute(get);
                    let noop = Response::payload(encode(&[Packet::Noop]), ResponseKind::Payload);
                    ctx.out.respond(get, noop);
                }
            }
            Ok(Packet::Upgrade) if upgrade.probed => self.complete_upgrade(ctx),
            _ => {
                tracing::debug!(sid = %self.sid, "unexpected packet on probe; upgrade dropped");
                self.abort_upgrade(ctx);
            }
        }
    }

    fn complete_upgrade(&mut self, ctx: &mut Ctx<'_>) {
        let Some(upgrade) = self.upgrade.take() else {
            return;
        };
        if let Some(get) = self.held_get.take() {
            ctx.out.unroute(get);
            let noop = Response::payload(encode(&[Packet::Noop]), ResponseKind::Payload);
            ctx.out.respond(get, noop);
        }
        self.transport = Transport::WebSocket;
        self.socket = Some(upgrade.socket);
        self.batches_in_flight = upgrade.batches_in_flight;
        ctx.out.route(upgrade.socket, self.sid, RouteKind::Socket);
        tracing::debug!(sid = %self.sid, "upgraded to websocket");
        ctx.out.events.push_back(Event::Upgraded { sid: self.sid });
        if let super::session::Phase::Closing { reason, .. } = self.phase {
            // The server closed during the probe: deliver the rest and `1` here.
            return self.terminate(reason, ctx);
        }
        self.flush(ctx);
    }

    /// A frame on the session's WebSocket; says whether it may have moved a deadline (a
    /// message moves none).
    pub(crate) fn handle_socket_frame(&mut self, frame: Frame, ctx: &mut Ctx<'_>) -> Deadlines {
        if frame.len() > ctx.config.max_payload {
            self.terminate(DisconnectReason::PayloadTooLarge, ctx);
            return Deadlines::Moved;
        }
        match Packet::from_frame(frame) {
            Ok(packet) => {
                let moves = match packet {
                    Packet::Message(_) => Deadlines::Kept,
                    _ => Deadlines::Moved,
                };
                self.deliver(packet, ctx);
                moves
            }
            Err(error) => {
                tracing::debug!(sid = %self.sid, %error, "parse error on websocket");
                self.terminate(DisconnectReason::ParseError, ctx);
                Deadlines::Moved
            }
        }
    }

    /// The runtime wrote the last batch sent on `socket`.
    pub(crate) fn handle_ws_written(&mut self, socket: RequestId, ctx: &mut Ctx<'_>) {
        if self.socket == Some(socket) {
            self.batches_in_flight = self.batches_in_flight.saturating_sub(1);
            self.flush(ctx);
        } else if let Some(upgrade) = self.upgrade.as_mut().filter(|u| u.socket == socket) {
            upgrade.batches_in_flight = upgrade.batches_in_flight.saturating_sub(1);
        }
    }

    /// `socket` closed, or failed with `reason`; `close` is the code a failed socket, still
    /// writable, is closed with (the library's verdict: 1002, 1007 or 1009).
    pub(crate) fn handle_ws_gone(
        &mut self,
        socket: RequestId,
        reason: DisconnectReason,
        close: Option<u16>,
        ctx: &mut Ctx<'_>,
    ) {
        if self.socket == Some(socket) {
            if reason == DisconnectReason::TransportClose || close.is_some() {
                self.socket = None;
                ctx.out.unroute(socket);
            }
            if let Some(code) = close {
                // Nothing queued follows a protocol failure: the close frame is all there is.
                ctx.out.ws_close(socket, code);
            }
            self.terminate(reason, ctx);
        } else if self.upgrade.is_some_and(|upgrade| upgrade.socket == socket) {
            self.upgrade = None;
            ctx.out.unroute(socket);
            if let Some(code) = close {
                ctx.out.ws_close(socket, code);
            }
        }
    }
}
