//! The client's engine thread: the only owner of the sans-IO client core.
//!
//! The loop waits with `recv_timeout` until the core's deadline for an [`Input`]: an outcome
//! from an I/O thread, a command from a [`Client`](super::Client) handle (`send` waits for the
//! core's verdict), or the last handle going away. It feeds that to the core, then drains
//! `poll_transmit` and `poll_event` until `None`: each transmit becomes a job for a polling
//! [`Worker`], a new WebSocket, or a command to a socket's writer, and each event a job for the
//! dispatcher. It stops after the terminal event. Every protocol decision is the core's.
//!
//! The engine keeps the inbound [`Backlog`](engineio_core::http::backlog::Backlog) exact:
//! each WebSocket data frame arrives with the unit its reader reserved, which the message the
//! core makes of it takes over (or which is released when the frame makes none); a poll
//! response's messages are added as they come. The dispatcher releases them once delivered.

use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use engineio_core::client::{Client as Core, ClientEvent, ClientTransmit};
use engineio_core::{DisconnectReason, Frame, Message, RequestId, SendError};

use super::dispatch::{Job, Shared};
use super::net::Context;
use super::polling::{HttpJob, Worker};
use super::{websocket, ConnectError};
use crate::ws::{Token, WsCommand};

/// What the engine is told.
#[derive(Debug)]
pub(crate) enum Input {
    /// A polling request was answered.
    Response {
        request: RequestId,
        status: u16,
        body: Bytes,
    },
    /// A polling request failed without an answer.
    Failed {
        request: RequestId,
        error: ConnectError,
    },
    WsOpen {
        socket: RequestId,
    },
    WsFrame {
        socket: RequestId,
        frame: Frame,
        /// The reader's backpressure, returned when this input is dropped.
        _token: Token,
    },
    WsWritten {
        socket: RequestId,
    },
    /// The socket closed, failed, or failed to open (`error`).
    WsClosed {
        socket: RequestId,
        error: Option<ConnectError>,
    },
    /// `Client::send`: queue the message and answer with the core's verdict.
    Send(Message, SyncSender<Result<(), SendError>>),
    /// `Client::disconnect`.
    Close,
    /// The last application handle was dropped.
    HandlesDropped,
}

/// Which worker carries a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Get,
    Post,
}

pub(super) struct Engine {
    pub(super) core: Core,
    pub(super) ctx: Arc<Context>,
    pub(super) shared: Arc<Shared>,
    pub(super) inputs: Receiver<Input>,
    pub(super) input_sender: Sender<Input>,
    pub(super) jobs: Sender<Job>,
    /// `connect()`, until the handshake succeeds or fails.
    pub(super) connecting: Option<SyncSender<Result<(), ConnectError>>>,
}

/// The engine's running state beside the core.
#[derive(Default)]
struct Io {
    /// The last network error before the handshake completed, for a precise `ConnectError`.
    handshake_error: Option<ConnectError>,
    get: Option<Worker>,
    post: Option<Worker>,
    in_flight: HashMap<RequestId, Kind>,
    sockets: HashMap<RequestId, Sender<WsCommand>>,
    /// Sockets with a batch being written (the last one may carry the close packet).
    writing: HashSet<RequestId>,
    ended: Option<DisconnectReason>,
    /// Backlog units reserved by the readers for the input just fed, not yet taken over by a
    /// message.
    reserved: usize,
}

impl Engine {
    pub(super) fn run(mut self) {
        let mut io = Io::default();
        loop {
            if self.drain(&mut io) {
                break;
            }
            let now = Instant::now();
            let input = match self.core.poll_timeout() {
                Some(deadline) if deadline <= now => None,
                Some(deadline) => match self.inputs.recv_timeout(deadline - now) {
                    Ok(input) => Some(input),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                },
                None => match self.inputs.recv() {
                    Ok(input) => Some(input),
                    Err(_) => break,
                },
            };
            let now = Instant::now();
            match input {
                Some(input) => self.feed(&mut io, now, input),
                None => self.core.handle_timeout(now),
            }
        }
        for worker in [&io.get, &io.post].into_iter().flatten() {
            worker.abort_current();
        }
        // Nothing more is read: the readers still waiting for room stop waiting.
        self.ctx.backlog.close();
        // On WebSocket the close packet is the last batch: `disconnect()` returns once it is
        // written, so that a program may exit right after.
        self.finish_writes(&mut io);
        if let Some(reason) = io.ended {
            self.shared.set_ended(reason);
            let _ = self.jobs.send(Job::Disconnect(reason));
        }
        // Dropping `io` closes the writers and stops the workers.
    }

