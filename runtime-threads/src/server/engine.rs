//! The engine thread: the only owner of the protocol core.
//!
//! It is str0m's blocking run loop: wait on the command channel with `recv_timeout` until the
//! core's next deadline; feed what arrived (a request, a body chunk, a WebSocket frame, an API
//! call) or `handle_timeout`; drain every output; repeat. Draining routes each [`Transmit`] to
//! the thread that waits for it (a request's [`Outcome`] channel, a socket writer's
//! [`WsCommand`] channel) and each [`Event`] to the dispatcher, so the engine never blocks on
//! a socket and never runs application code. It stops when every sender is gone (the server
//! and all its connections dropped).

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Weak};
use std::time::Instant;

use bytes::Bytes;
use engineio_core::{
    Event, Frame, Method, Request, RequestId, Response, Server as CoreServer, Transmit,
};

use super::handlers::Job;
use super::shared::Shared;
use crate::ws::{SocketEnd, Token, WsCommand};
use engineio_core::http::{ConnectRequest, StoredRequest};
use engineio_core::id_map::{shrink_when_sparse, IdMap};

/// The routing facts of a request, owned so that they can cross to the engine thread.
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) method: Method,
    pub(crate) query: String,
    pub(crate) websocket: bool,
    pub(crate) content_type: Option<String>,
    pub(crate) content_length: Option<u64>,
    pub(crate) origin: Option<Vec<u8>>,
}

impl Head {
    fn as_request(&self) -> Request<'_> {
        Request {
            method: self.method,
            query: &self.query,
            websocket: self.websocket,
            content_type: self.content_type.as_deref(),
            content_length: self.content_length,
            origin: self.origin.as_deref(),
        }
    }
}

/// An API call run on the engine thread.
pub(crate) type Call = Box<dyn FnOnce(&mut CoreServer, Instant) + Send>;

/// The most commands handled between two drains.
const MAX_BURST: usize = 64;

/// Everything the engine thread is told.
pub(crate) enum Command {
    /// A new request to the Engine.IO path; its outcome goes to `outcome`.
    Request {
        id: RequestId,
        head: Head,
        /// A handshake's request, packed; the session keeps it, and handlers get it rebuilt.
        /// Boxed: the other commands are a few words.
        info: Option<Box<StoredRequest>>,
        outcome: Sender<Outcome>,
    },
    Body(RequestId, Bytes),
    BodyEnd(RequestId),
    /// The peer went away before the request was answered.
    RequestClosed(RequestId),
    /// A data frame, with its share of the reader's backpressure.
    WsFrame(RequestId, Frame, Token),
    WsWritten(RequestId),
    WsEnded(RequestId, SocketEnd),
    Call(Call),
}

/// What the core decided about a request.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Write this response; the request is done.
    Respond(Response),
    /// Read the body and feed it to the core.
    ReadBody,
    /// Complete the WebSocket handshake; the receiver carries what to write on the socket.
    Accept(Receiver<WsCommand>),
    /// The last body chunk was taken and the core wants more (it answers instead when the
    /// body crosses `maxPayload`).
    BodyTaken,
}

struct Pending {
    outcome: Sender<Outcome>,
    info: Option<Box<StoredRequest>>,
}

struct Engine {
    core: CoreServer,
    shared: Weak<Shared>,
    pending: IdMap<RequestId, Pending>,
    sockets: IdMap<RequestId, Sender<WsCommand>>,
    /// Sockets whose reader reported their end during this input.
    ended: Vec<RequestId>,
    /// A request whose body chunk was fed by this input; it hears back after the drain.
    body_taken: Option<RequestId>,
}

/// Starts the engine thread.
pub(crate) fn spawn(core: CoreServer, shared: Weak<Shared>, commands: Receiver<Command>) {
    let engine = Engine {
        core,
        shared,
        pending: IdMap::default(),
        sockets: IdMap::default(),
        ended: Vec::new(),
        body_taken: None,
    };
    std::thread::Builder::new()
        .name("engineio-engine".into())
        .spawn(move || engine.run(&commands))
        .expect("the engine thread starts");
}

impl Engine {
    fn run(mut self, commands: &Receiver<Command>) {
        loop {
            let now = Instant::now();
            let received = match self.core.poll_timeout() {
                Some(deadline) if deadline <= now => None,
                Some(deadline) => match commands.recv_timeout(deadline - now) {
                    Ok(command) => Some(command),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return,
                },
                None => match commands.recv() {
                    Ok(command) => Some(command),
                    Err(_) => return,
                },
            };
            let now = Instant::now();
            match received {
                Some(command) => self.handle_burst(now, command, commands),
                None => self.core.handle_timeout(now),
            }
            self.drain();
        }
    }

    /// Handles `first` and the commands already queued behind it (up to [`MAX_BURST`]) before
    /// one drain: a client's burst of frames, read in one go, then reaches the session's
    /// handlers as one batch, and what they send leaves as one write, instead of a drain and
    /// a round of thread wake-ups per frame. A body chunk ends the burst: its reader hears
    /// back after the drain.
    fn handle_burst(&mut self, now: Instant, first: Command, commands: &Receiver<Command>) {
        self.handle(now, first);
        for _ in 1..MAX_BURST {
            if self.body_taken.is_some() {
                return;
            }
            match commands.try_recv() {
                Ok(command) => self.handle(now, command),
                Err(_) => return,
            }
        }
    }

