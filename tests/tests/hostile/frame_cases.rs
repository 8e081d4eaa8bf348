//! The WebSocket frame cases of the advisory table beyond the basic bad frames: control and
//! binary frames where text is expected, every framing violation with its close code, heavily
//! fragmented and never-ending messages, a failure on an upgrade probe, and refused upgrades
//! whose client resets or half-closes.

use super::*;

/// Reads frames until a data or control frame other than the server's ping (`2`) arrives;
/// pings are answered with a pong so that the session lives on.
fn next_frame(server: &EchoServer, stream: &mut TcpStream, pending: &mut Vec<u8>) -> Frame {
    loop {
        let frame = read_frame(stream, pending)
            .unwrap_or_else(|e| panic!("our server on {}: frame: {e}", server.runtime()));
        if frame.opcode == 1 && frame.payload == b"2" {
            stream.write_all(&text_frame("3")).unwrap();
            continue;
        }
        return frame;
    }
}

// ---------------------------------------------------------------------------------------------
// socketioxide#320: ping, pong and binary frames where text is expected

pub(crate) fn websocket_control_frames(runtime: Runtime) {
    let server = start(runtime);
    let (mut stream, sid, mut pending) = ws_session(&server);
    // A ping is answered with a pong carrying its payload; a pong is ignored.
    stream.write_all(&frame(0x89, b"are you there")).unwrap();
    let pong = next_frame(&server, &mut stream, &mut pending);
    assert_eq!(
        (pong.opcode, pong.payload.as_slice()),
        (0xa, &b"are you there"[..]),
        "our server on {runtime}: the answer to a ping frame"
    );
    stream.write_all(&frame(0x8a, b"unsolicited")).unwrap();
    // A binary frame is a binary message: echoed as one.
    stream.write_all(&frame(0x82, &[0, 1, 2, 0xff])).unwrap();
    let binary = next_frame(&server, &mut stream, &mut pending);
    assert_eq!(
        (binary.opcode, binary.payload.as_slice()),
        (2, &[0u8, 1, 2, 0xff][..]),
        "our server on {runtime}: the echo of a binary frame"
    );
    // An empty binary frame too, and a text message after all of it.
    stream.write_all(&frame(0x82, b"")).unwrap();
    let empty = next_frame(&server, &mut stream, &mut pending);
    assert_eq!((empty.opcode, empty.payload.len()), (2, 0));
    stream.write_all(&text_frame("4still text")).unwrap();
    let text = next_frame(&server, &mut stream, &mut pending);
    assert_eq!(
        (text.opcode, text.payload.as_slice()),
        (1, &b"4still text"[..]),
        "our server on {runtime}: text after control frames"
    );
    assert_eq!(
        server.session_count(),
        1,
        "our server on {runtime}: the session lives on"
    );
    // A close frame is answered with one (RFC 6455 §5.5.1), echoing the code.
    stream
        .write_all(&frame(0x88, &1000u16.to_be_bytes()))
        .unwrap();
    let code = await_ws_close(&server, &mut stream, &mut pending, "the client's close");
    assert_eq!(
        code,
        Some(1000),
        "our server on {runtime}: the answer to a close"
    );
    let ended = server.ended(&sid, END_TIMEOUT);
    assert_eq!(ended.reason, Some(DisconnectReason::TransportClose));
    assert_serves(&server);
}

/// Every framing violation is answered with a close frame carrying its RFC 6455 code.
pub(crate) fn websocket_framing_violations(runtime: Runtime) {
    let error = DisconnectReason::TransportError(TransportError::WebSocket);
    let mut unmasked = vec![0x81, 3];
    unmasked.extend_from_slice(b"4hi");
    let mut interrupted = frame(0x01, b"4first half");
    interrupted.extend(frame(0x81, b"4a new message"));
    let cases: [(&str, Vec<u8>, u16); 8] = [
        (
            "a continuation with nothing to continue",
            frame(0x80, b"x"),
            1002,
        ),
        ("a ping of 126 bytes", frame(0x89, &[b'p'; 126]), 1002),
        ("a fragmented ping", frame(0x09, b"p"), 1002),
        ("reserved data opcode 3", frame(0x83, b"4x"), 1002),
        ("reserved control opcode 11", frame(0x8b, b""), 1002),
        ("an unmasked client frame", unmasked, 1002),
        ("a new message inside a fragmented one", interrupted, 1002),
        (
            "a close frame whose reason is not UTF-8",
            frame(0x88, &[0x03, 0xe8, 0xff, 0xfe]),
            1007,
        ),
    ];
    for (what, bad, code) in cases {
        ws_bad_frame(runtime, bad, what, code, error);
    }
}

// ---------------------------------------------------------------------------------------------
// ws GHSA-96hv-2xvq-fx4p (fragment exhaustion): very many small fragments

