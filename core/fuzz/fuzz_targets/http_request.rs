//! Fuzzes the HTTP request path of a server, the way the blocking runtime (and the
//! `custom_loop` example) runs it: bytes are parsed as an HTTP/1.1 request head by `httparse`,
//! copied into an `http::HeaderMap`, framed (`Content-Length`, chunked), routed (the
//! Engine.IO path with CORS and preflight, then static files, then 404), turned into the
//! core's `Request` and the `http` module's `ConnectRequest`, handed to one `Server` (small
//! limits, fuzzed CORS policy and authorization), given its body in fuzzed chunks when the
//! core asks, and answered through `response::decorate`. Requests are either raw bytes or
//! built from pieces (known sids, odd query values, upgrade headers, origins), so that most of
//! them get past the parser. Time moves between requests; at the end `shutdown` and time must
//! answer everything still held.
//!
//! Asserts: no panic; every request the core saw is answered exactly once (or reported
//! abandoned), and never after that; every status is one the server may give (101, 200, 204,
//! 400, 403, 404, 408, 413, 431, 503); an Engine.IO error is `{"code":N,"message":…}` with N
//! in 0..=5 and the status its code implies, or its plain message on a refused upgrade; the
//! handshake body is `0{…}` naming the new sid; a static file never resolves outside its root.
#![no_main]

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use engineio_core::http::cors::{self, CorsDecision, CorsOrigins};
use engineio_core::http::{request, response, static_files, ConnectRequest, Cookie};
use engineio_core::http::{HttpOptions, StaticFiles};
use engineio_core::{Authorization, Bytes, ErrorCode, Event, Method, Request, RequestId};
use engineio_core::{Response, ResponseKind, Server, ServerConfig, Sid, Transmit};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;

/// The most headers a request may have (the blocking server's and hyper's limit; more is 431).
const MAX_HEADERS: usize = 100;
/// The directory static files are served from (never read: only resolved).
const ROOT: &str = "/srv/engineio-fuzz/static";
/// The file served for `/`.
const INDEX: &str = "/srv/engineio-fuzz/index.html";
/// Every status a server may answer with, from the runtime or from the core.
const STATUSES: [u16; 10] = [101, 200, 204, 400, 403, 404, 408, 413, 431, 503];

#[derive(Arbitrary, Debug)]
struct Input {
    cors: u8,
    authorize: bool,
    /// Bit `i` refuses the `i`-th authorization (mod 32).
    refusals: u32,
    /// The size of the body chunks (0: the whole body at once).
    chunk: u8,
    steps: Vec<Step>,
}

#[derive(Arbitrary, Debug)]
struct Step {
    request: Req,
    /// Milliseconds that pass after the request.
    advance: u8,
}

/// A request: raw bytes, or built from pieces.
#[derive(Arbitrary, Debug)]
enum Req {
    Raw(Vec<u8>),
    Built(Built),
}

#[derive(Arbitrary, Debug)]
struct Built {
    method: u8,
    path: PathPick,
    params: Vec<Param>,
    headers: Vec<HeaderPick>,
    body: Vec<u8>,
    length: Length,
}

