//! The driver: one task per client that feeds the sans-IO core and carries out what it asks.
//!
//! The loop waits for the first of: an [`Input`] from an I/O task, a kick after a command
//! (`send`, `disconnect`), the last handle going away, or the core's deadline on the runtime
//! timer. It feeds that to the core with `runtime.now()`, then drains `poll_transmit` and
//! `poll_event` until `None`: each transmit becomes a small task (an HTTP request, a WebSocket)
//! or a command to one, and each event a job for the dispatcher. It stops after the terminal
//! event. Every protocol decision is the core's; the driver only maps I/O onto it.
//!
//! The driver keeps the inbound [`Backlog`](engineio_core::http::backlog::Backlog) exact:
//! each WebSocket data frame arrives with the unit its reader reserved, which the message the
//! core makes of it takes over (or which is released when the frame makes none); a poll
//! response's messages are added as they come. The dispatcher releases them once delivered.

use std::collections::{HashMap, HashSet};
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use engineio_core::client::{Client as Core, ClientConfig, ClientEvent, ClientTransmit};
use engineio_core::packet::Frame;
use engineio_core::runtime::{sleep_until, Timer};
use engineio_core::{DisconnectReason, RequestId};
use futures_channel::mpsc::{self, UnboundedReceiver, UnboundedSender};
use futures_channel::oneshot;
use futures_util::future::{select, AbortHandle, Abortable, Either};
use futures_util::{FutureExt, StreamExt};

use super::dispatch::{self, Handlers, Job, Shared};
use super::net::Context;
use super::websocket::{self, WriterCommand};
use super::{http, Alive, Client, ConnectError};

/// What an I/O task reports to the driver.
#[derive(Debug)]
pub(super) enum Input {
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
    },
    WsWritten {
        socket: RequestId,
    },
    /// The socket closed, failed, or failed to open (`error`).
    WsClosed {
        socket: RequestId,
        error: Option<ConnectError>,
    },
}

/// Why the driver woke up.
enum Wake {
    Input(Input),
    Kick,
    HandlesDropped,
    Timer,
}

struct Driver {
    shared: Arc<Shared>,
    ctx: Arc<Context>,
    inputs: UnboundedReceiver<Input>,
    input_sender: UnboundedSender<Input>,
    kicks: UnboundedReceiver<()>,
    /// Completes when the last handle is dropped; `None` after.
    alive: Option<oneshot::Receiver<()>>,
    jobs: UnboundedSender<Job>,
    /// `connect()`, until the handshake succeeds or fails.
    connecting: Option<oneshot::Sender<Result<(), ConnectError>>>,
    /// The last network error before the handshake completed, for a precise `ConnectError`.
    handshake_error: Option<ConnectError>,
    requests: HashMap<RequestId, AbortHandle>,
    sockets: HashMap<RequestId, UnboundedSender<WriterCommand>>,
    /// Sockets with a batch being written (the last one may carry the close packet).
    writing: HashSet<RequestId>,
    /// The end of the connection, told to the application once the last writes are out.
    ended: Option<DisconnectReason>,
    timer: Option<Pin<Box<dyn Timer>>>,
    /// The deadline the timer is armed for (`None` after it fired).
    armed: Option<Instant>,
    /// Backlog units reserved by the readers for the input just fed, not yet taken over by a
    /// message.
    reserved: usize,
}

/// Creates the core, starts the driver and the dispatcher, and waits for the handshake.
pub(super) async fn start(
    ctx: Arc<Context>,
    config: ClientConfig,
    handlers: Handlers,
) -> Result<Client, ConnectError> {
    let runtime = ctx.runtime.clone();
    let backlog = ctx.backlog.clone();
    let core = Core::new(runtime.now(), config);
    let (kick_sender, kicks) = mpsc::unbounded();
    let shared = Arc::new(Shared::new(runtime.clone(), core, kick_sender, backlog));
    let (alive_sender, alive) = oneshot::channel();
    let alive_token = Arc::new(Alive {
        _sender: alive_sender,
    });
    let (jobs, job_receiver) = mpsc::unbounded();
    let (connecting, connected) = oneshot::channel();
    let (input_sender, inputs) = mpsc::unbounded();
    let driver = Driver {
        shared: shared.clone(),
        ctx,
        inputs,
        input_sender,
        kicks,
        alive: Some(alive),
        jobs,
        connecting: Some(connecting),
        handshake_error: None,
        requests: HashMap::new(),
        sockets: HashMap::new(),
        writing: HashSet::new(),
        ended: None,
        timer: None,
        armed: None,
        reserved: 0,
    };
    runtime.spawn(Box::pin(driver.run()));
    runtime.spawn(Box::pin(dispatch::run(
        shared.clone(),
        Arc::downgrade(&alive_token),
        handlers,
        job_receiver,
    )));
    let client = Client {
        shared,
        _alive: Some(alive_token),
    };
    match connected.await {
        Ok(Ok(())) => Ok(client),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(ConnectError::Protocol(
            "the client's driver task stopped".to_owned(),
        )),
    }
}

