//! Authorization, connect rejection, the connect request, and the stream face.

mod common;

use common::{channel, next, Mode, TestServer, MODES, WAIT};
use engineio_runtime_threads::{
    Client, ConnectError, DisconnectReason, Forbidden, Rejection, Server,
};

#[test]
fn authorize_and_on_connect_may_refuse() {
    let server = TestServer::start(
        Server::builder()
            .authorize(|request| match request.query("token").as_deref() {
                Some("blocked") => Err(Forbidden::message("go away").status(429)),
                _ => Ok(()),
            })
            .on_connect(|server, sid, request| {
                assert_eq!(
                    server.connect_request(&sid).map(|r| r.uri.clone()),
                    Some(request.uri.clone())
                );
                assert!(request.remote_addr.is_some());
                match request.header("x-user") {
                    Some("alice") => Ok(()),
                    _ => Err(Rejection::message("who are you?")),
                }
            }),
    );
    for mode in MODES {
        let refused = mode
            .client()
            .header("x-user", "alice")
            .connect(&format!("{}?token=blocked", server.url));
        match refused {
            Err(ConnectError::Rejected { status, body }) => {
                assert_eq!(status, 429, "{mode:?}");
                assert!(
                    String::from_utf8_lossy(&body).contains("go away"),
                    "{mode:?}"
                );
            }
            other => panic!("{mode:?}: expected a rejection, got {other:?}"),
        }
        match mode.client().connect(&server.url) {
            Err(ConnectError::Rejected { status, body }) => {
                assert_eq!(status, 401, "{mode:?}");
                assert!(
                    String::from_utf8_lossy(&body).contains("who are you?"),
                    "{mode:?}"
                );
            }
            other => panic!("{mode:?}: expected a rejection, got {other:?}"),
        }
        let client = mode
            .client()
            .header("x-user", "alice")
            .connect(&format!("{}?token=ok", server.url))
            .expect("accepted");
        client.disconnect();
    }
}

#[test]
fn the_stream_face_accepts_sockets() {
    let (server, incoming) = Server::builder().build_incoming();
    let server = TestServer::serve(server);
    let client = Mode::Upgrade
        .client()
        .connect(&server.url)
        .expect("connect");
    let socket = incoming.accept_timeout(WAIT).expect("a socket");
    assert_eq!(Some(socket.sid().to_string()), client.sid());
    client.send("one").unwrap();
    client.send("two").unwrap();
    assert_eq!(socket.recv_timeout(WAIT).unwrap().as_text(), Some("one"));
    assert_eq!(socket.recv_timeout(WAIT).unwrap().as_text(), Some("two"));
    socket.send("back").unwrap();
    assert_eq!(client.recv_timeout(WAIT).unwrap().as_text(), Some("back"));
    socket.close().unwrap();
    assert_eq!(socket.recv(), None);
    assert_eq!(
        socket.disconnect_reason(),
        Some(DisconnectReason::ServerDisconnect)
    );
    assert_eq!(client.wait(), DisconnectReason::ServerDisconnect);
}

#[test]
fn client_handlers_run_in_order() {
    let server = TestServer::start(Server::builder().on_connect(|server, sid, _| {
        std::thread::spawn(move || {
            for i in 0..100 {
                let _ = server.send(&sid, i.to_string());
            }
            let _ = server.disconnect(&sid);
        });
        Ok(())
    }));
    let (events, seen) = channel();
    let (connects, disconnects) = (events.clone(), events.clone());
    // WebSocket only: a server close that races a polling client's upgrade is a known edge
    // of the core (see `lifecycle.rs`).
    let client = Mode::WebSocket
        .client()
        .on_connect(move |_| {
            let _ = connects.send("connect".to_owned());
        })
        .on_message(move |_, message| {
            let _ = events.send(message.as_text().unwrap().to_owned());
        })
        .on_disconnect(move |_, reason| {
            let _ = disconnects.send(reason.to_string());
        })
        .connect(&server.url)
        .expect("connect");
    assert_eq!(next(&seen, "connect"), "connect");
    for i in 0..100 {
        assert_eq!(next(&seen, "message"), i.to_string());
    }
    assert_eq!(next(&seen, "disconnect"), "server disconnect");
    assert_eq!(
        client.wait_timeout(WAIT),
        Some(DisconnectReason::ServerDisconnect)
    );
    assert_eq!(client.recv(), None);
}

#[test]
fn connecting_to_nothing_fails_cleanly() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    for mode in MODES {
        assert!(
            matches!(mode.client().connect(&url), Err(ConnectError::Io(_))),
            "{mode:?}"
        );
    }
    assert!(matches!(
        Client::connect("ftp://example.com"),
        Err(ConnectError::InvalidUrl(_))
    ));
}
