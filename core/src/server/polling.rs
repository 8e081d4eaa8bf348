//! The long-polling transport: held GETs, POST bodies, and delivery of client packets.
//!
//! At most one GET is held and one POST read per session. A second GET or POST while one is
//! outstanding is a protocol violation: it gets 400 and the session closes (the held GET gets
//! `1`). A POST body is counted as it streams in and refused with 413 as soon as it crosses
//! `maxPayload`; its packets are delivered only when the whole body has arrived and decoded,
//! up to the first bad record.

use bytes::Bytes;

use crate::packet::{DecodeError, Packet, PayloadDecoder};
use crate::types::{DisconnectReason, RequestId, TransportError};

use super::outputs::{Ctx, Event, RouteKind};
use super::request::{ErrorCode, Request, Response, ResponseKind};
use super::session::{encode, Phase, Post, Session};

/// What delivering one client packet asks of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    Continue,
    /// The client closed the session: ignore what follows.
    Closed,
}

impl Session {
    /// A polling GET on this session.
    pub(crate) fn handle_poll(&mut self, request: RequestId, ctx: &mut Ctx<'_>) {
        if matches!(self.phase, Phase::Closing { .. }) {
            return self.answer_poll(request, ctx);
        }
        if self.held_get.is_some() {
            ctx.out
                .respond(request, Response::error(ErrorCode::BadRequest));
            let reason = DisconnectReason::TransportError(TransportError::OverlappingPoll);
            return self.terminate(reason, ctx);
        }
        if self.upgrade.is_some_and(|upgrade| upgrade.probed) {
            let noop = Response::payload(encode(&[Packet::Noop]), ResponseKind::Payload);
            return ctx.out.respond(request, noop);
        }
        if self.buffer.is_empty() {
            self.held_get = Some(request);
            ctx.out.route(request, self.sid, RouteKind::HeldGet);
        } else {
            self.answer_poll(request, ctx);
        }
    }

    /// A polling POST's head: checks it, then asks the runtime for the body.
    pub(crate) fn handle_post(
        &mut self,
        request: RequestId,
        head: &Request<'_>,
        ctx: &mut Ctx<'_>,
    ) {
        let octet_stream = head
            .content_type
            .is_some_and(|value| value.trim_start().starts_with("application/octet-stream"));
        if octet_stream {
            ctx.out
                .respond(request, Response::error(ErrorCode::BadRequest));
            let reason = DisconnectReason::TransportError(TransportError::InvalidContentType);
            return self.terminate(reason, ctx);
        }
        if self.post.is_some() {
            ctx.out
                .respond(request, Response::error(ErrorCode::BadRequest));
            let reason = DisconnectReason::TransportError(TransportError::OverlappingPost);
            return self.terminate(reason, ctx);
        }
        if head
            .content_length
            .is_some_and(|length| length > ctx.config.max_payload as u64)
        {
            ctx.out.respond(request, payload_too_large());
            return self.terminate(DisconnectReason::PayloadTooLarge, ctx);
        }
        self.post = Some(Post {
            request,
            received: 0,
            decoder: PayloadDecoder::new(ctx.config.max_packets_per_payload),
            packets: Vec::new(),
        });
        ctx.out.route(request, self.sid, RouteKind::Post);
        ctx.out
            .transmits
            .push_back(super::Transmit::ReadBody { request });
    }

    /// The next chunk of the POST body.
    pub(crate) fn handle_body(&mut self, chunk: Bytes, ctx: &mut Ctx<'_>) {
        let Some(post) = self.post.as_mut() else {
            return;
        };
        post.received = post.received.saturating_add(chunk.len());
        if post.received > ctx.config.max_payload {
            let request = post.request;
            self.end_post(request, ctx);
            ctx.out.respond(request, payload_too_large());
            return self.terminate(DisconnectReason::PayloadTooLarge, ctx);
        }
        if let Err(error) = post.decoder.push(chunk, &mut post.packets) {
            self.fail_post(error, ctx);
        }
    }

    /// The end of the POST body: deliver its packets and acknowledge.
    pub(crate) fn handle_body_end(&mut self, ctx: &mut Ctx<'_>) {
        let Some(post) = self.post.as_mut() else {
            return;
        };
        if let Err(error) = post.decoder.finish(&mut post.packets) {
            return self.fail_post(error, ctx);
        }
        let Some(post) = self.post.take() else { return };
        ctx.out.unroute(post.request);
        ctx.out.respond(post.request, Response::ok());
        for packet in post.packets {
            if self.deliver(packet, ctx) == Delivery::Closed {
                break;
            }
        }
    }

    /// A body that does not decode: the good packets before the error are delivered, the POST
    /// gets 400 (413 for too many packets, which delivers nothing) and the session closes.
    fn fail_post(&mut self, error: DecodeError, ctx: &mut Ctx<'_>) {
        let Some(post) = self.post.take() else { return };
        ctx.out.unroute(post.request);
        if error == DecodeError::TooManyPackets {
            ctx.out.respond(post.request, payload_too_large());
            return self.terminate(DisconnectReason::PayloadTooLarge, ctx);
        }
        ctx.out
            .respond(post.request, Response::error(ErrorCode::BadRequest));
        for packet in post.packets {
            if self.deliver(packet, ctx) == Delivery::Closed {
                return;
            }
        }
        tracing::debug!(sid = %self.sid, %error, "parse error in polling payload");
        self.terminate(DisconnectReason::ParseError, ctx);
    }

    fn end_post(&mut self, request: RequestId, ctx: &mut Ctx<'_>) {
        self.post = None;
        ctx.out.unroute(request);
    }

    /// Acts on one packet from the client, whatever transport brought it.
    pub(crate) fn deliver(&mut self, packet: Packet, ctx: &mut Ctx<'_>) -> Delivery {
        if self.ended {
            return Delivery::Closed;
        }
        match packet {
            Packet::Message(message) => ctx.out.events.push_back(Event::Message {
                sid: self.sid,
                message,
            }),
            Packet::Pong => self.handle_pong(ctx),
            Packet::Close => {
                self.terminate(DisconnectReason::ClientDisconnect, ctx);
                return Delivery::Closed;
            }
            // A v4 client never pings; a stray ping, noop, open, probe or upgrade outside an
            // upgrade is ignored rather than fatal (the reference is stricter for `2`).
            Packet::Ping
            | Packet::PingProbe
            | Packet::PongProbe
            | Packet::Noop
            | Packet::Open(_)
            | Packet::Upgrade => {}
        }
        Delivery::Continue
    }

    /// The client hung up on a held GET or a POST being read: the session is gone with it,
    /// as in the reference ("poll connection closed prematurely").
    pub(crate) fn handle_request_closed(&mut self, request: RequestId, ctx: &mut Ctx<'_>) {
        if self.held_get == Some(request) {
            self.held_get = None;
        } else if self
            .post
            .as_ref()
            .is_some_and(|post| post.request == request)
        {
            self.post = None;
        } else if let Phase::Connecting {
            request: pending, ..
        } = self.phase
        {
            if pending == request {
                self.ended = true;
            }
            return ctx.out.unroute(request);
        } else {
            return;
        }
        ctx.out.unroute(request);
        self.terminate(DisconnectReason::TransportClose, ctx);
    }
}

fn payload_too_large() -> Response {
    Response::refused(413, None, Bytes::new())
}
