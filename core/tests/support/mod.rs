//! A simulated runtime for the server core: it plays the HTTP and WebSocket side by hand,
//! records every response, frame and event, and moves time by jumping from deadline to
//! deadline, so that minutes of heartbeat run in microseconds.
//!
//! It also checks the core's promises on every step: a request is answered at most once, and
//! `poll_timeout()` is `Some` whenever a session exists.
#![allow(dead_code, unreachable_pub, clippy::disallowed_methods)]

pub mod pair;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engineio_core::{
    Bytes, Event, Frame, Request, RequestId, Response, Server, ServerConfig, Sid, Transmit,
};

/// The options most tests use: short, distinct intervals so that timing mistakes show.
pub fn test_config() -> ServerConfig {
    ServerConfig {
        ping_interval: Duration::from_millis(300),
        ping_timeout: Duration::from_millis(200),
        upgrade_timeout: Duration::from_millis(1_000),
        ..ServerConfig::default()
    }
}

/// A server core plus the bookkeeping of the runtime that would drive it.
pub struct Raw {
    pub server: Server,
    pub now: Instant,
    next_id: u64,
    responses: HashMap<RequestId, Response>,
    answered: HashSet<RequestId>,
    pub body_wanted: HashSet<RequestId>,
    pub accepted: HashSet<RequestId>,
    frames: HashMap<RequestId, Vec<Frame>>,
    pub closed: HashMap<RequestId, u16>,
    pub events: Vec<Event>,
    /// Acknowledge every WebSocket batch as soon as it is drained (a runtime that writes at once).
    pub auto_written: bool,
}

impl Raw {
    pub fn new(config: ServerConfig) -> Self {
        Self {
            server: Server::new(Arc::new(config), [42; 32]),
            now: Instant::now(),
            next_id: 0,
            responses: HashMap::new(),
            answered: HashSet::new(),
            body_wanted: HashSet::new(),
            accepted: HashSet::new(),
            frames: HashMap::new(),
            closed: HashMap::new(),
            events: Vec::new(),
            auto_written: true,
        }
    }

    pub fn next_id(&mut self) -> RequestId {
        self.next_id += 1;
        RequestId(self.next_id)
    }

