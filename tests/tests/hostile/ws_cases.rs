//! The WebSocket cases: garbage after the upgrade, bad frames, resets at each phase of an
//! upgrade, refused upgrade requests.

use super::*;

// ---------------------------------------------------------------------------------------------
// 5. Garbage right after the upgrade request (CVE-2022-21676)

pub(crate) fn garbage_after_websocket_upgrade(runtime: Runtime) {
    let server = start(runtime);
    let mut stream = connect(&server);
    let mut raw = ws_request("EIO=4&transport=websocket");
    raw.extend_from_slice(b"test");
    stream.write_all(&raw).unwrap();
    // The request is valid: 101 and the open frame. "test" reads as a frame header with the
    // three reserved bits set, a protocol error: close 1002, and the session is gone.
    let (status, _, mut pending) = read_head(&mut stream)
        .unwrap_or_else(|e| panic!("our server on {runtime}: garbage after upgrade: {e}"));
    assert_eq!(
        status, 101,
        "our server on {runtime}: garbage after upgrade"
    );
    let open = read_frame(&mut stream, &mut pending)
        .unwrap_or_else(|e| panic!("our server on {runtime}: garbage after upgrade: {e}"));
    assert_eq!(
        (open.opcode, open.payload.first()),
        (1, Some(&b'0')),
        "our server on {runtime}: the open frame comes before the close"
    );
    let json: serde_json::Value = serde_json::from_slice(&open.payload[1..]).unwrap();
    let sid = json["sid"].as_str().expect("sid").to_owned();
    let code = await_ws_close(
        &server,
        &mut stream,
        &mut pending,
        "garbage after the upgrade",
    );
    assert_eq!(
        code,
        Some(1002),
        "our server on {runtime}: garbage after the upgrade"
    );
    let ended = server.ended(&sid, END_TIMEOUT);
    assert_eq!(
        ended.reason,
        Some(DisconnectReason::TransportError(TransportError::WebSocket)),
        "our server on {runtime}: garbage after the upgrade"
    );
    assert_serves(&server);
}

// ---------------------------------------------------------------------------------------------
// 6. Bad frames: invalid UTF-8, reserved bits, over maxPayload

pub(crate) fn ws_bad_frame(
    runtime: Runtime,
    bad: Vec<u8>,
    what: &str,
    code: u16,
    reason: DisconnectReason,
) {
    let server = start(runtime);
    let (mut stream, sid, mut pending) = ws_session(&server);
    // The session works before the bad frame.
    stream.write_all(&text_frame("4hi")).unwrap();
    loop {
        let f = read_frame(&mut stream, &mut pending).unwrap();
        if f.payload == b"4hi" {
            break;
        }
    }
    let _ = stream.write_all(&bad);
    let closed = await_ws_close(&server, &mut stream, &mut pending, what);
    assert_eq!(
        closed,
        Some(code),
        "our server on {runtime}: {what}: the close code (None: EOF or reset, no close frame)"
    );
    let ended = server.ended(&sid, END_TIMEOUT);
    assert_eq!(
        ended.reason,
        Some(reason),
        "our server on {runtime}: {what}: why the session ended"
    );
    assert!(
        !ended.received.iter().any(|m| m.as_text() != Some("hi")),
        "our server on {runtime}: {what}: delivered {:?}",
        ended.received
    );
    assert_serves(&server);
}

pub(crate) fn websocket_invalid_utf8(runtime: Runtime) {
    ws_bad_frame(
        runtime,
        frame(0x81, b"4\xff\xfe\xc3"),
        "text frame with invalid UTF-8",
        1007,
        DisconnectReason::TransportError(TransportError::WebSocket),
    );
}

pub(crate) fn websocket_reserved_bits(runtime: Runtime) {
    // FIN + RSV1 + RSV2 + RSV3, text (no extension was negotiated).
    ws_bad_frame(
        runtime,
        frame(0xf1, b"4hello"),
        "frame with reserved bits",
        1002,
        DisconnectReason::TransportError(TransportError::WebSocket),
    );
}

pub(crate) fn websocket_oversized_frame(runtime: Runtime) {
    let mut payload = vec![b'a'; MAX_PAYLOAD + 10];
    payload[0] = b'4';
    ws_bad_frame(
        runtime,
        frame(0x81, &payload),
        "text frame over maxPayload",
        1009,
        DisconnectReason::PayloadTooLarge,
    );
}

