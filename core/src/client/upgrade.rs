//! The upgrade from polling to WebSocket, the reference client's way.
//!
//! Right after a polling handshake that offers `websocket`, the client opens a probe WebSocket
//! with the session id while polling carries on. Once it is open the client sends `2probe`; on
//! `3probe` it pauses polling (no new GET or POST; the server completes the held GET with `6`),
//! waits for the GET and POST in flight, then sends `5` and the buffered packets on the
//! WebSocket, which becomes the transport. Anything else on the probe, its closing, or
//! [`upgrade_timeout`](super::ClientConfig::upgrade_timeout) drops the probe and polling goes on.

use std::time::Instant;

use super::websocket::{to_frames, Socket};
use super::{Client, ClientEvent, ClientTransmit};
use crate::packet::{Frame, Packet};
use crate::types::{RequestId, Transport};

/// A WebSocket being probed for an upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Probe {
    pub(super) socket: Socket,
    state: ProbeState,
    /// When the probe is dropped if the upgrade has not completed.
    pub(super) deadline: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProbeState {
    /// Waiting for `handle_ws_open`.
    Opening,
    /// `2probe` sent, waiting for `3probe`.
    Probing,
    /// `3probe` received: polling is paused until its requests in flight finish.
    Pausing,
}

impl Client {
    /// Returns true if the connection should try to move to WebSocket.
    pub(super) fn should_upgrade(&self) -> bool {
        self.transport == Transport::Polling
            && self.config.upgrade
            && self.config.transports.websocket
            && self
                .open
                .as_ref()
                .is_some_and(|open| open.upgrades.iter().any(|name| name == "websocket"))
    }

    /// Opens the probe WebSocket.
    pub(super) fn start_probe(&mut self, now: Instant) {
        let socket = self.next_request();
        let query = self.query(Transport::WebSocket);
        self.probe = Some(Probe {
            socket: Socket::new(socket),
            state: ProbeState::Opening,
            deadline: super::timer::after(now, self.config.upgrade_timeout),
        });
        self.transmit(ClientTransmit::OpenWebSocket { socket, query });
    }

    pub(super) fn is_probe(&self, socket: RequestId) -> bool {
        self.probe.is_some_and(|probe| probe.socket.id == socket)
    }

    /// Returns true while polling is paused for an upgrade.
    pub(super) fn is_paused(&self) -> bool {
        self.probe
            .is_some_and(|probe| probe.state == ProbeState::Pausing)
    }

    /// The probe socket is open: sends `2probe`.
    pub(super) fn on_probe_open(&mut self) {
        let Some(probe) = self.probe.as_mut() else {
            return;
        };
        if probe.state != ProbeState::Opening {
            return;
        }
        probe.state = ProbeState::Probing;
        probe.socket.writing = true;
        let socket = probe.socket.id;
        self.transmit(ClientTransmit::WsSend {
            socket,
            frames: Packet::PingProbe.to_frame(false).into(),
        });
    }

    /// A frame on the probe socket: `3probe` pauses polling, anything else drops the probe.
    pub(super) fn on_probe_frame(&mut self, frame: Frame) {
        let Some(probe) = self.probe.as_mut() else {
            return;
        };
        if probe.state == ProbeState::Probing && Packet::from_frame(frame) == Ok(Packet::PongProbe)
        {
            probe.state = ProbeState::Pausing;
        } else {
            self.abandon_probe();
        }
    }

    /// Drops the probe and closes its socket; polling resumes at the next pump.
    pub(super) fn abandon_probe(&mut self) {
        if let Some(probe) = self.probe.take() {
            self.transmit(ClientTransmit::WsClose {
                socket: probe.socket.id,
            });
        }
    }

