//! The HTTP cases: odd query values, bodies over the limits, wrong content types, header
//! floods and slow clients.

use super::*;

// ---------------------------------------------------------------------------------------------
// 1. transport / EIO / sid oddities → 400 with code 0 / 5 / 1

pub(crate) fn odd_transport(runtime: Runtime) {
    let server = start(runtime);
    let long = "a".repeat(10_000);
    let cases: Vec<(&str, String)> = vec![
        ("__proto__", "EIO=4&transport=__proto__".into()),
        ("constructor", "EIO=4&transport=constructor".into()),
        ("toString", "EIO=4&transport=toString".into()),
        ("empty", "EIO=4&transport=".into()),
        ("missing", "EIO=4".into()),
        (
            "repeated",
            "EIO=4&transport=polling&transport=websocket".into(),
        ),
        (
            "repeated, same value",
            "EIO=4&transport=polling&transport=polling".into(),
        ),
        ("10 kB long", format!("EIO=4&transport={long}")),
        ("non-ASCII", "EIO=4&transport=p%C3%B6lling%E2%82%AC".into()),
        ("invalid UTF-8", "EIO=4&transport=polling%FF".into()),
        (
            "webtransport over HTTP",
            "EIO=4&transport=webtransport".into(),
        ),
    ];
    for (what, query) in cases {
        assert_error(
            &server,
            exchange(&server, &get_request(&query)),
            400,
            0,
            &format!("transport {what}"),
        );
    }
    assert_serves(&server);
}

pub(crate) fn odd_eio(runtime: Runtime) {
    let server = start(runtime);
    let long = format!("EIO={}&transport=polling", "4".repeat(10_000));
    for (what, query) in [
        ("missing", "transport=polling"),
        ("0", "EIO=0&transport=polling"),
        ("3", "EIO=3&transport=polling"),
        ("5", "EIO=5&transport=polling"),
        ("abc", "EIO=abc&transport=polling"),
        ("empty", "EIO=&transport=polling"),
        ("04", "EIO=04&transport=polling"),
        ("repeated", "EIO=4&EIO=4&transport=polling"),
        ("__proto__", "EIO=__proto__&transport=polling"),
        ("constructor", "EIO=constructor&transport=polling"),
        ("very long", long.as_str()),
    ] {
        assert_error(
            &server,
            exchange(&server, &get_request(query)),
            400,
            5,
            &format!("EIO {what}"),
        );
    }
    assert_serves(&server);
}

pub(crate) fn odd_sid(runtime: Runtime) {
    let server = start(runtime);
    let long = "x".repeat(10_000);
    for (what, sid) in [
        ("unknown", "AAAAAAAAAAAAAAAAAAAA"),
        ("__proto__", "__proto__"),
        ("constructor", "constructor"),
        ("empty", ""),
        ("very long", long.as_str()),
        ("non-ASCII", "%C3%A9%E2%82%AC"),
    ] {
        let query = format!("EIO=4&transport=polling&sid={sid}");
        assert_error(
            &server,
            exchange(&server, &get_request(&query)),
            400,
            1,
            &format!("GET with sid {what}"),
        );
        assert_error(
            &server,
            exchange(&server, &post_request(&query, "text/plain", b"4x")),
            400,
            1,
            &format!("POST with sid {what}"),
        );
    }
    assert_serves(&server);
}

// ---------------------------------------------------------------------------------------------
// 2. A huge Content-Length on an unknown sid, no body: answered without waiting for the body

