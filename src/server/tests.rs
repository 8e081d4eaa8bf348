//! HTTP-level tests of the server: CORS, cookie, compression, static files, the authorization
//! hook, connect rejection, the stream face, session storage, shutdown and axum mounting. They
//! call the tower `Service` in process, so they see exactly what a client would, headers
//! included, without sockets; the WebSocket CORS test uses a real socket.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::http::{header, HeaderMap, StatusCode};
use bytes::Bytes;
use engineio_core::DisconnectReason;
use futures_util::future::poll_fn;
use http_body_util::{BodyExt, Full};
use tower_service::Service;

use super::*;

type Answer = (StatusCode, HeaderMap, Bytes);

async fn call<S, B>(service: &mut S, request: ::http::Request<Full<Bytes>>) -> Answer
where
    S: Service<::http::Request<Full<Bytes>>, Response = ::http::Response<B>>,
    S::Error: std::fmt::Debug,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    poll_fn(|cx| service.poll_ready(cx)).await.unwrap();
    let response = service.call(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, body)
}

fn get(uri: &str) -> ::http::request::Builder {
    ::http::Request::get(uri).header(header::HOST, "localhost:5000")
}

fn empty(builder: ::http::request::Builder) -> ::http::Request<Full<Bytes>> {
    builder.body(Full::new(Bytes::new())).unwrap()
}

const HANDSHAKE: &str = "/engine.io/?EIO=4&transport=polling";

async fn handshake(service: &mut EngineIoService<NotFound>) -> (Sid, Answer) {
    let answer = call(service, empty(get(HANDSHAKE))).await;
    assert_eq!(answer.0, StatusCode::OK, "{:?}", answer.2);
    let open: serde_json::Value = serde_json::from_slice(&answer.2[1..]).unwrap();
    let sid = Sid::parse(open["sid"].as_str().unwrap()).unwrap();
    (sid, answer)
}

fn poll_uri(sid: &Sid) -> String {
    format!("/engine.io/?EIO=4&transport=polling&sid={sid}")
}

