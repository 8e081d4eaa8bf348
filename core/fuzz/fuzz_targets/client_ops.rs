//! Fuzzes the whole client machine: one `Client` (fuzzed transports, `upgrade` and overflow
//! policy, short deadlines) is driven by any sequence of answers (fuzzed status, bodies built from
//! protocol packets or raw bytes), failures, socket opens/frames/writes/closes, reports for ids it
//! never issued, time, `send` and `close`, by a runtime that behaves (it opens, writes and
//! closes only the sockets it was asked for). After every step: no panic; at most one GET and
//! one POST outstanding; `Abort` names an outstanding request and `WsClose` a socket not closed
//! yet; `WsSend` goes to an open socket with no batch being written; `Connected` comes at most
//! once and before `Message`/`Upgraded`; exactly zero or one terminal event, `ConnectFailed`
//! only before `Connected`, nothing at all after it and nothing left outstanding;
//! `poll_timeout()` (and `!is_closed()`) hold until the terminal event and not after, and
//! `poll_timeout` is later than `now` after `handle_timeout(now)`; `send` after `close` fails.
//! Finally `close` plus time must end the client with its terminal event.
#![no_main]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use engineio_core::client::{Client, ClientConfig, ClientEvent, ClientTransmit};
use engineio_core::{
    BufferLimits, Bytes, Frame, Message, OverflowPolicy, RequestId as Id, SendError, Transports,
};
use libfuzzer_sys::fuzz_target;

const OPEN: &str = r#"0{"sid":"abc","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000}"#;

/// A packet for a body or a text frame: a protocol string, or fuzzed text.
#[rustfmt::skip]
#[derive(Arbitrary, Debug)]
enum Piece { Open, Ping, Msg, Noop, Close, Bin, Pong, Probe, Upgrade, Raw(String) }

/// `u8`s name the i-th most recent request or socket that the op makes sense for.
#[rustfmt::skip]
#[derive(Arbitrary, Debug)]
enum Op {
    Answer(u8, Option<u16>, Vec<Piece>, Option<Vec<u8>>), // status (`None`: 200), packets or raw
    Fail(u8),
    WsOpen(u8), WsFrame(u8, Piece, Option<Vec<u8>>), WsWritten(u8), WsClosed(u8),
    Stranger(u8, u8), // an outcome for an id the client never issued
    Advance(u16),
    Send(String, bool),
    Close,
}

#[derive(Arbitrary, Debug)]
struct Input {
    transports: u8,
    upgrade: bool,
    overflow: u8,
    ops: Vec<Op>,
}

/// What the runtime knows: the requests and sockets the client asked for and their state.
#[derive(Default)]
struct Model {
    requests: Vec<Id>, // every GET and POST
    get: Option<Id>,
    post: Option<Id>,
    sockets: Vec<Id>,
    opened: HashSet<Id>,
    writing: HashSet<Id>,
    closed: HashSet<Id>,   // closed by `WsClose` or `handle_ws_closed`
    reported: HashSet<Id>, // reported with `handle_ws_closed`
    connected: bool,
    closing: bool,
    terminal: Option<ClientEvent>,
}

fuzz_target!(|input: Input| {
    let none = Transports {
        polling: false,
        websocket: false,
    };
    let transports = [
        Transports::ALL,
        Transports::POLLING,
        Transports::WEBSOCKET,
        none,
    ];
    let policies = [
        OverflowPolicy::Reject,
        OverflowPolicy::DropOldest,
        OverflowPolicy::Close,
    ];
    let config = ClientConfig {
        transports: transports[usize::from(input.transports % 4)],
        upgrade: input.upgrade,
        connect_timeout: Duration::from_millis(1000),
        upgrade_timeout: Duration::from_millis(500),
        close_timeout: Duration::from_millis(300),
        buffer: BufferLimits {
            max_packets: 4,
            max_bytes: 256,
            overflow: policies[usize::from(input.overflow % 3)],
        },
        max_packets_per_payload: 8,
        ..ClientConfig::default()
    };
    let mut now = Instant::now();
    let mut client = Client::new(now, config);
    let mut m = Model::default();
    m.drain(&mut client);
    for op in input.ops {
        m.step(&mut client, &mut now, op);
        m.drain(&mut client);
    }
    client.close(now);
    m.drain(&mut client);
    for _ in 0..1000 {
        let Some(deadline) = client.poll_timeout() else {
            break;
        };
        now = now.max(deadline);
        client.handle_timeout(now);
        m.drain(&mut client);
    }
    assert!(
        m.terminal.is_some(),
        "close and time did not end the client"
    );
});

