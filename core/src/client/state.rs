//! The core of the machine: the phases, packet handling, the pump that sends whatever the
//! state allows, and the single exit that queues the terminal event.

use std::time::Instant;

use super::{timer, Client, ClientEvent, ClientTransmit};
use crate::packet::{OpenPacket, Packet};
use crate::types::{DisconnectReason, RequestId, Transport};

/// Where the connection is; every phase but `Closed` has a deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Waiting for the open packet.
    Connecting { deadline: Instant },
    /// Connected; `heartbeat` is when the connection dies unless a ping arrives.
    Open { heartbeat: Instant },
    /// `close` was called: flushing the buffer and the final `1`.
    Closing { deadline: Instant, close_sent: bool },
    /// The terminal event has been queued.
    Closed,
}

impl Client {
    /// Takes the open packet that arrived on the handshake transport.
    pub(super) fn on_open(&mut self, now: Instant, open: OpenPacket) {
        self.phase = Phase::Open {
            heartbeat: timer::heartbeat_deadline(now, &open),
        };
        let sid = open.sid.clone();
        self.open = Some(open);
        self.event(ClientEvent::Connected {
            sid,
            transport: self.transport,
        });
        if self.should_upgrade() {
            self.start_probe(now);
        }
    }

    /// Handles one packet received on the transport in use while open.
    pub(super) fn on_packet(&mut self, now: Instant, packet: Packet) {
        match packet {
            Packet::Ping => {
                self.reset_heartbeat(now);
                self.buffer.push_control(Packet::Pong);
            }
            Packet::Message(message) => self.event(ClientEvent::Message(message)),
            Packet::Close => {
                self.finish(ClientEvent::Disconnected(
                    DisconnectReason::ServerDisconnect,
                ));
            }
            // Unsolicited pongs, noops and packets that make no sense here are ignored, as the
            // reference client does.
            Packet::Open(_)
            | Packet::Pong
            | Packet::PingProbe
            | Packet::PongProbe
            | Packet::Upgrade
            | Packet::Noop => {}
        }
    }

    /// Sends whatever the current state allows: the next GET, the next POST or WebSocket
    /// batch, the close, or the end of an upgrade. Called at the end of every input.
    pub(super) fn pump(&mut self) {
        match (self.phase, self.transport) {
            (Phase::Open { .. }, Transport::Polling) if self.is_paused() => {
                self.maybe_finish_upgrade();
            }
            (Phase::Open { .. }, Transport::Polling) => {
                if self.get.is_none() {
                    self.send_get();
                }
                self.flush_post();
            }
            (Phase::Open { .. }, Transport::WebSocket) => self.flush_ws(),
            (Phase::Closing { close_sent, .. }, Transport::Polling) => {
                self.flush_closing_post(close_sent);
            }
            (Phase::Closing { .. }, Transport::WebSocket) => self.flush_closing_ws(),
            (Phase::Connecting { .. } | Phase::Closed, _) => {}
        }
    }

    /// Queues the terminal event, cancelling every request and socket still in use.
    pub(super) fn finish(&mut self, event: ClientEvent) {
        if self.phase == Phase::Closed {
            return;
        }
        for request in [self.get.take(), self.post.take()].into_iter().flatten() {
            self.transmit(ClientTransmit::Abort { request });
        }
        let sockets = [self.probe.take().map(|p| p.socket), self.ws.take()];
        for socket in sockets.into_iter().flatten() {
            self.transmit(ClientTransmit::WsClose { socket: socket.id });
        }
        self.buffer.clear();
        self.phase = Phase::Closed;
        self.event(event);
    }

    pub(super) fn next_request(&mut self) -> RequestId {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        id
    }

    /// Builds the Engine.IO query for a request on `transport`.
    pub(super) fn query(&mut self, transport: Transport) -> String {
        let mut query = format!("EIO=4&transport={}", transport.as_str());
        if transport == Transport::Polling && self.config.timestamp_requests {
            query.push_str("&t=");
            query.push_str(&self.next_token.to_string());
            self.next_token += 1;
        }
        if let Some(open) = &self.open {
            query.push_str("&sid=");
            query.extend(form_urlencoded::byte_serialize(open.sid.as_bytes()));
        }
        query
    }

    pub(super) fn transmit(&mut self, transmit: ClientTransmit) {
        self.transmits.push_back(transmit);
    }

    pub(super) fn event(&mut self, event: ClientEvent) {
        self.events.push_back(event);
    }
}
