//! Fuzzes the whole server machine: one `Server` (300 ms ping, 200 ms timeout, small limits,
//! fuzzed `authorize` / `confirm_connect` / overflow policy) is driven by any sequence of
//! requests, bodies, WebSocket frames, time and application commands, and after every step the
//! drain contract holds: no panic; a request gets at most one `Respond`/`AcceptWebSocket` and
//! none once reported closed; `ReadBody` comes once, for an unanswered POST; `WsSend`/`WsClose`
//! only on accepted sockets not closed yet; a session holds at most one unanswered GET;
//! `poll_timeout` is `Some` while a session or an `Authorize` waits, and later than `now` after
//! `handle_timeout(now)`; a sid gets `Connected` once (after `Connecting` iff confirming),
//! `Message`/`Upgraded`/`Disconnected` only after it and `Disconnected` at most once; commands
//! find a connected session exactly until its `Disconnected`; `authorize` succeeds exactly for
//! handshakes still waiting. Finally `shutdown` plus time must end every session (each with
//! `Disconnected`) and answer every request.
#![no_main]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use engineio_core::{Authorization, BufferLimits, Bytes, Event, Frame, Message, Method};
use engineio_core::{OverflowPolicy, Request, RequestId as Id, SendError, Server, ServerConfig};
use engineio_core::{Sid, Transmit, WsFailure};
use libfuzzer_sys::fuzz_target;

/// A packet for a body or a text frame: a protocol string, or fuzzed text.
#[rustfmt::skip]
#[derive(Arbitrary, Debug)]
enum Text { Probe, Upgrade, Pong, Close, Msg, Ping, Noop, Bin, Raw(String) }

/// A query; `None` leaves the parameter out. `sid: Some(None)` is well-formed but unknown,
/// `transport` picks polling/websocket/junk, `again` repeats `transport` (never valid).
#[rustfmt::skip]
#[derive(Arbitrary, Debug)]
struct Query { eio4: Option<bool>, transport: Option<u8>, sid: Option<Option<u8>>, b64: bool, again: bool }

/// `method` picks GET/POST/other, `content_type` none/text/octet-stream.
#[rustfmt::skip]
#[derive(Arbitrary, Debug)]
struct Head { method: u8, websocket: bool, query: Query, content_type: u8, length: Option<u16>, origin: Option<Vec<u8>> }

/// `u8`s name the i-th most recent request, socket or sid.
#[rustfmt::skip]
#[derive(Arbitrary, Debug)]
enum Op {
    Request(Head),
    Handshake(bool),     // a valid handshake over polling, or WebSocket
    Poll(u8),            // a valid GET for a known sid
    Post(u8, Vec<Text>), // a valid POST for a known sid, its body if asked for, and its end
    Upgrade(u8, u8),     // a valid WebSocket upgrade for a known sid, then 0-2 of `2probe`, `5`
    Body(u8, Vec<Text>, Option<Vec<u8>>), BodyEnd(u8), RequestClosed(u8),
    WsFrame(u8, Text, Option<Vec<u8>>), WsWritten(u8), WsClosed(u8), WsError(u8, u8),
    Advance(u16),
    Send(u8, Text, bool), Close(u8), CloseAll, Shutdown,
    Authorize(u8, bool), Accept(u8), Reject(u8),
}

#[derive(Arbitrary, Debug)]
struct Input {
    authorize: bool,
    confirm: bool,
    initial: bool,
    overflow: u8,
    ops: Vec<Op>,
}

/// What the runtime knows: every request, socket and session the server told it about.
#[derive(Default)]
struct Model {
    confirm: bool,
    requests: Vec<Id>,
    gets: HashMap<Id, String>, // GETs naming a sid, with that sid
    posts: HashSet<Id>,
    answered: HashSet<Id>,
    closed: HashSet<Id>, // reported with `handle_request_closed`
    reading: Vec<Id>,
    sockets: Vec<Id>,
    dead: HashSet<Id>, // closed by `WsClose` or `handle_ws_closed`
    authorizing: Vec<Id>,
    decided: HashSet<Id>, // passed to `authorize`
    sids: Vec<Sid>,
    connecting: HashSet<Sid>,
    connected: HashSet<Sid>,
    gone: HashSet<Sid>,
}