impl Driver {
    async fn run(mut self) {
        loop {
            if self.drain() {
                break;
            }
            let wake = poll_fn(|cx| self.poll_wake(cx)).await;
            let now = self.shared.runtime.now();
            match wake {
                Wake::Input(input) => self.feed(now, input),
                Wake::Kick => self.shared.clear_kick(),
                Wake::HandlesDropped => self.shared.core().close(now),
                Wake::Timer => {
                    self.armed = None;
                    self.shared.core().handle_timeout(now);
                }
            }
        }
        for (_, request) in self.requests.drain() {
            request.abort();
        }
        // Nothing more is read: the readers still waiting for room stop waiting.
        self.ctx.backlog.close();
        // On WebSocket the close packet is the last batch: `disconnect()` resolves once it is
        // written, so that a program may exit right after.
        self.finish_writes().await;
        if let Some(reason) = self.ended {
            self.shared.set_ended(reason);
            let _ = self.jobs.unbounded_send(Job::Disconnect(reason));
        }
        // Dropping `sockets` closes the writers still open.
    }

    /// Waits (within the request timeout) until the batches being written are out.
    async fn finish_writes(&mut self) {
        if self.writing.is_empty() {
            return;
        }
        let runtime = self.shared.runtime.clone();
        let deadline = runtime.now() + self.ctx.request_timeout;
        let mut sleep = sleep_until(&*runtime, deadline);
        while !self.writing.is_empty() {
            match select(self.inputs.next(), &mut sleep).await {
                Either::Left((
                    Some(Input::WsWritten { socket } | Input::WsClosed { socket, .. }),
                    _,
                )) => {
                    self.writing.remove(&socket);
                }
                Either::Left((Some(_), _)) => {}
                Either::Left((None, _)) | Either::Right(_) => break,
            }
        }
    }

    /// Drains the core: carries out the transmits, delivers the events, re-arms the timer.
    /// Returns true after the terminal event.
    fn drain(&mut self) -> bool {
        let (transmits, events, deadline, handshake, max_payload) = {
            let mut core = self.shared.core();
            let transmits: Vec<_> = std::iter::from_fn(|| core.poll_transmit()).collect();
            let events: Vec<_> = std::iter::from_fn(|| core.poll_event()).collect();
            let open = core.open_packet();
            (
                transmits,
                events,
                core.poll_timeout(),
                open.is_none(),
                open.map(|open| open.max_payload),
            )
        };
        // The messages are counted before the next long-poll GET goes out, so that the GET
        // waits for them to be handled.
        self.count_messages(&events);
        for transmit in transmits {
            self.execute(transmit, handshake, max_payload);
        }
        let mut terminal = false;
        for event in events {
            terminal |= self.deliver(event);
        }
        self.arm(deadline);
        terminal
    }

    /// Accounts the messages of one drain in the backlog: each takes over the reservation of
    /// the frame it came from, if any; the others (a poll's) are added; a reservation whose
    /// frame made no message (a ping, a noop) is given back.
    fn count_messages(&mut self, events: &[ClientEvent]) {
        let reserved = std::mem::take(&mut self.reserved);
        let messages = events
            .iter()
            .filter(|event| matches!(event, ClientEvent::Message(_)))
            .count();
        let taken_over = messages.min(reserved);
        self.ctx.backlog.add(messages - taken_over);
        self.ctx.backlog.release(reserved - taken_over);
    }

    fn poll_wake(&mut self, cx: &mut TaskContext<'_>) -> Poll<Wake> {
        if let Poll::Ready(Some(input)) = self.inputs.poll_next_unpin(cx) {
            return Poll::Ready(Wake::Input(input));
        }
        if let Some(alive) = &mut self.alive {
            if alive.poll_unpin(cx).is_ready() {
                self.alive = None;
                return Poll::Ready(Wake::HandlesDropped);
            }
        }
        if let Poll::Ready(Some(())) = self.kicks.poll_next_unpin(cx) {
            return Poll::Ready(Wake::Kick);
        }
        if let Some(timer) = &mut self.timer {
            if timer.as_mut().poll_elapsed(cx).is_ready() {
                return Poll::Ready(Wake::Timer);
            }
        }
        Poll::Pending
    }

    fn arm(&mut self, deadline: Option<Instant>) {
        let Some(deadline) = deadline else {
            self.timer = None;
            self.armed = None;
            return;
        };
        if self.armed == Some(deadline) {
            return;
        }
        self.armed = Some(deadline);
        match &mut self.timer {
            Some(timer) => timer.as_mut().reset(deadline),
            None => self.timer = Some(self.shared.runtime.timer(deadline)),
        }
    }