// ---------------------------------------------------------------------------------------------
// 8. TCP reset at each phase of an upgrade

/// Drops `stream` with unread bytes in its receive queue, which makes the kernel send a RST
/// instead of a FIN (no `SO_LINGER` needed). Waits (peeks) until bytes are there.
pub(crate) fn reset(server: &EchoServer, stream: TcpStream, what: &str) {
    let mut buf = [0u8; 1];
    match stream.peek(&mut buf) {
        Ok(n) if n > 0 => {}
        other => panic!(
            "our server on {}: {what}: nothing to leave unread before the reset ({other:?})",
            server.runtime()
        ),
    }
    drop(stream);
}

pub(crate) fn upgrade_stream(server: &EchoServer, sid: &str) -> TcpStream {
    let mut stream = connect(server);
    stream
        .write_all(&ws_request(&format!("EIO=4&transport=websocket&sid={sid}")))
        .unwrap();
    stream
}

pub(crate) fn upgrade_until_probe(server: &EchoServer, sid: &str) -> (TcpStream, Vec<u8>) {
    let runtime = server.runtime();
    let mut stream = upgrade_stream(server, sid);
    let (status, _, pending) =
        read_head(&mut stream).unwrap_or_else(|e| panic!("our server on {runtime}: 101: {e}"));
    assert_eq!(status, 101, "our server on {runtime}: upgrade");
    (stream, pending)
}

pub(crate) fn after_reset(server: &EchoServer, sid: &str) {
    // The upgrade never completed: the polling session, which nobody polls any more, times
    // out.
    let ended = server.ended(sid, END_TIMEOUT);
    assert_eq!(
        ended.reason,
        Some(DisconnectReason::PingTimeout),
        "our server on {}: why the session ended after a reset during the upgrade",
        server.runtime()
    );
    assert_sid_gone(server, sid, "after the reset");
    assert_serves(server);
}

pub(crate) fn reset_after_upgrade_request(runtime: Runtime) {
    let server = start(runtime);
    let sid = handshake(&server);
    let stream = upgrade_stream(&server, &sid);
    reset(&server, stream, "reset with the 101 unread");
    after_reset(&server, &sid);
}

pub(crate) fn reset_during_probe(runtime: Runtime) {
    let server = start(runtime);
    let sid = handshake(&server);
    let mut stream = upgrade_stream(&server, &sid);
    // Half of the `2probe` frame, the 101 left unread.
    let probe = text_frame("2probe");
    stream.write_all(&probe[..5]).unwrap();
    thread::sleep(Duration::from_millis(50));
    reset(&server, stream, "reset in the middle of the probe frame");
    after_reset(&server, &sid);
}

pub(crate) fn reset_after_probe(runtime: Runtime) {
    let server = start(runtime);
    let sid = handshake(&server);
    let (mut stream, mut pending) = upgrade_until_probe(&server, &sid);
    stream.write_all(&text_frame("2probe")).unwrap();
    if pending.is_empty() {
        reset(&server, stream, "reset with the 3probe unread");
    } else {
        drop(read_frame(&mut stream, &mut pending));
        drop(stream);
    }
    after_reset(&server, &sid);
}

pub(crate) fn reset_after_upgrade(runtime: Runtime) {
    let server = start(runtime);
    let sid = handshake(&server);
    let (mut stream, mut pending) = upgrade_until_probe(&server, &sid);
    stream.write_all(&text_frame("2probe")).unwrap();
    let pong = read_frame(&mut stream, &mut pending).unwrap();
    assert_eq!(
        pong.payload, b"3probe",
        "our server on {runtime}: probe answer"
    );
    stream.write_all(&text_frame("5")).unwrap();
    stream.write_all(&text_frame("4echo me")).unwrap();
    if pending.is_empty() {
        reset(&server, stream, "reset with the echo unread");
    } else {
        drop(stream);
    }
    let ended = server.ended(&sid, END_TIMEOUT);
    assert_eq!(
        ended.reason,
        Some(DisconnectReason::TransportClose),
        "our server on {runtime}: reason after a reset on the upgraded WebSocket"
    );
    assert_sid_gone(&server, &sid, "after the reset");
    assert_serves(&server);
}

