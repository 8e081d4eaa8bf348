//! The client against a fake Engine.IO server over loopback: polling, WebSocket, polling
//! upgraded to WebSocket, TLS, handlers, the stream face and the failure modes of connect.

mod fake;
#[cfg(feature = "tls")]
mod tls;

use std::future::Future;
use std::time::{Duration, Instant};

use bytes::Bytes;
use engineio_core::packet::Packet;
use engineio_core::{DisconnectReason, Message, SendError, Transport, Transports};
use futures_channel::mpsc;
use futures_util::StreamExt;
use http::header::{CONTENT_TYPE, COOKIE};
use http::Method;

use super::{Client, ConnectError};
use fake::{FakeServer, Options, Seen, SID};

/// Fails the test instead of hanging.
async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(5), future)
        .await
        .expect("timed out")
}

fn binary(bytes: &'static [u8]) -> Message {
    Message::Binary(Bytes::from_static(bytes))
}

fn upgrading() -> Options {
    Options {
        upgrades: true,
        ..Options::default()
    }
}

/// Sends text and binary, checks what the server got and what it echoed.
async fn round_trip(client: &Client, server: &mut FakeServer) {
    client.send("hello").unwrap();
    client.send(vec![1u8, 2, 3]).unwrap();
    client.send("").unwrap();
    assert_eq!(
        server.expect_packet().await,
        Packet::Message("hello".into())
    );
    assert_eq!(
        server.expect_packet().await,
        Packet::Message(binary(&[1, 2, 3]))
    );
    assert_eq!(server.expect_packet().await, Packet::Message("".into()));
    assert_eq!(within(client.recv()).await, Some(Message::from("hello")));
    assert_eq!(within(client.recv()).await, Some(binary(&[1, 2, 3])));
    assert_eq!(within(client.recv()).await, Some(Message::from("")));
}

/// Closes from the client and checks that the server saw the close packet.
async fn close_from_client(client: &Client, server: &mut FakeServer) {
    within(client.disconnect()).await;
    assert_eq!(server.expect_packet().await, Packet::Close);
    assert_eq!(client.wait().await, DisconnectReason::ClientDisconnect);
    assert_eq!(client.send("late"), Err(SendError::Closed));
    assert_eq!(client.recv().await, None);
}

