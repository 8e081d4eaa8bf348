//! A blocking server and a blocking client in the three transport modes: text, binary, order,
//! messages during the upgrade.

mod common;

use std::time::Duration;

use common::{channel, next, Mode, TestServer, MODES, WAIT};
use engineio_runtime_threads::{Bytes, Message, Server};

fn echo_server() -> TestServer {
    TestServer::start(Server::builder().on_message(|server, sid, message| {
        server.send(&sid, message).expect("echo");
    }))
}

#[test]
fn text_and_binary_echo_in_every_mode() {
    let server = echo_server();
    for mode in MODES {
        let client = mode.client().connect(&server.url).expect("connect");
        client.send("héllo wörld ✓ 🦀").unwrap();
        let echo = client.recv_timeout(WAIT).expect("text echo");
        assert_eq!(echo.as_text(), Some("héllo wörld ✓ 🦀"), "{mode:?}");
        let binary: Vec<u8> = (0..=255).collect();
        client.send(binary.clone()).unwrap();
        let echo = client.recv_timeout(WAIT).expect("binary echo");
        assert_eq!(
            echo.as_binary().map(|b| b.to_vec()),
            Some(binary),
            "{mode:?}"
        );
        client.send(Bytes::new()).unwrap();
        let echo = client.recv_timeout(WAIT).expect("empty binary echo");
        assert_eq!(echo, Message::Binary(Bytes::new()), "{mode:?}");
        if mode == Mode::Upgrade {
            common::eventually("the upgrade", || client.transport() == Some(mode.settled()));
        }
        assert_eq!(client.transport(), Some(mode.settled()), "{mode:?}");
        let sid = client.sid().expect("a sid");
        assert_eq!(
            server
                .server
                .transport(&engineio_runtime_threads::Sid::parse(&sid).unwrap()),
            Some(mode.settled()),
            "{mode:?}"
        );
        client.disconnect();
    }
}

#[test]
fn a_thousand_messages_in_order_both_ways() {
    let (seen, messages) = channel();
    let server = TestServer::start(Server::builder().on_message(move |server, sid, message| {
        let _ = seen.send(message.as_text().unwrap_or_default().to_owned());
        server.send(&sid, message).expect("echo");
    }));
    for mode in MODES {
        let client = mode.client().connect(&server.url).expect("connect");
        for i in 0..1000 {
            client.send(format!("m{i}")).unwrap();
        }
        for i in 0..1000 {
            assert_eq!(next(&messages, "server side"), format!("m{i}"), "{mode:?}");
            let echo = client.recv_timeout(WAIT).expect("echo");
            assert_eq!(echo.as_text(), Some(format!("m{i}").as_str()), "{mode:?}");
        }
        client.disconnect();
    }
}

#[test]
fn messages_sent_during_the_upgrade_arrive_in_order() {
    let (seen, messages) = channel();
    let (sids, new_sids) = channel();
    let server = TestServer::start(
        Server::builder()
            .on_connect(move |server, sid, _| {
                // Start talking at once, while the client probes its WebSocket.
                let _ = sids.send(sid);
                std::thread::spawn(move || {
                    for i in 0..300 {
                        if server.send(&sid, format!("s{i}")).is_err() {
                            break;
                        }
                    }
                });
                Ok(())
            })
            .on_message(move |_, _, message| {
                let _ = seen.send(message.as_text().unwrap_or_default().to_owned());
            }),
    );
    let client = Mode::Upgrade
        .client()
        .connect(&server.url)
        .expect("connect");
    let sid = next(&new_sids, "the session");
    for i in 0..300 {
        client.send(format!("c{i}")).unwrap();
    }
    for i in 0..300 {
        let message = client.recv_timeout(WAIT).expect("server message");
        assert_eq!(message.as_text(), Some(format!("s{i}").as_str()));
        assert_eq!(next(&messages, "client message"), format!("c{i}"));
    }
    common::eventually("the upgrade", || {
        server.server.transport(&sid) == Some(engineio_runtime_threads::Transport::WebSocket)
    });
    client.send("after").unwrap();
    assert_eq!(next(&messages, "after the upgrade"), "after");
    client.disconnect();
}

#[test]
fn large_messages_cross_in_every_mode() {
    let server = echo_server();
    let big = "x".repeat(200_000);
    for mode in MODES {
        let client = mode.client().connect(&server.url).expect("connect");
        client.send(big.clone()).unwrap();
        let echo = client
            .recv_timeout(Duration::from_secs(10))
            .expect("big echo");
        assert_eq!(echo.as_text().map(str::len), Some(big.len()), "{mode:?}");
        client.disconnect();
    }
}

#[test]
fn a_tiny_websocket_read_buffer_still_carries_large_messages() {
    // 14 bytes: the smallest buffer (a frame header); messages many times its size are read
    // through it in pieces.
    let server = TestServer::start(Server::builder().ws_read_buffer_size(1).on_message(
        |server, sid, message| {
            server.send(&sid, message).expect("echo");
        },
    ));
    let client = Mode::WebSocket
        .client()
        .connect(&server.url)
        .expect("connect");
    let large = "x".repeat(100_000);
    for _ in 0..3 {
        client.send(large.clone()).unwrap();
        let echo = client.recv_timeout(WAIT).expect("echo");
        assert_eq!(echo.as_text().map(str::len), Some(large.len()));
    }
    client.disconnect();
}
