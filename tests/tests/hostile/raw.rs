//! Raw HTTP/1.1 and WebSocket over a plain `TcpStream`: requests written byte for byte,
//! responses and frames read back with deadlines.

use super::*;

// ---------------------------------------------------------------------------------------------
// Raw HTTP

pub(crate) fn start(runtime: Runtime) -> EchoServer {
    EchoServer::start(runtime)
}

pub(crate) fn start_tuned(runtime: Runtime, tuning: Tuning) -> EchoServer {
    EchoServer::start_tuned(runtime, StaticFiles::new(), PING_TIMEOUT, tuning)
}

pub(crate) fn addr(server: &EchoServer) -> SocketAddr {
    server
        .url()
        .trim_start_matches("http://")
        .parse()
        .expect("server address")
}

pub(crate) fn connect(server: &EchoServer) -> TcpStream {
    let stream = TcpStream::connect(addr(server)).expect("connect to our server");
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// An HTTP response as read off the wire.
#[derive(Debug)]
pub(crate) struct HttpResponse {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl HttpResponse {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// What became of a request: a response, or the connection ending without one.
#[derive(Debug)]
pub(crate) enum Outcome {
    Response(HttpResponse),
    /// EOF or reset before a full response head.
    Closed(String),
}

/// A response head: status, headers, and the bytes read past it.
type Head = (u16, Vec<(String, String)>, Vec<u8>);

/// Reads one response head off `stream` (bytes after the head stay in the returned buffer).
pub(crate) fn read_head(stream: &mut TcpStream) -> Result<Head, String> {
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

pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads one full response (Content-Length, chunked, or until EOF).
pub(crate) fn read_response(stream: &mut TcpStream) -> Outcome {
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
pub(crate) fn exchange(server: &EchoServer, raw: &[u8]) -> Outcome {
    let mut stream = connect(server);
    let _ = stream.write_all(raw);
    read_response(&mut stream)
}

pub(crate) fn get_request(query: &str) -> Vec<u8> {
    format!("GET {PATH}?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .into_bytes()
}

pub(crate) fn post_request(query: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut raw = format!(
        "POST {PATH}?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    raw
}

pub(crate) fn response(server: &EchoServer, outcome: Outcome, what: &str) -> HttpResponse {
    match outcome {
        Outcome::Response(r) => r,
        Outcome::Closed(e) => panic!(
            "our server on {}: {what}: no response, the connection ended ({e})",
            server.runtime()
        ),
    }
}

/// Asserts a 400 (or other `status`) whose JSON body is `{"code":<code>,"message":…}`.
pub(crate) fn assert_error(
    server: &EchoServer,
    outcome: Outcome,
    status: u16,
    code: u64,
    what: &str,
) {
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
pub(crate) fn handshake(server: &EchoServer) -> String {
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
pub(crate) fn assert_serves(server: &EchoServer) {
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
pub(crate) fn assert_sid_gone(server: &EchoServer, sid: &str, what: &str) {
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
// WebSocket

pub(crate) fn ws_request(query: &str) -> Vec<u8> {
    format!(
        "GET {PATH}?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes()
}

/// A masked client frame; `first` is the first byte (FIN, RSV bits, opcode).
pub(crate) fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
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

pub(crate) fn text_frame(text: &str) -> Vec<u8> {
    frame(0x81, text.as_bytes())
}

/// A server frame: opcode and payload.
#[derive(Debug)]
pub(crate) struct Frame {
    pub(crate) opcode: u8,
    pub(crate) payload: Vec<u8>,
}

/// Reads one server frame, with any bytes already read in `pending`.
pub(crate) fn read_frame(stream: &mut TcpStream, pending: &mut Vec<u8>) -> Result<Frame, String> {
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
pub(crate) fn ws_session(server: &EchoServer) -> (TcpStream, String, Vec<u8>) {
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
pub(crate) fn await_ws_close(
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