fuzz_target!(|input: Input| {
    let ms = Duration::from_millis;
    let policies = [
        OverflowPolicy::Reject,
        OverflowPolicy::DropOldest,
        OverflowPolicy::Close,
    ];
    let overflow = policies[usize::from(input.overflow % 3)];
    let config = ServerConfig {
        ping_interval: ms(300),
        ping_timeout: ms(200),
        upgrade_timeout: ms(1000),
        close_timeout: ms(500),
        handshake_timeout: ms(700),
        max_payload: 4096,
        max_packets_per_payload: 8,
        buffer: BufferLimits {
            max_packets: 4,
            max_bytes: 256,
            overflow,
        },
        authorize: input.authorize,
        confirm_connect: input.confirm,
        initial_message: input.initial.then(|| "hi".into()),
        ..ServerConfig::default()
    };
    let mut server = Server::new(Arc::new(config), [7; 32]);
    let mut now = Instant::now();
    let mut m = Model {
        confirm: input.confirm,
        ..Model::default()
    };
    for op in input.ops {
        m.step(&mut server, &mut now, op);
        m.drain(&mut server);
    }
    server.shutdown(now);
    m.drain(&mut server);
    for _ in 0..1000 {
        let Some(deadline) = server.poll_timeout() else {
            break;
        };
        now = now.max(deadline);
        server.handle_timeout(now);
        m.drain(&mut server);
    }
    let end = (server.poll_timeout(), server.session_count());
    assert_eq!(end, (None, 0), "shutdown and time did not end the server");
    assert!(
        m.connected.is_subset(&m.gone),
        "a session ended without Disconnected"
    );
    let never = m.requests.iter().find(|id| m.waiting(id));
    assert_eq!(never, None, "a request was never answered");
});

/// The `i`-th most recent element.
fn pick<T: Copy>(list: &[T], i: u8) -> Option<T> {
    list.iter()
        .rev()
        .nth(usize::from(i) % list.len().max(1))
        .copied()
}

fn body(texts: &[Text]) -> Bytes {
    let texts: Vec<&str> = texts.iter().map(text).collect();
    texts.join("\x1e").into()
}

#[rustfmt::skip]
fn text(text: &Text) -> &str {
    match text {
        Text::Probe => "2probe", Text::Upgrade => "5", Text::Pong => "3", Text::Close => "1",
        Text::Msg => "4x", Text::Ping => "2", Text::Noop => "6", Text::Bin => "bAQID",
        Text::Raw(s) => s,
    }
}

/// A request that passes routing: EIO=4, `transport` polling (0) or websocket (1), maybe a sid.
fn valid(method: u8, websocket: bool, transport: u8, sid: Option<u8>) -> Head {
    let sid = sid.map(Some);
    let query = Query {
        eio4: Some(true),
        transport: Some(transport),
        sid,
        b64: false,
        again: false,
    };
    Head {
        method,
        websocket,
        query,
        content_type: 1,
        length: None,
        origin: None,
    }
}

impl Model {
    /// Not answered, and not abandoned by the runtime.
    fn waiting(&self, id: &Id) -> bool {
        !self.answered.contains(id) && !self.closed.contains(id)
    }

    fn request(&mut self, s: &mut Server, now: Instant, head: &Head) -> Id {
        let q = &head.query;
        let mut parts = Vec::new();
        if let Some(four) = q.eio4 {
            parts.push(format!("EIO={}", if four { 4 } else { 3 }));
        }
        if let Some(t) = q.transport {
            parts.push(format!(
                "transport={}",
                ["polling", "websocket", "junk"][usize::from(t % 3)]
            ));
        }
        let sid = q.sid.map(|i| match i.map(|i| pick(&self.sids, i)) {
            Some(Some(known)) => known.to_string(),
            Some(None) => "junk".to_owned(),
            None => "AAAAAAAAAAAAAAAAAAAA".to_owned(),
        });
        parts.extend(sid.iter().map(|sid| format!("sid={sid}")));
        parts.extend(q.b64.then(|| "b64=1".to_owned()));
        parts.extend(q.again.then(|| "transport=polling".to_owned()));
        let query = parts.join("&");
        let id = Id(self.requests.len() as u64 + 1);
        self.requests.push(id);
        let method = [Method::Get, Method::Post, Method::Other][usize::from(head.method % 3)];
        match (method, sid) {
            (Method::Get, Some(sid)) => drop(self.gets.insert(id, sid)),
            (Method::Post, _) => drop(self.posts.insert(id)),
            _ => {}
        }
        let types = [
            None,
            Some("text/plain;charset=UTF-8"),
            Some("application/octet-stream"),
        ];
        let request = Request {
            method,
            query: &query,
            websocket: head.websocket,
            content_type: types[usize::from(head.content_type % 3)],
            content_length: head.length.map(u64::from),
            origin: head.origin.as_deref(),
        };
        s.handle_request(now, id, request);
        id
    }

