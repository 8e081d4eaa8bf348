//! The event loop: one thread, non-blocking sockets, `mio` for readiness, and the core.
//!
//! The loop owns everything: the listener, the connections, the [`Server`] core and the
//! clock. The core never blocks, reads no clock and touches no socket; the loop does the I/O
//! and tells the core what happened, then does what the core asks. One turn of the loop:
//!
//! 1. **Wait.** `Poll::poll` sleeps until a socket is ready or the earliest deadline passes:
//!    the core's `poll_timeout()`, or a connection we are closing (see `LINGER`).
//! 2. **Read.** Each ready connection reads what its socket has, until `WouldBlock` (the
//!    sockets are edge-triggered: what is not read now raises no new event). HTTP bytes go into
//!    the connection's buffer ([`http`]); on a WebSocket, tungstenite reads frames ([`ws`]).
//! 3. **Feed.** What was read becomes core inputs, one at a time: a request head is
//!    `handle_request` (the loop names it with a fresh `RequestId`); a body, which stays unread
//!    until the core asks with `Transmit::ReadBody`, goes in `handle_body` chunks and
//!    `handle_body_end`; a frame is `handle_ws_frame`; a hang-up is `handle_request_closed`,
//!    `handle_ws_closed` or `handle_ws_error`. A passed deadline is `handle_timeout(now)`.
//! 4. **Drain.** After *every* input, `poll_transmit` and `poll_event` until both are empty.
//!    A transmit changes a connection, maybe another one than the input came from (a POST
//!    answers a held GET): queue a response, let the body through, switch to WebSocket, queue
//!    frames, close. An event goes to the application: here every message is echoed with
//!    `send`, which is a command, so the drain goes on.
//! 5. **Write.** Each connection writes what it queued until done or `WouldBlock` (the rest
//!    goes at its next writable event). A WebSocket batch written and flushed is reported with
//!    `handle_ws_written`, an input like the others, so it is drained too.
//! 6. **Arm the timer.** Back to 1, with the core's new `poll_timeout()`.
//!
//! Steps 2 to 5 run per connection, for each connection in a work queue: the ones `mio`
//! reported, and the ones a drain gave something to do. A read step takes a bounded amount;
//! a connection with more to read waits for the next turn (which then does not sleep), so a
//! busy peer delays neither the others nor the timer.
//!
//! Left out for brevity: idle timeouts for keep-alive connections, CORS, compression and the
//! cookie (`engineio_core::http` has them behind the `http` feature), TLS.

#[path = "http.rs"]
mod http;
#[path = "ws.rs"]
mod ws;

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engineio_core::{Event, RequestId, Server, ServerConfig, Transmit};
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};

use http::HttpConn;
use ws::WsConn;

/// The only path served; everything else gets 404.
const ENGINE_IO_PATH: &str = "/engine.io/";
/// How long a connection we closed waits for the peer to hang up before it is dropped.
const LINGER: Duration = Duration::from_secs(1);
const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);

/// The embedder owns the clock: this is the only place the loop reads it.
#[allow(clippy::disallowed_methods)] // the core takes time as an input; its embedder reads it
fn clock() -> Instant {
    Instant::now()
}

/// Where a connection is in its life, as far as the loop cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Open,
    /// We have closed our side and wait (at most `LINGER`) for the peer to close its own.
    Closing,
    /// Nothing left to do: deregister and drop it.
    Closed,
}

// One per connection, for its whole life: boxing a variant would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Conn {
    Http(HttpConn),
    Ws(WsConn),
}

/// An input for the core, taken from a connection.
enum Input {
    Http(http::Input),
    Ws(RequestId, ws::Input),
}

/// Ends [`EventLoop::run`] from another thread.
pub(crate) struct StopHandle {
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
}

impl StopHandle {
    #[allow(dead_code)] // The example's `main` runs until killed; the test stops the loop.
    /// Asks the loop to return; it does at its next wake-up, which this triggers.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        let _ = self.waker.wake();
    }
}

/// An Engine.IO echo server on a single thread.
pub(crate) struct EventLoop {
    poll: Poll,
    listener: TcpListener,
    server: Server,
    conns: HashMap<Token, Conn>,
    /// The connection carrying each request the core has not answered, and each WebSocket.
    owners: HashMap<RequestId, Token>,
    /// Connections to serve (steps 2 to 5), in turn.
    work: VecDeque<Token>,
    /// Connections with more to read, served again next turn.
    later: Vec<Token>,
    /// Connections we are closing, and when we stop waiting for their peer.
    lingering: HashMap<Token, Instant>,
    next_token: usize,
    next_request: u64,
    /// Set by [`StopHandle::stop`].
    stop: Arc<AtomicBool>,
}

