//! Bad input at the HTTP and WebSocket level, against our server on every runtime: the
//! inputs behind the known advisories of Engine.IO servers and their WebSocket libraries
//! (`shared/reference/user-voice.md`, "Known security advisories"), sent as raw bytes over a
//! plain `TcpStream` (no HTTP client, so malformed bytes go out exactly as written).
//!
//! Every case asserts the exact answer (status, Engine.IO error code, close) and that the
//! server still serves a fresh handshake afterwards. Tests are named
//! `hostile::<runtime>::<case>`.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use engineio::core::TransportError;
use engineio::server::StaticFiles;
use engineio::DisconnectReason;
use engineio_tests::{EchoServer, Runtime, Tuning, PING_TIMEOUT};

/// The longest any single read or write of a test may block.
const IO_TIMEOUT: Duration = Duration::from_secs(4);
/// How long a session may take to end once it should.
const END_TIMEOUT: Duration = Duration::from_secs(5);
/// The server's default `maxPayload`.
const MAX_PAYLOAD: usize = 1_000_000;
const PATH: &str = "/engine.io/";

/// One test per runtime and case: `hostile::<runtime>::<case>`, each calling `fn <case>(runtime)`.
macro_rules! hostile_tests {
    ($($case:ident),+ $(,)?) => {
        mod hostile {
            hostile_tests!(@runtime tokio Tokio [$($case),+]);
            hostile_tests!(@runtime smol Smol [$($case),+]);
            hostile_tests!(@runtime async_std AsyncStd [$($case),+]);
            hostile_tests!(@runtime threads Threads [$($case),+]);

            /// Does not compile unless every runtime has its tests above.
            #[allow(dead_code)]
            fn every_runtime_has_tests(runtime: engineio_tests::Runtime) {
                use engineio_tests::Runtime::*;
                match runtime {
                    Tokio | Smol | AsyncStd | Threads => {}
                }
            }
        }
    };
    (@runtime $module:ident $variant:ident [$($case:ident),+]) => {
        mod $module {
            $(
                #[test]
                fn $case() {
                    super::super::$case(engineio_tests::Runtime::$variant);
                }
            )+
        }
    };
}

hostile_tests!(
    odd_transport,
    odd_eio,
    odd_sid,
    huge_content_length_unknown_sid,
    streamed_post_over_max_payload,
    octet_stream_post,
    empty_post,
    garbage_after_websocket_upgrade,
    websocket_invalid_utf8,
    websocket_reserved_bits,
    websocket_oversized_frame,
    header_flood_many,
    header_flood_large,
    slowloris,
    reset_after_upgrade_request,
    reset_during_probe,
    reset_after_probe,
    reset_after_upgrade,
    too_many_packets,
    content_length_over_max_payload,
    truncated_post_body,
    websocket_fragmented_oversized,
    websocket_upgrade_errors,
);

// ---------------------------------------------------------------------------------------------
// Raw HTTP

fn start(runtime: Runtime) -> EchoServer {
    EchoServer::start(runtime)
}

fn start_tuned(runtime: Runtime, tuning: Tuning) -> EchoServer {
    EchoServer::start_tuned(runtime, StaticFiles::new(), PING_TIMEOUT, tuning)
}

fn addr(server: &EchoServer) -> SocketAddr {
    server
        .url()
        .trim_start_matches("http://")
        .parse()
        .expect("server address")
}

