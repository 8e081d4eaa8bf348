//! The faults: a peer gone in the middle of a poll, of an upgrade, of a message.

use std::net::SocketAddr;
use std::time::Instant;

use engineio::DisconnectReason::{ClientDisconnect, PingTimeout, TransportClose};
use engineio::Message;
use engineio_tests::raw::{
    exchange, frame, get, handshake, polling_query, post, post_head, text_frame, upgrade_101,
    ws_session, RawConn,
};
use engineio_tests::{EchoServer, Runtime};

use super::*;

/// Cuts `conn` with a reset or a FIN.
fn cut(conn: RawConn, reset: bool) -> Instant {
    let at = Instant::now();
    if reset {
        conn.reset();
    } else {
        conn.close();
    }
    at
}

fn how(reset: bool) -> &'static str {
    if reset {
        "a reset"
    } else {
        "a FIN"
    }
}

/// A new polling session and a GET that the server holds: written, read by the server, and
/// not answered yet. `None` if the server answered at once (its ping was due: only on
/// [`BEATING`], on a machine so loaded that the steps took a ping interval).
fn held_get(server: &EchoServer, addr: SocketAddr) -> Option<(String, RawConn)> {
    let sid = step(server, "handshake", handshake(addr, IO_TIMEOUT));
    let mut conn = step(server, "connect", RawConn::connect(addr, IO_TIMEOUT));
    step(server, "GET", conn.write(&get(&polling_query(&sid))));
    assert!(
        conn.await_server_read(IO_TIMEOUT),
        "our server on {}: the server did not read the GET",
        server.runtime()
    );
    (!conn.has_data()).then_some((sid, conn))
}

/// Runs `attempt` until it returns something, up to 5 times (each failed attempt leaves a
/// session behind, which the heartbeat reaps).
fn retried<T>(server: &EchoServer, what: &str, mut attempt: impl FnMut() -> Option<T>) -> T {
    (0..5).find_map(|_| attempt()).unwrap_or_else(|| {
        panic!(
            "our server on {}: {what}: the server's ping came first five times",
            server.runtime()
        )
    })
}

/// Answers the server's ping over polling.
fn pong(server: &EchoServer, addr: SocketAddr, sid: &str) {
    let ok = step(
        server,
        "POST 3",
        exchange(addr, IO_TIMEOUT, &post(&polling_query(sid), b"3")),
    );
    assert_eq!((ok.status, ok.text().as_str()), (200, "ok"), "pong");
}

/// Mid-poll: a held GET cut by a FIN, then by a reset. The server is waiting to answer that
/// request: it must see the peer go and end the session at once (`TransportClose`, the
/// reference's "poll connection closed prematurely"), not a heartbeat later.
pub(crate) fn mid_poll(runtime: Runtime) {
    let (server, addr) = start(runtime, QUIET);
    let background = Background::start(&server);
    for reset in [true, false] {
        let what = format!("a held poll cut by {}", how(reset));
        fault(
            &server,
            &background,
            &what,
            &[TransportClose],
            PROMPT_REAP,
            || {
                let (sid, conn) = retried(&server, &what, || held_get(&server, addr));
                (sid, cut(conn, reset))
            },
        );
    }
    background.finish(&server);
}

/// A new polling session upgraded up to `3probe`, with the client's GET held meanwhile: the
/// server must answer that GET (`6`, so that the client pauses polling). Returns the sid and
/// the probe socket; `None` if the server's ping answered the GET first.
fn probed(server: &EchoServer, addr: SocketAddr) -> Option<(String, RawConn)> {
    let (sid, mut poll) = held_get(server, addr)?;
    let mut probe = step(server, "upgrade", upgrade_101(addr, IO_TIMEOUT, &sid));
    step(server, "2probe", probe.write(&text_frame("2probe")));
    let answer = step(server, "3probe", probe.read_text());
    assert_eq!(
        answer,
        "3probe",
        "our server on {}: probe",
        server.runtime()
    );
    let paused = step(server, "the held GET", poll.read_response());
    if paused.text() == "2" {
        return None;
    }
    assert_eq!(
        (paused.status, paused.text().as_str()),
        (200, "6"),
        "our server on {}: the GET held during the probe is answered with a noop",
        server.runtime()
    );
    Some((sid, probe))
}