#[derive(Arbitrary, Debug)]
enum PathPick {
    Engine,
    EngineNoSlash,
    Static(String),
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Param {
    Eio(Value),
    Transport(Value),
    Sid(SidPick),
    B64(Value),
    Other(String, String),
}

#[derive(Arbitrary, Debug)]
enum Value {
    Good,
    Empty,
    Proto,
    Constructor,
    Long,
    Text(String),
}

#[derive(Arbitrary, Debug)]
enum SidPick {
    Known(u8),
    Unknown,
    Text(String),
}

#[derive(Arbitrary, Debug)]
enum HeaderPick {
    Upgrade,
    Origin(String),
    ContentType(u8),
    Chunked,
    AcceptEncoding(String),
    Other(String, String),
}

#[derive(Arbitrary, Debug)]
enum Length {
    Exact,
    Omitted,
    Value(u64),
}

fuzz_target!(|input: Input| {
    let ms = Duration::from_millis;
    let config = ServerConfig {
        ping_interval: ms(300),
        ping_timeout: ms(200),
        upgrade_timeout: ms(1000),
        close_timeout: ms(500),
        handshake_timeout: ms(700),
        max_payload: 4096,
        max_packets_per_payload: 8,
        authorize: input.authorize,
        ..ServerConfig::default()
    };
    let policies = [
        CorsOrigins::SameOrigin,
        CorsOrigins::Any,
        CorsOrigins::List(vec!["http://localhost:3000".into()]),
        CorsOrigins::Off,
    ];
    let options = HttpOptions {
        cors: policies[usize::from(input.cors % 4)].clone(),
        cookie: Some(Cookie::default()),
        compression_threshold: 16,
        static_files: StaticFiles::new().file("/", INDEX).dir("/static/", ROOT),
        ..HttpOptions::default()
    };
    let mut front = Front {
        server: Server::new(Arc::new(config), [7; 32]),
        options,
        now: Instant::now(),
        chunk: usize::from(input.chunk),
        refusals: input.refusals,
        decisions: 0,
        next_id: 0,
        sids: Vec::new(),
        pending: HashMap::new(),
        answered: HashSet::new(),
        abandoned: HashSet::new(),
        wants_body: HashSet::new(),
    };
    for step in input.steps {
        let bytes = match step.request {
            Req::Raw(bytes) => bytes,
            Req::Built(built) => front.render(&built),
        };
        front.serve(&bytes);
        front.now += Duration::from_millis(step.advance.into());
        front.server.handle_timeout(front.now);
        front.drain();
    }
    front.server.shutdown(front.now);
    front.drain();
    for _ in 0..1000 {
        let Some(deadline) = front.server.poll_timeout() else {
            break;
        };
        front.now = front.now.max(deadline);
        front.server.handle_timeout(front.now);
        front.drain();
    }
    assert_eq!(front.server.session_count(), 0, "shutdown left sessions");
    let unanswered: Vec<_> = front
        .pending
        .keys()
        .filter(|id| !front.answered.contains(id) && !front.abandoned.contains(id))
        .collect();
    assert!(unanswered.is_empty(), "never answered: {unanswered:?}");
});

/// What the front end remembers of a request the core owes an answer.
struct Pending {
    headers: HeaderMap,
    cors: CorsDecision,
    upgrade: bool,
}

/// The server's HTTP front end: parse, route, hand over, decorate, check.
struct Front {
    server: Server,
    options: HttpOptions,
    now: Instant,
    chunk: usize,
    refusals: u32,
    decisions: u32,
    next_id: u64,
    sids: Vec<Sid>,
    pending: HashMap<RequestId, Pending>,
    answered: HashSet<RequestId>,
    abandoned: HashSet<RequestId>,
    wants_body: HashSet<RequestId>,
}

/// How the bytes after the head become the body.
enum BodyEnd {
    /// The body is complete.
    Complete(Vec<u8>),
    /// The connection ended (or the framing broke) after these bytes.
    Cut(Vec<u8>),
}

impl Front {
    fn render(&self, built: &Built) -> Vec<u8> {
        let method =
            ["GET", "POST", "OPTIONS", "PUT", "HEAD", "get"][usize::from(built.method % 6)];
        let path = match &built.path {
            PathPick::Engine => "/engine.io/".to_owned(),
            PathPick::EngineNoSlash => "/engine.io".to_owned(),
            PathPick::Static(rest) => format!("/static/{}", clean(rest)),
            PathPick::Other(path) => clean(path),
        };
        let query: Vec<String> = built.params.iter().map(|p| self.param(p)).collect();
        let mut out = format!(
            "{method} {path}?{} HTTP/1.1\r\nHost: localhost:3000\r\n",
            query.join("&")
        );
        for pick in &built.headers {
            out.push_str(&match pick {
                HeaderPick::Upgrade => "Upgrade: websocket\r\nConnection: Upgrade\r\n\
                    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                    .to_owned(),
                HeaderPick::Origin(origin) => format!("Origin: {}\r\n", clean(origin)),
                HeaderPick::ContentType(pick) => {
                    let types = [
                        "text/plain;charset=UTF-8",
                        "application/octet-stream",
                        "application/json",
                        "",
                    ];
                    format!("Content-Type: {}\r\n", types[usize::from(pick % 4)])
                }
                HeaderPick::Chunked => "Transfer-Encoding: chunked\r\n".to_owned(),
                HeaderPick::AcceptEncoding(value) => {
                    format!("Accept-Encoding: {}\r\n", clean(value))
                }
                HeaderPick::Other(name, value) => format!("{}: {}\r\n", clean(name), clean(value)),
            });
        }
        match built.length {
            Length::Exact => out.push_str(&format!("Content-Length: {}\r\n", built.body.len())),
            Length::Omitted => {}
            Length::Value(length) => out.push_str(&format!("Content-Length: {length}\r\n")),
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&built.body);
        bytes
    }

