//! A minimal HTTP/1.1 keep-alive client for polling.
//!
//! One TCP connection per client, one request at a time, as a browser's XHR would use it. A
//! full HTTP client (hyper, reqwest) would cost more CPU than the server it measures; this one
//! writes a request into a reused buffer with a single `write`, and parses the answer with
//! `httparse` out of a reused read buffer (no zero-fill: tokio reads into spare capacity).
//!
//! It sends no `Accept-Encoding`, so bodies come back uncompressed; it understands
//! `Content-Length`, `Transfer-Encoding: chunked` and read-to-close bodies, and reconnects after
//! `Connection: close`.

use std::io::Write as _;
use std::rc::Rc;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::{Error, Target};

/// How long one request may take before it counts as an error. Polling GETs are held by the
/// server until data or a ping, so this is above any sensible ping interval.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Header slots for `httparse`.
const MAX_HEADERS: usize = 32;
/// The read buffer grows by this much when it runs low.
const READ_CHUNK: usize = 8 * 1024;

/// The request methods the load generator uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST` with a `text/plain` body.
    Post,
}

/// How the body of a response is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// `Content-Length` bytes.
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Neither: the body ends when the server closes the connection.
    UntilClose,
}

/// One keep-alive HTTP/1.1 connection.
#[derive(Debug)]
pub struct HttpConn {
    /// The server.
    target: Rc<Target>,
    /// The kept-alive connection, `None` until the first request or after a close.
    stream: Option<TcpStream>,
    /// The encoded request, reused.
    write_buf: Vec<u8>,
    /// Bytes read for the current response, reused.
    read_buf: Vec<u8>,
    /// The decoded body of the last response, reused.
    body: Vec<u8>,
    /// Fresh TCP connections opened after the first one.
    pub reconnects: u64,
    /// Whether a connection was ever opened (to count reconnects).
    connected_once: bool,
}

impl HttpConn {
    /// A connection to `target`, opened lazily by the first request.
    pub fn new(target: Rc<Target>) -> Self {
        Self {
            target,
            stream: None,
            write_buf: Vec::with_capacity(512),
            read_buf: Vec::with_capacity(READ_CHUNK),
            body: Vec::new(),
            reconnects: 0,
            connected_once: false,
        }
    }

    /// The body of the last response.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Sends a request for `path` (path and query) and reads the whole response; returns its
    /// status, the body is in [`body`](Self::body). A kept-alive connection the server closed
    /// in the meantime is reopened once, transparently.
    pub async fn request(&mut self, method: Method, path: &str, body: &[u8]) -> Result<u16, Error> {
        self.encode_request(method, path, body);
        let reused = self.stream.is_some();
        match tokio::time::timeout(REQUEST_TIMEOUT, self.exchange()).await? {
            Err(Stale) if reused => {
                self.stream = None;
                tokio::time::timeout(REQUEST_TIMEOUT, self.exchange())
                    .await?
                    .map_err(|Stale| Error("connection closed before the response".into()))?
            }
            Err(Stale) => Err(Error("connection closed before the response".into())),
            Ok(result) => result,
        }
    }

    /// Writes the request to `write_buf`.
    fn encode_request(&mut self, method: Method, path: &str, body: &[u8]) {
        let buf = &mut self.write_buf;
        buf.clear();
        let host = &self.target.host;
        // Writing into a Vec cannot fail.
        let _ = match method {
            Method::Get => write!(buf, "GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n"),
            Method::Post => write!(
                buf,
                "POST {path} HTTP/1.1\r\nHost: {host}\r\n\
                 Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n\r\n",
                body.len()
            ),
        };
        buf.extend_from_slice(body);
    }

    /// Writes the encoded request and reads the response. `Err(Stale)` means the connection
    /// ended before a single response byte: the caller may retry on a fresh connection.
    async fn exchange(&mut self) -> Result<Result<u16, Error>, Stale> {
        if self.stream.is_none() {
            match self.target.connect().await {
                Ok(stream) => {
                    if self.connected_once {
                        self.reconnects += 1;
                    }
                    self.connected_once = true;
                    self.stream = Some(stream);
                }
                Err(e) => return Ok(Err(e.into())),
            }
        }
        self.read_buf.clear();
        let Some(stream) = self.stream.as_mut() else {
            return Ok(Err(Error("no connection".into())));
        };
        if stream.write_all(&self.write_buf).await.is_err() {
            return Err(Stale);
        }
        // Wait for the first bytes: nothing at all means the keep-alive connection was stale.
        match read_more(stream, &mut self.read_buf).await {
            Ok(0) | Err(_) => return Err(Stale),
            Ok(_) => {}
        }
        let result = self.read_response().await;
        if result.is_err() {
            self.stream = None;
        }
        Ok(result)
    }