impl EventLoop {
    /// Serves `config` on `listener` (bound by the caller). The handle stops the loop.
    pub(crate) fn new(
        listener: std::net::TcpListener,
        config: ServerConfig,
    ) -> io::Result<(Self, StopHandle)> {
        listener.set_nonblocking(true)?;
        let mut listener = TcpListener::from_std(listener);
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        // Session ids come from this seed: take it from the operating system.
        let mut seed = [0; 32];
        getrandom::fill(&mut seed).map_err(|e| io::Error::other(e.to_string()))?;
        let stop = StopHandle {
            stop: Arc::new(AtomicBool::new(false)),
            waker: Arc::new(Waker::new(poll.registry(), WAKER)?),
        };
        let event_loop = Self {
            poll,
            listener,
            server: Server::new(Arc::new(config), seed),
            conns: HashMap::new(),
            owners: HashMap::new(),
            work: VecDeque::new(),
            later: Vec::new(),
            lingering: HashMap::new(),
            next_token: 2,
            next_request: 1,
            stop: Arc::clone(&stop.stop),
        };
        Ok((event_loop, stop))
    }

    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Runs until [`StopHandle::stop`].
    pub(crate) fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(256);
        loop {
            // 1. Wait for a socket or the next deadline (6. is this line, next time round).
            let timeout = if self.later.is_empty() {
                let deadline = self.next_deadline();
                deadline.map(|at| at.saturating_duration_since(clock()))
            } else {
                Some(Duration::ZERO)
            };
            match self.poll.poll(&mut events, timeout) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                result => result?,
            }
            if self.stop.load(Ordering::Acquire) {
                return Ok(());
            }
            let now = clock();
            self.work.extend(self.later.drain(..));
            for event in &events {
                match event.token() {
                    LISTENER => self.accept()?,
                    WAKER => {}
                    token => self.work.push_back(token),
                }
            }
            // The core's timer is an input like the others: feed it, then drain.
            if self.server.poll_timeout().is_some_and(|at| at <= now) {
                self.server.handle_timeout(now);
                self.drain(now);
            }
            // Connections we closed whose peer did not hang up in time.
            let expired: Vec<Token> = (self.lingering.iter())
                .filter(|(_, at)| **at <= now)
                .map(|(token, _)| *token)
                .collect();
            for token in expired {
                self.remove(token);
            }
            // 2.–5. for every connection with something to do.
            while let Some(token) = self.work.pop_front() {
                self.serve(now, token);
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let linger = self.lingering.values().min().copied();
        match (self.server.poll_timeout(), linger) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn accept(&mut self) -> io::Result<()> {
        loop {
            let mut stream = match self.listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    eprintln!("accept failed: {e}");
                    return Ok(());
                }
            };
            let token = Token(self.next_token);
            self.next_token += 1;
            let _ = stream.set_nodelay(true);
            let interest = Interest::READABLE | Interest::WRITABLE;
            self.poll
                .registry()
                .register(&mut stream, token, interest)?;
            self.conns.insert(token, Conn::Http(HttpConn::new(stream)));
        }
    }

    /// Steps 2 to 5 for one connection.
    fn serve(&mut self, now: Instant, token: Token) {
        // 2. Read.
        let more = match self.conns.get_mut(&token) {
            Some(Conn::Http(conn)) => conn.read(),
            Some(Conn::Ws(conn)) => conn.read(),
            None => return,
        };
        // 3. Feed, and 4. drain after each input.
        while let Some(input) = self.next_input(token) {
            self.feed(now, token, input);
        }
        // 5. Write.
        let failed = self.write(now, token);
        if failed {
            // Writing found the peer gone: the core must hear of it.
            return self.work.push_back(token);
        }
        if more {
            return self.later.push(token);
        }
        match self.phase(token) {
            Phase::Open => {}
            Phase::Closing => {
                self.lingering.entry(token).or_insert(now + LINGER);
            }
            Phase::Closed => self.remove(token),
        }
    }

    fn next_input(&mut self, token: Token) -> Option<Input> {
        match self.conns.get_mut(&token)? {
            Conn::Http(conn) => conn.next_input().map(Input::Http),
            Conn::Ws(conn) => Some(Input::Ws(conn.id(), conn.next_input()?)),
        }
    }

    /// 3. One input to the core, then 4. the drain.
    fn feed(&mut self, now: Instant, token: Token, input: Input) {
        let server = &mut self.server;
        match input {
            Input::Http(http::Input::Head(head)) => {
                let request = RequestId(self.next_request);
                self.next_request += 1;
                let Some(Conn::Http(conn)) = self.conns.get_mut(&token) else {
                    return;
                };
                if head.path != ENGINE_IO_PATH {
                    conn.await_answer(request, head);
                    return conn.refuse(404);
                }
                self.owners.insert(request, token);
                server.handle_request(now, request, head.request());
                conn.await_answer(request, head);
            }
            Input::Http(http::Input::Body(request, chunk)) => {
                server.handle_body(now, request, chunk);
            }
            Input::Http(http::Input::BodyEnd(request)) => server.handle_body_end(now, request),
            Input::Http(http::Input::Abandoned(request)) => {
                self.owners.remove(&request);
                server.handle_request_closed(now, request);
            }
            Input::Ws(socket, ws::Input::Frame(frame)) => {
                server.handle_ws_frame(now, socket, frame);
            }
            Input::Ws(socket, ws::Input::Closed) => server.handle_ws_closed(now, socket),
            Input::Ws(socket, ws::Input::Failed(failure)) => {
                server.handle_ws_error(now, socket, failure);
            }
        }
        self.drain(now);
    }

    /// 4. Everything the last input caused, until the core has nothing more to say.
    fn drain(&mut self, now: Instant) {
        loop {
            if let Some(transmit) = self.server.poll_transmit() {
                self.transmit(transmit);
            } else if let Some(event) = self.server.poll_event() {
                self.event(now, event);
            } else {
                return;
            }
        }
    }

    fn transmit(&mut self, transmit: Transmit) {
        let id = match &transmit {
            Transmit::Respond { request, .. }
            | Transmit::ReadBody { request }
            | Transmit::AcceptWebSocket { request } => *request,
            Transmit::WsSend { socket, .. } | Transmit::WsClose { socket, .. } => *socket,
        };
        // The connection may be gone already (the peer hung up; the core has been told).
        let Some(&token) = self.owners.get(&id) else {
            return;
        };
        self.work.push_back(token);
        if let Transmit::AcceptWebSocket { .. } = transmit {
            return self.upgrade(token, id);
        }
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        match (transmit, conn) {
            (Transmit::Respond { response, .. }, Conn::Http(conn)) => {
                conn.respond(&response);
                self.owners.remove(&id);
            }
            (Transmit::ReadBody { .. }, Conn::Http(conn)) => conn.read_body(),
            (Transmit::WsSend { frames, .. }, Conn::Ws(conn)) => conn.send(frames),
            (Transmit::WsClose { code, .. }, Conn::Ws(conn)) => {
                conn.close(code);
                self.owners.remove(&id);
            }
            _ => {}
        }
    }

    /// `AcceptWebSocket`: the HTTP connection answers 101 and becomes a WebSocket named `socket`.
    fn upgrade(&mut self, token: Token, socket: RequestId) {
        let max_payload = self.server.config().max_payload;
        if let Some(Conn::Http(conn)) = self.conns.remove(&token) {
            let conn = WsConn::new(socket, conn.upgrade(), max_payload);
            self.conns.insert(token, Conn::Ws(conn));
        }
    }

    /// The application: an echo server.
    fn event(&mut self, now: Instant, event: Event) {
        match event {
            Event::Message { sid, message } => {
                // A refused echo (the session is closing, or its buffer is full) is dropped.
                let _ = self.server.send(now, &sid, message);
            }
            Event::Connected { sid, transport, .. } => eprintln!("{sid}: connected ({transport})"),
            Event::Upgraded { sid } => eprintln!("{sid}: upgraded to websocket"),
            Event::Disconnected { sid, reason } => eprintln!("{sid}: disconnected ({reason})"),
            _ => {}
        }
    }

    /// 5. Writes what the connection queued. True if the socket failed.
    fn write(&mut self, now: Instant, token: Token) -> bool {
        match self.conns.get_mut(&token) {
            Some(Conn::Http(conn)) => conn.write(),
            Some(Conn::Ws(conn)) => {
                let socket = conn.id();
                let (batches, failed) = conn.write();
                for _ in 0..batches {
                    self.server.handle_ws_written(now, socket);
                    self.drain(now);
                }
                failed
            }
            None => false,
        }
    }

    fn phase(&self, token: Token) -> Phase {
        match self.conns.get(&token) {
            Some(Conn::Http(conn)) => conn.phase(),
            Some(Conn::Ws(conn)) => conn.phase(),
            None => Phase::Closed,
        }
    }

    fn remove(&mut self, token: Token) {
        self.lingering.remove(&token);
        self.owners.retain(|_, owner| *owner != token);
        let registry = self.poll.registry();
        let _ = match self.conns.remove(&token) {
            Some(Conn::Http(mut conn)) => registry.deregister(conn.stream()),
            Some(Conn::Ws(mut conn)) => registry.deregister(conn.stream()),
            None => Ok(()),
        };
    }
}