    fn handle(&mut self, now: Instant, command: Command) {
        let core = &mut self.core;
        match command {
            Command::Request {
                id,
                head,
                info,
                outcome,
            } => {
                self.pending.insert(id, Pending { outcome, info });
                core.handle_request(now, id, head.as_request());
            }
            Command::Body(id, chunk) => {
                core.handle_body(now, id, chunk);
                self.body_taken = Some(id);
            }
            Command::BodyEnd(id) => core.handle_body_end(now, id),
            Command::RequestClosed(id) => {
                if self.pending.remove(&id).is_some() {
                    core.handle_request_closed(now, id);
                }
            }
            Command::WsFrame(socket, frame, _token) => core.handle_ws_frame(now, socket, frame),
            Command::WsWritten(socket) => core.handle_ws_written(now, socket),
            Command::WsEnded(socket, end) => {
                // The socket is forgotten after the drain, so that a close the core sends in
                // answer (1002, 1007, 1009 for a failure) still reaches the writer.
                self.ended.push(socket);
                match end {
                    SocketEnd::Closed => core.handle_ws_closed(now, socket),
                    SocketEnd::Failed(failure) => core.handle_ws_error(now, socket, failure),
                }
            }
            Command::Call(call) => call(core, now),
        }
    }

    /// Routes every output of the core.
    fn drain(&mut self) {
        let shared = self.shared.upgrade();
        loop {
            let mut progressed = false;
            while let Some(event) = self.core.poll_event() {
                progressed = true;
                if let Some(shared) = &shared {
                    self.route_event(shared, event);
                }
            }
            while let Some(transmit) = self.core.poll_transmit() {
                progressed = true;
                self.route_transmit(transmit);
            }
            if !progressed {
                break;
            }
        }
        for socket in self.ended.drain(..) {
            self.sockets.remove(&socket);
        }
        shrink_when_sparse(&mut self.sockets);
        shrink_when_sparse(&mut self.pending);
        // After the drain, so that a 413 given for this chunk comes first.
        if let Some(pending) = self.body_taken.take().and_then(|id| self.pending.get(&id)) {
            let _ = pending.outcome.send(Outcome::BodyTaken);
        }
        if let Some(shared) = shared {
            shared.set_live(self.core.session_count());
        }
    }

    /// The handshake request of `request`, rebuilt for a handler.
    fn info(&self, request: RequestId) -> Option<Arc<ConnectRequest>> {
        let info = self.pending.get(&request)?.info.as_ref()?;
        Some(Arc::new(info.to_request()))
    }

    /// Takes the packed handshake request of `request` over for its session.
    fn take_info(&mut self, request: RequestId) -> Option<StoredRequest> {
        self.pending
            .get_mut(&request)?
            .info
            .take()
            .map(|info| *info)
    }

    fn route_event(&mut self, shared: &Shared, event: Event) {
        match event {
            Event::Authorize { request, .. } => match self.info(request) {
                Some(info) => shared
                    .dispatcher
                    .spawn(super::dispatch::Task::Authorize(request, info)),
                None => tracing::warn!(%request, "authorization asked for an unknown request"),
            },
            Event::Connecting { sid, request, .. } => {
                if let Some(info) = self.take_info(request) {
                    let handed = Arc::new(info.to_request());
                    shared.open_session(sid, info);
                    shared.queue_job(sid, Job::Connect(handed));
                }
            }
            Event::Connected { sid, request, .. } => {
                if !shared.has_session(&sid) {
                    if let Some(info) = self.take_info(request) {
                        shared.open_session(sid, info);
                    }
                }
                if let Some(incoming) = &shared.incoming {
                    incoming.connected(shared, sid);
                }
            }
            Event::Message { sid, message } => {
                if !shared.queue_job(sid, Job::Message(message)) {
                    tracing::warn!(%sid, "message handlers fell too far behind; closing the session");
                    let _ = self.core.close(Instant::now(), &sid);
                }
            }
            Event::Upgraded { sid } => tracing::debug!(%sid, "upgraded"),
            Event::Disconnected { sid, reason } => {
                shared.queue_job(sid, Job::Disconnect(reason));
            }
            other => tracing::debug!(?other, "unhandled event"),
        }
    }

    fn route_transmit(&mut self, transmit: Transmit) {
        match transmit {
            Transmit::Respond { request, response } => {
                if let Some(pending) = self.pending.remove(&request) {
                    let _ = pending.outcome.send(Outcome::Respond(response));
                }
            }
            Transmit::ReadBody { request } => {
                if let Some(pending) = self.pending.get(&request) {
                    let _ = pending.outcome.send(Outcome::ReadBody);
                }
            }
            Transmit::AcceptWebSocket { request } => {
                let (commands, receiver) = mpsc::channel();
                self.sockets.insert(request, commands);
                if let Some(pending) = self.pending.remove(&request) {
                    let _ = pending.outcome.send(Outcome::Accept(receiver));
                }
            }
            Transmit::WsSend { socket, frames } => {
                if let Some(commands) = self.sockets.get(&socket) {
                    let _ = commands.send(WsCommand::Send(frames));
                }
            }
            Transmit::WsClose { socket, code } => {
                if let Some(commands) = self.sockets.remove(&socket) {
                    let _ = commands.send(WsCommand::Close(code));
                }
            }
        }
    }
}
