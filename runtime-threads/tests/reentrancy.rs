//! Handlers call back into the blocking API without deadlock: the server sends and
//! disconnects from inside `on_message`, uses session storage there, and a client handler
//! sends from inside its `on_message`.

mod common;

use common::{channel, next, Mode, TestServer, MODES, WAIT};
use engineio_runtime_threads::{DisconnectReason, Message, Server};

#[derive(Clone, Default)]
struct Count(u32);

fn ping_pong_server() -> (
    TestServer,
    std::sync::mpsc::Receiver<(u32, DisconnectReason)>,
) {
    let (gone, disconnects) = channel();
    let server = TestServer::start(
        Server::builder()
            .on_message(|server, sid, message| {
                // Session storage and sends, from inside the handler.
                let count = {
                    let mut count = server.session::<Count>(&sid).expect("live session");
                    count.0 += 1;
                    count.0
                };
                match message.as_text() {
                    Some("bye") => server.disconnect(&sid).expect("disconnect from a handler"),
                    Some(text) => {
                        let number: u32 = text.parse().expect("a number");
                        server
                            .send(&sid, (number + 1).to_string())
                            .expect("send from a handler");
                        server
                            .send_json(&sid, &serde_json::json!({ "seen": count }))
                            .unwrap();
                    }
                    None => {}
                }
                assert!(server.transport(&sid).is_some());
                assert!(server.sessions().contains(&sid));
            })
            .on_disconnect(move |server, sid, reason| {
                // Still readable in the disconnect handler; sends are refused, not deadlocked.
                let count = server.get_session::<Count>(&sid).map_or(0, |c| c.0);
                assert!(server.send(&sid, "too late").is_err());
                let _ = gone.send((count, reason));
            }),
    );
    (server, disconnects)
}

#[test]
fn handlers_on_both_sides_call_back_into_the_api() {
    let (server, disconnects) = ping_pong_server();
    for mode in MODES {
        let (done, finished) = channel();
        let client = mode
            .client()
            .on_message(move |client, message: Message| {
                let Some(text) = message.as_text() else {
                    return;
                };
                if text.starts_with('{') {
                    return;
                }
                let number: u32 = text.parse().unwrap();
                if number >= 50 {
                    // Sending from inside the client's handler, then closing from the server's.
                    client.send("bye").expect("send from a client handler");
                    let _ = done.send(number);
                } else {
                    client
                        .send((number + 1).to_string())
                        .expect("send from a client handler");
                }
            })
            .connect(&server.url)
            .expect("connect");
        if mode == Mode::Upgrade {
            // The server closes on "bye": let the upgrade finish on both sides first.
            let sid = engineio_runtime_threads::Sid::parse(&client.sid().unwrap()).unwrap();
            common::eventually("the upgrade on both sides", || {
                client.transport() == Some(mode.settled())
                    && server.server.transport(&sid) == Some(mode.settled())
            });
        }
        client.send("0").unwrap();
        assert!(next(&finished, "fifty rounds") >= 50, "{mode:?}");
        let (count, reason) = next(&disconnects, "the server's disconnect");
        assert_eq!(reason, DisconnectReason::ServerDisconnect, "{mode:?}");
        assert_eq!(count, 27, "{mode:?}: 26 numbers and the bye");
        assert_eq!(
            client.wait(),
            DisconnectReason::ServerDisconnect,
            "{mode:?}"
        );
    }
}

#[test]
fn a_client_handler_may_disconnect_and_wait() {
    let server = TestServer::start(Server::builder().on_message(|server, sid, message| {
        let _ = server.send(&sid, message);
    }));
    for mode in [Mode::Polling, Mode::WebSocket] {
        let (done, finished) = channel();
        let client = mode
            .client()
            .on_message(move |client, _| {
                // Inside a handler, disconnect returns once the connection has ended.
                client.disconnect();
                let _ = done.send(client.wait());
            })
            .connect(&server.url)
            .expect("connect");
        client.send("hi").unwrap();
        assert_eq!(
            next(&finished, "the handler"),
            DisconnectReason::ClientDisconnect
        );
        assert_eq!(
            client.wait_timeout(WAIT),
            Some(DisconnectReason::ClientDisconnect)
        );
    }
}

#[test]
fn a_blocking_handler_does_not_stall_other_sessions() {
    let (release, released) = channel::<()>();
    let released = std::sync::Mutex::new(released);
    let server = TestServer::start(Server::builder().on_message(move |server, sid, message| {
        if message.as_text() == Some("block") {
            let _ = released.lock().unwrap().recv_timeout(WAIT);
        }
        let _ = server.send(&sid, message);
    }));
    let slow = Mode::WebSocket.client().connect(&server.url).unwrap();
    let fast = Mode::WebSocket.client().connect(&server.url).unwrap();
    slow.send("block").unwrap();
    slow.send("after").unwrap();
    fast.send("quick").unwrap();
    assert_eq!(fast.recv_timeout(WAIT).unwrap().as_text(), Some("quick"));
    release.send(()).unwrap();
    assert_eq!(slow.recv_timeout(WAIT).unwrap().as_text(), Some("block"));
    assert_eq!(slow.recv_timeout(WAIT).unwrap().as_text(), Some("after"));
}