    fn param(&self, param: &Param) -> String {
        let value = |value: &Value, good: &str| match value {
            Value::Good => good.to_owned(),
            Value::Empty => String::new(),
            Value::Proto => "__proto__".to_owned(),
            Value::Constructor => "constructor".to_owned(),
            Value::Long => "x".repeat(2000),
            Value::Text(text) => encode(text),
        };
        match param {
            Param::Eio(v) => format!("EIO={}", value(v, "4")),
            Param::Transport(v) => format!("transport={}", value(v, "polling")),
            Param::B64(v) => format!("b64={}", value(v, "1")),
            Param::Sid(SidPick::Known(i)) => match self.sids.len() {
                0 => "sid=".to_owned(),
                n => format!("sid={}", self.sids[usize::from(*i) % n]),
            },
            Param::Sid(SidPick::Unknown) => "sid=AAAAAAAAAAAAAAAAAAAA".to_owned(),
            Param::Sid(SidPick::Text(text)) => format!("sid={}", encode(text)),
            Param::Other(key, value) => format!("{}={}", encode(key), encode(value)),
        }
    }

    /// Serves one request given as bytes.
    fn serve(&mut self, bytes: &[u8]) {
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut slots);
        let head_len = match parsed.parse(bytes) {
            Ok(httparse::Status::Complete(len)) => len,
            // The blocking server waits for the rest until its header deadline: 408.
            Ok(httparse::Status::Partial) => return check_status(408),
            Err(httparse::Error::TooManyHeaders) => return check_status(431),
            Err(_) => return check_status(400),
        };
        let (Some(method), Some(target)) = (parsed.method, parsed.path) else {
            return check_status(400);
        };
        let Ok(method) = http::Method::from_bytes(method.as_bytes()) else {
            return check_status(400);
        };
        let Some(headers) = header_map(parsed.headers) else {
            return check_status(400);
        };
        let Some(body) = framed_body(&headers, &bytes[head_len..]) else {
            return check_status(400);
        };
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        if self.options.is_engine_path(path) {
            self.engine_request(&method, target, query, headers, body);
        } else {
            self.static_request(&method, path);
        }
    }

    /// Static files, then 404 (the servers' order outside the Engine.IO path).
    fn static_request(&self, method: &http::Method, path: &str) {
        if !matches!(*method, http::Method::GET | http::Method::HEAD) {
            return check_status(404);
        }
        match static_files::resolve(&self.options.static_files, path) {
            Some(file) => {
                let inside = file.path == Path::new(INDEX)
                    || file.path.strip_prefix(ROOT).is_ok_and(|tail| {
                        tail.components().all(|c| matches!(c, Component::Normal(_)))
                    });
                assert!(
                    inside,
                    "{path:?} resolved outside the root: {:?}",
                    file.path
                );
                assert!(!file.content_type.is_empty());
            }
            None => check_status(404),
        }
    }

