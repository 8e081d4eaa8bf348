//! The server core and the client core talking to each other over a simulated network, in the
//! three transport modes: polling only, WebSocket only, and polling upgraded to WebSocket.
//! Every scenario runs in each mode; heartbeat scenarios simulate minutes in microseconds.

mod support;

use std::time::Duration;

use engineio_core::{
    Bytes, ClientConfig, ClientEvent, DisconnectReason, Event, Message, ServerConfig, Transport,
    Transports,
};
use support::pair::Pair;
use support::test_config;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Polling,
    WebSocket,
    Upgrade,
}

const MODES: [Mode; 3] = [Mode::Polling, Mode::WebSocket, Mode::Upgrade];

fn client_config(mode: Mode) -> ClientConfig {
    ClientConfig {
        transports: match mode {
            Mode::Polling => Transports::POLLING,
            Mode::WebSocket => Transports::WEBSOCKET,
            Mode::Upgrade => Transports::ALL,
        },
        ..ClientConfig::default()
    }
}

/// A connected pair in `mode` (upgraded, for `Mode::Upgrade`).
fn connected(mode: Mode, server: ServerConfig) -> Pair {
    let mut pair = Pair::new(server, client_config(mode));
    let expected = match mode {
        Mode::Polling => Transport::Polling,
        Mode::WebSocket | Mode::Upgrade => Transport::WebSocket,
    };
    pair.drive_until(
        |p| {
            p.client.transport() == Some(expected) && p.server.transport(&p.sid()) == Some(expected)
        },
        1_000,
    );
    // Let the probe's last packets settle.
    pair.run_for(Duration::from_millis(50));
    pair
}