    fn feed(&mut self, now: Instant, input: Input) {
        let mut core = self.shared.core();
        match input {
            Input::Response {
                request,
                status,
                body,
            } => {
                self.requests.remove(&request);
                core.handle_response(now, request, status, body);
            }
            Input::Failed { request, error } => {
                self.requests.remove(&request);
                tracing::debug!(%error, %request, "engine.io polling request failed");
                if self.connecting.is_some() {
                    self.handshake_error = Some(error);
                }
                core.handle_request_failed(now, request);
            }
            Input::WsOpen { socket } => core.handle_ws_open(now, socket),
            Input::WsFrame { socket, frame } => {
                self.reserved += 1;
                core.handle_ws_frame(now, socket, frame);
            }
            Input::WsWritten { socket } => {
                self.writing.remove(&socket);
                core.handle_ws_written(now, socket);
            }
            Input::WsClosed { socket, error } => {
                self.sockets.remove(&socket);
                self.writing.remove(&socket);
                if let (Some(error), Some(_)) = (error, &self.connecting) {
                    self.handshake_error = Some(error);
                }
                core.handle_ws_closed(now, socket);
            }
        }
    }

    fn execute(&mut self, transmit: ClientTransmit, handshake: bool, max_payload: Option<u64>) {
        let timeout = Some(self.ctx.request_timeout);
        match transmit {
            // Long-poll GETs are bounded by the core's heartbeat, not by a request timeout,
            // and wait for room in the backlog: that is how polling stops reading.
            ClientTransmit::Get { request, query } => {
                let timeout = timeout.filter(|_| handshake);
                self.request(request, query, None, timeout, !handshake);
            }
            ClientTransmit::Post {
                request,
                query,
                body,
            } => self.request(request, query, Some(body), timeout, false),
            ClientTransmit::OpenWebSocket { socket, query } => {
                let writer = websocket::spawn(
                    self.ctx.clone(),
                    socket,
                    query,
                    max_payload,
                    self.input_sender.clone(),
                );
                self.sockets.insert(socket, writer);
            }
            ClientTransmit::WsSend { socket, frames } => {
                if let Some(writer) = self.sockets.get(&socket) {
                    if writer.unbounded_send(WriterCommand::Send(frames)).is_ok() {
                        self.writing.insert(socket);
                    }
                }
            }
            ClientTransmit::WsClose { socket } => {
                if let Some(writer) = self.sockets.remove(&socket) {
                    let _ = writer.unbounded_send(WriterCommand::Close);
                }
            }
            ClientTransmit::Abort { request } => {
                if let Some(handle) = self.requests.remove(&request) {
                    handle.abort();
                }
            }
        }
    }

    /// Starts a polling request as a task that reports its outcome; it can be aborted. A
    /// `gated` one (a long-poll GET) waits for room in the backlog before it goes out.
    fn request(
        &mut self,
        request: RequestId,
        query: String,
        body: Option<Bytes>,
        timeout: Option<Duration>,
        gated: bool,
    ) {
        let (handle, registration) = AbortHandle::new_pair();
        self.requests.insert(request, handle);
        let ctx = self.ctx.clone();
        let inputs = self.input_sender.clone();
        let task = async move {
            if gated {
                poll_fn(|cx| ctx.backlog.poll_wait(cx)).await;
            }
            let outcome = ctx
                .with_timeout(timeout, http::request(&ctx, &query, body))
                .await;
            let input = match outcome {
                Ok((status, body)) => Input::Response {
                    request,
                    status,
                    body,
                },
                Err(error) => Input::Failed { request, error },
            };
            let _ = inputs.unbounded_send(input);
        };
        self.ctx.runtime.spawn(Box::pin(async move {
            let _ = Abortable::new(task, registration).await;
        }));
    }

    /// Passes an event on; returns true for the terminal event.
    fn deliver(&mut self, event: ClientEvent) -> bool {
        match event {
            ClientEvent::Connected { sid, transport } => {
                tracing::debug!(%sid, %transport, "engine.io client connected");
                self.handshake_error = None;
                if let Some(connecting) = self.connecting.take() {
                    let _ = connecting.send(Ok(()));
                }
                let _ = self.jobs.unbounded_send(Job::Connect);
                false
            }
            ClientEvent::Message(message) => {
                let _ = self.jobs.unbounded_send(Job::Message(message));
                false
            }
            ClientEvent::Upgraded => {
                tracing::debug!("engine.io client upgraded to websocket");
                false
            }
            ClientEvent::ConnectFailed(error) => {
                let error = ConnectError::handshake_failed(error, self.handshake_error.take());
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
                    None => self.ended = Some(reason),
                }
                true
            }
        }
    }
}
