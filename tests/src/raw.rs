//! [`RawConn`]: a bare HTTP/1.1 and WebSocket client over a plain `TcpStream`, for the tests
//! that must stop a peer at an exact point (half a request line, a held poll, a probe without
//! the upgrade packet, half a frame) and then vanish, with a FIN ([`RawConn::close`]) or a
//! reset ([`RawConn::reset`]).
//!
//! Nothing here panics: every step returns `Result<_, String>`, so that a pool of worker
//! threads can count failures and the test report them all (with the seed of its mix) at the
//! end. Requests ask for `Connection: close` unless said otherwise, and every read has a
//! deadline ([`RawConn::connect`]'s `io_timeout`): a server that neither answers nor closes
//! shows as a failure, never as a hang.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

use socket2::SockRef;

use crate::load::wait_until;
use crate::proc_stats::tcp_queues;

/// The Engine.IO path of the echo server.
pub const PATH: &str = "/engine.io/";

/// A raw connection to the server, and the bytes read past the last thing parsed.
#[derive(Debug)]
pub struct RawConn {
    stream: TcpStream,
    pending: Vec<u8>,
}

/// An HTTP response.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// The header lines, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A WebSocket frame from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsFrame {
    /// The opcode (1 text, 2 binary, 8 close, 9 ping).
    pub opcode: u8,
    /// The payload.
    pub payload: Vec<u8>,
}

/// How a connection ended when the server closed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// A WebSocket close frame, with its code if it had one.
    CloseFrame(Option<u16>),
    /// EOF or a reset, without a close frame.
    Closed,
}

impl RawConn {
    /// Connects to `addr`; every later read and write may block up to `io_timeout`.
    pub fn connect(addr: SocketAddr, io_timeout: Duration) -> Result<Self, String> {
        let stream =
            TcpStream::connect_timeout(&addr, io_timeout).map_err(|e| format!("connect: {e}"))?;
        stream.set_read_timeout(Some(io_timeout)).ok();
        stream.set_write_timeout(Some(io_timeout)).ok();
        stream.set_nodelay(true).ok();
        Ok(Self {
            stream,
            pending: Vec::new(),
        })
    }

    /// The underlying stream (for its addresses).
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Waits up to `timeout` until the server has read every byte written so far: the
    /// client's send queue is acknowledged and the server's receive queue is empty
    /// ([`tcp_queues`]). A test cuts a connection at an exact point of the server's
    /// reading this way, without sleeping. `false` if it has not.
    pub fn await_server_read(&self, timeout: Duration) -> bool {
        let (Ok(local), Ok(peer)) = (self.stream.local_addr(), self.stream.peer_addr()) else {
            return false;
        };
        wait_until(timeout, || {
            tcp_queues(local, peer).is_some_and(|(tx, _)| tx == 0)
                && tcp_queues(peer, local).is_some_and(|(_, rx)| rx == 0)
        })
    }

    /// Whether the server has sent something not read yet (without waiting).
    pub fn has_data(&mut self) -> bool {
        if !self.pending.is_empty() {
            return true;
        }
        let mut byte = [0u8; 1];
        let _ = self.stream.set_nonblocking(true);
        let peeked = self.stream.peek(&mut byte);
        let _ = self.stream.set_nonblocking(false);
        matches!(peeked, Ok(n) if n > 0)
    }

