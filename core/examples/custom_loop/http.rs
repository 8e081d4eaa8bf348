//! One HTTP/1.1 connection: its buffers and where it is in the current request.
//!
//! The connection never talks to the core. It reads bytes into `input`, turns them into
//! [`Input`]s one at a time as far as its state allows (a head; the body only once the core
//! asked for it), and queues the responses the loop hands it in `output`. Heads are parsed by
//! `httparse`; bodies are delimited by `Content-Length` only: a chunked request gets 411
//! (the Engine.IO clients always send a length), and a request without either has no body.
//! Keep-alive is the HTTP/1.1 default; `Connection: close`, HTTP/1.0 and any response that
//! leaves a body unread end the connection after the response.

use std::io::{self, Read, Write};
use std::net::Shutdown;

use bytes::{Bytes, BytesMut};
use engineio_core::{Method, Request, RequestId, Response, ResponseKind};
use mio::net::TcpStream;
use tungstenite::handshake::derive_accept_key;

use super::Phase;

/// The largest request head; a longer one gets 431.
const MAX_HEAD: usize = 16 * 1024;
/// The most headers a request may have (more gets 431 too).
const MAX_HEADERS: usize = 64;
/// How much a connection reads ahead while the core has not asked for more.
const READ_AHEAD: usize = 64 * 1024;
/// The most bytes one read step takes, so a busy peer takes turns with the others.
const READ_BUDGET: usize = 64 * 1024;

/// The facts of a request head, owned (the buffer they came from moves on).
pub(crate) struct Head {
    pub(crate) path: String,
    method: Method,
    query: String,
    /// `Sec-WebSocket-Key`, when the headers ask for a WebSocket (RFC 6455 §4.2.1).
    websocket_key: Option<String>,
    content_type: Option<String>,
    content_length: Option<u64>,
    origin: Option<Vec<u8>>,
    /// `Expect: 100-continue`: the client waits for our go before it sends the body.
    expect_continue: bool,
}

impl Head {
    /// What the core needs to know of it.
    pub(crate) fn request(&self) -> Request<'_> {
        Request {
            method: self.method,
            query: &self.query,
            websocket: self.websocket_key.is_some(),
            content_type: self.content_type.as_deref(),
            content_length: self.content_length,
            origin: self.origin.as_deref(),
        }
    }
}

/// The next thing a connection's bytes amount to.
pub(crate) enum Input {
    /// A new request: the loop names it and hands it to the core.
    Head(Head),
    /// A chunk of the body the core asked for.
    Body(RequestId, Bytes),
    /// The end of that body.
    BodyEnd(RequestId),
    /// The peer hung up while the core still owed this request an answer.
    Abandoned(RequestId),
}

/// The request the core is answering.
struct Current {
    id: RequestId,
    head: Head,
    /// Body bytes not passed to the core yet.
    unread: u64,
    /// The core asked for the body (`ReadBody`) and has not had all of it.
    reading: bool,
}

/// An HTTP connection.
pub(crate) struct HttpConn {
    stream: TcpStream,
    /// Read, not consumed yet.
    input: BytesMut,
    /// Queued responses; `output[written..]` is still to write.
    output: Vec<u8>,
    written: usize,
    /// `None` between requests.
    current: Option<Current>,
    keep_alive: bool,
    /// No more requests: write what is queued, then close.
    closing: bool,
    /// The peer closed its side, or the socket failed.
    eof: bool,
}

/// What is left of an HTTP connection that became a WebSocket.
pub(crate) struct Upgraded {
    pub(crate) stream: TcpStream,
    /// Bytes the client sent after the head (the first frames, possibly).
    pub(crate) read_ahead: Vec<u8>,
    /// The 101 response, or what the socket has not taken of it yet.
    pub(crate) unwritten: Vec<u8>,
}