#[tokio::test]
async fn cors_allowed_refused_and_preflight() {
    let server = Server::builder()
        .cors_allowed_origins(CorsOrigins::List(vec!["http://app.example".into()]))
        .build();
    let mut service = server.service();

    let allowed = call(
        &mut service,
        empty(get(HANDSHAKE).header(header::ORIGIN, "http://app.example")),
    )
    .await;
    assert_eq!(allowed.0, StatusCode::OK);
    assert_eq!(
        allowed.1[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "http://app.example"
    );
    assert_eq!(allowed.1[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");

    let refused = call(
        &mut service,
        empty(get(HANDSHAKE).header(header::ORIGIN, "http://evil.example")),
    )
    .await;
    assert_eq!(refused.0, StatusCode::FORBIDDEN);
    assert!(!refused.1.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    assert_eq!(
        &refused.2[..],
        br#"{"code":4,"message":"Not an accepted origin"}"#
    );

    let preflight = ::http::Request::options(HANDSHAKE)
        .header(header::ORIGIN, "http://app.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "content-type, x-token",
        );
    let preflight = call(&mut service, empty(preflight)).await;
    assert_eq!(preflight.0, StatusCode::NO_CONTENT);
    assert_eq!(
        preflight.1[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "http://app.example"
    );
    assert!(preflight.1[header::ACCESS_CONTROL_ALLOW_METHODS]
        .to_str()
        .unwrap()
        .contains("POST"));
    assert_eq!(
        preflight.1[header::ACCESS_CONTROL_ALLOW_HEADERS],
        "content-type, x-token"
    );
    assert_eq!(
        server.session_count(),
        1,
        "neither the refusal nor the preflight opened one"
    );

    // No Origin header at all: a non-browser client, never refused.
    let plain = call(&mut service, empty(get(HANDSHAKE))).await;
    assert_eq!(plain.0, StatusCode::OK);
    assert!(!plain.1.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
}

#[tokio::test]
async fn same_origin_is_the_default() {
    let server = Server::builder().build();
    let mut service = server.service();
    let same = call(
        &mut service,
        empty(get(HANDSHAKE).header(header::ORIGIN, "http://localhost:5000")),
    )
    .await;
    assert_eq!(same.0, StatusCode::OK);
    let other = call(
        &mut service,
        empty(get(HANDSHAKE).header(header::ORIGIN, "http://localhost:6000")),
    )
    .await;
    assert_eq!(other.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn websocket_upgrade_obeys_cors() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let server = Server::builder()
        .cors_allowed_origins(CorsOrigins::List(vec!["http://app.example".into()]))
        .build();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let serving = server.clone();
    tokio::spawn(async move { serving.serve_listener(listener).await });
    for (origin, expected) in [
        ("http://evil.example", "403"),
        ("http://app.example", "101"),
    ] {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let request = format!(
            "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
             Origin: {origin}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut head = vec![0u8; 1024];
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut head))
            .await
            .unwrap()
            .unwrap();
        let head = String::from_utf8_lossy(&head[..read]);
        assert!(
            head.starts_with(&format!("HTTP/1.1 {expected}")),
            "{origin}: {head}"
        );
        if expected == "101" {
            assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}");
            assert!(head
                .to_ascii_lowercase()
                .contains("access-control-allow-origin: http://app.example"));
        }
    }
}

#[tokio::test]
async fn cookie_only_on_the_polling_handshake() {
    let server = Server::builder().cookie(Cookie::default()).build();
    let mut service = server.service();
    let (sid, answer) = handshake(&mut service).await;
    assert_eq!(
        answer.1[header::SET_COOKIE],
        format!("io={sid}; Path=/; HttpOnly; SameSite=Lax").as_str()
    );
    server.send(&sid, "x").unwrap();
    let poll = call(&mut service, empty(get(&poll_uri(&sid)))).await;
    assert!(!poll.1.contains_key(header::SET_COOKIE));
}

#[tokio::test]
async fn compression_above_the_threshold_when_accepted() {
    let server = Server::builder().build();
    let mut service = server.service();
    let (sid, _) = handshake(&mut service).await;
    let big = "x".repeat(2_000);
    for (accept, expected) in [
        (Some("gzip, deflate"), Some("gzip")),
        (Some("deflate"), Some("deflate")),
        (None, None),
    ] {
        server.send(&sid, big.clone()).unwrap();
        let mut request = get(&poll_uri(&sid));
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT_ENCODING, accept);
        }
        let (status, headers, body) = call(&mut service, empty(request)).await;
        assert_eq!(status, StatusCode::OK);
        let encoding = headers
            .get(header::CONTENT_ENCODING)
            .map(|v| v.to_str().unwrap());
        assert_eq!(encoding, expected, "{accept:?}");
        let plain = match expected {
            Some("gzip") => inflate(flate2::read::GzDecoder::new(&body[..])),
            Some(_) => inflate(flate2::read::ZlibDecoder::new(&body[..])),
            None => body.to_vec(),
        };
        assert_eq!(plain, format!("4{big}").into_bytes());
    }
    server.send(&sid, "small").unwrap();
    let small = call(
        &mut service,
        empty(get(&poll_uri(&sid)).header(header::ACCEPT_ENCODING, "gzip")),
    )
    .await;
    assert!(
        !small.1.contains_key(header::CONTENT_ENCODING),
        "below the 1024-byte threshold"
    );
}

fn inflate(mut reader: impl std::io::Read) -> Vec<u8> {
    let mut out = Vec::new();
    reader.read_to_end(&mut out).unwrap();
    out
}

#[tokio::test]
async fn static_files_then_engine_then_404() {
    let dir = std::env::temp_dir().join(format!("engineio-static-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<h1>home</h1>").unwrap();
    std::fs::write(dir.join("assets/app.js"), "console.log(1)").unwrap();
    let files = StaticFiles::new()
        .file("/", dir.join("index.html"))
        .dir("/assets/", dir.join("assets"));
    let server = Server::builder().static_files(files).build();
    let mut service = server.service();
    let home = call(&mut service, empty(get("/"))).await;
    assert_eq!(
        (home.0, &home.2[..]),
        (StatusCode::OK, &b"<h1>home</h1>"[..])
    );
    assert_eq!(home.1[header::CONTENT_TYPE], "text/html");
    let script = call(&mut service, empty(get("/assets/app.js"))).await;
    assert_eq!(script.0, StatusCode::OK);
    assert!(script.1[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .contains("javascript"));
    let escape = call(&mut service, empty(get("/assets/../index.html"))).await;
    assert_eq!(escape.0, StatusCode::NOT_FOUND);
    let missing = call(&mut service, empty(get("/nope"))).await;
    assert_eq!(missing.0, StatusCode::NOT_FOUND);
    let engine = call(&mut service, empty(get(HANDSHAKE))).await;
    assert_eq!(engine.0, StatusCode::OK);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn authorization_hook_runs_before_any_session() {
    let server = Server::builder()
        .authorize(|request| async move {
            match request.query("token").as_deref() {
                Some("good") => Ok(()),
                _ => Err(Forbidden::message("Thou shall not pass")),
            }
        })
        .build();
    let mut service = server.service();
    let refused = call(&mut service, empty(get(HANDSHAKE))).await;
    assert_eq!(refused.0, StatusCode::FORBIDDEN);
    assert_eq!(
        &refused.2[..],
        br#"{"code":4,"message":"Thou shall not pass"}"#
    );
    assert_eq!(server.session_count(), 0);
    let accepted = call(&mut service, empty(get(&format!("{HANDSHAKE}&token=good")))).await;
    assert_eq!(accepted.0, StatusCode::OK);
    assert_eq!(server.session_count(), 1);
}

#[tokio::test]
async fn connect_handler_can_reject_with_401() {
    let disconnects = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&disconnects);
    let server = Server::builder()
        .on_connect(|_, _, request| async move {
            if request.header("x-user").is_some() {
                Ok(())
            } else {
                Err(Rejection::message("who are you?"))
            }
        })
        .on_disconnect(move |_, sid, reason| {
            let seen = Arc::clone(&seen);
            async move { seen.lock().unwrap().push((sid, reason)) }
        })
        .build();
    let mut service = server.service();
    let refused = call(&mut service, empty(get(HANDSHAKE))).await;
    assert_eq!(
        (refused.0, &refused.2[..]),
        (
            StatusCode::UNAUTHORIZED,
            &br#"{"message":"who are you?"}"#[..]
        )
    );
    assert_eq!(server.session_count(), 0);
    let accepted = call(&mut service, empty(get(HANDSHAKE).header("x-user", "ann"))).await;
    assert_eq!(accepted.0, StatusCode::OK);
    assert!(
        disconnects.lock().unwrap().is_empty(),
        "a refused connection never connected"
    );
}

#[tokio::test]
async fn stream_face_and_session_storage() {
    #[derive(Clone, Default, Debug, PartialEq)]
    struct Name(String);

    let (server, mut incoming) = Server::builder().build_incoming();
    let mut service = server.service();
    let (sid, _) = handshake(&mut service).await;
    let mut socket = tokio::time::timeout(Duration::from_secs(5), incoming.accept())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(socket.sid(), sid);
    assert_eq!(socket.transport(), Some(Transport::Polling));

    let post = ::http::Request::post(poll_uri(&sid))
        .body(Full::new(Bytes::from_static(b"4one\x1e4two")))
        .unwrap();
    assert_eq!(&call(&mut service, post).await.2[..], b"ok");
    assert_eq!(socket.recv().await, Some(Message::from("one")));
    assert_eq!(socket.recv().await, Some(Message::from("two")));
    socket.send("back").unwrap();
    assert_eq!(
        &call(&mut service, empty(get(&poll_uri(&sid)))).await.2[..],
        b"4back"
    );

    assert_eq!(server.get_session::<Name>(&sid), None);
    server.save_session(&sid, Name("ann".into())).unwrap();
    {
        let mut name = server.session::<Name>(&sid).unwrap();
        name.0.push_str("ie");
    }
    assert_eq!(server.get_session::<Name>(&sid), Some(Name("annie".into())));

    socket.close().unwrap();
    let last = call(&mut service, empty(get(&poll_uri(&sid)))).await;
    assert_eq!(&last.2[..], b"1");
    assert_eq!(socket.recv().await, None);
    assert_eq!(
        socket.disconnect_reason(),
        Some(DisconnectReason::ServerDisconnect)
    );
    assert_eq!(
        server.save_session(&sid, Name("x".into())),
        Err(SendError::UnknownSession)
    );
}

#[tokio::test]
async fn messages_are_handled_in_order_and_handlers_may_reenter() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let server = Server::builder()
        .on_message(move |server, sid, message| {
            let log = Arc::clone(&log);
            async move {
                // A handler that yields and calls back into the server.
                tokio::task::yield_now().await;
                server.send(&sid, message.clone()).unwrap();
                log.lock().unwrap().push(message);
            }
        })
        .build();
    let mut service = server.service();
    let (sid, _) = handshake(&mut service).await;
    let body: Vec<String> = (0..50).map(|i| format!("4m{i}")).collect();
    let post = ::http::Request::post(poll_uri(&sid))
        .body(Full::new(Bytes::from(body.join("\u{1e}"))))
        .unwrap();
    call(&mut service, post).await;
    let mut echoed = String::new();
    while echoed.matches('m').count() < 50 {
        let answer = call(&mut service, empty(get(&poll_uri(&sid)))).await;
        if !echoed.is_empty() {
            echoed.push('\u{1e}');
        }
        echoed.push_str(std::str::from_utf8(&answer.2).unwrap());
    }
    assert_eq!(echoed, body.join("\u{1e}"));
    let expected: Vec<Message> = (0..50).map(|i| Message::from(format!("m{i}"))).collect();
    assert_eq!(*seen.lock().unwrap(), expected);
}

/// A WebSocket's own task sets its writer's waker aside while it reads (the echo of a
/// handler that answers at once is written in the same poll). A reply sent later, from a
/// handler that waited or from another task, must still wake the writer, with no further
/// traffic from the client to poll the task.
#[tokio::test]
async fn a_late_reply_wakes_the_websocket_writer() {
    use crate::client::Client;

    let server = Server::builder()
        .on_message(|server, sid, message| async move {
            if message.as_text() == Some("spawned") {
                // Runs once the socket's task has written what it had and parked.
                tokio::spawn(async move {
                    tokio::task::yield_now().await;
                    server.send(&sid, "from another task").unwrap();
                });
            } else {
                // Pending at its first poll: the rest runs on a task of its own.
                tokio::task::yield_now().await;
                server.send(&sid, message).unwrap();
            }
        })
        .build();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let serving = server.clone();
    tokio::spawn(async move { serving.serve_listener(listener).await });
    let client = Client::builder()
        .transports(engineio_core::Transports::WEBSOCKET)
        .connect(&format!("http://127.0.0.1:{port}/engine.io/"))
        .await
        .unwrap();
    // The default ping interval is 25 s: a writer left without a waker would sit until then.
    let recv = || tokio::time::timeout(Duration::from_secs(5), client.recv());
    for round in 0..3 {
        let text = format!("waited {round}");
        client.send(text.clone()).unwrap();
        assert_eq!(recv().await.unwrap(), Some(Message::from(text)));
    }
    client.send("spawned").unwrap();
    assert_eq!(
        recv().await.unwrap(),
        Some(Message::from("from another task"))
    );
    client.disconnect().await;
}

/// `on_message_sync` on every path a message takes to it: the socket's own task
/// (WebSocket), a session's job runner (polling), one task per message (`async_handlers`)
/// and the stream face's queue (`build_incoming`). Each echo comes back in order.
#[tokio::test]
async fn sync_message_handlers_run_on_every_path() {
    use crate::client::Client;

    for (label, concurrent, incoming, websocket) in [
        ("websocket", false, false, true),
        ("polling", false, false, false),
        ("async_handlers", true, false, false),
        ("stream face", false, true, true),
    ] {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let builder = Server::builder()
            .async_handlers(concurrent)
            .on_message_sync(move |server, sid, message| {
                log.lock().unwrap().push(message.clone());
                server.send(&sid, message).unwrap();
            });
        let (server, _incoming) = if incoming {
            let (server, incoming) = builder.build_incoming();
            (server, Some(incoming))
        } else {
            (builder.build(), None)
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let serving = server.clone();
        tokio::spawn(async move { serving.serve_listener(listener).await });
        let transports = if websocket {
            engineio_core::Transports::WEBSOCKET
        } else {
            engineio_core::Transports::POLLING
        };
        let client = Client::builder()
            .transports(transports)
            .connect(&format!("http://127.0.0.1:{port}/engine.io/"))
            .await
            .unwrap();
        let sent: Vec<Message> = (0..20).map(|i| Message::from(format!("m{i}"))).collect();
        for message in &sent {
            client.send(message.clone()).unwrap();
        }
        let mut echoed = Vec::new();
        while echoed.len() < sent.len() {
            let next = tokio::time::timeout(Duration::from_secs(5), client.recv()).await;
            echoed.push(
                next.unwrap()
                    .unwrap_or_else(|| panic!("{label}: ended early")),
            );
        }
        let mut handled = seen.lock().unwrap().clone();
        if concurrent {
            // One task per message: arrival order is not promised.
            echoed.sort_by_key(|m| format!("{m:?}"));
            handled.sort_by_key(|m| format!("{m:?}"));
            let mut expected = sent.clone();
            expected.sort_by_key(|m| format!("{m:?}"));
            assert_eq!(echoed, expected, "{label}");
            assert_eq!(handled, expected, "{label}");
        } else {
            assert_eq!(echoed, sent, "{label}");
            assert_eq!(handled, sent, "{label}");
        }
        client.disconnect().await;
    }
}

#[tokio::test]
async fn graceful_shutdown_tells_every_client() {
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&reasons);
    let server = Server::builder()
        .on_disconnect(move |_, _, reason| {
            let log = Arc::clone(&log);
            async move { log.lock().unwrap().push(reason) }
        })
        .build();
    let mut service = server.service();
    let (sid, _) = handshake(&mut service).await;
    server.send(&sid, "accepted before shutdown").unwrap();
    let mut poller = service.clone();
    let uri = poll_uri(&sid);
    // The first poll takes the message; the second is held and gets the close packet.
    assert_eq!(
        &call(&mut poller, empty(get(&uri))).await.2[..],
        b"4accepted before shutdown"
    );
    let held = tokio::spawn(async move { call(&mut poller, empty(get(&uri))).await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    tokio::time::timeout(
        Duration::from_secs(5),
        server.shutdown(Duration::from_secs(2)),
    )
    .await
    .unwrap();
    assert_eq!(&held.await.unwrap().2[..], b"1");
    assert_eq!(server.session_count(), 0);
    let refused = call(&mut service, empty(get(HANDSHAKE))).await;
    assert_eq!(refused.0, StatusCode::SERVICE_UNAVAILABLE);
    for _ in 0..100 {
        if !reasons.lock().unwrap().is_empty() {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(*reasons.lock().unwrap(), [DisconnectReason::ServerShutdown]);
}

#[tokio::test]
async fn mounts_in_an_axum_router() {
    use axum::routing::get as axum_get;

    let server = Server::builder().build();
    let mut app = axum::Router::new()
        .route("/hello", axum_get(|| async { "hi" }))
        .route_service("/engine.io/", server.service());
    let call_app = |request: ::http::Request<axum::body::Body>| {
        let mut app = app.clone();
        async move {
            let response = Service::call(&mut app, request).await.unwrap();
            let (parts, body) = response.into_parts();
            (parts.status, body.collect().await.unwrap().to_bytes())
        }
    };
    let hello = call_app(
        ::http::Request::get("/hello")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!((hello.0, &hello.1[..]), (StatusCode::OK, &b"hi"[..]));
    let engine = call_app(
        ::http::Request::get(HANDSHAKE)
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(engine.0, StatusCode::OK);
    assert!(engine.1.starts_with(b"0{\"sid\""));
    let missing = call_app(
        ::http::Request::get("/other")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(missing.0, StatusCode::NOT_FOUND);
    poll_fn(|cx| Service::<::http::Request<axum::body::Body>>::poll_ready(&mut app, cx))
        .await
        .unwrap();
}