pub(crate) fn websocket_fragmented_oversized(runtime: Runtime) {
    let server = start(runtime);
    let (mut stream, sid, mut pending) = ws_session(&server);
    // A text message in 4 kB fragments, 2 MB in all (maxPayload is 1 MB), never finished.
    let piece = vec![b'a'; 4096];
    let mut first = piece.clone();
    first[0] = b'4';
    let mut result = stream.write_all(&frame(0x01, &first));
    for _ in 0..(2 * MAX_PAYLOAD / 4096) {
        if result.is_err() {
            break;
        }
        result = stream.write_all(&frame(0x00, &piece));
    }
    let code = await_ws_close(
        &server,
        &mut stream,
        &mut pending,
        "fragments over maxPayload",
    );
    assert_eq!(
        code,
        Some(1009),
        "our server on {runtime}: fragments over maxPayload"
    );
    let ended = server.ended(&sid, END_TIMEOUT);
    assert_eq!(
        ended.reason,
        Some(DisconnectReason::PayloadTooLarge),
        "our server on {runtime}: fragments over maxPayload"
    );
    assert_serves(&server);
}

/// WebSocket upgrade requests that must be refused, each before any 101: the reference's
/// answer to a refused upgrade (protocol.md §1.9), a 400 whose `text/html` body is the plain
/// message (no JSON), with `Connection: close`.
pub(crate) fn websocket_upgrade_errors(runtime: Runtime) {
    let server = start(runtime);
    let sid = handshake(&server);
    let long = "x".repeat(10_000);
    let unknown_sid = "Session ID unknown";
    let unknown_transport = "Transport unknown";
    let version = "Unsupported protocol version";
    let cases = [
        (
            "unknown sid",
            "EIO=4&transport=websocket&sid=AAAAAAAAAAAAAAAAAAAA".to_owned(),
            unknown_sid,
        ),
        (
            "sid __proto__",
            "EIO=4&transport=websocket&sid=__proto__".to_owned(),
            unknown_sid,
        ),
        (
            "sid constructor",
            "EIO=4&transport=websocket&sid=constructor".to_owned(),
            unknown_sid,
        ),
        (
            "empty sid",
            "EIO=4&transport=websocket&sid=".to_owned(),
            unknown_sid,
        ),
        (
            "very long sid",
            format!("EIO=4&transport=websocket&sid={long}"),
            unknown_sid,
        ),
        (
            "transport __proto__",
            "EIO=4&transport=__proto__".to_owned(),
            unknown_transport,
        ),
        (
            "transport constructor",
            "EIO=4&transport=constructor".to_owned(),
            unknown_transport,
        ),
        ("EIO missing", "transport=websocket".to_owned(), version),
        ("EIO=3", "EIO=3&transport=websocket".to_owned(), version),
        ("EIO=abc", "EIO=abc&transport=websocket".to_owned(), version),
        (
            "EIO __proto__",
            "EIO=__proto__&transport=websocket".to_owned(),
            version,
        ),
        (
            "EIO=3 on an EIO=4 session",
            format!("EIO=3&transport=websocket&sid={sid}"),
            version,
        ),
    ];
    for (what, query, message) in cases {
        let r = response(
            &server,
            exchange(&server, &ws_request(&query)),
            &format!("upgrade with {what}"),
        );
        assert_eq!(
            (r.status, r.text().as_str()),
            (400, message),
            "our server on {runtime}: upgrade with {what}"
        );
        assert_eq!(
            r.header("content-type"),
            Some("text/html"),
            "our server on {runtime}: upgrade with {what}"
        );
        assert_eq!(
            r.header("connection")
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some("close"),
            "our server on {runtime}: upgrade with {what}"
        );
    }
    // The session whose sid was borrowed above is untouched.
    let r = response(
        &server,
        exchange(
            &server,
            &post_request(
                &format!("EIO=4&transport=polling&sid={sid}"),
                "text/plain;charset=UTF-8",
                b"4after",
            ),
        ),
        "POST after the refused upgrades",
    );
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "ok"),
        "our server on {runtime}: the session after refused upgrades"
    );
    // `transport=websocket` without the upgrade headers is a plain request: JSON, code 3.
    assert_error(
        &server,
        exchange(&server, &get_request("EIO=4&transport=websocket")),
        400,
        3,
        "transport=websocket without an upgrade",
    );
    assert_serves(&server);
}