    /// Drains every output, checking the drain contract's invariants.
    pub fn drain(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(transmit) = self.server.poll_transmit() {
                progressed = true;
                match transmit {
                    Transmit::Respond { request, response } => {
                        assert!(self.answered.insert(request), "{request} answered twice");
                        assert!(
                            !self.accepted.contains(&request),
                            "{request} answered after 101"
                        );
                        self.responses.insert(request, response);
                    }
                    Transmit::ReadBody { request } => {
                        self.body_wanted.insert(request);
                    }
                    Transmit::AcceptWebSocket { request } => {
                        assert!(self.answered.insert(request), "{request} answered twice");
                        self.accepted.insert(request);
                    }
                    Transmit::WsSend { socket, frames } => {
                        assert!(
                            self.accepted.contains(&socket),
                            "frames for unaccepted {socket}"
                        );
                        self.frames.entry(socket).or_default().extend(frames);
                        if self.auto_written {
                            self.server.handle_ws_written(self.now, socket);
                        }
                    }
                    Transmit::WsClose { socket, code } => {
                        self.closed.insert(socket, code);
                    }
                }
            }
            while let Some(event) = self.server.poll_event() {
                progressed = true;
                self.events.push(event);
            }
            if !progressed {
                break;
            }
        }
        if self.server.session_count() > 0 {
            assert!(
                self.server.poll_timeout().is_some(),
                "a session exists without a deadline"
            );
        }
    }

    pub fn request(&mut self, head: Request<'_>) -> RequestId {
        let id = self.next_id();
        self.server.handle_request(self.now, id, head);
        self.drain();
        id
    }

    pub fn get(&mut self, query: &str) -> RequestId {
        self.request(Request::get(query))
    }

    /// A POST with its whole body, sent only if the core asks for it.
    pub fn post(&mut self, query: &str, body: &[u8]) -> RequestId {
        self.post_with(Request::post(query), body)
    }

    pub fn post_with(&mut self, head: Request<'_>, body: &[u8]) -> RequestId {
        let id = self.request(head);
        if self.body_wanted.remove(&id) {
            if !body.is_empty() {
                self.server
                    .handle_body(self.now, id, Bytes::copy_from_slice(body));
                self.drain();
            }
            if !self.answered.contains(&id) {
                self.server.handle_body_end(self.now, id);
                self.drain();
            }
        }
        id
    }

    pub fn ws(&mut self, query: &str) -> RequestId {
        self.request(Request::websocket(query))
    }

    pub fn ws_send(&mut self, socket: RequestId, frame: Frame) {
        self.server.handle_ws_frame(self.now, socket, frame);
        self.drain();
    }

    /// Hands frames read together to the core in one call, and drains.
    pub fn ws_send_all(&mut self, socket: RequestId, texts: &[&'static str]) {
        let frames = texts.iter().map(|text| Frame::Text((*text).into()));
        self.server.handle_ws_frames(self.now, socket, frames);
        self.drain();
    }

    pub fn ws_text(&mut self, socket: RequestId, text: &'static str) {
        self.ws_send(socket, Frame::Text(text.into()));
    }

    /// Sends a message from the application and drains.
    pub fn send(&mut self, sid: &Sid, message: impl Into<engineio_core::Message>) {
        self.server.send(self.now, sid, message).expect("send");
        self.drain();
    }

    /// Takes the response of a request, if it has one yet.
    pub fn response(&mut self, id: RequestId) -> Option<Response> {
        self.responses.remove(&id)
    }

    /// Takes the response and returns its status and body text.
    pub fn answer(&mut self, id: RequestId) -> (u16, String) {
        let response = self
            .response(id)
            .unwrap_or_else(|| panic!("{id} has no response"));
        (
            response.status,
            String::from_utf8_lossy(&response.body).into_owned(),
        )
    }

    pub fn is_answered(&self, id: RequestId) -> bool {
        self.answered.contains(&id)
    }

    /// Takes the frames written on a socket so far, as text (`b:` + hex for binary).
    pub fn frames(&mut self, socket: RequestId) -> Vec<String> {
        self.frames
            .remove(&socket)
            .unwrap_or_default()
            .into_iter()
            .map(|frame| match frame {
                Frame::Text(text) => text.to_string(),
                Frame::Binary(bytes) => format!("bin:{bytes:?}"),
            })
            .collect()
    }

    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Moves time forward by `by`, firing each deadline at its own instant on the way.
    pub fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        while let Some(deadline) = self.server.poll_timeout() {
            if deadline > target {
                break;
            }
            self.now = self.now.max(deadline);
            self.server.handle_timeout(self.now);
            self.drain();
        }
        self.now = target;
        self.server.handle_timeout(self.now);
        self.drain();
    }

    /// A polling handshake; returns the new session id.
    pub fn handshake(&mut self) -> Sid {
        let id = self.get("EIO=4&transport=polling");
        let (status, body) = self.answer(id);
        assert_eq!(status, 200, "{body}");
        sid_of(&body)
    }

    /// A polling session upgraded to WebSocket; returns its id and socket.
    pub fn upgraded(&mut self) -> (Sid, RequestId) {
        let sid = self.handshake();
        let socket = self.ws(&format!("EIO=4&transport=websocket&sid={sid}"));
        self.ws_text(socket, "2probe");
        assert_eq!(self.frames(socket), ["3probe"]);
        self.ws_text(socket, "5");
        (sid, socket)
    }
}

/// Reads the sid out of a handshake body `0{…}` (possibly followed by more packets).
pub fn sid_of(body: &str) -> Sid {
    let json = body.split('\u{1e}').next().unwrap();
    let open: serde_json::Value = serde_json::from_str(&json[1..]).expect("open packet JSON");
    Sid::parse(open["sid"].as_str().unwrap()).expect("a 20-character sid")
}

/// The `{"code":N,"message":…}` of an error body.
pub fn error_code(body: &str) -> u64 {
    let value: serde_json::Value = serde_json::from_str(body).expect("JSON error body");
    value["code"].as_u64().expect("numeric code")
}