/// Mid-upgrade: the probe socket cut (FIN, reset) after `3probe`, before `5`. The client
/// paused polling for the upgrade and is gone: only the heartbeat can tell, and must
/// (`PingTimeout`). And a client whose probe socket is cut but who goes on polling keeps its
/// session: its messages are echoed over polling and its `1` closes it.
pub(crate) fn mid_upgrade(runtime: Runtime) {
    let (server, addr) = start(runtime, BEATING);
    let background = Background::start(&server);
    for reset in [true, false] {
        let what = format!("an upgrade cut by {} after 3probe", how(reset));
        fault(
            &server,
            &background,
            &what,
            &[PingTimeout],
            SILENT_REAP,
            || {
                let (sid, probe) = retried(&server, &what, || probed(&server, addr));
                (sid, cut(probe, reset))
            },
        );
    }

    // The probe fails, the client goes on polling.
    let before = background.counts();
    let (sid, probe) = retried(&server, "a failed probe", || probed(&server, addr));
    probe.reset();
    let query = polling_query(&sid);
    let sent = step(
        &server,
        "POST after the failed probe",
        exchange(addr, IO_TIMEOUT, &post(&query, b"4still polling")),
    );
    assert_eq!(
        (sent.status, sent.text().as_str()),
        (200, "ok"),
        "our server on {runtime}: POST after the failed probe"
    );
    let mut echoed = false;
    for _ in 0..5 {
        let polled = step(&server, "poll", exchange(addr, IO_TIMEOUT, &get(&query)));
        assert_eq!(
            polled.status, 200,
            "our server on {runtime}: poll after the failed probe"
        );
        for packet in polled.text().split('\u{1e}') {
            match packet {
                "4still polling" => echoed = true,
                "2" => pong(&server, addr, &sid),
                "6" => {}
                other => panic!("our server on {runtime}: poll after the failed probe: {other:?}"),
            }
        }
        if echoed {
            break;
        }
    }
    assert!(
        echoed,
        "our server on {runtime}: no echo after the failed probe"
    );
    let closed = step(
        &server,
        "POST 1",
        exchange(addr, IO_TIMEOUT, &post(&query, b"1")),
    );
    assert_eq!((closed.status, closed.text().as_str()), (200, "ok"));
    let session = server.ended(&sid, IO_TIMEOUT);
    assert_eq!(
        (session.reason, session.received),
        (Some(ClientDisconnect), vec![Message::from("still polling")]),
        "our server on {runtime}: the session whose probe failed"
    );
    background.assert_rising(&before, "a failed probe");
    background.finish(&server);
}

/// Mid-message: half a POST body, half a WebSocket frame, the first fragment of a message,
/// each cut by a FIN or a reset. The server is reading from the peer: it must end the session
/// at once (`TransportClose`), and its handler must get nothing of the message.
pub(crate) fn mid_message(runtime: Runtime) {
    let (server, addr) = start(runtime, QUIET);
    let background = Background::start(&server);
    let body = "4a message that never arrives whole: ünïcödé 🦀".as_bytes();
    for reset in [true, false] {
        let what = format!("half a POST body cut by {}", how(reset));
        fault(
            &server,
            &background,
            &what,
            &[TransportClose],
            PROMPT_REAP,
            || {
                let sid = step(&server, "handshake", handshake(addr, IO_TIMEOUT));
                let mut conn = step(&server, "connect", RawConn::connect(addr, IO_TIMEOUT));
                let mut partial = post_head(&polling_query(&sid), body.len());
                partial.extend_from_slice(&body[..body.len() / 2]);
                step(&server, "half a POST", conn.write(&partial));
                assert!(
                    conn.await_server_read(IO_TIMEOUT),
                    "the server did not read"
                );
                (sid, cut(conn, reset))
            },
        );
    }
    let cases: [(&str, Vec<u8>); 2] = [
        ("half a WebSocket frame", {
            let whole = frame(0x81, body);
            whole[..whole.len() / 2].to_vec()
        }),
        (
            "the first fragment of a WebSocket message",
            frame(0x01, &body[..10]),
        ),
    ];
    for (what, bytes) in cases {
        for reset in [true, false] {
            let what = format!("{what} cut by {}", how(reset));
            fault(
                &server,
                &background,
                &what,
                &[TransportClose],
                PROMPT_REAP,
                || {
                    let (mut conn, sid) = step(&server, "WebSocket", ws_session(addr, IO_TIMEOUT));
                    step(&server, "partial frame", conn.write(&bytes));
                    assert!(
                        conn.await_server_read(IO_TIMEOUT),
                        "the server did not read"
                    );
                    (sid, cut(conn, reset))
                },
            );
        }
    }
    background.finish(&server);
}
