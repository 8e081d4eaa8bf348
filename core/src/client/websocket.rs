//! The WebSocket transport: the WebSocket-only handshake, one packet per frame, and batched
//! writes with at most one batch outstanding per socket.

use std::time::Instant;

use super::polling::decode_reason;
use super::{Client, ClientEvent, ClientTransmit, ConnectError, Phase};
use crate::packet::{Frame, Frames, Packet};
use crate::types::{DisconnectReason, RequestId};

/// A WebSocket the client uses or probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Socket {
    pub(super) id: RequestId,
    /// A [`ClientTransmit::WsSend`] batch is being written (no `handle_ws_written` yet).
    pub(super) writing: bool,
}

impl Socket {
    pub(super) fn new(id: RequestId) -> Self {
        Self { id, writing: false }
    }
}

impl Client {
    /// Handles a frame on the socket in use (the handshake socket while connecting).
    pub(super) fn on_ws_frame(&mut self, now: Instant, frame: Frame) {
        match self.phase {
            Phase::Connecting { .. } => match Packet::from_frame(frame) {
                Ok(Packet::Open(open)) => self.on_open(now, open),
                _ => self.finish(ClientEvent::ConnectFailed(ConnectError::Handshake)),
            },
            Phase::Open { .. } => match Packet::from_frame(frame) {
                Ok(packet) => self.on_packet(now, packet),
                Err(error) => self.finish(ClientEvent::Disconnected(decode_reason(error))),
            },
            // Closing: the final batch is on its way; nothing more is delivered.
            Phase::Closing { .. } | Phase::Closed => {}
        }
    }

    /// Handles the end of the socket in use (already forgotten by the caller).
    pub(super) fn on_ws_closed(&mut self) {
        let event = match self.phase {
            Phase::Connecting { .. } => ClientEvent::ConnectFailed(ConnectError::Transport),
            Phase::Open { .. } => ClientEvent::Disconnected(DisconnectReason::TransportClose),
            Phase::Closing { .. } => ClientEvent::Disconnected(DisconnectReason::ClientDisconnect),
            Phase::Closed => return,
        };
        self.finish(event);
    }

    /// Sends everything buffered as one batch, unless a batch is still being written.
    pub(super) fn flush_ws(&mut self) {
        let Some(socket) = self.ws.as_mut() else {
            return;
        };
        if socket.writing || self.buffer.is_empty() {
            return;
        }
        socket.writing = true;
        let socket = socket.id;
        let frames = to_frames(self.buffer.take_all());
        self.transmit(ClientTransmit::WsSend { socket, frames });
    }

    /// While closing on WebSocket: once no batch is being written, sends the buffer and `1` in
    /// one batch, closes the socket and ends.
    pub(super) fn flush_closing_ws(&mut self) {
        if self.ws.is_some_and(|socket| socket.writing) {
            return;
        }
        if let Some(socket) = self.ws.take() {
            let mut packets = self.buffer.take_all();
            packets.push(Packet::Close);
            let frames = to_frames(packets);
            self.transmit(ClientTransmit::WsSend {
                socket: socket.id,
                frames,
            });
            self.transmit(ClientTransmit::WsClose { socket: socket.id });
        }
        self.finish(ClientEvent::Disconnected(
            DisconnectReason::ClientDisconnect,
        ));
    }
}

