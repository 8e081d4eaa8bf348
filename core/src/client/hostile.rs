//! A randomized test: arbitrary input sequences never panic and never break the contract.
//!
//! A deterministic random walk feeds the client responses, failures, frames, socket events,
//! timeouts, sends and closes, aimed mostly at the requests and sockets it has in use, and
//! checks after every input: ids are fresh, at most one GET, one POST and one `WsSend` batch
//! per socket are outstanding, at most one `Connected` and one `Upgraded`, exactly one terminal
//! event, nothing after it, and `poll_timeout` is `Some` exactly until then.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::test_util::*;
use crate::packet::{Frame, Message};
use crate::types::{OverflowPolicy, RequestId, Transports};

/// xorshift64*: a tiny deterministic generator.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        let index = usize::try_from(self.below(items.len() as u64)).unwrap_or(0);
        items[index]
    }
}

const OPENS: &[&[u8]] = &[
    b"0{\"sid\":\"s\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":12}",
    b"0{\"sid\":\"t\",\"upgrades\":[],\"pingInterval\":0,\"pingTimeout\":0,\"maxPayload\":0}\x1e4hi",
    b"0{\"sid\":\"u\",\"upgrades\":[\"websocket\"],\"pingInterval\":60000,\"pingTimeout\":1}\x1e2\x1e1",
];

const BENIGN: &[&[u8]] = &[b"3probe", b"6", b"2", b"4x"];

const GARBAGE: &[&[u8]] = &[
    b"1",
    b"3",
    b"4a\x1e2\x1e6",
    b"",
    b"\x1e",
    b"2probe",
    b"5",
    b"b!!",
    b"bAQ==",
    b"0{",
    b"\xff\xfe",
    b"7",
    b"4\xff",
    b"0{\"sid\":\"s\"}",
    b"6\x1e6\x1e6",
];

/// What the test has observed of one client.
struct Harness {
    seed: u64,
    client: Client,
    now: Instant,
    seen: BTreeSet<RequestId>,
    gets: BTreeSet<RequestId>,
    posts: BTreeSet<RequestId>,
    sockets: BTreeSet<RequestId>,
    writing: BTreeSet<RequestId>,
    connected: bool,
    upgraded: bool,
    terminal: bool,
}

impl Harness {
    /// Drains the client and checks every invariant.
    fn check(&mut self) {
        let seed = self.seed;
        let (transmits, events) = drain(&mut self.client);
        if self.terminal {
            assert_eq!((&transmits, &events), (&vec![], &vec![]), "seed {seed}");
        }
        for transmit in transmits {
            match transmit {
                ClientTransmit::Get { request, .. } => {
                    assert!(self.gets.is_empty(), "two GETs in flight (seed {seed})");
                    assert!(self.seen.insert(request), "reused id (seed {seed})");
                    self.gets.insert(request);
                }
                ClientTransmit::Post { request, .. } => {
                    assert!(self.posts.is_empty(), "two POSTs in flight (seed {seed})");
                    assert!(self.seen.insert(request), "reused id (seed {seed})");
                    self.posts.insert(request);
                }
                ClientTransmit::OpenWebSocket { socket, .. } => {
                    assert!(self.seen.insert(socket), "reused id (seed {seed})");
                    self.sockets.insert(socket);
                }
                ClientTransmit::WsSend { socket, frames } => {
                    assert!(!frames.is_empty(), "seed {seed}");
                    assert!(
                        self.sockets.contains(&socket),
                        "unknown socket (seed {seed})"
                    );
                    assert!(self.writing.insert(socket), "two batches (seed {seed})");
                }
                ClientTransmit::WsClose { socket } => {
                    assert!(self.sockets.remove(&socket), "unknown socket (seed {seed})");
                    self.writing.remove(&socket);
                }
                ClientTransmit::Abort { request } => {
                    let known = self.gets.remove(&request) || self.posts.remove(&request);
                    assert!(known, "abort of an idle request (seed {seed})");
                }
            }
        }
        for event in events {
            let before_end = !self.terminal;
            match event {
                ClientEvent::Connected { .. } => {
                    assert!(!self.connected && before_end, "seed {seed}");
                    self.connected = true;
                }
                ClientEvent::Upgraded => {
                    assert!(
                        self.connected && !self.upgraded && before_end,
                        "seed {seed}"
                    );
                    self.upgraded = true;
                }
                ClientEvent::Message(_) => assert!(self.connected && before_end, "seed {seed}"),
                ClientEvent::ConnectFailed(_) => {
                    assert!(!self.connected && before_end, "seed {seed}");
                    self.terminal = true;
                }
                ClientEvent::Disconnected(_) => {
                    assert!(before_end, "seed {seed}");
                    self.terminal = true;
                }
            }
        }
        assert_eq!(
            self.client.poll_timeout().is_none(),
            self.terminal,
            "seed {seed}"
        );
        assert_eq!(self.client.is_closed(), self.terminal, "seed {seed}");
    }