impl HttpConn {
    pub(crate) fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            input: BytesMut::new(),
            output: Vec::new(),
            written: 0,
            current: None,
            keep_alive: true,
            closing: false,
            eof: false,
        }
    }

    pub(crate) fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// Reads what the socket has, until it would block. True if the budget ran out first.
    pub(crate) fn read(&mut self) -> bool {
        let mut chunk = [0; 8192];
        let mut budget = READ_BUDGET;
        while !self.eof {
            // While the core decides, read ahead only so far (enough to hear a hang-up).
            let waiting = self.current.as_ref().is_some_and(|c| !c.reading);
            if waiting && self.input.len() >= READ_AHEAD {
                return false;
            }
            if budget == 0 {
                return true;
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => self.eof = true,
                // Closing: we have said all we will; what the peer still sends is dropped.
                Ok(n) if self.closing => budget = budget.saturating_sub(n),
                Ok(n) => {
                    budget = budget.saturating_sub(n);
                    self.input.extend_from_slice(&chunk[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => self.eof = true,
            }
        }
        false
    }

    /// The next input, if the buffered bytes and the state allow one.
    pub(crate) fn next_input(&mut self) -> Option<Input> {
        let Some(current) = &mut self.current else {
            let more = !self.closing && !self.input.is_empty();
            return if more { self.parse_head() } else { None };
        };
        let id = current.id;
        if current.reading && current.unread == 0 {
            current.reading = false;
            Some(Input::BodyEnd(id))
        } else if current.reading && !self.input.is_empty() {
            let len = current.unread.min(self.input.len() as u64);
            current.unread -= len;
            Some(Input::Body(id, self.input.split_to(len as usize).freeze()))
        } else if self.eof {
            self.current = None;
            self.closing = true;
            Some(Input::Abandoned(id))
        } else {
            None
        }
    }

    fn parse_head(&mut self) -> Option<Input> {
        let (len, head, keep_alive) = match parse(&self.input) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return None,
            Err(status) => {
                self.refuse(status);
                return None;
            }
        };
        let _ = self.input.split_to(len);
        self.keep_alive = keep_alive;
        Some(Input::Head(head))
    }

    /// The loop named the request it got from [`next_input`](Self::next_input).
    pub(crate) fn await_answer(&mut self, id: RequestId, head: Head) {
        let unread = head.content_length.unwrap_or(0);
        self.current = Some(Current {
            id,
            head,
            unread,
            reading: false,
        });
    }

    /// The core asked for the body: hand it over from now on (and give the go to a client
    /// that waits for it before sending the body).
    pub(crate) fn read_body(&mut self) {
        if let Some(current) = &mut self.current {
            if current.head.expect_continue && current.unread > 0 {
                let go = b"HTTP/1.1 100 Continue\r\n\r\n";
                self.output.extend_from_slice(go);
            }
            current.reading = true;
        }
    }

    /// Queues the core's answer to the current request.
    pub(crate) fn respond(&mut self, response: &Response) {
        let no_store = matches!(
            response.kind,
            ResponseKind::Payload | ResponseKind::Handshake { .. }
        );
        // A body left unread leaves the next request's start unknown: close after this one.
        let current = self.current.take();
        self.keep_alive &= current.is_none_or(|c| c.unread == 0);
        self.closing = !self.keep_alive;
        let mut head = format!(
            "HTTP/1.1 {} {}\r\n",
            response.status,
            reason(response.status)
        );
        if let Some(content_type) = response.content_type {
            head += &format!("Content-Type: {content_type}\r\n");
        }
        if no_store {
            head += "Cache-Control: no-store\r\n";
        }
        let connection = if self.keep_alive {
            "keep-alive"
        } else {
            "close"
        };
        head += &format!(
            "Content-Length: {}\r\nConnection: {connection}\r\n\r\n",
            response.body.len()
        );
        self.output.extend_from_slice(head.as_bytes());
        self.output.extend_from_slice(&response.body);
    }

    /// Answers with an error of the loop's own (no core involved) and closes.
    pub(crate) fn refuse(&mut self, status: u16) {
        self.keep_alive = false;
        let body = Bytes::from(reason(status));
        let response = Response {
            status,
            content_type: Some("text/plain; charset=UTF-8"),
            body,
            kind: ResponseKind::Refused,
        };
        self.respond(&response);
    }

    /// Answers the current request with 101 and hands the socket over to WebSocket.
    pub(crate) fn upgrade(mut self) -> Upgraded {
        // Always there: the core accepts only requests that asked for a WebSocket.
        let key = self.current.and_then(|c| c.head.websocket_key);
        let accept = derive_accept_key(key.unwrap_or_default().as_bytes());
        let head = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        );
        self.output.extend_from_slice(head.as_bytes());
        Upgraded {
            stream: self.stream,
            read_ahead: self.input.to_vec(),
            unwritten: self.output.split_off(self.written),
        }
    }

    /// Writes queued output until done or the socket is full; a closing connection then
    /// shuts down its sending side and waits for the peer to hang up. True if the socket
    /// failed (the peer is gone: an input for the core if it owes an answer).
    pub(crate) fn write(&mut self) -> bool {
        while self.written < self.output.len() {
            match self.stream.write(&self.output[self.written..]) {
                Ok(n) if n > 0 => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                _ => {
                    self.eof = true;
                    self.output.clear();
                    self.written = 0;
                    return true;
                }
            }
        }
        self.output.clear();
        self.written = 0;
        if self.closing {
            let _ = self.stream.shutdown(Shutdown::Write);
        }
        false
    }

    /// Open while requests may come or an answer is owed; `Closing` once we have said all and
    /// wait for the peer to hang up; `Closed` once there is nothing left to do.
    pub(crate) fn phase(&self) -> Phase {
        let flushed = self.output.is_empty();
        if self.eof && self.current.is_none() && flushed {
            Phase::Closed
        } else if self.closing && flushed {
            Phase::Closing
        } else {
            Phase::Open
        }
    }
}

/// Parses a head: `Ok(None)` if incomplete, `Err(status)` if it must be refused.
fn parse(buf: &[u8]) -> Result<Option<(usize, Head, bool)>, u16> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let len = match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) if len <= MAX_HEAD => len,
        Ok(httparse::Status::Partial) if buf.len() <= MAX_HEAD => return Ok(None),
        Ok(_) | Err(httparse::Error::TooManyHeaders) => return Err(431),
        Err(_) => return Err(400),
    };
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    };
    let text = |name: &str| header(name).and_then(|v| std::str::from_utf8(v).ok());
    let has_token = |name: &str, token: &str| {
        text(name).is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    if header("Transfer-Encoding").is_some() {
        return Err(411);
    }
    let content_length = match text("Content-Length") {
        Some(value) => Some(value.trim().parse().map_err(|_| 400u16)?),
        None => None,
    };
    let websocket = has_token("Upgrade", "websocket")
        && has_token("Connection", "upgrade")
        && text("Sec-WebSocket-Version") == Some("13");
    let target = request.path.unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let keep_alive = request.version == Some(1) && !has_token("Connection", "close");
    let head = Head {
        method: Method::from_name(request.method.unwrap_or("")),
        path: path.to_owned(),
        query: query.to_owned(),
        websocket_key: text("Sec-WebSocket-Key")
            .filter(|_| websocket)
            .map(str::to_owned),
        content_type: text("Content-Type").map(str::to_owned),
        content_length,
        origin: header("Origin").map(<[u8]>::to_vec),
        expect_continue: has_token("Expect", "100-continue"),
    };
    Ok(Some((len, head, keep_alive)))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}