/// One frame per packet; binary messages as raw binary frames.
pub(super) fn to_frames(packets: Vec<Packet>) -> Frames {
    Packet::to_frames(&packets, false)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;

    use super::super::test_util::*;
    use super::*;
    use crate::packet::Message;
    use crate::types::{SendError, Transport, Transports};

    fn ws_config() -> ClientConfig {
        ClientConfig {
            transports: Transports::WEBSOCKET,
            ..ClientConfig::default()
        }
    }

    /// A client connected over WebSocket only; returns its socket.
    fn ws_client() -> (Client, Instant, RequestId) {
        let now = origin();
        let mut client = Client::new(now, ws_config());
        let (transmits, _) = drain(&mut client);
        let socket = RequestId(0);
        assert_eq!(
            transmits,
            vec![ClientTransmit::OpenWebSocket {
                socket,
                query: "EIO=4&transport=websocket".into()
            }]
        );
        client.handle_ws_open(now, socket);
        assert_eq!(drain(&mut client), (vec![], vec![]));
        client.handle_ws_frame(now, socket, open_frame(&[], 100));
        let (transmits, events) = drain(&mut client);
        assert!(transmits.is_empty());
        assert_eq!(
            events,
            vec![ClientEvent::Connected {
                sid: "abc".into(),
                transport: Transport::WebSocket
            }]
        );
        (client, now, socket)
    }

    #[test]
    fn websocket_only_handshake() {
        let (client, now, _) = ws_client();
        assert_eq!(client.transport(), Some(Transport::WebSocket));
        assert_eq!(client.poll_timeout(), Some(now + Duration::from_secs(45)));
    }

    #[test]
    fn websocket_handshake_failures() {
        let now = origin();
        let mut client = Client::new(now, ws_config());
        let _ = drain(&mut client);
        client.handle_ws_open(now, RequestId(0));
        client.handle_ws_frame(now, RequestId(0), text("4hello"));
        let (transmits, events) = drain(&mut client);
        assert_eq!(
            transmits,
            vec![ClientTransmit::WsClose {
                socket: RequestId(0)
            }]
        );
        assert_eq!(
            events,
            vec![ClientEvent::ConnectFailed(ConnectError::Handshake)]
        );

        let mut client = Client::new(now, ws_config());
        let _ = drain(&mut client);
        client.handle_ws_closed(now, RequestId(0));
        let (transmits, events) = drain(&mut client);
        assert!(transmits.is_empty());
        assert_eq!(
            events,
            vec![ClientEvent::ConnectFailed(ConnectError::Transport)]
        );
    }

    #[test]
    fn one_batch_outstanding_per_socket() {
        let (mut client, now, socket) = ws_client();
        client.send(now, "a".into()).unwrap();
        let (transmits, _) = drain(&mut client);
        assert_eq!(
            transmits,
            vec![ClientTransmit::WsSend {
                socket,
                frames: vec![text("4a")].into()
            }]
        );
        client.send(now, "b".into()).unwrap();
        client
            .send(now, Message::Binary(Bytes::from_static(&[7])))
            .unwrap();
        client.handle_ws_frame(now, socket, text("2"));
        assert_eq!(
            drain(&mut client),
            (vec![], vec![]),
            "the first batch is still being written"
        );
        client.handle_ws_written(now, socket);
        let (transmits, _) = drain(&mut client);
        let frames = vec![
            text("3"),
            text("4b"),
            Frame::Binary(Bytes::from_static(&[7])),
        ];
        assert_eq!(
            transmits,
            vec![ClientTransmit::WsSend {
                socket,
                frames: frames.into()
            }]
        );
    }

    #[test]
    fn frames_become_events() {
        let (mut client, now, socket) = ws_client();
        client.handle_ws_frame(now, socket, text("4hi"));
        client.handle_ws_frame(now, socket, Frame::Binary(Bytes::from_static(b"\x00\x01")));
        client.handle_ws_frame(now, socket, text("6"));
        client.handle_ws_frame(now, socket, text("3"));
        let (transmits, events) = drain(&mut client);
        assert!(transmits.is_empty());
        assert_eq!(
            events,
            vec![
                ClientEvent::Message("hi".into()),
                ClientEvent::Message(Message::Binary(Bytes::from_static(b"\x00\x01"))),
            ]
        );
        client.handle_ws_frame(now, socket, text("x"));
        let (transmits, events) = drain(&mut client);
        assert_eq!(transmits, vec![ClientTransmit::WsClose { socket }]);
        assert_eq!(
            events,
            vec![ClientEvent::Disconnected(DisconnectReason::ParseError)]
        );
    }

    #[test]
    fn send_checks_max_payload_for_websocket_frames() {
        // maxPayload 100: a 99-byte text frame "4…" fits, a 100-byte one does not; a binary
        // message of 100 raw bytes fits (its base64 form would not).
        let (mut client, now, _) = ws_client();
        assert_eq!(client.send(now, "x".repeat(99).into()), Ok(()));
        assert_eq!(
            client.send(now, "x".repeat(100).into()),
            Err(SendError::PayloadTooLarge)
        );
        assert_eq!(
            client.send(now, Message::Binary(vec![0; 100].into())),
            Ok(())
        );
    }

    #[test]
    fn close_on_websocket_sends_close_then_closes() {
        let (mut client, now, socket) = ws_client();
        client.send(now, "a".into()).unwrap();
        let _ = drain(&mut client);
        client.send(now, "last".into()).unwrap();
        client.close(now);
        assert_eq!(
            drain(&mut client),
            (vec![], vec![]),
            "waits for the batch being written"
        );
        client.handle_ws_written(now, socket);
        let (transmits, events) = drain(&mut client);
        assert_eq!(
            transmits,
            vec![
                ClientTransmit::WsSend {
                    socket,
                    frames: vec![text("4last"), text("1")].into()
                },
                ClientTransmit::WsClose { socket },
            ]
        );
        assert_eq!(
            events,
            vec![ClientEvent::Disconnected(
                DisconnectReason::ClientDisconnect
            )]
        );
        client.handle_ws_closed(now, socket);
        assert_eq!(drain(&mut client), (vec![], vec![]));
    }

    #[test]
    fn server_close_and_socket_loss() {
        let (mut client, now, socket) = ws_client();
        client.handle_ws_frame(now, socket, text("1"));
        let (transmits, events) = drain(&mut client);
        assert_eq!(transmits, vec![ClientTransmit::WsClose { socket }]);
        assert_eq!(
            events,
            vec![ClientEvent::Disconnected(
                DisconnectReason::ServerDisconnect
            )]
        );

        let (mut client, now, socket) = ws_client();
        client.handle_ws_closed(now, socket);
        let (transmits, events) = drain(&mut client);
        assert!(transmits.is_empty());
        assert_eq!(
            events,
            vec![ClientEvent::Disconnected(DisconnectReason::TransportClose)]
        );
    }
}