    /// Waits (within the request timeout) until the batches being written are out.
    fn finish_writes(&self, io: &mut Io) {
        let deadline = Instant::now() + self.ctx.request_timeout;
        while !io.writing.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.inputs.recv_timeout(left) {
                Ok(Input::WsWritten { socket } | Input::WsClosed { socket, .. }) => {
                    io.writing.remove(&socket);
                }
                Ok(Input::Send(_, reply)) => {
                    let _ = reply.send(Err(SendError::Closed));
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }

    /// Drains the core; returns true after the terminal event.
    fn drain(&mut self, io: &mut Io) -> bool {
        let mut terminal = false;
        loop {
            let transmits: Vec<_> = std::iter::from_fn(|| self.core.poll_transmit()).collect();
            let events: Vec<_> = std::iter::from_fn(|| self.core.poll_event()).collect();
            if transmits.is_empty() && events.is_empty() {
                break;
            }
            // Published before the writes go out and the events are delivered: the core
            // switches transport when it hands out the upgrade packet, which the server may
            // see at once, and `sid()` must be known when `connect()` returns.
            self.shared.set_info(self.core.sid(), self.core.transport());
            // The messages are counted before the next long-poll GET goes out, so that the
            // GET waits for them to be handled.
            self.count_messages(io, &events);
            for transmit in transmits {
                self.execute(io, transmit);
            }
            for event in events {
                terminal |= self.deliver(io, event);
            }
        }
        // A frame that made no message (a ping, a noop) gives its reservation back.
        self.ctx.backlog.release(std::mem::take(&mut io.reserved));
        let transport = self.core.transport();
        self.shared.set_info(self.core.sid(), transport);
        terminal
    }

    /// Accounts messages in the backlog: each takes over the reservation of the frame it came
    /// from, if any; the others (a poll's) are added.
    fn count_messages(&self, io: &mut Io, events: &[ClientEvent]) {
        let messages = events
            .iter()
            .filter(|event| matches!(event, ClientEvent::Message(_)))
            .count();
        let taken_over = messages.min(io.reserved);
        io.reserved -= taken_over;
        self.ctx.backlog.add(messages - taken_over);
    }

    fn feed(&mut self, io: &mut Io, now: Instant, input: Input) {
        let core = &mut self.core;
        match input {
            Input::Response {
                request,
                status,
                body,
            } => {
                io.in_flight.remove(&request);
                core.handle_response(now, request, status, body);
            }
            Input::Failed { request, error } => {
                io.in_flight.remove(&request);
                tracing::debug!(%error, %request, "engine.io polling request failed");
                if self.connecting.is_some() {
                    io.handshake_error = Some(error);
                }
                core.handle_request_failed(now, request);
            }
            Input::WsOpen { socket } => core.handle_ws_open(now, socket),
            Input::WsFrame { socket, frame, .. } => {
                io.reserved += 1;
                core.handle_ws_frame(now, socket, frame);
            }
            Input::WsWritten { socket } => {
                io.writing.remove(&socket);
                core.handle_ws_written(now, socket);
            }
            Input::WsClosed { socket, error } => {
                io.sockets.remove(&socket);
                io.writing.remove(&socket);
                if let (Some(error), Some(_)) = (error, &self.connecting) {
                    io.handshake_error = Some(error);
                }
                core.handle_ws_closed(now, socket);
            }
            Input::Send(message, reply) => {
                let _ = reply.send(core.send(now, message));
            }
            Input::Close | Input::HandlesDropped => core.close(now),
        }
    }

    fn worker<'a>(&self, io: &'a mut Io, kind: Kind) -> Option<&'a Worker> {
        let slot = match kind {
            Kind::Get => &mut io.get,
            Kind::Post => &mut io.post,
        };
        if slot.is_none() {
            match Worker::spawn(Arc::clone(&self.ctx), self.input_sender.clone()) {
                Ok(worker) => *slot = Some(worker),
                Err(error) => tracing::error!(%error, "cannot start a polling thread"),
            }
        }
        slot.as_ref()
    }