    fn engine_request(
        &mut self,
        method: &http::Method,
        target: &str,
        query: &str,
        headers: HeaderMap,
        body: BodyEnd,
    ) {
        let cors = cors::check(&self.options.cors, &headers, false);
        if cors == CorsDecision::Rejected {
            let refused = response::origin_refused(&headers);
            assert_eq!(refused.status(), 403);
            return;
        }
        if *method == http::Method::OPTIONS {
            let answer = cors::preflight(&cors, self.options.cors_credentials, &headers);
            return check_status(answer.status().as_u16());
        }
        let uri: http::Uri = target.parse().unwrap_or_default();
        if let Some(info) = ConnectRequest::for_handshake(method, &uri, &headers, None, query) {
            assert_eq!(info.transport, request::requested_transport(query));
            let _ = (
                info.query("EIO"),
                info.query("token"),
                info.header("origin"),
            );
        }
        let text = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        let upgrade = request::is_upgrade_request(&headers);
        let head = Request {
            method: Method::from_name(method.as_str()),
            query,
            websocket: upgrade,
            content_type: text(header::CONTENT_TYPE),
            content_length: text(header::CONTENT_LENGTH).and_then(|v| v.trim().parse().ok()),
            origin: headers.get(header::ORIGIN).map(HeaderValue::as_bytes),
        };
        self.next_id += 1;
        let id = RequestId(self.next_id);
        self.server.handle_request(self.now, id, head);
        self.pending.insert(
            id,
            Pending {
                headers: headers.clone(),
                cors,
                upgrade,
            },
        );
        self.drain();
        if self.wants_body.remove(&id) {
            self.feed_body(id, body);
        }
    }

    /// Feeds the body in chunks while the core wants it; then its end, or the client gone.
    fn feed_body(&mut self, id: RequestId, body: BodyEnd) {
        let (bytes, complete) = match body {
            BodyEnd::Complete(bytes) => (bytes, true),
            BodyEnd::Cut(bytes) => (bytes, false),
        };
        let size = if self.chunk == 0 {
            bytes.len().max(1)
        } else {
            self.chunk
        };
        for piece in bytes.chunks(size) {
            if self.answered.contains(&id) {
                return;
            }
            self.server
                .handle_body(self.now, id, Bytes::copy_from_slice(piece));
            self.drain();
        }
        if self.answered.contains(&id) {
            return;
        }
        if complete {
            self.server.handle_body_end(self.now, id);
        } else {
            self.abandoned.insert(id);
            self.server.handle_request_closed(self.now, id);
        }
        self.drain();
    }

    /// Routes every output of the core, answering authorizations as they come.
    fn drain(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(transmit) = self.server.poll_transmit() {
                progressed = true;
                self.transmit(transmit);
            }
            let mut decide = Vec::new();
            while let Some(event) = self.server.poll_event() {
                progressed = true;
                match event {
                    Event::Authorize { request, .. } => decide.push(request),
                    Event::Connected { sid, .. } => self.sids.push(sid),
                    _ => {}
                }
            }
            for request in decide {
                let refuse = self.refusals & (1 << (self.decisions % 32)) != 0;
                self.decisions += 1;
                let decision = if refuse {
                    Authorization::Reject {
                        status: 403,
                        message: "no \"entry\"\n".into(),
                    }
                } else {
                    Authorization::Accept
                };
                assert!(self.server.authorize(self.now, request, decision).is_ok());
            }
            if !progressed {
                break;
            }
        }
    }

    fn transmit(&mut self, transmit: Transmit) {
        match transmit {
            Transmit::Respond { request, response } => {
                self.answer(request);
                let pending = &self.pending[&request];
                check_response(&self.options, pending, response);
            }
            Transmit::AcceptWebSocket { request } => {
                self.answer(request);
                assert!(
                    self.pending[&request].upgrade,
                    "101 for a request without an upgrade"
                );
            }
            Transmit::ReadBody { request } => {
                assert!(
                    !self.answered.contains(&request),
                    "ReadBody after the answer"
                );
                assert!(self.wants_body.insert(request), "ReadBody twice");
            }
            Transmit::WsSend { .. } | Transmit::WsClose { .. } => {}
        }
    }

    fn answer(&mut self, request: RequestId) {
        assert!(
            self.pending.contains_key(&request),
            "an answer for an unknown request"
        );
        assert!(
            !self.abandoned.contains(&request),
            "{request} answered after it was abandoned"
        );
        assert!(self.answered.insert(request), "{request} answered twice");
    }
}