    fn step(&mut self, s: &mut Server, now: &mut Instant, op: Op) {
        let t = *now;
        let open: Vec<Id> = self
            .requests
            .iter()
            .copied()
            .filter(|id| self.waiting(id))
            .collect();
        match op {
            Op::Request(head) => drop(self.request(s, t, &head)),
            Op::Handshake(ws) => drop(self.request(s, t, &valid(0, ws, ws.into(), None))),
            Op::Poll(i) => drop(self.request(s, t, &valid(0, false, 0, Some(i)))),
            Op::Upgrade(i, frames) => {
                let id = self.request(s, t, &valid(0, true, 1, Some(i)));
                for frame in ["2probe", "5"].into_iter().take(usize::from(frames % 3)) {
                    self.drain(s);
                    if self.sockets.contains(&id) {
                        s.handle_ws_frame(t, id, Frame::Text(frame.into()));
                    }
                }
            }
            Op::Post(i, texts) => {
                let id = self.request(s, t, &valid(1, false, 0, Some(i)));
                self.drain(s);
                if self.reading.contains(&id) {
                    s.handle_body(t, id, body(&texts));
                    self.drain(s);
                    if !self.answered.contains(&id) {
                        s.handle_body_end(t, id);
                    }
                }
            }
            Op::Body(i, texts, raw) => {
                if let Some(id) = pick(&self.reading, i) {
                    s.handle_body(t, id, raw.map_or_else(|| body(&texts), Bytes::from));
                }
            }
            Op::BodyEnd(i) => {
                if let Some(id) = pick(&self.reading, i) {
                    s.handle_body_end(t, id);
                }
            }
            Op::RequestClosed(i) => {
                if let Some(id) = pick(&open, i) {
                    self.closed.insert(id);
                    s.handle_request_closed(t, id);
                }
            }
            Op::WsFrame(i, frame, binary) => {
                let frame = match binary {
                    Some(bytes) => Frame::Binary(bytes.into()),
                    None => Frame::Text(text(&frame).into()),
                };
                if let Some(id) = pick(&self.sockets, i) {
                    s.handle_ws_frame(t, id, frame);
                }
            }
            Op::WsWritten(i) => {
                if let Some(id) = pick(&self.sockets, i) {
                    s.handle_ws_written(t, id);
                }
            }
            Op::WsClosed(i) => {
                if let Some(id) = pick(&self.sockets, i) {
                    self.dead.insert(id);
                    s.handle_ws_closed(t, id);
                }
            }
            Op::WsError(i, failure) => {
                let failures = [
                    WsFailure::Protocol,
                    WsFailure::InvalidUtf8,
                    WsFailure::TooLarge,
                ];
                if let Some(id) = pick(&self.sockets, i) {
                    s.handle_ws_error(t, id, failures[usize::from(failure % 3)]);
                }
            }
            Op::Advance(by) => {
                *now += Duration::from_millis(by.into());
                s.handle_timeout(*now);
                let next = s.poll_timeout();
                assert!(
                    next.map_or(true, |next| next > *now),
                    "a due deadline survived handle_timeout"
                );
            }
            Op::Send(i, message, binary) => {
                let message: Message = match binary {
                    true => Bytes::copy_from_slice(text(&message).as_bytes()).into(),
                    false => text(&message).to_owned().into(),
                };
                self.command(i, |sid| s.send(t, sid, message));
            }
            Op::Close(i) => self.command(i, |sid| s.close(t, sid)),
            Op::CloseAll => s.close_all(t),
            Op::Shutdown => s.shutdown(t),
            Op::Authorize(i, accept) => {
                if let Some(id) = pick(&self.authorizing, i) {
                    let decision = match accept {
                        true => Authorization::Accept,
                        false => Authorization::Reject {
                            status: 403,
                            message: "no".into(),
                        },
                    };
                    let waiting = self.waiting(&id) && self.decided.insert(id);
                    assert_eq!(
                        s.authorize(t, id, decision).is_ok(),
                        waiting,
                        "authorize({id})"
                    );
                }
            }
            Op::Accept(i) => self.command(i, |sid| s.accept_connect(t, sid)),
            Op::Reject(i) => self.command(i, |sid| s.reject_connect(t, sid, None)),
        }
    }