pub(crate) fn websocket_heavily_fragmented(runtime: Runtime) {
    let server = start(runtime);
    let (mut stream, sid, mut pending) = ws_session(&server);
    // `4` then 20 000 one-byte fragments and 1 000 empty ones, pings in between: one message.
    const PIECES: usize = 20_000;
    let mut raw = frame(0x01, b"4");
    for i in 0..PIECES {
        raw.extend(frame(0x00, b"a"));
        if i % 20 == 0 {
            raw.extend(frame(0x00, b""));
        }
        if i % 1000 == 0 {
            raw.extend(frame(0x89, b"mid-message ping"));
        }
    }
    raw.extend(frame(0x80, b""));
    stream.write_all(&raw).unwrap();
    let mut expected = b"4".to_vec();
    expected.extend(std::iter::repeat_n(b'a', PIECES));
    loop {
        let next = next_frame(&server, &mut stream, &mut pending);
        if next.opcode == 0xa {
            continue; // the pongs of the mid-message pings
        }
        assert_eq!(
            next.opcode, 1,
            "our server on {runtime}: the reassembled echo"
        );
        assert!(
            next.payload == expected,
            "our server on {runtime}: echoed {} bytes, expected {}",
            next.payload.len(),
            expected.len()
        );
        break;
    }
    // A message that never ends blocks the pongs behind it (they are data frames): the
    // heartbeat ends the session, and the socket is closed.
    let mut unfinished = frame(0x01, b"4");
    for _ in 0..1000 {
        unfinished.extend(frame(0x00, b""));
    }
    stream.write_all(&unfinished).unwrap();
    let started = Instant::now();
    let code = await_ws_close(&server, &mut stream, &mut pending, "an unfinished message");
    assert_eq!(
        code,
        Some(1000),
        "our server on {runtime}: close after an unfinished message"
    );
    let ended = server.ended(&sid, END_TIMEOUT);
    assert_eq!(
        ended.reason,
        Some(DisconnectReason::PingTimeout),
        "our server on {runtime}: an unfinished message, after {:?}",
        started.elapsed()
    );
    assert_eq!(
        ended.received.len(),
        1,
        "our server on {runtime}: only the finished message is delivered"
    );
    assert_serves(&server);
}

// ---------------------------------------------------------------------------------------------
// CVE-2022-21676 on the upgrade path: a bad frame on the probe drops the probe, not the session

pub(crate) fn websocket_failure_on_probe(runtime: Runtime) {
    let server = start(runtime);
    let sid = handshake(&server);
    let (mut stream, mut pending) = upgrade_until_probe(&server, &sid);
    stream.write_all(&frame(0xf1, b"2probe")).unwrap();
    let code = await_ws_close(
        &server,
        &mut stream,
        &mut pending,
        "reserved bits on the probe",
    );
    assert_eq!(
        code,
        Some(1002),
        "our server on {runtime}: reserved bits on the probe"
    );
    // The session carries on over polling.
    let query = format!("EIO=4&transport=polling&sid={sid}");
    let r = response(
        &server,
        exchange(
            &server,
            &post_request(&query, "text/plain;charset=UTF-8", b"4polling still"),
        ),
        "POST after the failed probe",
    );
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "ok"),
        "our server on {runtime}: POST after the failed probe"
    );
    let r = response(&server, exchange(&server, &get_request(&query)), "GET");
    assert_eq!(
        r.status, 200,
        "our server on {runtime}: GET after the probe"
    );
    assert!(
        r.text().split('\u{1e}').any(|p| p == "4polling still"),
        "our server on {runtime}: echo after the failed probe: {:?}",
        r.text()
    );
    assert_serves(&server);
}

// ---------------------------------------------------------------------------------------------
// CVE-2022-41940: an invalid upgrade, then a reset or a half-close

/// Waits until the answer arrives (or the server has closed), then drops the connection with
/// the answer unread, which makes the kernel send a reset.
fn reset_when_answered(stream: TcpStream) {
    let mut buf = [0u8; 1];
    let _ = stream.peek(&mut buf);
    drop(stream);
}

pub(crate) fn invalid_upgrade_then_reset(runtime: Runtime) {
    let server = start(runtime);
    let sid = handshake(&server);
    let invalid = [
        ws_request("EIO=4&transport=websocket&sid=AAAAAAAAAAAAAAAAAAAA"),
        ws_request(&format!("EIO=3&transport=websocket&sid={sid}")),
        ws_request("EIO=4&transport=__proto__"),
    ];
    for request in &invalid {
        // Reset with the answer unread.
        let mut stream = connect(&server);
        stream.write_all(request).unwrap();
        reset_when_answered(stream);
        // Reset with garbage after the request and the answer unread.
        let mut stream = connect(&server);
        let mut raw = request.clone();
        raw.extend_from_slice(b"\x88\x80garbage");
        stream.write_all(&raw).unwrap();
        reset_when_answered(stream);
        // Half-close: the answer comes, or the connection is closed at once. hyper (the async
        // runtimes) takes a FIN under a pending request for a client that left, which is how
        // an abandoned long-poll is noticed, and then closes without answering; the blocking
        // server answers what it can answer at once. Either way nothing waits.
        let mut stream = connect(&server);
        stream.write_all(request).unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let started = Instant::now();
        match read_response(&mut stream) {
            Outcome::Response(r) => assert_eq!(
                r.status,
                400,
                "our server on {runtime}: invalid upgrade, half-closed: {:?}",
                r.text()
            ),
            Outcome::Closed(e) => assert!(
                !e.starts_with("WouldBlock") && !e.starts_with("TimedOut"),
                "our server on {runtime}: invalid upgrade, half-closed: no answer and no \
                 close after {:?} ({e})",
                started.elapsed()
            ),
        }
        // Half a request, then gone.
        let mut stream = connect(&server);
        stream.write_all(&request[..request.len() / 2]).unwrap();
        drop(stream);
    }
    // The session whose sid was used is untouched, and the server serves.
    let r = response(
        &server,
        exchange(
            &server,
            &post_request(
                &format!("EIO=4&transport=polling&sid={sid}"),
                "text/plain;charset=UTF-8",
                b"4intact",
            ),
        ),
        "POST after the resets",
    );
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "ok"),
        "our server on {runtime}: the session after the resets"
    );
    assert_serves(&server);
}