fn disconnect_reasons(pair: &Pair) -> (Vec<DisconnectReason>, Vec<DisconnectReason>) {
    let server = pair
        .server_events
        .iter()
        .filter_map(|e| match e {
            Event::Disconnected { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect();
    let client = pair
        .client_events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Disconnected(reason) => Some(*reason),
            _ => None,
        })
        .collect();
    (server, client)
}

#[test]
fn text_binary_and_multibyte_both_ways() {
    for mode in MODES {
        let mut pair = connected(mode, test_config());
        let sent: Vec<Message> = vec![
            "hello".into(),
            "".into(),
            "héllo wörld ✓ 🦀".into(),
            Bytes::from_static(&[0, 1, 2, 255]).into(),
            Bytes::new().into(),
        ];
        for message in &sent {
            pair.client_send(message.clone());
            pair.server_send(message.clone());
        }
        pair.run_for(Duration::from_millis(100));
        assert_eq!(pair.server_messages(), sent, "{mode:?} client → server");
        assert_eq!(pair.client_messages(), sent, "{mode:?} server → client");
    }
}

#[test]
fn many_messages_keep_their_order() {
    for mode in MODES {
        let mut pair = connected(mode, test_config());
        let sent: Vec<Message> = (0..2_000).map(|i| Message::from(format!("m{i}"))).collect();
        for message in &sent {
            pair.client_send(message.clone());
            pair.server_send(message.clone());
        }
        pair.drive_until(
            |p| p.server_messages().len() == 2_000 && p.client_messages().len() == 2_000,
            100_000,
        );
        assert_eq!(pair.server_messages(), sent, "{mode:?}");
        assert_eq!(pair.client_messages(), sent, "{mode:?}");
    }
}

#[test]
fn messages_sent_during_the_upgrade_are_neither_lost_nor_reordered() {
    for latency in [0, 1, 7, 40] {
        let mut pair = Pair::new(test_config(), client_config(Mode::Upgrade));
        pair.latency = Duration::from_millis(latency);
        let mut sent = 0;
        let mut upgraded_at = None;
        for _ in 0..5_000 {
            if pair.client.transport().is_some() && sent < 300 {
                pair.client_send(format!("c{sent}"));
                pair.server_send(format!("s{sent}"));
                sent += 1;
            }
            if upgraded_at.is_none() && pair.client.transport() == Some(Transport::WebSocket) {
                upgraded_at = Some(sent);
            }
            if !pair.step() {
                break;
            }
        }
        pair.run_for(Duration::from_millis(200));
        let upgraded_at = upgraded_at.expect("the upgrade completed");
        assert!(
            upgraded_at > 0 && upgraded_at < 300,
            "sends straddle the upgrade ({upgraded_at})"
        );
        let expected = |prefix: char| -> Vec<Message> {
            (0..sent)
                .map(|i| Message::from(format!("{prefix}{i}")))
                .collect()
        };
        assert_eq!(pair.server_messages(), expected('c'), "latency {latency}");
        assert_eq!(pair.client_messages(), expected('s'), "latency {latency}");
        assert!(pair.client_events.contains(&ClientEvent::Upgraded));
    }
}

#[test]
fn heartbeat_survives_many_intervals() {
    for mode in MODES {
        let mut pair = connected(mode, ServerConfig::default());
        pair.run_for(Duration::from_secs(10 * 60));
        let (server, client) = disconnect_reasons(&pair);
        assert!(
            server.is_empty() && client.is_empty(),
            "{mode:?}: {server:?} {client:?}"
        );
        pair.client_send("still here");
        pair.run_for(Duration::from_millis(100));
        assert_eq!(
            pair.server_messages(),
            [Message::from("still here")],
            "{mode:?}"
        );
    }
}

#[test]
fn client_close_is_seen_on_both_sides() {
    for mode in MODES {
        let mut pair = connected(mode, test_config());
        pair.client_send("last");
        pair.client.close(pair.now);
        pair.collect();
        pair.run_for(Duration::from_secs(1));
        assert_eq!(pair.server_messages(), [Message::from("last")], "{mode:?}");
        let (server, client) = disconnect_reasons(&pair);
        assert_eq!(server, [DisconnectReason::ClientDisconnect], "{mode:?}");
        assert_eq!(client, [DisconnectReason::ClientDisconnect], "{mode:?}");
        assert_eq!(pair.server.session_count(), 0);
    }
}

#[test]
fn server_close_is_seen_on_both_sides() {
    for mode in MODES {
        let mut pair = connected(mode, test_config());
        pair.server_send("bye");
        let sid = pair.sid();
        pair.server.close(pair.now, &sid).unwrap();
        pair.collect();
        pair.run_for(Duration::from_secs(1));
        assert_eq!(pair.client_messages(), [Message::from("bye")], "{mode:?}");
        let (server, client) = disconnect_reasons(&pair);
        assert_eq!(server, [DisconnectReason::ServerDisconnect], "{mode:?}");
        assert_eq!(client, [DisconnectReason::ServerDisconnect], "{mode:?}");
        assert!(pair.client.is_closed());
    }
}

#[test]
fn a_vanished_peer_is_detected_by_the_heartbeat() {
    for mode in MODES {
        let mut pair = connected(mode, test_config());
        pair.network_up = false;
        pair.run_for(Duration::from_secs(5));
        let (server, client) = disconnect_reasons(&pair);
        assert_eq!(server, [DisconnectReason::PingTimeout], "{mode:?}");
        assert_eq!(client, [DisconnectReason::PingTimeout], "{mode:?}");
        assert_eq!(pair.server.session_count(), 0);
        assert_eq!(pair.server.poll_timeout(), None);
        assert_eq!(pair.client.poll_timeout(), None);
    }
}

#[test]
fn posts_are_batched_under_a_small_max_payload() {
    let mut pair = connected(
        Mode::Polling,
        ServerConfig {
            max_payload: 1_000,
            ..test_config()
        },
    );
    let sent: Vec<Message> = (0..50)
        .map(|i| Message::from(format!("{i:0>99}")))
        .collect();
    for message in &sent {
        pair.client_send(message.clone());
    }
    pair.run_for(Duration::from_secs(1));
    assert_eq!(pair.server_messages(), sent);
    let (server, _) = disconnect_reasons(&pair);
    assert!(server.is_empty(), "no POST crossed maxPayload: {server:?}");
}

#[test]
fn a_refused_upgrade_leaves_the_client_on_polling() {
    let mut pair = Pair::new(
        ServerConfig {
            allow_upgrades: false,
            ..test_config()
        },
        client_config(Mode::Upgrade),
    );
    pair.drive_until(|p| p.client.transport().is_some(), 100);
    pair.run_for(Duration::from_secs(2));
    assert_eq!(pair.client.transport(), Some(Transport::Polling));
    pair.client_send("fine");
    pair.run_for(Duration::from_millis(100));
    assert_eq!(pair.server_messages(), [Message::from("fine")]);
}