/// The `i`-th most recent element that passes `keep` (so that small numbers name live things).
fn pick(list: &[Id], i: u8, keep: impl Fn(&Id) -> bool) -> Option<Id> {
    let kept: Vec<Id> = list.iter().rev().copied().filter(keep).collect();
    kept.get(usize::from(i) % kept.len().max(1)).copied()
}

/// Packets joined as a polling payload.
fn body(pieces: &[Piece]) -> Bytes {
    let pieces: Vec<&str> = pieces.iter().map(text).collect();
    pieces.join("\x1e").into()
}

#[rustfmt::skip]
fn text(piece: &Piece) -> &str {
    match piece {
        Piece::Open => OPEN, Piece::Ping => "2", Piece::Msg => "4hi", Piece::Noop => "6",
        Piece::Close => "1", Piece::Bin => "bAQID", Piece::Pong => "3", Piece::Probe => "3probe",
        Piece::Upgrade => "5", Piece::Raw(s) => s,
    }
}

impl Model {
    fn step(&mut self, c: &mut Client, now: &mut Instant, op: Op) {
        let t = *now;
        match op {
            Op::Answer(i, status, pieces, raw) => {
                let body = raw.map_or_else(|| body(&pieces), Bytes::from);
                if let Some(id) = self.finish_request(i) {
                    c.handle_response(t, id, status.unwrap_or(200), body);
                }
            }
            Op::Fail(i) => {
                if let Some(id) = self.finish_request(i) {
                    c.handle_request_failed(t, id);
                }
            }
            Op::WsOpen(i) => {
                let fresh = |id: &Id| !self.opened.contains(id) && !self.reported.contains(id);
                if let Some(id) = pick(&self.sockets, i, fresh) {
                    self.opened.insert(id);
                    c.handle_ws_open(t, id);
                }
            }
            Op::WsFrame(i, piece, binary) => {
                let frame = binary.map_or_else(
                    || Frame::Text(text(&piece).into()),
                    |b| Frame::Binary(b.into()),
                );
                let open = |id: &Id| self.opened.contains(id) && !self.reported.contains(id);
                if let Some(id) = pick(&self.sockets, i, open) {
                    c.handle_ws_frame(t, id, frame);
                }
            }
            Op::WsWritten(i) => {
                if let Some(id) = pick(&self.sockets, i, |id| self.writing.contains(id)) {
                    self.writing.remove(&id);
                    c.handle_ws_written(t, id);
                }
            }
            Op::WsClosed(i) => {
                if let Some(id) = pick(&self.sockets, i, |id| !self.reported.contains(id)) {
                    self.reported.insert(id);
                    self.closed.insert(id);
                    self.writing.remove(&id);
                    c.handle_ws_closed(t, id);
                }
            }
            Op::Stranger(what, id) => {
                let id = Id(u64::MAX - u64::from(id));
                match what % 6 {
                    0 => c.handle_response(t, id, 200, Bytes::from_static(OPEN.as_bytes())),
                    1 => c.handle_request_failed(t, id),
                    2 => c.handle_ws_open(t, id),
                    3 => c.handle_ws_frame(t, id, Frame::Text(OPEN.into())),
                    4 => c.handle_ws_written(t, id),
                    _ => c.handle_ws_closed(t, id),
                }
            }
            Op::Advance(by) => {
                *now += Duration::from_millis(by.into());
                c.handle_timeout(*now);
                let next = c.poll_timeout();
                assert!(
                    next.map_or(true, |next| next > *now),
                    "a due deadline survived handle_timeout"
                );
            }
            Op::Send(text, binary) => {
                let message: Message = match binary {
                    true => Bytes::from(text.into_bytes()).into(),
                    false => text.into(),
                };
                let result = c.send(t, message);
                if self.closing || self.terminal.is_some() {
                    assert_eq!(
                        result,
                        Err(SendError::Closed),
                        "send after close or the end"
                    );
                }
            }
            Op::Close => {
                self.closing = true;
                c.close(t);
            }
        }
    }