pub(crate) fn huge_content_length_unknown_sid(runtime: Runtime) {
    let server = start(runtime);
    let mut stream = connect(&server);
    stream
        .write_all(
            format!(
                "POST {PATH}?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA HTTP/1.1\r\n\
                 Host: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 100000000\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
    let sent = Instant::now();
    let outcome = read_response(&mut stream);
    let waited = sent.elapsed();
    assert_error(
        &server,
        outcome,
        400,
        1,
        "POST with Content-Length 1e8 to an unknown sid, no body",
    );
    assert!(
        waited < Duration::from_secs(2),
        "our server on {runtime}: answered the bodiless POST only after {waited:?}"
    );
    drop(stream);
    assert_serves(&server);
}

// ---------------------------------------------------------------------------------------------
// 3. A streamed POST over maxPayload: 413 as soon as the limit is crossed, session gone

pub(crate) fn streamed_post_over_max_payload(runtime: Runtime) {
    let server = start(runtime);
    let sid = handshake(&server);
    let mut stream = connect(&server);
    stream
        .write_all(
            format!(
                "POST {PATH}?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                 Content-Type: text/plain;charset=UTF-8\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
    // A writer streams 64 KiB chunks, up to 100 MB, while this thread waits for the answer.
    const TOTAL: usize = 100_000_000;
    const CHUNK: usize = 64 * 1024;
    let sent = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let mut stream = stream.try_clone().unwrap();
        let (sent, stop) = (Arc::clone(&sent), Arc::clone(&stop));
        thread::spawn(move || {
            let mut chunk = format!("{CHUNK:x}\r\n4").into_bytes();
            chunk.extend(std::iter::repeat_n(b'a', CHUNK - 1));
            chunk.extend_from_slice(b"\r\n");
            while sent.load(Ordering::SeqCst) < TOTAL && !stop.load(Ordering::SeqCst) {
                if stream.write_all(&chunk).is_err() {
                    break;
                }
                sent.fetch_add(CHUNK, Ordering::SeqCst);
            }
        })
    };
    let started = Instant::now();
    let outcome = read_head(&mut stream);
    let at_answer = sent.load(Ordering::SeqCst);
    let waited = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let _ = stream.shutdown(std::net::Shutdown::Both);
    writer.join().unwrap();
    let (status, _, _) = outcome.unwrap_or_else(|e| {
        panic!(
            "our server on {runtime}: streamed POST over maxPayload: no response after \
             {at_answer} body bytes in {waited:?} ({e})"
        )
    });
    eprintln!(
        "our server on {runtime}: streamed POST: {status} after {at_answer} body bytes, {waited:?}"
    );
    assert_eq!(
        status, 413,
        "our server on {runtime}: streamed POST over maxPayload"
    );
    assert!(
        at_answer < TOTAL,
        "our server on {runtime}: the 413 came only after the whole {TOTAL}-byte body"
    );
    assert!(
        at_answer < 20 * MAX_PAYLOAD,
        "our server on {runtime}: the 413 came after {at_answer} bytes, far past the \
         {MAX_PAYLOAD}-byte limit"
    );
    let ended = server.ended(&sid, END_TIMEOUT);
    assert_eq!(ended.reason, Some(DisconnectReason::PayloadTooLarge));
    assert_sid_gone(&server, &sid, "after the oversized POST");
    assert_serves(&server);
}

// ---------------------------------------------------------------------------------------------
// 4. POST with application/octet-stream, or with an empty body: 400, session closed

pub(crate) fn octet_stream_post(runtime: Runtime) {
    let server = start(runtime);
    let sid = handshake(&server);
    let query = format!("EIO=4&transport=polling&sid={sid}");
    assert_error(
        &server,
        exchange(
            &server,
            &post_request(&query, "application/octet-stream", b"4hello"),
        ),
        400,
        3,
        "POST with Content-Type application/octet-stream",
    );
    server.ended(&sid, END_TIMEOUT);
    assert_sid_gone(&server, &sid, "after the octet-stream POST");
    assert_serves(&server);
}

pub(crate) fn empty_post(runtime: Runtime) {
    let server = start(runtime);
    let sid = handshake(&server);
    let query = format!("EIO=4&transport=polling&sid={sid}");
    assert_error(
        &server,
        exchange(
            &server,
            &post_request(&query, "text/plain;charset=UTF-8", b""),
        ),
        400,
        3,
        "POST with an empty body",
    );
    server.ended(&sid, END_TIMEOUT);
    assert_sid_gone(&server, &sid, "after the empty POST");
    assert_serves(&server);
}

// ---------------------------------------------------------------------------------------------
// 7. Header floods and slowloris

/// Sends `raw` and expects 431 (Request Header Fields Too Large) within the timeout.
pub(crate) fn assert_headers_refused(server: &EchoServer, raw: &[u8], what: &str) {
    let started = Instant::now();
    let outcome = exchange(server, raw);
    let waited = started.elapsed();
    assert!(
        waited < IO_TIMEOUT,
        "our server on {}: {what}: hung for {waited:?}",
        server.runtime()
    );
    let r = response(server, outcome, what);
    assert_eq!(
        r.status,
        431,
        "our server on {}: {what}: {:?}",
        server.runtime(),
        r.text()
    );
    assert_serves(server);
}

pub(crate) fn header_flood_many(runtime: Runtime) {
    let server = start(runtime);
    let mut raw = format!("GET {PATH}?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for i in 0..3000 {
        raw.push_str(&format!("X-Flood-{i}: v\r\n"));
    }
    raw.push_str("\r\n");
    assert_headers_refused(&server, raw.as_bytes(), "3000 request headers");
}

pub(crate) fn header_flood_large(runtime: Runtime) {
    let server = start(runtime);
    let raw = format!(
        "GET {PATH}?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\n\r\n",
        "b".repeat(100_000)
    );
    assert_headers_refused(&server, raw.as_bytes(), "100 KB of request headers");
}

pub(crate) fn slowloris(runtime: Runtime) {
    let server = start_tuned(
        runtime,
        Tuning {
            header_read_timeout: Some(Duration::from_millis(1000)),
            ..Tuning::default()
        },
    );
    let mut stream = connect(&server);
    stream.write_all(b"GET /engine.io/?EIO=4&tra").unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    let result = loop {
        match stream.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(_) => continue, // a 408 before the close is fine
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break Err(e)
            }
            Err(_) => break Ok(()), // reset
        }
    };
    let waited = started.elapsed();
    eprintln!("our server on {runtime}: slowloris: closed after {waited:?}");
    assert!(
        result.is_ok(),
        "our server on {runtime}: a half request line was still open after {waited:?} \
         (header timeout 1 s)"
    );
    assert!(
        waited >= Duration::from_millis(500),
        "our server on {runtime}: closed after only {waited:?}"
    );
    assert_serves(&server);
}

// ---------------------------------------------------------------------------------------------
// More: packet-count cap, declared oversize, truncated body, fragments, upgrade errors

pub(crate) fn too_many_packets(runtime: Runtime) {
    let server = start(runtime);
    let sid = handshake(&server);
    // 20 000 one-byte packets (40 kB, well under maxPayload); the cap is 10 000.
    let body = vec!["4"; 20_000].join("\u{1e}");
    let r = response(
        &server,
        exchange(
            &server,
            &post_request(
                &format!("EIO=4&transport=polling&sid={sid}"),
                "text/plain;charset=UTF-8",
                body.as_bytes(),
            ),
        ),
        "POST of 20 000 packets",
    );
    assert_eq!(
        r.status, 413,
        "our server on {runtime}: POST of 20 000 packets"
    );
    let ended = server.ended(&sid, END_TIMEOUT);
    assert_eq!(ended.reason, Some(DisconnectReason::PayloadTooLarge));
    assert!(
        ended.received.is_empty(),
        "our server on {runtime}: delivered {} messages of a refused payload",
        ended.received.len()
    );
    assert_sid_gone(&server, &sid, "after the 20 000-packet POST");
    assert_serves(&server);
}

pub(crate) fn content_length_over_max_payload(runtime: Runtime) {
    let server = start(runtime);
    let sid = handshake(&server);
    let mut stream = connect(&server);
    stream
        .write_all(
            format!(
                "POST {PATH}?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                 Content-Type: text/plain\r\nContent-Length: 100000000\r\n\r\n4abc"
            )
            .as_bytes(),
        )
        .unwrap();
    let started = Instant::now();
    let outcome = read_head(&mut stream);
    let waited = started.elapsed();
    let (status, _, _) = outcome
        .unwrap_or_else(|e| panic!("our server on {runtime}: declared 1e8 body: no answer ({e})"));
    assert_eq!(status, 413, "our server on {runtime}: declared 1e8 body");
    assert!(waited < Duration::from_secs(2), "answered after {waited:?}");
    drop(stream);
    let ended = server.ended(&sid, END_TIMEOUT);
    assert_eq!(ended.reason, Some(DisconnectReason::PayloadTooLarge));
    assert_sid_gone(&server, &sid, "after the declared 1e8 body");
    assert_serves(&server);
}

// A client that sends its whole oversized body before it reads (curl, most HTTP libraries)
// must still get the 413. The server stops reading at the limit; closing then, with the rest
// of the body unread, would make the kernel answer with a reset that can overtake the 413.
// The server closes the lingering way (core `http::linger`): it reads and drops the rest.
pub(crate) fn oversized_body_sent_before_reading(runtime: Runtime) {
    let server = start(runtime);
    let sid = handshake(&server);
    // Over the limit 3.5 times, within what a lingering close reads and drops.
    const TOTAL: usize = 3 * MAX_PAYLOAD + MAX_PAYLOAD / 2;
    let mut request = format!(
        "POST {PATH}?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: text/plain\r\nContent-Length: {TOTAL}\r\n\r\n4"
    )
    .into_bytes();
    request.resize(request.len() + TOTAL - 1, b'a');
    let mut stream = connect(&server);
    if let Err(error) = stream.write_all(&request) {
        panic!("our server on {runtime}: the body was cut off by {error} instead of a 413");
    }
    let outcome = read_response(&mut stream);
    let response = response(&server, outcome, "a whole body over maxPayload");
    assert_eq!(
        response.status, 413,
        "our server on {runtime}: a whole body over maxPayload"
    );
    // Then the connection ends with the server's FIN, not with a reset: on a real network a
    // reset sent while the 413 is still in flight destroys it (on loopback the 413 has
    // already arrived, so the way the connection ends is what shows the difference).
    let mut rest = [0u8; 1024];
    match stream.read(&mut rest) {
        Ok(0) => {}
        Ok(n) => panic!("our server on {runtime}: {n} bytes after the 413"),
        Err(error) => panic!(
            "our server on {runtime}: after the 413 the connection ended with {error}, \
             not with a FIN"
        ),
    }
    drop(stream);
    let ended = server.ended(&sid, END_TIMEOUT);
    assert_eq!(ended.reason, Some(DisconnectReason::PayloadTooLarge));
    assert_serves(&server);
}

pub(crate) fn truncated_post_body(runtime: Runtime) {
    let server = start(runtime);
    let sid = handshake(&server);
    let mut stream = connect(&server);
    stream
        .write_all(
            format!(
                "POST {PATH}?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                 Content-Type: text/plain\r\nContent-Length: 100\r\n\r\n4hello"
            )
            .as_bytes(),
        )
        .unwrap();
    // Half-close: the body ends 94 bytes short.
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let outcome = read_response(&mut stream);
    if let Outcome::Response(r) = &outcome {
        assert!(
            r.status >= 400,
            "our server on {runtime}: truncated body answered {} {:?}",
            r.status,
            r.text()
        );
    }
    let ended = server.ended(&sid, END_TIMEOUT);
    eprintln!(
        "our server on {runtime}: truncated POST: {}; session ended: {:?}",
        match &outcome {
            Outcome::Response(r) => format!("{} {:?}", r.status, r.text()),
            Outcome::Closed(e) => format!("closed ({e})"),
        },
        ended.reason
    );
    assert!(
        !ended.received.iter().any(|m| m.as_text().is_some()),
        "our server on {runtime}: delivered {:?} from a truncated body",
        ended.received
    );
    assert_sid_gone(&server, &sid, "after the truncated POST");
    assert_serves(&server);
}