    /// Parses the head and body of a response whose first bytes are in `read_buf`.
    async fn read_response(&mut self) -> Result<u16, Error> {
        let (status, head_len, framing, close) = loop {
            if let Some(head) = parse_head(&self.read_buf)? {
                break head;
            }
            self.fill().await?;
        };
        self.body.clear();
        let mut close = close;
        match framing {
            Framing::Length(len) => {
                while self.read_buf.len() < head_len + len {
                    self.fill().await?;
                }
                self.body
                    .extend_from_slice(&self.read_buf[head_len..head_len + len]);
            }
            Framing::Chunked => self.read_chunked(head_len).await?,
            Framing::UntilClose => {
                while self.fill_or_eof().await? {}
                self.body.extend_from_slice(&self.read_buf[head_len..]);
                close = true;
            }
        }
        if close {
            self.stream = None;
        }
        Ok(status)
    }

    /// Decodes a chunked body starting at `pos` in `read_buf` into `body`.
    async fn read_chunked(&mut self, mut pos: usize) -> Result<(), Error> {
        loop {
            let (consumed, size) = loop {
                match httparse::parse_chunk_size(&self.read_buf[pos..]) {
                    Ok(httparse::Status::Complete((consumed, size))) => break (consumed, size),
                    Ok(httparse::Status::Partial) => self.fill().await?,
                    Err(_) => return Err(Error("bad chunk size".into())),
                }
            };
            let size = usize::try_from(size).map_err(|_| Error("chunk too large".into()))?;
            pos += consumed;
            if size == 0 {
                // No trailers expected: the body ends with an empty line.
                while self.read_buf.len() < pos + 2 {
                    self.fill().await?;
                }
                if &self.read_buf[pos..pos + 2] != b"\r\n" {
                    return Err(Error(
                        "trailers after a chunked body are not supported".into(),
                    ));
                }
                return Ok(());
            }
            while self.read_buf.len() < pos + size + 2 {
                self.fill().await?;
            }
            self.body.extend_from_slice(&self.read_buf[pos..pos + size]);
            if &self.read_buf[pos + size..pos + size + 2] != b"\r\n" {
                return Err(Error("chunk not followed by CRLF".into()));
            }
            pos += size + 2;
        }
    }

    /// Reads more bytes; the end of the stream is an error.
    async fn fill(&mut self) -> Result<(), Error> {
        if self.fill_or_eof().await? {
            Ok(())
        } else {
            Err(Error(
                "connection closed in the middle of a response".into(),
            ))
        }
    }

    /// Reads more bytes; `false` at the end of the stream.
    async fn fill_or_eof(&mut self) -> Result<bool, Error> {
        let stream = self
            .stream
            .as_mut()
            .ok_or_else(|| Error("no connection".into()))?;
        Ok(read_more(stream, &mut self.read_buf).await? > 0)
    }
}

/// The connection ended before the response started.
#[derive(Debug)]
struct Stale;

/// Appends what the socket has to `buf`, growing it by [`READ_CHUNK`] when it runs low.
async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    if buf.capacity() - buf.len() < READ_CHUNK / 4 {
        buf.reserve(READ_CHUNK);
    }
    stream.read_buf(buf).await
}

/// Parses a response head: `(status, head length, framing, connection closes)`, or `None` when
/// more bytes are needed.
fn parse_head(buf: &[u8]) -> Result<Option<(u16, usize, Framing, bool)>, Error> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(Error(format!("bad HTTP response: {e}"))),
    };
    let status = response.code.unwrap_or(0);
    let mut close = response.version == Some(0);
    let mut framing = if status == 204 || status == 304 || (100..200).contains(&status) {
        Framing::Length(0)
    } else {
        Framing::UntilClose
    };
    for header in response.headers.iter() {
        let value = header.value;
        if header.name.eq_ignore_ascii_case("content-length") {
            let len = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| Error("bad Content-Length".into()))?;
            if framing != Framing::Chunked {
                framing = Framing::Length(len);
            }
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            if contains_token(value, b"chunked") {
                framing = Framing::Chunked;
            }
        } else if header.name.eq_ignore_ascii_case("connection") {
            if contains_token(value, b"close") {
                close = true;
            } else if contains_token(value, b"keep-alive") {
                close = false;
            }
        } else if header.name.eq_ignore_ascii_case("content-encoding")
            && !contains_token(value, b"identity")
        {
            return Err(Error("compressed response body (Content-Encoding)".into()));
        }
    }
    Ok(Some((status, head_len, framing, close)))
}

/// Whether a comma-separated header value holds `token` (case-insensitive).
fn contains_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|part| part.trim_ascii().eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_heads() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/html\r\n\r\nok";
        assert_eq!(
            parse_head(r).unwrap(),
            Some((200, r.len() - 2, Framing::Length(2), false))
        );
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Le").unwrap(), None);
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        assert_eq!(
            parse_head(chunked).unwrap(),
            Some((200, chunked.len(), Framing::Chunked, true))
        );
        let old = b"HTTP/1.0 400 Bad Request\r\n\r\n";
        assert_eq!(
            parse_head(old).unwrap(),
            Some((400, old.len(), Framing::UntilClose, true))
        );
        assert!(parse_head(b"garbage\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n").is_err());
    }

    #[test]
    fn matches_header_tokens() {
        assert!(contains_token(b"gzip, chunked", b"chunked"));
        assert!(contains_token(b"Keep-Alive", b"keep-alive"));
        assert!(!contains_token(b"closed", b"close"));
    }
}
