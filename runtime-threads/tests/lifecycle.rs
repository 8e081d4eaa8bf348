//! Heartbeat and close, in the three transport modes, with the reason seen on each side.

mod common;

use std::sync::mpsc::Receiver;
use std::time::Duration;

use common::{channel, next, Mode, TestServer, MODES, WAIT};
use engineio_runtime_threads::{Client, DisconnectReason, Server, Sid};

/// A server reporting its connects and disconnects, with a short ping interval. The ping
/// timeout is generous: these tests run on real threads and time, and a loaded machine may
/// stall a pong for a few hundred milliseconds (the deadlines themselves are tested through
/// the core with injected time).
fn server() -> (TestServer, Receiver<Sid>, Receiver<(Sid, DisconnectReason)>) {
    let (connected, connects) = channel();
    let (gone, disconnects) = channel();
    let server = TestServer::start(
        Server::builder()
            .ping_interval(Duration::from_millis(300))
            .ping_timeout(Duration::from_millis(1000))
            .on_connect(move |_, sid, _| {
                let _ = connected.send(sid);
                Ok(())
            })
            .on_message(|server, sid, message| {
                let _ = server.send(&sid, message);
            })
            .on_disconnect(move |_, sid, reason| {
                let _ = gone.send((sid, reason));
            }),
    );
    (server, connects, disconnects)
}

fn client(mode: Mode, url: &str) -> (Client, Receiver<DisconnectReason>) {
    let (gone, reasons) = channel();
    let client = mode
        .client()
        .on_disconnect(move |_, reason| {
            let _ = gone.send(reason);
        })
        .connect(url)
        .expect("connect");
    (client, reasons)
}

/// Waits until the client and the server both run the session over WebSocket.
fn upgraded(server: &TestServer, client: &Client, sid: &Sid) {
    common::eventually("the upgrade on both sides", || {
        client.transport() == Some(engineio_runtime_threads::Transport::WebSocket)
            && server.server.transport(sid) == Some(engineio_runtime_threads::Transport::WebSocket)
    });
}

#[test]
fn the_heartbeat_keeps_sessions_alive_for_several_intervals() {
    let (server, connects, disconnects) = server();
    let clients: Vec<_> = MODES
        .iter()
        .map(|&mode| {
            let (client, reasons) = client(mode, &server.url);
            next(&connects, "connect");
            (mode, client, reasons)
        })
        .collect();
    // About six ping intervals: nothing may end meanwhile.
    assert!(
        disconnects.recv_timeout(Duration::from_secs(2)).is_err(),
        "a session ended while its client was alive"
    );
    for (mode, client, reasons) in &clients {
        assert!(reasons.try_recv().is_err(), "{mode:?}");
        client.send("still there?").unwrap();
        let echo = client.recv_timeout(WAIT).expect("echo after heartbeats");
        assert_eq!(echo.as_text(), Some("still there?"), "{mode:?}");
        assert_eq!(client.transport(), Some(mode.settled()), "{mode:?}");
    }
    for (_, client, _) in clients {
        client.disconnect();
    }
}

#[test]
fn client_close_is_seen_on_both_sides() {
    let (server, connects, disconnects) = server();
    for mode in MODES {
        let (client, reasons) = client(mode, &server.url);
        let sid = next(&connects, "connect");
        if mode == Mode::Upgrade {
            common::eventually("the upgrade", || client.transport() == Some(mode.settled()));
        }
        client.disconnect();
        assert_eq!(
            next(&reasons, "client disconnect"),
            DisconnectReason::ClientDisconnect,
            "{mode:?}"
        );
        assert_eq!(
            next(&disconnects, "server disconnect"),
            (sid, DisconnectReason::ClientDisconnect),
            "{mode:?}"
        );
        assert_eq!(client.wait(), DisconnectReason::ClientDisconnect);
        assert!(client.send("late").is_err());
    }
}

#[test]
fn server_close_is_seen_on_both_sides() {
    let (server, connects, disconnects) = server();
    for mode in MODES {
        let (client, reasons) = client(mode, &server.url);
        let sid = next(&connects, "connect");
        if mode == Mode::Upgrade {
            // Both sides must be done: a close while the client's `5` is on its way drops the
            // probe on the server after the client left polling (a known edge of the core).
            upgraded(&server, &client, &sid);
        }
        server.server.disconnect(&sid).expect("known session");
        assert_eq!(
            next(&reasons, "client disconnect"),
            DisconnectReason::ServerDisconnect,
            "{mode:?}"
        );
        assert_eq!(
            next(&disconnects, "server disconnect"),
            (sid, DisconnectReason::ServerDisconnect),
            "{mode:?}"
        );
        assert_eq!(client.wait(), DisconnectReason::ServerDisconnect);
    }
}

#[test]
fn a_silent_client_times_out() {
    let (server, connects, disconnects) = server();
    // A polling session opened by hand and never polled again.
    let sid = common::handshake(server.addr);
    assert_eq!(next(&connects, "connect").to_string(), sid);
    let (gone, reason) = next(&disconnects, "ping timeout");
    assert_eq!(gone.to_string(), sid);
    assert_eq!(reason, DisconnectReason::PingTimeout);
}

#[test]
fn shutdown_ends_every_session() {
    let (server, connects, disconnects) = server();
    let mut clients = Vec::new();
    for mode in MODES {
        clients.push((mode, client(mode, &server.url)));
        next(&connects, "connect");
    }
    server.server.shutdown(Duration::from_secs(2));
    for _ in MODES {
        let (_, reason) = next(&disconnects, "server side");
        assert_eq!(reason, DisconnectReason::ServerShutdown);
    }
    for (mode, (client, reasons)) in clients {
        let reason = next(&reasons, "client side");
        assert!(
            matches!(
                reason,
                DisconnectReason::ServerDisconnect | DisconnectReason::TransportClose
            ),
            "{mode:?}: {reason:?}"
        );
        drop(client);
    }
    assert_eq!(server.server.session_count(), 0);
    // New handshakes are refused.
    assert!(Client::builder()
        .request_timeout(Duration::from_secs(1))
        .connect(&server.url)
        .is_err());
}

#[test]
fn dropping_the_last_handle_closes_the_connection() {
    let (server, connects, disconnects) = server();
    for mode in MODES {
        let (client, _reasons) = client(mode, &server.url);
        let sid = next(&connects, "connect");
        drop(client);
        assert_eq!(
            next(&disconnects, "server side"),
            (sid, DisconnectReason::ClientDisconnect),
            "{mode:?}"
        );
    }
}