    /// Writes all of `bytes`.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.stream
            .write_all(bytes)
            .map_err(|e| format!("write: {:?}", e.kind()))
    }

    /// Closes with a FIN (both directions), as a peer whose process exits cleanly.
    pub fn close(self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Closes with a TCP reset (`SO_LINGER` 0), as a peer that crashed or lost its route.
    pub fn reset(self) {
        let _ = SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
        drop(self.stream);
    }

    fn fill(&mut self) -> Result<(), String> {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err("EOF".to_owned()),
            Ok(n) => {
                self.pending.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e) => Err(format!("{:?}", e.kind())),
        }
    }

    /// Reads a response head: status and headers (the body stays pending).
    pub fn read_head(&mut self) -> Result<(u16, Vec<(String, String)>), String> {
        loop {
            if let Some(end) = find(&self.pending, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.pending[..end]).into_owned();
                self.pending.drain(..end + 4);
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
                return Ok((status, headers));
            }
            self.fill()
                .map_err(|e| format!("response head: {e} after {} bytes", self.pending.len()))?;
        }
    }

    /// Reads a full response: Content-Length, chunked, or until EOF.
    pub fn read_response(&mut self) -> Result<RawResponse, String> {
        let (status, headers) = self.read_head()?;
        let mut response = RawResponse {
            status,
            headers,
            body: Vec::new(),
        };
        if let Some(length) = response
            .header("content-length")
            .and_then(|v| v.parse::<usize>().ok())
        {
            while self.pending.len() < length {
                self.fill().map_err(|e| format!("{status} body: {e}"))?;
            }
            response.body = self.pending.drain(..length).collect();
        } else if response
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            loop {
                let Some(line_end) = find(&self.pending, b"\r\n") else {
                    self.fill().map_err(|e| format!("{status} chunk: {e}"))?;
                    continue;
                };
                let size_text = String::from_utf8_lossy(&self.pending[..line_end]).into_owned();
                let size =
                    usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                        .map_err(|_| format!("{status}: bad chunk size {size_text:?}"))?;
                while self.pending.len() < line_end + 2 + size + 2 {
                    self.fill().map_err(|e| format!("{status} chunk: {e}"))?;
                }
                response
                    .body
                    .extend_from_slice(&self.pending[line_end + 2..line_end + 2 + size]);
                self.pending.drain(..line_end + 2 + size + 2);
                if size == 0 {
                    break;
                }
            }
        } else if ![101, 204, 304].contains(&status) {
            while self.fill().is_ok() {}
            response.body = std::mem::take(&mut self.pending);
        }
        Ok(response)
    }

    /// Reads one server frame.
    pub fn read_frame(&mut self) -> Result<WsFrame, String> {
        loop {
            let p = &self.pending;
            if p.len() >= 2 {
                let (len, header) = match p[1] & 0x7f {
                    126 if p.len() >= 4 => (u16::from_be_bytes([p[2], p[3]]) as usize, 4),
                    127 if p.len() >= 10 => (
                        u64::from_be_bytes(p[2..10].try_into().unwrap_or_default()) as usize,
                        10,
                    ),
                    126 | 127 => (usize::MAX, 0),
                    n => (n as usize, 2),
                };
                if len != usize::MAX && p.len() >= header + len {
                    let frame = WsFrame {
                        opcode: p[0] & 0x0f,
                        payload: p[header..header + len].to_vec(),
                    };
                    self.pending.drain(..header + len);
                    return Ok(frame);
                }
            }
            self.fill().map_err(|e| format!("frame: {e}"))?;
        }
    }

    /// Reads frames until a text frame, skipping control frames; returns its text.
    pub fn read_text(&mut self) -> Result<String, String> {
        loop {
            let frame = self.read_frame()?;
            match frame.opcode {
                1 => return String::from_utf8(frame.payload).map_err(|e| e.to_string()),
                8 => return Err(format!("close frame {:?}", close_code(&frame.payload))),
                _ => continue,
            }
        }
    }

    /// Reads until the server ends the connection, skipping every frame but a close frame
    /// (Engine.IO pings included: they go unanswered). `Err` if the server neither closes nor
    /// resets within the I/O timeout.
    pub fn await_end(&mut self) -> Result<Ending, String> {
        loop {
            match self.read_frame() {
                Ok(WsFrame { opcode: 8, payload }) => {
                    return Ok(Ending::CloseFrame(close_code(&payload)))
                }
                Ok(_) => continue,
                Err(e) if e.contains("WouldBlock") || e.contains("TimedOut") => {
                    return Err(format!("the server did not close the connection ({e})"))
                }
                Err(_) => return Ok(Ending::Closed),
            }
        }
    }

    /// Reads until the server ends an HTTP connection (EOF, reset, or a response followed
    /// by EOF); `Err` if it does neither within the I/O timeout.
    pub fn await_http_end(&mut self) -> Result<(), String> {
        loop {
            match self.fill() {
                Ok(()) => continue,
                Err(e) if e.contains("WouldBlock") || e.contains("TimedOut") => {
                    return Err(format!("the server did not close the connection ({e})"))
                }
                Err(_) => return Ok(()),
            }
        }
    }
}

