//! The polling body cases of the advisory table: a million one-byte packets, content types,
//! a POST without a body, malformed and v3-style payloads, a flood of pongs, and a session
//! addressed with another protocol revision.

use super::*;

/// A POST on `sid` with `body`, on a fresh connection.
fn post(server: &EchoServer, sid: &str, body: &[u8]) -> Outcome {
    exchange(
        server,
        &post_request(
            &format!("EIO=4&transport=polling&sid={sid}"),
            "text/plain;charset=UTF-8",
            body,
        ),
    )
}

/// A GET on `sid`: its status and body.
fn poll(server: &EchoServer, sid: &str) -> (u16, String) {
    let r = response(
        server,
        exchange(
            server,
            &get_request(&format!("EIO=4&transport=polling&sid={sid}")),
        ),
        "GET",
    );
    (r.status, r.text())
}

/// A GET on `sid` that must succeed: its packets other than pings (a ping may be due).
fn poll_packets(server: &EchoServer, sid: &str) -> Vec<String> {
    let (status, body) = poll(server, sid);
    assert_eq!(
        status,
        200,
        "our server on {}: GET: {body:?}",
        server.runtime()
    );
    body.split('\u{1e}')
        .filter(|packet| *packet != "2")
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// CVE-2020-36048: a million one-byte packets in one payload

pub(crate) fn million_one_byte_packets(runtime: Runtime) {
    // maxPayload is raised to 4 MB so that the 2 MB body fits it: only the packet cap
    // (10 000) can refuse it.
    let server = start_tuned(
        runtime,
        Tuning {
            max_http_buffer_size: Some(4_000_000),
            ..Tuning::default()
        },
    );
    let sid = handshake(&server);
    const PACKETS: usize = 1_000_000;
    const TOTAL: usize = 2 * PACKETS - 1;
    // `4` `\x1e` `4` …: the whole body is declared, but only its first 40 kB (20 000 packets,
    // twice the cap) are sent before the answer is awaited. A server that buffered the body
    // before decoding it would wait for the rest, and this test would time out.
    let body: Vec<u8> = (0..TOTAL)
        .map(|i| if i % 2 == 0 { b'4' } else { 0x1e })
        .collect();
    let (first, rest) = body.split_at(40_000);
    let mut stream = connect(&server);
    let mut raw = format!(
        "POST {PATH}?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {TOTAL}\r\n\r\n"
    )
    .into_bytes();
    raw.extend_from_slice(first);
    stream.write_all(&raw).unwrap();
    let started = Instant::now();
    let outcome = read_head(&mut stream);
    let waited = started.elapsed();
    let (status, _, _) = outcome.unwrap_or_else(|e| {
        panic!(
            "our server on {runtime}: a million packets: no answer to the first 20 000 \
             packets within {waited:?} ({e})"
        )
    });
    assert_eq!(status, 413, "our server on {runtime}: a million packets");
    // The rest of the body may go nowhere: the server is done with this request.
    let _ = stream.write_all(rest);
    drop(stream);
    let ended = server.ended(&sid, END_TIMEOUT);
    assert_eq!(
        ended.reason,
        Some(DisconnectReason::PayloadTooLarge),
        "our server on {runtime}: a million packets"
    );
    assert!(
        ended.received.is_empty(),
        "our server on {runtime}: delivered {} messages of a refused payload",
        ended.received.len()
    );
    assert_sid_gone(&server, &sid, "after a million packets");
    assert_serves(&server);
}

// ---------------------------------------------------------------------------------------------
// CVE-2026-59725 (GHSA-r635-g3xr-vw7x): every content type and a missing body are answered

pub(crate) fn content_types(runtime: Runtime) {
    let server = start(runtime);
    // Only `application/octet-stream` is refused on v4 (the reference's 6.6.7 rule); any other
    // type, or none, is read as a text payload.
    for content_type in [
        Some("application/json"),
        Some("text/html"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some(""),
        Some("garbage/;;;"),
        None,
    ] {
        let sid = handshake(&server);
        let header = content_type.map_or(String::new(), |t| format!("Content-Type: {t}\r\n"));
        let raw = format!(
            "POST {PATH}?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
             Connection: close\r\n{header}Content-Length: 6\r\n\r\n4typed"
        );
        let r = response(
            &server,
            exchange(&server, raw.as_bytes()),
            &format!("POST with Content-Type {content_type:?}"),
        );
        assert_eq!(
            (r.status, r.text().as_str()),
            (200, "ok"),
            "our server on {runtime}: POST with Content-Type {content_type:?}"
        );
        assert_eq!(
            poll_packets(&server, &sid),
            ["4typed"],
            "our server on {runtime}: the echo of the POST with {content_type:?}"
        );
    }
    // With a parameter, octet-stream is still octet-stream.
    let sid = handshake(&server);
    assert_error(
        &server,
        exchange(
            &server,
            &post_request(
                &format!("EIO=4&transport=polling&sid={sid}"),
                "application/octet-stream; charset=binary",
                b"4x",
            ),
        ),
        400,
        3,
        "POST with application/octet-stream and a parameter",
    );
    let ended = server.ended(&sid, END_TIMEOUT);
    assert_eq!(
        ended.reason,
        Some(DisconnectReason::TransportError(
            TransportError::InvalidContentType
        )),
        "our server on {runtime}: octet-stream with a parameter"
    );
    assert_serves(&server);
}

pub(crate) fn post_without_body(runtime: Runtime) {
    let server = start(runtime);
    let sid = handshake(&server);
    // Neither Content-Length nor Transfer-Encoding: the body is empty, which is no payload.
    let raw = format!(
        "POST {PATH}?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Connection: close\r\nContent-Type: text/plain;charset=UTF-8\r\n\r\n"
    );
    assert_error(
        &server,
        exchange(&server, raw.as_bytes()),
        400,
        3,
        "POST without a body",
    );
    let ended = server.ended(&sid, END_TIMEOUT);
    assert_eq!(
        ended.reason,
        Some(DisconnectReason::ParseError),
        "our server on {runtime}: POST without a body"
    );
    assert_sid_gone(&server, &sid, "after the POST without a body");
    assert_serves(&server);
}

// ---------------------------------------------------------------------------------------------
// socketioxide PR#739/#741 (v3 length prefixes) and #357 (numeric prefixes without a
// terminator): malformed payloads get exactly one answer each

/// What is sent, the body, the status, how the session ends (`None`: it lives on), and the
/// messages delivered before the bad record.
type MalformedCase = (
    &'static str,
    &'static [u8],
    u16,
    Option<DisconnectReason>,
    &'static [&'static str],
);

pub(crate) fn malformed_payloads(runtime: Runtime) {
    let server = start(runtime);
    let parse_error = Some(DisconnectReason::ParseError);
    let cases: [MalformedCase; 12] = [
        ("garbage", b"abc", 400, parse_error, &[]),
        ("unknown type 7", b"7", 400, parse_error, &[]),
        ("bad base64", b"b!!!", 400, parse_error, &[]),
        ("invalid UTF-8", b"4\xff\xfe", 400, parse_error, &[]),
        ("an open packet", b"0{", 400, parse_error, &[]),
        (
            "a trailing separator",
            b"4ok\x1e",
            400,
            parse_error,
            &["ok"],
        ),
        ("only separators", b"\x1e\x1e", 400, parse_error, &[]),
        ("v3 length 0", b"0:", 400, parse_error, &[]),
        (
            "v3 overflowing length",
            b"99999999999999999999999:4x",
            400,
            parse_error,
            &[],
        ),
        (
            "v3 binary record",
            b"\x00\x04\xff\x34abc",
            400,
            parse_error,
            &[],
        ),
        // `5…` is a stray upgrade packet on polling, which is ignored; `1…` is a close.
        ("v3 record 5:4hello", b"5:4hello", 200, None, &[]),
        (
            "v3 record 12:4hello",
            b"12:4hello",
            200,
            Some(DisconnectReason::ClientDisconnect),
            &[],
        ),
    ];
    for (what, body, status, reason, delivered) in cases {
        let sid = handshake(&server);
        let r = response(&server, post(&server, &sid, body), what);
        assert_eq!(
            r.status,
            status,
            "our server on {runtime}: POST of {what}: {:?}",
            r.text()
        );
        if status == 400 {
            assert_error(&server, Outcome::Response(r), 400, 3, what);
        } else {
            assert_eq!(r.text(), "ok", "our server on {runtime}: POST of {what}");
        }
        match reason {
            Some(reason) => {
                let ended = server.ended(&sid, END_TIMEOUT);
                assert_eq!(
                    ended.reason,
                    Some(reason),
                    "our server on {runtime}: POST of {what}"
                );
                let texts: Vec<&str> = ended.received.iter().filter_map(|m| m.as_text()).collect();
                assert_eq!(
                    texts, delivered,
                    "our server on {runtime}: delivered from {what}"
                );
                assert_sid_gone(&server, &sid, &format!("after the POST of {what}"));
            }
            None => {
                let r = response(&server, post(&server, &sid, b"4alive"), what);
                assert_eq!(
                    (r.status, r.text().as_str()),
                    (200, "ok"),
                    "our server on {runtime}: the session after {what}"
                );
            }
        }
    }
    assert_serves(&server);
}

// ---------------------------------------------------------------------------------------------
// CVE-2026-48802 (GHSA-cgwc-pv48-fhj5): a flood of pongs starts nothing

pub(crate) fn pong_flood(runtime: Runtime) {
    let server = start(runtime);
    let sid = handshake(&server);
    // 5 000 unsolicited pongs in one payload (under the packet cap), then a few more POSTs.
    let flood = vec!["3"; 5_000].join("\u{1e}");
    for _ in 0..5 {
        let r = response(&server, post(&server, &sid, flood.as_bytes()), "pong flood");
        assert_eq!(
            (r.status, r.text().as_str()),
            (200, "ok"),
            "our server on {runtime}: a POST of 5 000 pongs"
        );
    }
    // The heartbeat is untouched: pings keep coming one interval apart, each answered once.
    let mut pinged_at = Vec::new();
    while pinged_at.len() < 3 {
        let (status, body) = poll(&server, &sid);
        assert_eq!(status, 200, "our server on {runtime}: poll after the flood");
        assert!(
            body.split('\u{1e}').all(|packet| packet == "2"),
            "our server on {runtime}: only pings are due, got {body:?}"
        );
        pinged_at.push(Instant::now());
        let r = response(&server, post(&server, &sid, b"3"), "pong");
        assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    }
    for pair in pinged_at.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= PING_INTERVAL / 2,
            "our server on {runtime}: pings {gap:?} apart (interval {PING_INTERVAL:?}): the \
             flood started extra heartbeats"
        );
    }
    // Without pongs the session times out once, as any other.
    let ended = server.ended(&sid, END_TIMEOUT);
    assert_eq!(
        ended.reason,
        Some(DisconnectReason::PingTimeout),
        "our server on {runtime}: the flooded session without pongs"
    );
    assert_serves(&server);
}

// ---------------------------------------------------------------------------------------------
// GHSA-2gc4-cqfq-p2gv: another protocol revision on an existing session

pub(crate) fn eio_mismatch(runtime: Runtime) {
    let server = start(runtime);
    let sid = handshake(&server);
    for eio in ["EIO=3&", "", "EIO=5&", "EIO=__proto__&", "EIO=4&EIO=3&"] {
        let query = format!("{eio}transport=polling&sid={sid}");
        assert_error(
            &server,
            exchange(&server, &get_request(&query)),
            400,
            5,
            &format!("GET with {eio:?} on an EIO=4 session"),
        );
        assert_error(
            &server,
            exchange(
                &server,
                &post_request(&query, "text/plain;charset=UTF-8", b"4x"),
            ),
            400,
            5,
            &format!("POST with {eio:?} on an EIO=4 session"),
        );
    }
    // Refused requests do not touch the session.
    let r = response(&server, post(&server, &sid, b"4same"), "POST with EIO=4");
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    assert_eq!(poll_packets(&server, &sid), ["4same"]);
    assert_serves(&server);
}
