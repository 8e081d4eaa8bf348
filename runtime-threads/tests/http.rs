//! The HTTP behaviour shared with the async server: CORS on polling and on the upgrade, the
//! cookie on the polling handshake only, compression, static files, 404, and the 101 answer.

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::time::Duration;

use common::{channel, get, handshake, next, request, TestServer, WAIT};
use engineio_runtime_threads::{Cookie, CorsOrigins, DisconnectReason, Server, StaticFiles};

const UPGRADE: &str = "Upgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

fn cors_server() -> TestServer {
    TestServer::start(
        Server::builder()
            .cors_allowed_origins(CorsOrigins::List(vec!["https://good.example".into()]))
            .cookie(Cookie::default()),
    )
}

#[test]
fn refused_origins_get_403_on_polling_and_on_the_upgrade() {
    let server = cors_server();
    let polling = get(
        server.addr,
        "/engine.io/?EIO=4&transport=polling",
        "Origin: https://evil.example\r\n",
    );
    assert_eq!(polling.status, 403);
    assert!(polling.header("access-control-allow-origin").is_none());
    assert_eq!(
        polling.body,
        br#"{"code":4,"message":"Not an accepted origin"}"#
    );
    let upgrade = get(
        server.addr,
        "/engine.io/?EIO=4&transport=websocket",
        &format!("Origin: https://evil.example\r\n{UPGRADE}"),
    );
    assert_eq!(upgrade.status, 403);
}

#[test]
fn accepted_origins_get_cors_headers_and_preflights_204() {
    let server = cors_server();
    let polling = get(
        server.addr,
        "/engine.io/?EIO=4&transport=polling",
        "Origin: https://good.example\r\n",
    );
    assert_eq!(polling.status, 200);
    assert_eq!(
        polling.header("access-control-allow-origin"),
        Some("https://good.example")
    );
    assert_eq!(
        polling.header("access-control-allow-credentials"),
        Some("true")
    );
    let preflight = request(
        server.addr,
        &format!(
            "OPTIONS /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: {}\r\n\
             Origin: https://good.example\r\nAccess-Control-Request-Headers: x-token\r\n\
             Connection: close\r\n\r\n",
            server.addr
        ),
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-headers"),
        Some("x-token")
    );
    // No Origin header: a non-browser client, never refused.
    let plain = get(server.addr, "/engine.io/?EIO=4&transport=polling", "");
    assert_eq!(plain.status, 200);
}

#[test]
fn the_cookie_is_set_on_the_polling_handshake_only() {
    let server = cors_server();
    let polling = get(server.addr, "/engine.io/?EIO=4&transport=polling", "");
    let body = String::from_utf8(polling.body.clone()).unwrap();
    let open: serde_json::Value = serde_json::from_str(&body[1..]).unwrap();
    let sid = open["sid"].as_str().unwrap();
    assert_eq!(
        polling.header("set-cookie"),
        Some(format!("io={sid}; Path=/; HttpOnly; SameSite=Lax").as_str())
    );
    assert_eq!(polling.header("cache-control"), Some("no-store"));
    let upgrade = get(
        server.addr,
        "/engine.io/?EIO=4&transport=websocket",
        UPGRADE,
    );
    assert_eq!(upgrade.status, 101);
    assert!(upgrade.header("set-cookie").is_none());
}

