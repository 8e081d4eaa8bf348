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
use engineio_core::{
    Authorization, BufferLimits, Bytes, Event, Frame, Message, Method, OverflowPolicy,
};
use engineio_core::{Request, RequestId as Id, SendError, Server, ServerConfig, Sid, Transmit};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Piece {
    Eio4,
    Eio3,
    Polling,
    Websocket,
    JunkTransport,
    B64,
    Sid(Option<u8>),
}

#[derive(Arbitrary, Debug)]
enum Text {
    Probe,
    Upgrade,
    Pong,
    Close,
    Msg,
    Ping,
    Noop,
    Bin,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Op {
    Request {
        method: u8,
        websocket: bool,
        query: Vec<Piece>,
        content_type: u8,
        length: Option<u16>,
        origin: Option<Vec<u8>>,
    },
    Body(u8, Vec<Text>, Option<Vec<u8>>),
    BodyEnd(u8),
    RequestClosed(u8),
    WsFrame(u8, Text, Option<Vec<u8>>),
    WsWritten(u8),
    WsClosed(u8),
    WsError(u8, bool),
    Advance(u16),
    Send(u8, Text, bool),
    Close(u8),
    CloseAll,
    Shutdown,
    Authorize(u8, bool),
    Accept(u8),
    Reject(u8),
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
    let unanswered = |id: &&Id| !m.answered.contains(id) && !m.closed.contains(id);
    assert_eq!(
        m.requests.iter().find(unanswered),
        None,
        "a request was never answered"
    );
});

/// The `i`-th most recent element (so that small numbers name live things).
fn pick<T: Copy>(list: &[T], i: u8) -> Option<T> {
    list.iter()
        .rev()
        .nth(usize::from(i) % list.len().max(1))
        .copied()
}

fn text(text: &Text) -> &str {
    match text {
        Text::Probe => "2probe",
        Text::Upgrade => "5",
        Text::Pong => "3",
        Text::Close => "1",
        Text::Msg => "4x",
        Text::Ping => "2",
        Text::Noop => "6",
        Text::Bin => "bAQID",
        Text::Raw(s) => s,
    }
}

impl Model {
    fn query(&self, pieces: &[Piece], sid: &mut Option<String>) -> String {
        let piece = |piece: &Piece| match piece {
            Piece::Eio4 => "EIO=4".to_owned(),
            Piece::Eio3 => "EIO=3".to_owned(),
            Piece::Polling => "transport=polling".to_owned(),
            Piece::Websocket => "transport=websocket".to_owned(),
            Piece::JunkTransport => "transport=junk".to_owned(),
            Piece::B64 => "b64=1".to_owned(),
            Piece::Sid(i) => {
                let value = match i.map(|i| pick(&self.sids, i)) {
                    Some(Some(known)) => known.to_string(),
                    Some(None) => "junk".to_owned(),
                    None => "AAAAAAAAAAAAAAAAAAAA".to_owned(), // well-formed, unknown
                };
                format!("sid={}", sid.insert(value))
            }
        };
        pieces.iter().map(piece).collect::<Vec<_>>().join("&")
    }

    fn step(&mut self, s: &mut Server, now: &mut Instant, op: Op) {
        let t = *now;
        let open: Vec<Id> = self
            .requests
            .iter()
            .copied()
            .filter(|id| !self.answered.contains(id) && !self.closed.contains(id))
            .collect();
        match op {
            Op::Request {
                method,
                websocket,
                query,
                content_type,
                length,
                origin,
            } => {
                let mut sid = None;
                let query = self.query(&query, &mut sid);
                let id = Id(self.requests.len() as u64 + 1);
                self.requests.push(id);
                let method = [Method::Get, Method::Post, Method::Other][usize::from(method % 3)];
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
                let content_type = types[usize::from(content_type % 3)];
                let content_length = length.map(u64::from);
                let origin = origin.as_deref();
                s.handle_request(
                    t,
                    id,
                    Request {
                        method,
                        query: &query,
                        websocket,
                        content_type,
                        content_length,
                        origin,
                    },
                );
            }
            Op::Body(i, texts, raw) => {
                let body = raw.unwrap_or_else(|| {
                    texts
                        .iter()
                        .map(text)
                        .collect::<Vec<_>>()
                        .join("\x1e")
                        .into_bytes()
                });
                if let Some(id) = pick(&self.reading, i) {
                    s.handle_body(t, id, Bytes::from(body));
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
                let frame = binary.map_or_else(
                    || Frame::Text(text(&frame).into()),
                    |b| Frame::Binary(b.into()),
                );
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
            Op::WsError(i, too_large) => {
                if let Some(id) = pick(&self.sockets, i) {
                    s.handle_ws_error(t, id, too_large);
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
                    let waiting = !self.answered.contains(&id)
                        && !self.closed.contains(&id)
                        && self.decided.insert(id);
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
                        self.answered.insert(id),
                        "{id} answered twice: {transmit:?}"
                    );
                    assert!(
                        !self.closed.contains(&id),
                        "{id} answered after it closed: {transmit:?}"
                    );
                    if let Transmit::AcceptWebSocket { .. } = transmit {
                        self.sockets.push(id);
                    }
                }
                Transmit::ReadBody { request: id } => {
                    let fresh = !self.answered.contains(&id)
                        && !self.closed.contains(&id)
                        && !self.reading.contains(&id);
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
                    assert!(
                        !self.answered.contains(&request),
                        "{event:?} for an answered request"
                    );
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
        let waiting = |id: &&Id| !self.answered.contains(id) && !self.closed.contains(id);
        let authorizing = self
            .authorizing
            .iter()
            .filter(|id| !self.decided.contains(id));
        if s.session_count() > 0 || authorizing.into_iter().any(|id| waiting(&id)) {
            assert!(
                s.poll_timeout().is_some(),
                "a session or handshake waits without a deadline"
            );
        }
        let live = self.connected.difference(&self.gone).count();
        assert!(s.session_count() >= live, "a connected session vanished");
        let mut held: HashMap<&str, usize> = HashMap::new();
        for (id, sid) in &self.gets {
            if waiting(&id) {
                *held.entry(sid.as_str()).or_default() += 1;
            }
        }
        assert!(
            held.values().all(|&n| n <= 1),
            "one session holds two GETs: {held:?}"
        );
    }
}