fn connect(server: &EchoServer) -> TcpStream {
    let stream = TcpStream::connect(addr(server)).expect("connect to our server");
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// An HTTP response as read off the wire.
#[derive(Debug)]
struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// What became of a request: a response, or the connection ending without one.
#[derive(Debug)]
enum Outcome {
    Response(HttpResponse),
    /// EOF or reset before a full response head.
    Closed(String),
}

/// A response head: status, headers, and the bytes read past it.
type Head = (u16, Vec<(String, String)>, Vec<u8>);

/// Reads one response head off `stream` (bytes after the head stay in the returned buffer).
fn read_head(stream: &mut TcpStream) -> Result<Head, String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let rest = buf[end + 4..].to_vec();
            let mut lines = head.split("\r\n");
            let status_line = lines.next().unwrap_or_default();
            let status = status_line
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| format!("bad status line {status_line:?}"))?;
            let headers = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
                .collect();
            return Ok((status, headers, rest));
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Err(format!("EOF after {} bytes", buf.len())),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(format!("{:?} after {} bytes", e.kind(), buf.len())),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads one full response (Content-Length, chunked, or until EOF).
fn read_response(stream: &mut TcpStream) -> Outcome {
    let (status, headers, mut body) = match read_head(stream) {
        Ok(head) => head,
        Err(e) => return Outcome::Closed(e),
    };
    let mut response = HttpResponse {
        status,
        headers,
        body: Vec::new(),
    };
    let mut chunk = [0u8; 8192];
    if let Some(length) = response
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        while body.len() < length {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => body.extend_from_slice(&chunk[..n]),
            }
        }
        body.truncate(length);
    } else if response
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        let mut raw = body;
        let mut decoded = Vec::new();
        loop {
            if let Some(line_end) = find(&raw, b"\r\n") {
                let size_text = String::from_utf8_lossy(&raw[..line_end]).into_owned();
                let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
                    .unwrap_or(0);
                if size == 0 {
                    break;
                }
                if raw.len() >= line_end + 2 + size + 2 {
                    decoded.extend_from_slice(&raw[line_end + 2..line_end + 2 + size]);
                    raw.drain(..line_end + 2 + size + 2);
                    continue;
                }
            }
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&chunk[..n]),
            }
        }
        body = decoded;
    } else if status != 101 && status != 204 && status != 304 {
        loop {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => body.extend_from_slice(&chunk[..n]),
            }
        }
    }
    response.body = body;
    Outcome::Response(response)
}

/// Sends `raw` on a fresh connection (a failed write is not fatal: the server may have cut
/// the request short) and reads what comes back.
fn exchange(server: &EchoServer, raw: &[u8]) -> Outcome {
    let mut stream = connect(server);
    let _ = stream.write_all(raw);
    read_response(&mut stream)
}

fn get_request(query: &str) -> Vec<u8> {
    format!("GET {PATH}?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .into_bytes()
}

fn post_request(query: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut raw = format!(
        "POST {PATH}?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    raw
}

fn response(server: &EchoServer, outcome: Outcome, what: &str) -> HttpResponse {
    match outcome {
        Outcome::Response(r) => r,
        Outcome::Closed(e) => panic!(
            "our server on {}: {what}: no response, the connection ended ({e})",
            server.runtime()
        ),
    }
}

/// Asserts a 400 (or other `status`) whose JSON body is `{"code":<code>,"message":…}`.
fn assert_error(server: &EchoServer, outcome: Outcome, status: u16, code: u64, what: &str) {
    let r = response(server, outcome, what);
    assert_eq!(
        r.status,
        status,
        "our server on {}: {what}: status (body {:?})",
        server.runtime(),
        r.text()
    );
    let json: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_else(|e| {
        panic!(
            "our server on {}: {what}: body {:?} is not JSON: {e}",
            server.runtime(),
            r.text()
        )
    });
    assert_eq!(
        json["code"].as_u64(),
        Some(code),
        "our server on {}: {what}: error code in {json}",
        server.runtime()
    );
    assert!(
        json["message"].is_string(),
        "our server on {}: {what}: message in {json}",
        server.runtime()
    );
}

/// A polling handshake: asserts 200 `0{…}` and returns the sid.
fn handshake(server: &EchoServer) -> String {
    let r = response(
        server,
        exchange(server, &get_request("EIO=4&transport=polling")),
        "fresh polling handshake",
    );
    assert_eq!(
        r.status,
        200,
        "our server on {}: fresh handshake: {:?}",
        server.runtime(),
        r.text()
    );
    let text = r.text();
    let json: serde_json::Value =
        serde_json::from_str(text.strip_prefix('0').unwrap_or_else(|| {
            panic!(
                "our server on {}: handshake body {text:?}",
                server.runtime()
            )
        }))
        .expect("open packet JSON");
    json["sid"].as_str().expect("sid").to_owned()
}

/// The server still serves: a fresh handshake works, and so does its first poll.
fn assert_serves(server: &EchoServer) {
    let sid = handshake(server);
    let r = response(
        server,
        exchange(
            server,
            &post_request(
                &format!("EIO=4&transport=polling&sid={sid}"),
                "text/plain;charset=UTF-8",
                b"4still here",
            ),
        ),
        "POST on a fresh session",
    );
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "ok"),
        "our server on {}: POST on a fresh session",
        server.runtime()
    );
}

/// The session `sid` is gone: a GET on it gets 400 code 1.
fn assert_sid_gone(server: &EchoServer, sid: &str, what: &str) {
    assert_error(
        server,
        exchange(
            server,
            &get_request(&format!("EIO=4&transport=polling&sid={sid}")),
        ),
        400,
        1,
        &format!("{what}: GET on the closed session"),
    );
}