#[test]
fn the_upgrade_answers_101_with_the_accept_key() {
    let server = TestServer::start(Server::builder());
    let mut stream = common::connect(server.addr);
    std::io::Write::write_all(
        &mut stream,
        format!("GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n{UPGRADE}\r\n")
            .as_bytes(),
    )
    .unwrap();
    let response = common::read_response(&mut stream);
    assert_eq!(response.status, 101);
    assert_eq!(
        response.header("sec-websocket-accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
    assert_eq!(response.header("upgrade"), Some("websocket"));
    // The open packet follows at once, as a text frame.
    let mut frame = response.body;
    while frame.len() < 2 {
        let mut more = [0u8; 512];
        let read = stream.read(&mut more).unwrap();
        frame.extend_from_slice(&more[..read]);
    }
    assert_eq!(frame[0], 0x81);
}

#[test]
fn large_poll_payloads_are_compressed() {
    let server = TestServer::start(Server::builder());
    let sid = handshake(server.addr);
    let parsed = engineio_runtime_threads::Sid::parse(&sid).unwrap();
    server.server.send(&parsed, "z".repeat(5000)).unwrap();
    let poll = get(
        server.addr,
        &format!("/engine.io/?EIO=4&transport=polling&sid={sid}"),
        "Accept-Encoding: gzip, deflate\r\n",
    );
    assert_eq!(poll.status, 200);
    assert_eq!(poll.header("content-encoding"), Some("gzip"));
    let mut decoded = String::new();
    flate2::read::GzDecoder::new(&poll.body[..])
        .read_to_string(&mut decoded)
        .unwrap();
    assert_eq!(decoded, format!("4{}", "z".repeat(5000)));
    // Small payloads go as they are.
    server.server.send(&parsed, "small").unwrap();
    let poll = get(
        server.addr,
        &format!("/engine.io/?EIO=4&transport=polling&sid={sid}"),
        "Accept-Encoding: gzip\r\n",
    );
    assert!(poll.header("content-encoding").is_none());
    assert_eq!(poll.body, b"4small");
}

#[test]
fn static_files_are_served_after_the_engine_path_and_404_otherwise() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let server = TestServer::start(
        Server::builder().static_files(
            StaticFiles::new()
                .file("/", format!("{data}/index.html"))
                .dir("/static/", data),
        ),
    );
    let index = get(server.addr, "/", "");
    assert_eq!(index.status, 200);
    assert_eq!(index.header("content-type"), Some("text/html"));
    assert_eq!(index.body, b"<!doctype html><title>hi</title>\n");
    let script = get(server.addr, "/static/app.js", "");
    assert_eq!(script.status, 200);
    assert_eq!(script.body, b"console.log(\"ok\");\n");
    assert_eq!(get(server.addr, "/static/../Cargo.toml", "").status, 404);
    assert_eq!(get(server.addr, "/missing", "").status, 404);
    // HEAD: the headers without the body.
    let mut stream = common::connect(server.addr);
    std::io::Write::write_all(
        &mut stream,
        b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut head = String::new();
    stream.read_to_string(&mut head).unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("content-length: 33\r\n"), "{head}");
    assert!(head.ends_with("\r\n\r\n"), "no body after the head: {head}");
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let server = TestServer::start(Server::builder());
    let mut stream = common::connect(server.addr);
    for _ in 0..3 {
        std::io::Write::write_all(
            &mut stream,
            b"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .unwrap();
        let response = common::read_response(&mut stream);
        assert_eq!(response.status, 200);
        assert!(response.body.starts_with(b"0{"));
    }
}

#[test]
fn a_raw_websocket_message_over_max_payload_closes_with_1009() {
    let (gone, reasons) = channel();
    let server = TestServer::start(Server::builder().max_http_buffer_size(1000).on_disconnect(
        move |_, _, reason| {
            let _ = gone.send(reason);
        },
    ));
    let stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let url = format!("ws://{}/engine.io/?EIO=4&transport=websocket", server.addr);
    let (mut socket, _) = tungstenite::client::client(url.as_str(), stream).unwrap();
    let open = socket.read().unwrap();
    assert!(open.to_text().unwrap().starts_with("0{"));
    socket
        .send(tungstenite::Message::text(format!("4{}", "x".repeat(5000))))
        .unwrap();
    let mut close_code = None;
    for _ in 0..10 {
        match socket.read() {
            Ok(tungstenite::Message::Close(frame)) => {
                close_code = frame.map(|frame| u16::from(frame.code));
                break;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert_eq!(
        next(&reasons, "disconnect"),
        DisconnectReason::PayloadTooLarge
    );
    assert_eq!(close_code, Some(1009));
    let _ = Duration::ZERO;
}