    fn execute(&mut self, io: &mut Io, transmit: ClientTransmit) {
        let handshake = self.core.open_packet().is_none();
        let timeout = Some(self.ctx.request_timeout);
        match transmit {
            // Long-poll GETs are bounded by the core's heartbeat, not by a request timeout.
            ClientTransmit::Get { request, query } => {
                let job = HttpJob {
                    request,
                    query,
                    body: None,
                    timeout: timeout.filter(|_| handshake),
                    gated: !handshake,
                };
                self.submit(io, Kind::Get, job);
            }
            ClientTransmit::Post {
                request,
                query,
                body,
            } => {
                let job = HttpJob {
                    request,
                    query,
                    body: Some(body),
                    timeout,
                    gated: false,
                };
                self.submit(io, Kind::Post, job);
            }
            ClientTransmit::OpenWebSocket { socket, query } => {
                let max_payload = self.core.open_packet().map(|open| open.max_payload);
                let writer = websocket::spawn(
                    Arc::clone(&self.ctx),
                    socket,
                    query,
                    max_payload,
                    self.input_sender.clone(),
                );
                io.sockets.insert(socket, writer);
            }
            ClientTransmit::WsSend { socket, frames } => {
                if let Some(writer) = io.sockets.get(&socket) {
                    if writer.send(WsCommand::Send(frames)).is_ok() {
                        io.writing.insert(socket);
                    }
                }
            }
            ClientTransmit::WsClose { socket } => {
                if let Some(writer) = io.sockets.remove(&socket) {
                    let _ = writer.send(WsCommand::Close(1000));
                }
            }
            ClientTransmit::Abort { request } => {
                if let Some(kind) = io.in_flight.remove(&request) {
                    if let Some(worker) = self.worker(io, kind) {
                        worker.abort(request);
                    }
                }
            }
        }
    }

    fn submit(&self, io: &mut Io, kind: Kind, job: HttpJob) {
        let request = job.request;
        let submitted = self
            .worker(io, kind)
            .map(|worker| worker.submit(job).is_ok());
        if submitted == Some(true) {
            io.in_flight.insert(request, kind);
        } else {
            let error = ConnectError::Io(io::Error::other("the polling thread is gone"));
            let _ = self.input_sender.send(Input::Failed { request, error });
        }
    }

    /// Passes an event on; returns true for the terminal event.
    fn deliver(&mut self, io: &mut Io, event: ClientEvent) -> bool {
        match event {
            ClientEvent::Connected { sid, transport } => {
                tracing::debug!(%sid, %transport, "engine.io client connected");
                io.handshake_error = None;
                if let Some(connecting) = self.connecting.take() {
                    let _ = connecting.send(Ok(()));
                }
                let _ = self.jobs.send(Job::Connect);
                false
            }
            ClientEvent::Message(message) => {
                let _ = self.jobs.send(Job::Message(message));
                false
            }
            ClientEvent::Upgraded => {
                tracing::debug!("engine.io client upgraded to websocket");
                false
            }
            ClientEvent::ConnectFailed(error) => {
                let error = ConnectError::handshake_failed(error, io.handshake_error.take());
                tracing::debug!(%error, "engine.io client failed to connect");
                if let Some(connecting) = self.connecting.take() {
                    let _ = connecting.send(Err(error));
                }
                true
            }
            ClientEvent::Disconnected(reason) => {
                tracing::debug!(%reason, "engine.io client disconnected");
                match self.connecting.take() {
                    Some(connecting) => {
                        let _ = connecting.send(Err(ConnectError::closed_before_handshake(reason)));
                    }
                    None => io.ended = Some(reason),
                }
                true
            }
        }
    }
}