#[tokio::test]
async fn polling_connects_sends_receives_and_disconnects() {
    let mut server = FakeServer::start(Options::default());
    let client = Client::builder()
        .transports(Transports::POLLING)
        .connect(&server.url)
        .await
        .unwrap();
    assert_eq!(client.sid().as_deref(), Some(SID));
    assert_eq!(client.transport(), Some(Transport::Polling));
    round_trip(&client, &mut server).await;
    let post = server
        .expect(|seen| match seen {
            Seen::Request {
                method: Method::POST,
                headers,
                ..
            } => Some(headers.clone()),
            _ => None,
        })
        .await;
    assert_eq!(post[CONTENT_TYPE], "text/plain;charset=UTF-8");
    for _ in 0..20 {
        client.send("again").unwrap();
        assert_eq!(
            server.expect_packet().await,
            Packet::Message("again".into())
        );
        assert_eq!(within(client.recv()).await, Some(Message::from("again")));
    }
    // The long-poll GET and the POSTs reuse their connections.
    assert!(
        server.connections() <= 3,
        "{} connections",
        server.connections()
    );
    client.send_json(&serde_json::json!({ "n": 1 })).unwrap();
    assert_eq!(
        server.expect_packet().await,
        Packet::Message(r#"{"n":1}"#.into())
    );
    assert_eq!(
        within(client.recv()).await,
        Some(Message::from(r#"{"n":1}"#))
    );
    // The server pings, the client answers.
    server.push(Packet::Ping);
    assert_eq!(server.expect_packet().await, Packet::Pong);
    close_from_client(&client, &mut server).await;
}

#[tokio::test]
async fn websocket_only_connects_sends_receives_and_disconnects() {
    let mut server = FakeServer::start(Options::default());
    let client = Client::builder()
        .transports(Transports::WEBSOCKET)
        .connect(&server.url)
        .await
        .unwrap();
    let target = server
        .expect(|seen| match seen {
            Seen::Request { target, .. } => Some(target.clone()),
            _ => None,
        })
        .await;
    assert_eq!(target, "/engine.io/?EIO=4&transport=websocket");
    assert_eq!(client.sid().as_deref(), Some(SID));
    assert_eq!(client.transport(), Some(Transport::WebSocket));
    round_trip(&client, &mut server).await;
    server.push(Packet::Ping);
    assert_eq!(server.expect_packet().await, Packet::Pong);
    close_from_client(&client, &mut server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_upgrades_to_websocket_with_headers_query_and_cookies() {
    let mut server = FakeServer::start(upgrading());
    let client = Client::builder()
        .header("x-token", "abc")
        .connect(&format!("{}/ignored/path?token=xyz", server.url))
        .await
        .unwrap();

    let (target, headers) = server
        .expect(|seen| match seen {
            Seen::Request {
                target, headers, ..
            } => Some((target.clone(), headers.clone())),
            _ => None,
        })
        .await;
    assert_eq!(target, "/engine.io/?token=xyz&EIO=4&transport=polling&t=0");
    assert_eq!(headers["x-token"], "abc");
    assert!(headers.get(COOKIE).is_none());

    // The probe WebSocket carries the session, the headers and the cookie from the handshake.
    let (target, headers) = server
        .expect(|seen| match seen {
            Seen::Request {
                target, headers, ..
            } if target.contains("transport=websocket") => Some((target.clone(), headers.clone())),
            _ => None,
        })
        .await;
    assert_eq!(
        target,
        format!("/engine.io/?token=xyz&EIO=4&transport=websocket&sid={SID}")
    );
    assert_eq!(headers["x-token"], "abc");
    assert_eq!(headers[COOKIE], "io=cookie-1");
    server
        .expect(|seen| matches!(seen, Seen::Upgraded).then_some(()))
        .await;
    assert_eq!(client.transport(), Some(Transport::WebSocket));

    round_trip(&client, &mut server).await;
    server.push(Packet::Ping);
    assert_eq!(server.expect_packet().await, Packet::Pong);
    close_from_client(&client, &mut server).await;
}

#[tokio::test]
async fn upgrade_can_be_turned_off() {
    let mut server = FakeServer::start(upgrading());
    let client = Client::builder()
        .upgrade(false)
        .connect(&server.url)
        .await
        .unwrap();
    round_trip(&client, &mut server).await;
    assert_eq!(client.transport(), Some(Transport::Polling));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_run_in_order_one_at_a_time() {
    let mut server = FakeServer::start(Options::default());
    let (log, mut entries) = mpsc::unbounded::<String>();
    let (on_connect, on_message, on_disconnect) = (log.clone(), log.clone(), log);
    let client = Client::builder()
        .on_connect(move |client: Client| {
            let log = on_connect.clone();
            async move {
                log.unbounded_send("connect".into()).unwrap();
                client.send("from on_connect").unwrap();
            }
        })
        .on_message(move |_client, message: Message| {
            let log = on_message.clone();
            async move {
                // Yield so that a second handler running at once would interleave.
                tokio::task::yield_now().await;
                log.unbounded_send(message.as_text().unwrap().to_owned())
                    .unwrap();
            }
        })
        .on_disconnect(move |_client, reason| {
            let log = on_disconnect.clone();
            async move {
                log.unbounded_send(format!("disconnect: {reason}")).unwrap();
            }
        })
        .connect(&server.url)
        .await
        .unwrap();
    assert_eq!(
        server.expect_packet().await,
        Packet::Message("from on_connect".into())
    );
    for i in 0..100 {
        server.send(&format!("m{i}"));
    }
    server.push(Packet::Close);
    assert_eq!(
        within(client.wait()).await,
        DisconnectReason::ServerDisconnect
    );
    let mut expected = vec!["connect".to_owned(), "from on_connect".to_owned()];
    expected.extend((0..100).map(|i| format!("m{i}")));
    expected.push("disconnect: server disconnect".to_owned());
    let mut seen = Vec::new();
    while let Ok(entry) = entries.try_recv() {
        seen.push(entry);
    }
    assert_eq!(seen, expected);
    // The handler took every message.
    assert_eq!(client.recv().await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_can_disconnect_without_deadlock() {
    let mut server = FakeServer::start(upgrading());
    let client = Client::builder()
        .on_message(|client: Client, message: Message| async move {
            if message.as_text() == Some("bye") {
                let reason = client.wait();
                client.disconnect().await;
                assert_eq!(reason.await, DisconnectReason::ClientDisconnect);
            }
        })
        .connect(&server.url)
        .await
        .unwrap();
    server.send("bye");
    assert_eq!(server.expect_packet().await, Packet::Close);
    assert_eq!(
        within(client.wait()).await,
        DisconnectReason::ClientDisconnect
    );
}

#[tokio::test]
async fn server_close_ends_the_connection_on_both_transports() {
    for transports in [Transports::POLLING, Transports::WEBSOCKET] {
        let server = FakeServer::start(Options::default());
        let client = Client::builder()
            .transports(transports)
            .connect(&server.url)
            .await
            .unwrap();
        server.send("last words");
        server.push(Packet::Close);
        assert_eq!(
            within(client.wait()).await,
            DisconnectReason::ServerDisconnect
        );
        assert_eq!(client.recv().await, Some(Message::from("last words")));
        assert_eq!(client.recv().await, None);
        assert_eq!(client.send("late"), Err(SendError::Closed));
    }
}

#[tokio::test]
async fn dropping_the_last_handle_closes_gracefully() {
    let mut server = FakeServer::start(Options::default());
    let (reasons, mut ended) = mpsc::unbounded();
    let client = Client::builder()
        .on_disconnect(move |client: Client, reason| {
            let reasons = reasons.clone();
            async move {
                assert_eq!(client.send("late"), Err(SendError::Closed));
                reasons.unbounded_send(reason).unwrap();
            }
        })
        .connect(&server.url)
        .await
        .unwrap();
    let clone = client.clone();
    drop(client);
    clone.send("still open").unwrap();
    assert_eq!(
        server.expect_packet().await,
        Packet::Message("still open".into())
    );
    drop(clone);
    assert_eq!(server.expect_packet().await, Packet::Close);
    // `on_disconnect` still runs, with a handle that no longer keeps anything open.
    assert_eq!(
        within(ended.next()).await,
        Some(DisconnectReason::ClientDisconnect)
    );
}

#[tokio::test]
async fn missing_pings_end_the_connection() {
    let server = FakeServer::start(Options {
        ping_interval: 100,
        ping_timeout: 100,
        ..Options::default()
    });
    let client = Client::connect(&server.url).await.unwrap();
    assert_eq!(within(client.wait()).await, DisconnectReason::PingTimeout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recv_queue_holds_every_message_without_a_reader() {
    let server = FakeServer::start(Options::default());
    let client = Client::builder()
        .transports(Transports::POLLING)
        .connect(&server.url)
        .await
        .unwrap();
    let count = super::dispatch::RECV_CAPACITY + 500;
    for i in 0..count {
        server.send(&i.to_string());
    }
    server.push(Packet::Close);
    // The queue is full long before the end; the end is still reported.
    assert_eq!(
        within(client.wait()).await,
        DisconnectReason::ServerDisconnect
    );
    for i in 0..count {
        assert_eq!(client.recv().await, Some(Message::from(i.to_string())));
    }
    assert_eq!(client.recv().await, None);
}

#[tokio::test]
async fn rejected_handshake_reports_status_and_body() {
    let body = r#"{"code":4,"message":"Thou shall not pass"}"#;
    let server = FakeServer::start(Options {
        reject: Some((401, body)),
        ..Options::default()
    });
    match Client::connect(&server.url).await {
        Err(ConnectError::Rejected { status, body: got }) => {
            assert_eq!(status, 401);
            assert_eq!(got, body.as_bytes());
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn unanswered_handshake_times_out() {
    let server = FakeServer::start(Options {
        hang: true,
        ..Options::default()
    });
    let started = Instant::now();
    let result = Client::builder()
        .request_timeout(Duration::from_millis(200))
        .connect(&server.url)
        .await;
    assert!(matches!(result, Err(ConnectError::Timeout)), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn invalid_urls_and_headers_are_refused() {
    for url in [
        "not a url",
        "localhost:3000",
        "ftp://example.com/",
        "http://",
    ] {
        let result = Client::connect(url).await;
        assert!(
            matches!(result, Err(ConnectError::InvalidUrl(_))),
            "{url}: {result:?}"
        );
    }
    let result = Client::builder()
        .header("bad header", "x")
        .connect("http://127.0.0.1:1")
        .await;
    assert!(
        matches!(result, Err(ConnectError::InvalidHeader(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn nothing_listening_is_an_io_error() {
    // A port that was just free is very likely still free.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    for transports in [Transports::ALL, Transports::WEBSOCKET] {
        let result = Client::builder()
            .transports(transports)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        assert!(matches!(result, Err(ConnectError::Io(_))), "{result:?}");
    }
}

#[tokio::test]
async fn tls_against_a_plain_port_fails_cleanly() {
    let server = FakeServer::start(Options::default());
    for (scheme, transports) in [
        ("https", Transports::POLLING),
        ("wss", Transports::WEBSOCKET),
    ] {
        let result = Client::builder()
            .transports(transports)
            .connect(&format!("{scheme}://127.0.0.1:{}", server.port))
            .await;
        assert!(
            matches!(result, Err(ConnectError::Tls(_) | ConnectError::Io(_))),
            "{scheme}: {result:?}"
        );
    }
}

#[test]
fn handles_and_their_futures_are_send_and_sync() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: T) {}
    let builder = Client::builder();
    send_sync(&builder);
    send(builder.connect("http://localhost"));
    let check = |client: Client| {
        send_sync(&client);
        send(async move {
            let _ = client.recv().await;
            client.disconnect().await;
            let _ = client.wait().await;
        });
    };
    let _ = check;
}