    /// Forgets a request the test reports an outcome for.
    fn answered(&mut self, id: RequestId) {
        self.gets.remove(&id);
        self.posts.remove(&id);
    }

    /// Feeds one random input.
    fn step(&mut self, rng: &mut Rng) {
        // Mostly aim at requests and sockets in use; otherwise at the newest ids (they are
        // allocated in order) or at one not allocated yet.
        let live: Vec<RequestId> = self
            .gets
            .iter()
            .chain(&self.posts)
            .chain(&self.sockets)
            .copied()
            .collect();
        let id = if !live.is_empty() && rng.below(3) > 0 {
            rng.pick(&live)
        } else {
            RequestId((self.seen.len() as u64 + 1).saturating_sub(rng.below(6)))
        };
        // Bias towards answers that keep the connection going, so that the walk gets deep.
        let body: &'static [u8] = match rng.below(8) {
            0..=5 if !self.connected => rng.pick(OPENS),
            0..=5 => rng.pick(BENIGN),
            _ => rng.pick(GARBAGE),
        };
        let body = Bytes::from_static(body);
        let now = self.now;
        match rng.below(20) {
            0..=4 => {
                self.answered(id);
                let status = if rng.below(20) == 0 { 500 } else { 200 };
                self.client.handle_response(now, id, status, body);
            }
            5 => {
                self.answered(id);
                self.client.handle_request_failed(now, id);
            }
            6 => self.client.handle_ws_open(now, id),
            7 | 8 => {
                // A cooperative server: the probe opens, `2probe` is written, `3probe` comes,
                // and the held GET is released with a noop.
                self.client.handle_ws_open(now, id);
                self.check();
                self.writing.remove(&id);
                self.client.handle_ws_written(now, id);
                self.check();
                self.client
                    .handle_ws_frame(now, id, Frame::Text("3probe".into()));
                if let Some(&get) = self.gets.first() {
                    self.check();
                    self.answered(get);
                    self.client
                        .handle_response(now, get, 200, Bytes::from_static(b"6"));
                }
            }
            9 | 10 => {
                let frame = match std::str::from_utf8(&body) {
                    Ok(text) if rng.below(4) > 0 => Frame::Text(text.to_owned().into()),
                    _ => Frame::Binary(body),
                };
                self.client.handle_ws_frame(now, id, frame);
            }
            11 | 12 => {
                self.writing.remove(&id);
                self.client.handle_ws_written(now, id);
            }
            13 if rng.below(4) == 0 => {
                self.writing.remove(&id);
                self.sockets.remove(&id);
                self.client.handle_ws_closed(now, id);
            }
            13..=16 => {
                let step = if rng.below(4) == 0 { 30_000 } else { 500 };
                self.now += Duration::from_millis(rng.below(step));
                self.client.handle_timeout(self.now);
            }
            17 if rng.below(8) == 0 => self.client.close(now),
            _ => {
                let size = usize::try_from(rng.below(12)).unwrap_or(0);
                let _ = self.client.send(now, Message::Binary(vec![1; size].into()));
            }
        }
        self.check();
    }
}

/// Runs one walk; returns whether it connected and whether it upgraded.
fn hostile_run(seed: u64, config: ClientConfig) -> (bool, bool) {
    let mut rng = Rng(seed);
    let now = origin();
    let mut harness = Harness {
        seed,
        client: Client::new(now, config),
        now,
        seen: BTreeSet::new(),
        gets: BTreeSet::new(),
        posts: BTreeSet::new(),
        sockets: BTreeSet::new(),
        writing: BTreeSet::new(),
        connected: false,
        upgraded: false,
        terminal: false,
    };
    harness.check();
    for _ in 0..400 {
        harness.step(&mut rng);
    }
    // Every deadline ends the client eventually.
    for _ in 0..10 {
        let Some(deadline) = harness.client.poll_timeout() else {
            break;
        };
        harness.client.handle_timeout(deadline);
        harness.check();
    }
    assert!(harness.terminal, "seed {seed}: no terminal event");
    (harness.connected, harness.upgraded)
}

#[test]
fn hostile_input_never_panics() {
    let configs = [
        ClientConfig::default(),
        ClientConfig {
            transports: Transports::WEBSOCKET,
            ..ClientConfig::default()
        },
        ClientConfig {
            max_packets_per_payload: 2,
            timestamp_requests: false,
            ..one_slot(OverflowPolicy::Close)
        },
        one_slot(OverflowPolicy::DropOldest),
    ];
    let (mut connected, mut upgraded) = (0, 0);
    for seed in 1..400u64 {
        for config in &configs {
            let run = hostile_run(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15), config.clone());
            connected += usize::from(run.0);
            upgraded += usize::from(run.1);
        }
    }
    // The walk reaches the interesting states, not only the handshake.
    assert!(
        connected > 300 && upgraded > 15,
        "connected {connected}, upgraded {upgraded}"
    );
}