/// Checks one answer of the core, and the HTTP response both servers make of it.
fn check_response(options: &HttpOptions, pending: &Pending, response: Response) {
    check_status(response.status);
    let status = response.status;
    let kind = response.kind;
    let body = response.body.clone();
    let http = response::decorate(response, &pending.headers, &pending.cors, options);
    assert_eq!(http.status().as_u16(), status);
    match kind {
        ResponseKind::Error(code) => {
            let number = code as u8;
            assert!(number <= 5, "error code {number}");
            let expected = match code {
                ErrorCode::Forbidden => [403, 403],
                _ => [400, 503],
            };
            assert!(expected.contains(&status), "{code:?} with status {status}");
            let json: serde_json::Value =
                serde_json::from_slice(&body).expect("an error body is JSON");
            assert_eq!(json["code"].as_u64(), Some(u64::from(number)), "{json}");
            let message = json["message"].as_str().expect("a message");
            if pending.upgrade {
                assert_eq!(
                    http.body().as_ref(),
                    message.as_bytes(),
                    "refused upgrade body"
                );
                assert_eq!(http.headers()[header::CONNECTION], "close");
            } else {
                assert_eq!(http.body(), &body);
            }
        }
        ResponseKind::Handshake { sid } => {
            assert_eq!(status, 200);
            assert!(body.starts_with(b"0{"), "handshake body {body:?}");
            let open: serde_json::Value = serde_json::from_slice(&body[1..]).expect("open JSON");
            assert_eq!(open["sid"].as_str(), Some(sid.as_str()));
            assert!(http.headers().contains_key(header::SET_COOKIE));
        }
        ResponseKind::Payload => assert_eq!(status, 200),
        ResponseKind::Ack => assert_eq!((status, &body[..]), (200, &b"ok"[..])),
        // 413 for a body over the limits (401 is `reject_connect`'s, which no one calls here).
        ResponseKind::Refused => assert_eq!((status, body.len()), (413, 0), "refused"),
    }
}

fn check_status(status: u16) {
    assert!(STATUSES.contains(&status), "status {status}");
}

/// Copies `httparse` headers into a `HeaderMap`; `None` if a name or value is invalid.
fn header_map(headers: &[httparse::Header<'_>]) -> Option<HeaderMap> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for h in headers {
        let name = HeaderName::from_bytes(h.name.as_bytes()).ok()?;
        map.append(name, HeaderValue::from_bytes(h.value).ok()?);
    }
    Some(map)
}

/// The body after the head, by its framing; `None` when the framing is invalid (400): both
/// `Transfer-Encoding` and `Content-Length`, a coding other than `chunked`, a bad length.
fn framed_body(headers: &HeaderMap, rest: &[u8]) -> Option<BodyEnd> {
    let lengths: Vec<&HeaderValue> = headers.get_all(header::CONTENT_LENGTH).iter().collect();
    let length = match lengths.first() {
        None => None,
        Some(first) => {
            if lengths.iter().any(|other| other != first) {
                return None;
            }
            Some(first.to_str().ok()?.trim().parse::<u64>().ok()?)
        }
    };
    match (headers.get(header::TRANSFER_ENCODING), length) {
        (Some(_), Some(_)) => None,
        (Some(coding), None) => {
            if !coding.to_str().ok()?.trim().eq_ignore_ascii_case("chunked") {
                return None;
            }
            Some(dechunk(rest))
        }
        (None, Some(length)) => {
            let wanted = usize::try_from(length).unwrap_or(usize::MAX);
            Some(if rest.len() >= wanted {
                BodyEnd::Complete(rest[..wanted].to_vec())
            } else {
                BodyEnd::Cut(rest.to_vec())
            })
        }
        (None, None) => Some(BodyEnd::Complete(Vec::new())),
    }
}

/// Decodes a chunked body with `httparse::parse_chunk_size`; trailers are skipped.
fn dechunk(mut rest: &[u8]) -> BodyEnd {
    let mut body = Vec::new();
    loop {
        let Ok(httparse::Status::Complete((used, size))) = httparse::parse_chunk_size(rest) else {
            return BodyEnd::Cut(body);
        };
        rest = &rest[used..];
        if size == 0 {
            return BodyEnd::Complete(body);
        }
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if rest.len() < size.saturating_add(2) || &rest[size..size + 2] != b"\r\n" {
            body.extend_from_slice(&rest[..size.min(rest.len())]);
            return BodyEnd::Cut(body);
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// Drops CR and LF, so that a built header or request line stays one line.
fn clean(text: &str) -> String {
    text.chars().filter(|c| *c != '\r' && *c != '\n').collect()
}

/// Percent-encodes everything but unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