// ---------------------------------------------------------------------------------------------
// 1. transport / EIO / sid oddities → 400 with code 0 / 5 / 1

fn odd_transport(runtime: Runtime) {
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

fn odd_eio(runtime: Runtime) {
    let server = start(runtime);
    for (what, query) in [
        ("missing", "transport=polling"),
        ("0", "EIO=0&transport=polling"),
        ("3", "EIO=3&transport=polling"),
        ("5", "EIO=5&transport=polling"),
        ("abc", "EIO=abc&transport=polling"),
        ("empty", "EIO=&transport=polling"),
        ("04", "EIO=04&transport=polling"),
        ("repeated", "EIO=4&EIO=4&transport=polling"),
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

fn odd_sid(runtime: Runtime) {
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

fn huge_content_length_unknown_sid(runtime: Runtime) {
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

fn streamed_post_over_max_payload(runtime: Runtime) {
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

fn octet_stream_post(runtime: Runtime) {
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

fn empty_post(runtime: Runtime) {
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
// WebSocket

fn ws_request(query: &str) -> Vec<u8> {
    format!(
        "GET {PATH}?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes()
}

/// A masked client frame; `first` is the first byte (FIN, RSV bits, opcode).
fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x37u8, 0xfa, 0x21, 0x3d];
    let mut out = vec![first];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

fn text_frame(text: &str) -> Vec<u8> {
    frame(0x81, text.as_bytes())
}

/// A server frame: opcode and payload.
#[derive(Debug)]
struct Frame {
    opcode: u8,
    payload: Vec<u8>,
}

/// Reads one server frame, with any bytes already read in `pending`.
fn read_frame(stream: &mut TcpStream, pending: &mut Vec<u8>) -> Result<Frame, String> {
    let mut chunk = [0u8; 8192];
    loop {
        if pending.len() >= 2 {
            let opcode = pending[0] & 0x0f;
            let len7 = (pending[1] & 0x7f) as usize;
            let (len, header) = match len7 {
                126 if pending.len() >= 4 => {
                    (u16::from_be_bytes([pending[2], pending[3]]) as usize, 4)
                }
                127 if pending.len() >= 10 => (
                    u64::from_be_bytes(pending[2..10].try_into().unwrap()) as usize,
                    10,
                ),
                126 | 127 => (usize::MAX, 0),
                n => (n, 2),
            };
            if len != usize::MAX && pending.len() >= header + len {
                let payload = pending[header..header + len].to_vec();
                pending.drain(..header + len);
                return Ok(Frame { opcode, payload });
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Err("EOF".into()),
            Ok(n) => pending.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(format!("{:?}", e.kind())),
        }
    }
}

/// A WebSocket-only session: the 101, then the `0{…}` open frame. Returns the stream, the
/// sid and the bytes read past the open frame.
fn ws_session(server: &EchoServer) -> (TcpStream, String, Vec<u8>) {
    let runtime = server.runtime();
    let mut stream = connect(server);
    stream
        .write_all(&ws_request("EIO=4&transport=websocket"))
        .unwrap();
    let (status, _, mut pending) =
        read_head(&mut stream).unwrap_or_else(|e| panic!("our server on {runtime}: 101: {e}"));
    assert_eq!(status, 101, "our server on {runtime}: WebSocket handshake");
    let open = read_frame(&mut stream, &mut pending)
        .unwrap_or_else(|e| panic!("our server on {runtime}: open frame: {e}"));
    let text = String::from_utf8(open.payload).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(text.strip_prefix('0').expect("open packet")).unwrap();
    (stream, json["sid"].as_str().unwrap().to_owned(), pending)
}

/// Reads until the server closes the WebSocket: a close frame (returns its code) or EOF /
/// reset (`None`). Pings and other frames before it are skipped. Panics if neither comes.
fn await_ws_close(
    server: &EchoServer,
    stream: &mut TcpStream,
    pending: &mut Vec<u8>,
    what: &str,
) -> Option<u16> {
    let deadline = Instant::now() + IO_TIMEOUT;
    while Instant::now() < deadline {
        match read_frame(stream, pending) {
            Ok(Frame { opcode: 8, payload }) => {
                return (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]))
            }
            Ok(_) => continue,
            Err(e) if e == "WouldBlock" || e == "TimedOut" => break,
            Err(_) => return None,
        }
    }
    panic!(
        "our server on {}: {what}: the WebSocket was neither closed nor reset within {IO_TIMEOUT:?}",
        server.runtime()
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Garbage right after the upgrade request (CVE-2022-21676)

fn garbage_after_websocket_upgrade(runtime: Runtime) {
    let server = start(runtime);
    let mut stream = connect(&server);
    let mut raw = ws_request("EIO=4&transport=websocket");
    raw.extend_from_slice(b"test");
    stream.write_all(&raw).unwrap();
    // A 101 (and an open frame) may come first; then the socket must close.
    match read_head(&mut stream) {
        Ok((101, _, mut pending)) => {
            let mut sid = None;
            if let Ok(open) = read_frame(&mut stream, &mut pending) {
                if open.opcode == 1 && open.payload.first() == Some(&b'0') {
                    let json: serde_json::Value =
                        serde_json::from_slice(&open.payload[1..]).unwrap();
                    sid = json["sid"].as_str().map(str::to_owned);
                }
            }
            let code = await_ws_close(
                &server,
                &mut stream,
                &mut pending,
                "garbage after the upgrade",
            );
            eprintln!("our server on {runtime}: garbage after upgrade: 101, then close {code:?}");
            if let Some(sid) = sid {
                server.ended(&sid, END_TIMEOUT);
            }
        }
        Ok((status, _, _)) => panic!("our server on {runtime}: garbage after upgrade: {status}"),
        Err(closed) => {
            eprintln!(
                "our server on {runtime}: garbage after upgrade: closed before a 101 ({closed})"
            )
        }
    }
    assert_serves(&server);
}

// ---------------------------------------------------------------------------------------------
// 6. Bad frames: invalid UTF-8, reserved bits, over maxPayload

fn ws_bad_frame(
    runtime: Runtime,
    bad: Vec<u8>,
    what: &str,
    codes: &[u16],
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
    let code = await_ws_close(&server, &mut stream, &mut pending, what);
    eprintln!("our server on {runtime}: {what}: close code {code:?} (None: EOF or reset)");
    if let Some(code) = code {
        assert!(
            codes.contains(&code),
            "our server on {runtime}: {what}: close code {code}, expected one of {codes:?}"
        );
    }
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

fn websocket_invalid_utf8(runtime: Runtime) {
    ws_bad_frame(
        runtime,
        frame(0x81, b"4\xff\xfe\xc3"),
        "text frame with invalid UTF-8",
        &[1007, 1002],
        DisconnectReason::TransportError(TransportError::WebSocket),
    );
}

fn websocket_reserved_bits(runtime: Runtime) {
    // FIN + RSV1 + RSV2 + RSV3, text (no extension was negotiated).
    ws_bad_frame(
        runtime,
        frame(0xf1, b"4hello"),
        "frame with reserved bits",
        &[1002],
        DisconnectReason::TransportError(TransportError::WebSocket),
    );
}

fn websocket_oversized_frame(runtime: Runtime) {
    let mut payload = vec![b'a'; MAX_PAYLOAD + 10];
    payload[0] = b'4';
    ws_bad_frame(
        runtime,
        frame(0x81, &payload),
        "text frame over maxPayload",
        &[1009],
        DisconnectReason::PayloadTooLarge,
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Header floods and slowloris

/// Sends `raw` and expects 431 or 400, or the connection closed, within the timeout.
fn assert_refused_or_closed(server: &EchoServer, raw: &[u8], what: &str) {
    let started = Instant::now();
    let outcome = exchange(server, raw);
    let waited = started.elapsed();
    match &outcome {
        Outcome::Response(r) => eprintln!(
            "our server on {}: {what}: {} in {waited:?}",
            server.runtime(),
            r.status
        ),
        Outcome::Closed(e) => eprintln!(
            "our server on {}: {what}: closed ({e}) in {waited:?}",
            server.runtime()
        ),
    }
    assert!(
        waited < IO_TIMEOUT,
        "our server on {}: {what}: hung for {waited:?}",
        server.runtime()
    );
    match outcome {
        Outcome::Response(r) => assert!(
            r.status == 431 || r.status == 400,
            "our server on {}: {what}: status {} (expected 431, 400 or a close)",
            server.runtime(),
            r.status
        ),
        Outcome::Closed(e) => assert!(
            !e.starts_with("WouldBlock") && !e.starts_with("TimedOut"),
            "our server on {}: {what}: no answer and no close within {IO_TIMEOUT:?}",
            server.runtime()
        ),
    }
    assert_serves(server);
}

fn header_flood_many(runtime: Runtime) {
    let server = start(runtime);
    let mut raw = format!("GET {PATH}?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for i in 0..3000 {
        raw.push_str(&format!("X-Flood-{i}: v\r\n"));
    }
    raw.push_str("\r\n");
    assert_refused_or_closed(&server, raw.as_bytes(), "3000 request headers");
}

fn header_flood_large(runtime: Runtime) {
    let server = start(runtime);
    let raw = format!(
        "GET {PATH}?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\n\r\n",
        "b".repeat(100_000)
    );
    assert_refused_or_closed(&server, raw.as_bytes(), "100 KB of request headers");
}

fn slowloris(runtime: Runtime) {
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
// 8. TCP reset at each phase of an upgrade

/// Drops `stream` with unread bytes in its receive queue, which makes the kernel send a RST
/// instead of a FIN (no `SO_LINGER` needed). Waits (peeks) until bytes are there.
fn reset(server: &EchoServer, stream: TcpStream, what: &str) {
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

fn upgrade_stream(server: &EchoServer, sid: &str) -> TcpStream {
    let mut stream = connect(server);
    stream
        .write_all(&ws_request(&format!("EIO=4&transport=websocket&sid={sid}")))
        .unwrap();
    stream
}

fn upgrade_until_probe(server: &EchoServer, sid: &str) -> (TcpStream, Vec<u8>) {
    let runtime = server.runtime();
    let mut stream = upgrade_stream(server, sid);
    let (status, _, pending) =
        read_head(&mut stream).unwrap_or_else(|e| panic!("our server on {runtime}: 101: {e}"));
    assert_eq!(status, 101, "our server on {runtime}: upgrade");
    (stream, pending)
}

fn after_reset(server: &EchoServer, sid: &str) {
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

fn reset_after_upgrade_request(runtime: Runtime) {
    let server = start(runtime);
    let sid = handshake(&server);
    let stream = upgrade_stream(&server, &sid);
    reset(&server, stream, "reset with the 101 unread");
    after_reset(&server, &sid);
}

fn reset_during_probe(runtime: Runtime) {
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

fn reset_after_probe(runtime: Runtime) {
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

fn reset_after_upgrade(runtime: Runtime) {
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

// ---------------------------------------------------------------------------------------------
// More: packet-count cap, declared oversize, truncated body, fragments, upgrade errors

fn too_many_packets(runtime: Runtime) {
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

fn content_length_over_max_payload(runtime: Runtime) {
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

fn truncated_post_body(runtime: Runtime) {
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

fn websocket_fragmented_oversized(runtime: Runtime) {
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
    if let Some(code) = code {
        assert_eq!(
            code, 1009,
            "our server on {runtime}: fragments over maxPayload"
        );
    }
    let ended = server.ended(&sid, END_TIMEOUT);
    assert_eq!(
        ended.reason,
        Some(DisconnectReason::PayloadTooLarge),
        "our server on {runtime}: fragments over maxPayload"
    );
    assert_serves(&server);
}

/// WebSocket upgrade requests that must be refused: a 400 before any 101 (the reference
/// sends a raw `400 Bad Request` with the plain message), or the connection closed.
fn websocket_upgrade_errors(runtime: Runtime) {
    let server = start(runtime);
    let sid = handshake(&server);
    let long = "x".repeat(10_000);
    let cases = [
        (
            "unknown sid",
            "EIO=4&transport=websocket&sid=AAAAAAAAAAAAAAAAAAAA".to_owned(),
        ),
        (
            "sid __proto__",
            "EIO=4&transport=websocket&sid=__proto__".to_owned(),
        ),
        (
            "very long sid",
            format!("EIO=4&transport=websocket&sid={long}"),
        ),
        (
            "transport __proto__",
            "EIO=4&transport=__proto__".to_owned(),
        ),
        ("EIO missing", "transport=websocket".to_owned()),
        ("EIO=3", "EIO=3&transport=websocket".to_owned()),
        ("EIO=abc", "EIO=abc&transport=websocket".to_owned()),
        (
            "EIO=3 on an EIO=4 session",
            format!("EIO=3&transport=websocket&sid={sid}"),
        ),
    ];
    for (what, query) in cases {
        match exchange(&server, &ws_request(&query)) {
            Outcome::Response(r) => {
                eprintln!(
                    "our server on {runtime}: upgrade with {what}: {} {:?}",
                    r.status,
                    r.text()
                );
                assert_eq!(
                    r.status,
                    400,
                    "our server on {runtime}: upgrade with {what}: {:?}",
                    r.text()
                );
            }
            Outcome::Closed(e) => assert!(
                !e.starts_with("WouldBlock") && !e.starts_with("TimedOut"),
                "our server on {runtime}: upgrade with {what}: no answer ({e})"
            ),
        }
    }
    assert_serves(&server);
}