    /// Runs a command on a known sid: a connected session exists until its `Disconnected`.
    fn command(&self, i: u8, run: impl FnOnce(&Sid) -> Result<(), SendError>) {
        let Some(sid) = pick(&self.sids, i) else {
            return;
        };
        let unknown = run(&sid) == Err(SendError::UnknownSession);
        if self.connected.contains(&sid) {
            assert_eq!(unknown, self.gone.contains(&sid), "session {sid} existence");
        }
    }

    fn drain(&mut self, s: &mut Server) {
        while let Some(transmit) = s.poll_transmit() {
            match transmit {
                Transmit::Respond { request: id, .. }
                | Transmit::AcceptWebSocket { request: id } => {
                    assert!(
                        !self.closed.contains(&id),
                        "{id} answered after it closed: {transmit:?}"
                    );
                    assert!(
                        self.answered.insert(id),
                        "{id} answered twice: {transmit:?}"
                    );
                    if let Transmit::AcceptWebSocket { .. } = transmit {
                        self.sockets.push(id);
                    }
                }
                Transmit::ReadBody { request: id } => {
                    let fresh = self.waiting(&id) && !self.reading.contains(&id);
                    assert!(self.posts.contains(&id) && fresh, "ReadBody for {id}");
                    self.reading.push(id);
                }
                Transmit::WsSend { socket, .. } | Transmit::WsClose { socket, .. } => {
                    let live = self.sockets.contains(&socket) && !self.dead.contains(&socket);
                    assert!(
                        live,
                        "{transmit:?} on a socket not accepted or already closed"
                    );
                    if let Transmit::WsClose { .. } = transmit {
                        self.dead.insert(socket);
                    }
                }
            }
        }
        while let Some(event) = s.poll_event() {
            match event {
                Event::Authorize { request, .. } => {
                    assert!(self.waiting(&request), "{event:?} for an answered request");
                    self.authorizing.push(request);
                }
                Event::Connecting { sid, .. } => {
                    assert!(!self.sids.contains(&sid), "sid {sid} reused");
                    self.sids.push(sid);
                    self.connecting.insert(sid);
                }
                Event::Connected { sid, .. } => {
                    assert!(self.connected.insert(sid), "{sid} connected twice");
                    assert_eq!(self.connecting.contains(&sid), self.confirm, "{event:?}");
                    if !self.confirm {
                        assert!(!self.sids.contains(&sid), "sid {sid} reused");
                        self.sids.push(sid);
                    }
                }
                Event::Message { sid, .. }
                | Event::Upgraded { sid }
                | Event::Disconnected { sid, .. } => {
                    let live = self.connected.contains(&sid) && !self.gone.contains(&sid);
                    assert!(
                        live,
                        "{event:?} for a session not connected or already gone"
                    );
                    if let Event::Disconnected { .. } = event {
                        self.gone.insert(sid);
                    }
                }
                _ => {}
            }
        }
        let mut authorizing = self
            .authorizing
            .iter()
            .filter(|id| !self.decided.contains(id));
        if s.session_count() > 0 || authorizing.any(|id| self.waiting(id)) {
            assert!(
                s.poll_timeout().is_some(),
                "a session or handshake waits without a deadline"
            );
        }
        let live = self.connected.difference(&self.gone).count();
        assert!(s.session_count() >= live, "a connected session vanished");
        let mut held: HashMap<&str, usize> = HashMap::new();
        for (id, sid) in self.gets.iter().filter(|(id, _)| self.waiting(id)) {
            *held.entry(sid.as_str()).or_default() += 1;
            assert!(
                held[sid.as_str()] <= 1,
                "session {sid} holds two GETs, the last {id}"
            );
        }
    }
}