    /// Picks a GET or POST to report on (outstanding ones first) and forgets it.
    fn finish_request(&mut self, i: u8) -> Option<Id> {
        let id = pick(&self.requests, i, |_| true)?;
        for slot in [&mut self.get, &mut self.post] {
            if *slot == Some(id) {
                *slot = None;
            }
        }
        Some(id)
    }

    fn drain(&mut self, c: &mut Client) {
        let ended = self.terminal.is_some();
        while let Some(transmit) = c.poll_transmit() {
            assert!(!ended, "{transmit:?} after {:?}", self.terminal);
            match transmit {
                ClientTransmit::Get { request, .. } => {
                    assert_eq!(self.get.replace(request), None, "a second GET outstanding");
                    self.requests.push(request);
                }
                ClientTransmit::Post { request, .. } => {
                    assert_eq!(
                        self.post.replace(request),
                        None,
                        "a second POST outstanding"
                    );
                    self.requests.push(request);
                }
                ClientTransmit::OpenWebSocket { socket, .. } => {
                    assert!(
                        !self.sockets.contains(&socket),
                        "socket {socket} opened twice"
                    );
                    self.sockets.push(socket);
                }
                ClientTransmit::WsSend { socket, .. } => {
                    let open = self.opened.contains(&socket) && !self.closed.contains(&socket);
                    assert!(open, "{transmit:?} on a socket not open");
                    assert!(
                        self.writing.insert(socket),
                        "{transmit:?} while a batch is being written"
                    );
                }
                ClientTransmit::WsClose { socket } => {
                    let live = self.sockets.contains(&socket) && !self.closed.contains(&socket);
                    assert!(live, "{transmit:?} for a socket not open or already closed");
                    self.closed.insert(socket);
                }
                ClientTransmit::Abort { request } => {
                    let slot = [&mut self.get, &mut self.post]
                        .into_iter()
                        .find(|slot| **slot == Some(request));
                    assert!(
                        slot.map(Option::take).is_some(),
                        "{transmit:?} for a request not outstanding"
                    );
                }
            }
        }
        while let Some(event) = c.poll_event() {
            assert_eq!(self.terminal, None, "{event:?} after the terminal event");
            match event {
                ClientEvent::Connected { .. } => {
                    assert!(!self.connected, "connected twice");
                    self.connected = true;
                }
                ClientEvent::Message(_) | ClientEvent::Upgraded => {
                    assert!(self.connected, "{event:?} before Connected")
                }
                ClientEvent::ConnectFailed(_) => {
                    assert!(!self.connected, "{event:?} after Connected");
                    self.terminal = Some(event);
                }
                ClientEvent::Disconnected(_) => self.terminal = Some(event),
            }
        }
        let done = self.terminal.is_some();
        assert_eq!(
            c.poll_timeout().is_none(),
            done,
            "poll_timeout must be Some exactly until the end"
        );
        assert_eq!(
            c.is_closed(),
            done,
            "is_closed disagrees with the terminal event"
        );
        if done {
            assert_eq!(
                (self.get, self.post),
                (None, None),
                "a request outlived the client"
            );
            let left: Vec<_> = self
                .sockets
                .iter()
                .filter(|id| !self.closed.contains(id))
                .collect();
            assert!(left.is_empty(), "sockets {left:?} outlived the client");
        }
    }
}
