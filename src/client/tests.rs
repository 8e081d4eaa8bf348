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

/// A server floods a client whose handler is slow: the WebSocket reader stops reading while
/// `max_pending_messages` wait, so the backlog never exceeds the bound, and every message
/// arrives, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_handler_bounds_the_websocket_backlog() {
    const LIMIT: usize = 16;
    const COUNT: usize = 600;
    let server = FakeServer::start(Options::default());
    let (log, mut delivered) = mpsc::unbounded::<String>();
    let client = Client::builder()
        .transports(Transports::WEBSOCKET)
        .max_pending_messages(LIMIT)
        .on_message(move |_client, message: Message| {
            let log = log.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(1)).await;
                log.unbounded_send(message.as_text().unwrap().to_owned())
                    .unwrap();
            }
        })
        .connect(&server.url)
        .await
        .unwrap();
    for i in 0..COUNT {
        server.send(&i.to_string());
    }
    let backlog = client.shared.backlog.clone();
    let mut seen = Vec::new();
    while seen.len() < COUNT {
        let next = tokio::time::timeout(Duration::from_secs(10), delivered.next()).await;
        seen.push(next.expect("a message in time").expect("the log is open"));
        assert!(
            backlog.pending() <= LIMIT,
            "{} pending, bound {LIMIT}",
            backlog.pending()
        );
    }
    let expected: Vec<String> = (0..COUNT).map(|i| i.to_string()).collect();
    assert_eq!(seen, expected, "every message, in order");
    assert!(
        backlog.peak() <= LIMIT,
        "the backlog peaked at {}, bound {LIMIT}",
        backlog.peak()
    );
    assert!(backlog.peak() >= LIMIT / 2, "the flood never filled it");
    // Once the last handler has returned (it logs before), at most the reader's reservation
    // for the frame it waits for is left.
    let settled = Instant::now() + Duration::from_secs(2);
    while backlog.pending() > 1 && Instant::now() < settled {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(backlog.pending() <= 1, "{} pending", backlog.pending());
}

/// The stream face: messages nobody reads fill the `recv` queue, then the backlog, then the
/// reader stops; reading resumes everything, in order, nothing lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unread_stream_stops_the_websocket_reader() {
    const LIMIT: usize = 8;
    let count = super::dispatch::RECV_CAPACITY + 300;
    let server = FakeServer::start(Options::default());
    let client = Client::builder()
        .transports(Transports::WEBSOCKET)
        .max_pending_messages(LIMIT)
        .connect(&server.url)
        .await
        .unwrap();
    for i in 0..count {
        server.send(&i.to_string());
    }
    let backlog = client.shared.backlog.clone();
    // The queue fills (1024), then the backlog (8), then nothing more is read.
    let started = Instant::now();
    while backlog.pending() < LIMIT && started.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(backlog.pending(), LIMIT, "the reader stopped at the bound");
    for i in 0..count {
        assert_eq!(
            within(client.recv()).await,
            Some(Message::from(i.to_string()))
        );
    }
    assert!(backlog.peak() <= LIMIT, "peak {}", backlog.peak());
}

/// On polling the next long-poll GET waits while the backlog is full: a stalled handler
/// stops the polling, and releasing it resumes it with nothing lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_handler_holds_back_the_next_poll() {
    const LIMIT: usize = 4;
    let mut server = FakeServer::start(Options::default());
    let (release, released) = tokio::sync::watch::channel(false);
    let (log, mut delivered) = mpsc::unbounded::<String>();
    let client = Client::builder()
        .transports(Transports::POLLING)
        .max_pending_messages(LIMIT)
        .on_message(move |_client, message: Message| {
            let (log, mut released) = (log.clone(), released.clone());
            async move {
                log.unbounded_send(message.as_text().unwrap().to_owned())
                    .unwrap();
                let _ = released.wait_for(|open| *open).await;
            }
        })
        .connect(&server.url)
        .await
        .unwrap();
    // Ten messages in one poll response: more than the bound.
    let batch: Vec<Packet> = (0..10)
        .map(|i| Packet::Message(Message::from(i.to_string())))
        .collect();
    for packet in batch {
        server.push(packet);
    }
    assert_eq!(within(delivered.next()).await.as_deref(), Some("0"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let polls = server.polls_seen();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        server.polls_seen(),
        polls,
        "a GET went out while the backlog was full"
    );
    assert!(client.shared.backlog.pending() >= LIMIT);
    release.send(true).unwrap();
    for i in 1..10 {
        assert_eq!(
            within(delivered.next()).await.as_deref(),
            Some(i.to_string().as_str())
        );
    }
    // Polling resumes.
    server.send("after");
    assert_eq!(within(delivered.next()).await.as_deref(), Some("after"));
    assert!(server.polls_seen() > polls);
}