fn close_code(payload: &[u8]) -> Option<u16> {
    (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]))
}

/// Where `needle` starts in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `GET /engine.io/?<query>`, `Connection: close`.
pub fn get(query: &str) -> Vec<u8> {
    format!("GET {PATH}?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .into_bytes()
}

/// `POST /engine.io/?<query>` with `body`, `Connection: close`.
pub fn post(query: &str, body: &[u8]) -> Vec<u8> {
    let mut raw = post_head(query, body.len());
    raw.extend_from_slice(body);
    raw
}

/// The head of a `POST /engine.io/?<query>` announcing `content_length` bytes of body.
pub fn post_head(query: &str, content_length: usize) -> Vec<u8> {
    format!(
        "POST {PATH}?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {content_length}\r\n\r\n"
    )
    .into_bytes()
}

/// A WebSocket upgrade request for `/engine.io/?<query>`.
pub fn ws_upgrade(query: &str) -> Vec<u8> {
    format!(
        "GET {PATH}?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes()
}

/// A masked client frame; `first` is its first byte (FIN, RSV bits, opcode).
pub fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
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

/// A masked, final text frame.
pub fn text_frame(text: &str) -> Vec<u8> {
    frame(0x81, text.as_bytes())
}

/// The sid of an open packet (`0{"sid":…}`), from a polling body or a WebSocket frame.
pub fn open_sid(packet: &str) -> Result<String, String> {
    let json = packet
        .strip_prefix('0')
        .ok_or_else(|| format!("not an open packet: {packet:?}"))?;
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("open packet {json:?}: {e}"))?;
    value["sid"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no sid in {json}"))
}

/// One request on a fresh connection, and its response.
pub fn exchange(
    addr: SocketAddr,
    io_timeout: Duration,
    request: &[u8],
) -> Result<RawResponse, String> {
    let mut conn = RawConn::connect(addr, io_timeout)?;
    conn.write(request)?;
    conn.read_response()
}

/// A polling handshake: asserts 200 and an open packet, returns the sid.
pub fn handshake(addr: SocketAddr, io_timeout: Duration) -> Result<String, String> {
    let response = exchange(addr, io_timeout, &get("EIO=4&transport=polling"))?;
    if response.status != 200 {
        return Err(format!(
            "handshake: {} {:?}",
            response.status,
            response.text()
        ));
    }
    open_sid(&response.text())
}

/// A WebSocket-only session: the 101, then the open frame. Returns the connection and the sid.
pub fn ws_session(addr: SocketAddr, io_timeout: Duration) -> Result<(RawConn, String), String> {
    let mut conn = RawConn::connect(addr, io_timeout)?;
    conn.write(&ws_upgrade("EIO=4&transport=websocket"))?;
    let (status, _) = conn.read_head()?;
    if status != 101 {
        return Err(format!("WebSocket handshake: status {status}"));
    }
    let open = conn.read_text()?;
    let sid = open_sid(&open)?;
    Ok((conn, sid))
}

/// Starts an upgrade of the polling session `sid`: the request, then the 101.
pub fn upgrade_101(addr: SocketAddr, io_timeout: Duration, sid: &str) -> Result<RawConn, String> {
    let mut conn = RawConn::connect(addr, io_timeout)?;
    conn.write(&ws_upgrade(&format!("EIO=4&transport=websocket&sid={sid}")))?;
    let (status, _) = conn.read_head()?;
    if status != 101 {
        return Err(format!("upgrade of {sid}: status {status}"));
    }
    Ok(conn)
}

/// `EIO=4&transport=polling&sid=<sid>`.
pub fn polling_query(sid: &str) -> String {
    format!("EIO=4&transport=polling&sid={sid}")
}