    /// Completes the upgrade once polling is idle and `2probe` has been written: sends `5` and
    /// the buffer on the WebSocket, which becomes the transport.
    pub(super) fn maybe_finish_upgrade(&mut self) {
        let Some(probe) = self.probe else {
            return;
        };
        let idle = self.get.is_none() && self.post.is_none() && !probe.socket.writing;
        if probe.state != ProbeState::Pausing || !idle {
            return;
        }
        self.probe = None;
        self.transport = Transport::WebSocket;
        let mut packets = vec![Packet::Upgrade];
        packets.extend(self.buffer.take_all());
        let socket = Socket {
            id: probe.socket.id,
            writing: true,
        };
        self.ws = Some(socket);
        self.transmit(ClientTransmit::WsSend {
            socket: socket.id,
            frames: to_frames(packets),
        });
        self.event(ClientEvent::Upgraded);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;

    use super::super::test_util::*;
    use super::*;
    use crate::types::{DisconnectReason, Transports};

    /// A polling client that was offered `websocket`: returns the poll GET and the probe socket.
    fn upgrading_client(config: ClientConfig) -> (Client, Instant, RequestId, RequestId) {
        let now = origin();
        let mut client = Client::new(now, config);
        let _ = drain(&mut client);
        client.handle_response(now, RequestId(0), 200, open_body(&["websocket"], 1_000_000));
        let (transmits, events) = drain(&mut client);
        assert_eq!(events.len(), 1);
        let [ClientTransmit::OpenWebSocket { socket, ref query }, ClientTransmit::Get { request, .. }] =
            transmits[..]
        else {
            panic!("expected the probe and the poll, got {transmits:?}");
        };
        assert_eq!(query, "EIO=4&transport=websocket&sid=abc");
        (client, now, request, socket)
    }

    #[test]
    fn upgrade_happy_path_keeps_messages_in_order() {
        let (mut client, now, get, socket) = upgrading_client(ClientConfig::default());
        client.send(now, "before".into()).unwrap();
        let post = last_post(&drain(&mut client).0);

        client.handle_ws_open(now, socket);
        let (transmits, _) = drain(&mut client);
        assert_eq!(
            transmits,
            vec![ClientTransmit::WsSend {
                socket,
                frames: vec![text("2probe")].into()
            }]
        );
        client.handle_ws_written(now, socket);
        client.handle_ws_frame(now, socket, text("3probe"));
        assert_eq!(
            drain(&mut client),
            (vec![], vec![]),
            "paused: waiting for GET and POST"
        );

        // Messages sent during the pause are held, not POSTed.
        client.send(now, "during".into()).unwrap();
        client.handle_response(now, post, 200, Bytes::from_static(b"ok"));
        assert_eq!(drain(&mut client), (vec![], vec![]));

        // The server releases the held GET with 6; a message in it is still delivered.
        client.handle_response(now, get, 200, Bytes::from_static(b"4on-polling\x1e6"));
        let (transmits, events) = drain(&mut client);
        assert_eq!(
            transmits,
            vec![ClientTransmit::WsSend {
                socket,
                frames: vec![text("5"), text("4during")].into()
            }]
        );
        assert_eq!(
            events,
            vec![
                ClientEvent::Message("on-polling".into()),
                ClientEvent::Upgraded
            ]
        );
        assert_eq!(client.transport(), Some(Transport::WebSocket));

        // The WebSocket is now the transport.
        client.send(now, "after".into()).unwrap();
        assert_eq!(
            drain(&mut client),
            (vec![], vec![]),
            "the 5 batch is being written"
        );
        client.handle_ws_written(now, socket);
        client.handle_ws_frame(now, socket, text("4on-ws"));
        let (transmits, events) = drain(&mut client);
        assert_eq!(
            transmits,
            vec![ClientTransmit::WsSend {
                socket,
                frames: vec![text("4after")].into()
            }]
        );
        assert_eq!(events, vec![ClientEvent::Message("on-ws".into())]);
        // The probe deadline is gone; only the heartbeat remains.
        assert_eq!(client.poll_timeout(), Some(now + Duration::from_secs(45)));
    }

    #[test]
    fn upgrade_waits_for_the_probe_write() {
        let (mut client, now, get, socket) = upgrading_client(ClientConfig::default());
        client.handle_ws_open(now, socket);
        client.handle_ws_frame(now, socket, text("3probe"));
        client.handle_response(now, get, 200, Bytes::from_static(b"6"));
        assert_eq!(drain(&mut client).1, vec![], "2probe not yet written");
        client.handle_ws_written(now, socket);
        let (transmits, events) = drain(&mut client);
        assert_eq!(
            transmits,
            vec![ClientTransmit::WsSend {
                socket,
                frames: vec![text("5")].into()
            }]
        );
        assert_eq!(events, vec![ClientEvent::Upgraded]);
    }

    #[test]
    fn probe_closed_before_3probe_falls_back_to_polling() {
        let (mut client, now, get, socket) = upgrading_client(ClientConfig::default());
        client.handle_ws_open(now, socket);
        let _ = drain(&mut client);
        client.handle_ws_closed(now, socket);
        client.send(now, "still polling".into()).unwrap();
        let (transmits, events) = drain(&mut client);
        assert!(events.is_empty());
        assert_eq!(post_bodies(&transmits), vec!["4still polling".to_owned()]);
        client.handle_response(now, get, 200, Bytes::from_static(b"6"));
        assert_eq!(get_count(&drain(&mut client).0), 1, "the poll loop goes on");
        // Later reports about the dead probe are ignored.
        client.handle_ws_frame(now, socket, text("3probe"));
        assert_eq!(drain(&mut client), (vec![], vec![]));
        assert_eq!(client.transport(), Some(Transport::Polling));
    }

    #[test]
    fn probe_timeout_drops_the_probe() {
        let (mut client, now, get, socket) = upgrading_client(ClientConfig::default());
        client.send(now, "x".into()).unwrap();
        let post = last_post(&drain(&mut client).0);
        client.handle_ws_open(now, socket);
        let _ = drain(&mut client);
        client.handle_ws_written(now, socket);
        client.handle_ws_frame(now, socket, text("3probe"));
        // The GET finishes but the POST hangs, so the pause never ends.
        client.handle_response(now, get, 200, Bytes::from_static(b"6"));
        client.send(now, "held".into()).unwrap();
        assert_eq!(drain(&mut client), (vec![], vec![]));
        assert_eq!(client.poll_timeout(), Some(now + Duration::from_secs(10)));

        client.handle_timeout(now + Duration::from_secs(10));
        let (transmits, events) = drain(&mut client);
        assert!(events.is_empty());
        assert_eq!(transmits[0], ClientTransmit::WsClose { socket });
        assert_eq!(get_count(&transmits), 1, "polling resumes");
        client.handle_response(now, post, 200, Bytes::from_static(b"ok"));
        let (transmits, _) = drain(&mut client);
        assert_eq!(post_bodies(&transmits), vec!["4held".to_owned()]);
    }

    #[test]
    fn unexpected_probe_frame_drops_the_probe() {
        let (mut client, now, _get, socket) = upgrading_client(ClientConfig::default());
        client.handle_ws_open(now, socket);
        let _ = drain(&mut client);
        client.handle_ws_frame(now, socket, text("4surprise"));
        let (transmits, events) = drain(&mut client);
        assert_eq!(transmits, vec![ClientTransmit::WsClose { socket }]);
        assert!(events.is_empty());
        assert!(!client.is_closed());
    }

    #[test]
    fn no_probe_unless_offered_and_enabled() {
        let configs = [
            (
                ClientConfig {
                    upgrade: false,
                    ..ClientConfig::default()
                },
                &["websocket"][..],
            ),
            (
                ClientConfig {
                    transports: Transports::POLLING,
                    ..ClientConfig::default()
                },
                &["websocket"],
            ),
            (ClientConfig::default(), &[]),
            (ClientConfig::default(), &["webtransport"]),
        ];
        for (config, upgrades) in configs {
            let now = origin();
            let mut client = Client::new(now, config);
            let _ = drain(&mut client);
            client.handle_response(now, RequestId(0), 200, open_body(upgrades, 1_000_000));
            let (transmits, _) = drain(&mut client);
            assert!(
                matches!(transmits[..], [ClientTransmit::Get { .. }]),
                "no probe for {upgrades:?}: {transmits:?}"
            );
        }
    }

    #[test]
    fn close_during_upgrade_drops_the_probe() {
        let (mut client, now, get, socket) = upgrading_client(ClientConfig::default());
        client.handle_ws_open(now, socket);
        let _ = drain(&mut client);
        client.close(now);
        let (transmits, events) = drain(&mut client);
        assert_eq!(transmits[0], ClientTransmit::WsClose { socket });
        assert_eq!(post_bodies(&transmits), vec!["1".to_owned()]);
        assert!(events.is_empty());
        client.handle_request_failed(now, last_post(&transmits));
        let (transmits, events) = drain(&mut client);
        assert_eq!(transmits, vec![ClientTransmit::Abort { request: get }]);
        assert_eq!(
            events,
            vec![ClientEvent::Disconnected(
                DisconnectReason::ClientDisconnect
            )]
        );
    }
}
