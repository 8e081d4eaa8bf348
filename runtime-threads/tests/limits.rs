//! Request limits of the HTTP front end: head size and count, slow clients, body size, the
//! connection cap, and WebSocket message size.

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::{channel, connect, handshake, next, read_response, request, TestServer, WAIT};
use engineio_runtime_threads::{DisconnectReason, Server};

fn limited() -> TestServer {
    TestServer::start(
        Server::builder()
            .header_read_timeout(Duration::from_millis(300))
            .max_http_buffer_size(1000),
    )
}

#[test]
fn an_oversized_header_block_gets_431() {
    let server = limited();
    let filler = format!("X-Filler: {}\r\n", "a".repeat(1000)).repeat(20);
    let response = request(
        server.addr,
        &format!("GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n{filler}\r\n"),
    );
    assert_eq!(response.status, 431);
    let many = "X-A: b\r\n".repeat(150);
    let response = request(
        server.addr,
        &format!("GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n{many}\r\n"),
    );
    assert_eq!(response.status, 431);
    let response = request(server.addr, "NOT HTTP AT ALL\r\n\r\n");
    assert_eq!(response.status, 400);
}

#[test]
fn a_slow_client_is_cut_off_at_the_header_deadline() {
    let server = limited();
    let mut stream = connect(server.addr);
    let started = Instant::now();
    stream
        .write_all(b"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .unwrap();
    // Stall: the server answers 408 and closes at its deadline.
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(250),
        "cut off too early: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(3), "not cut off: {elapsed:?}");
    assert!(
        rest.starts_with(b"HTTP/1.1 408"),
        "{:?}",
        String::from_utf8_lossy(&rest)
    );
}

#[test]
fn an_idle_connection_without_a_request_is_closed() {
    let server = limited();
    let mut stream = connect(server.addr);
    let started = Instant::now();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn a_body_over_max_payload_gets_413() {
    let (gone, reasons) = channel();
    let server = TestServer::start(
        Server::builder()
            .header_read_timeout(Duration::from_millis(500))
            .max_http_buffer_size(1000)
            .on_disconnect(move |_, _, reason| {
                let _ = gone.send(reason);
            }),
    );
    // Declared too large: refused before the body is read.
    let sid = handshake(server.addr);
    let body = "4".to_owned() + &"x".repeat(2000);
    let response = request(
        server.addr,
        &format!(
            "POST /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\n\
             Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    );
    assert_eq!(response.status, 413);
    assert_eq!(
        next(&reasons, "disconnect"),
        DisconnectReason::PayloadTooLarge
    );

    // Chunked: refused at the chunk that crosses the limit, the rest unread.
    let sid = handshake(server.addr);
    let mut stream = connect(server.addr);
    stream
        .write_all(
            format!(
                "POST /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\n\
                 Content-Type: text/plain;charset=UTF-8\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
    let chunk = "x".repeat(600);
    for _ in 0..2 {
        stream
            .write_all(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes())
            .unwrap();
    }
    let response = read_response(&mut stream);
    assert_eq!(response.status, 413);
    assert_eq!(
        next(&reasons, "disconnect"),
        DisconnectReason::PayloadTooLarge
    );
}

#[test]
fn a_websocket_message_over_max_payload_closes_the_session() {
    let (gone, reasons) = channel();
    let server = TestServer::start(Server::builder().max_http_buffer_size(1000).on_disconnect(
        move |_, _, reason| {
            let _ = gone.send(reason);
        },
    ));
    let client = common::Mode::WebSocket
        .client()
        .connect(&server.url)
        .expect("connect");
    // The client knows maxPayload and refuses locally.
    assert!(client.send("x".repeat(5000)).is_err());
    client.send("ok").unwrap();
    client.disconnect();
    assert_eq!(
        next(&reasons, "disconnect"),
        DisconnectReason::ClientDisconnect
    );
}

#[test]
fn connections_beyond_the_cap_get_503() {
    let server = TestServer::start(Server::builder().max_connections(2));
    // Two connections that sent nothing hold both slots.
    let first = connect(server.addr);
    let second = connect(server.addr);
    // The accept loop registers them in order; the third is over the cap.
    let mut third = connect(server.addr);
    let mut refused = Vec::new();
    let _ = third.read_to_end(&mut refused);
    assert!(
        refused.starts_with(b"HTTP/1.1 503"),
        "{:?}",
        String::from_utf8_lossy(&refused)
    );
    drop((first, second));
    // Slots free up once those connections end.
    common::eventually("a free slot", || {
        let mut stream = connect(server.addr);
        stream
            .write_all(b"GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        answer.starts_with(b"HTTP/1.1 404")
    });
    let _ = WAIT;
}
