//! [`EchoServer`]: our server, in-process on the runtime of the test's choice, echoing, with a
//! log of its sessions.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use engineio::server::{CorsOrigins, Server, ServerBuilder, StaticFiles};
use engineio::{DisconnectReason, Message, SendError, Sid, Transport};

use crate::runtime::{AsyncRuntime, Executor};
use crate::server_handle::Control;
use crate::{Runtime, ServerHandle};

/// The text message that makes the server close the sender's session (`Server::disconnect`)
/// instead of echoing it.
pub const CLOSE_ME: &str = "close me";

/// The server's ping interval: short, so that heartbeats happen during the tests.
pub const PING_INTERVAL: Duration = Duration::from_millis(300);
/// The server's ping timeout.
pub const PING_TIMEOUT: Duration = Duration::from_millis(800);

/// The listening socket's backlog.
const LISTEN_BACKLOG: i32 = 1024;

/// What the server saw of one session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionLog {
    /// The session id.
    pub sid: Sid,
    /// The transport of the handshake.
    pub opened_on: Transport,
    /// Every message the client sent, in the order the handler got them.
    pub received: Vec<Message>,
    /// The session's transport when its last message was handled (a message handled after
    /// the session ended, when the client sent it just before leaving, does not count).
    pub last_message_transport: Option<Transport>,
    /// Why the session ended, once it has.
    pub reason: Option<DisconnectReason>,
    /// The name of the thread every handler of the session ran on, or the names, if several.
    pub handler_threads: Vec<String>,
    /// When the connect handler ran.
    pub opened_at: Instant,
    /// When the disconnect handler ran, once it has.
    pub ended_at: Option<Instant>,
}

/// The sessions of a server, shared by its handlers (on the server's runtime) and the test
/// (on its own thread, waiting with a deadline).
#[derive(Debug, Default)]
struct Log {
    sessions: Mutex<Vec<SessionLog>>,
    changed: Condvar,
    /// Set if the server stopped serving on its own (the accept loop failed).
    stopped: Mutex<Option<String>>,
}

impl Log {
    fn lock(&self) -> MutexGuard<'_, Vec<SessionLog>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update(&self, change: impl FnOnce(&mut Vec<SessionLog>)) {
        change(&mut self.lock());
        self.changed.notify_all();
    }

    /// Changes the session `sid`, noting the thread the calling handler runs on.
    fn update_session(&self, sid: &Sid, change: impl FnOnce(&mut SessionLog)) {
        let thread = thread_name();
        self.update(|log| {
            if let Some(session) = log.iter_mut().find(|s| s.sid == *sid) {
                if !session.handler_threads.contains(&thread) {
                    session.handler_threads.push(thread);
                }
                change(session);
            }
        });
    }

    fn connected(&self, sid: Sid, opened_on: Transport) {
        self.update(|log| {
            log.push(SessionLog {
                sid,
                opened_on,
                received: Vec::new(),
                last_message_transport: None,
                reason: None,
                handler_threads: vec![thread_name()],
                opened_at: Instant::now(),
                ended_at: None,
            });
        });
    }

    fn message(&self, sid: &Sid, message: Message, transport: Option<Transport>) {
        self.update_session(sid, |session| {
            session.received.push(message);
            if transport.is_some() {
                session.last_message_transport = transport;
            }
        });
    }

    fn disconnected(&self, sid: &Sid, reason: DisconnectReason) {
        self.update_session(sid, |session| {
            session.reason = Some(reason);
            session.ended_at = Some(Instant::now());
        });
    }
}

/// The name of the current thread.
pub(crate) fn thread_name() -> String {
    thread::current().name().unwrap_or("<unnamed>").to_owned()
}

/// Our server on `127.0.0.1:<free port>`, on the runtime of the test's choice: ping 300 ms /
/// timeout 800 ms, CORS open to any origin, every message echoed in kind (text as text,
/// binary as binary) except [`CLOSE_ME`]. Stops when dropped.
#[derive(Debug)]
pub struct EchoServer {
    addr: SocketAddr,
    runtime: Runtime,
    log: Arc<Log>,
    /// What keeps the server running (its runtime's thread); dropped last.
    serving: Serving,
}

/// What keeps a server running, and where its handlers run.
#[derive(Debug)]
struct Serving {
    /// The server itself, for the calls a test makes from outside (`send`, `shutdown`, …).
    control: Control,
    /// Stops the server when dropped: the [`Executor`] of an async runtime, the
    /// [`ThreadsServing`] of the blocking server.
    _running: Box<dyn fmt::Debug + Send>,
    /// The name of the threads the server's handlers run on.
    handler_thread: String,
}

impl EchoServer {
    /// Starts the echo server on `runtime`.
    pub fn start(runtime: Runtime) -> Self {
        Self::start_with(runtime, StaticFiles::new(), PING_TIMEOUT)
    }

    /// Starts the echo server on `runtime`, also serving `files`, with another ping timeout
    /// (still pinging every 300 ms). A peer starving on a loaded machine (a browser starting
    /// beside other tests) can stall for more than the timeout, and then the server rightly
    /// ends its session: scenarios whose subject is not the heartbeat give it room.
    pub fn start_with(runtime: Runtime, files: StaticFiles, ping_timeout: Duration) -> Self {
        Self::start_tuned(runtime, files, ping_timeout, Tuning::default())
    }

    /// Starts the echo server on `runtime` as [`EchoServer::start_with`] does, with some of
    /// the server's limits changed ([`Tuning`]).
    pub fn start_tuned(
        runtime: Runtime,
        files: StaticFiles,
        ping_timeout: Duration,
        tuning: Tuning,
    ) -> Self {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .expect("bind 127.0.0.1:0");
        // A backlog for load tests with hundreds of clients connecting at once (std listens
        // with 128): past it the kernel drops SYNs, and the client retries a second later.
        socket2::SockRef::from(&listener)
            .listen(LISTEN_BACKLOG)
            .expect("listen backlog");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let log = Arc::new(Log::default());
        let serving = match runtime {
            Runtime::Tokio => serve_async(
                AsyncRuntime::Tokio,
                listener,
                files,
                ping_timeout,
                tuning,
                &log,
            ),
            Runtime::Smol => serve_async(
                AsyncRuntime::Smol,
                listener,
                files,
                ping_timeout,
                tuning,
                &log,
            ),
            Runtime::AsyncStd => serve_async(
                AsyncRuntime::AsyncStd,
                listener,
                files,
                ping_timeout,
                tuning,
                &log,
            ),
            Runtime::Threads => serve_threads(listener, files, ping_timeout, tuning, &log),
        };
        Self {
            addr,
            runtime,
            log,
            serving,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The runtime the server runs on.
    pub fn runtime(&self) -> Runtime {
        self.runtime
    }

    /// The name of the threads the server's handlers must run on: the runtime's (see
    /// [`SessionLog::handler_threads`]).
    pub fn handler_thread(&self) -> String {
        self.serving.handler_thread.clone()
    }

    /// Every session so far.
    pub fn sessions(&self) -> Vec<SessionLog> {
        self.log.lock().clone()
    }

    /// Removes the sessions that have ended from the log and returns them (a test opening
    /// thousands of sessions keeps the log, and its own memory, small).
    pub fn drain_ended(&self) -> Vec<SessionLog> {
        let mut log = self.log.lock();
        let (ended, live) = std::mem::take(&mut *log)
            .into_iter()
            .partition(|s| s.reason.is_some());
        *log = live;
        ended
    }

    /// Waits up to `timeout` until `done` holds for the whole log (every session so far, or
    /// what [`drain_ended`](Self::drain_ended) left); returns whether it did.
    pub fn wait_log(&self, timeout: Duration, done: impl Fn(&[SessionLog]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut log = self.log.lock();
        loop {
            if done(&log) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            log = self
                .log
                .changed
                .wait_timeout(log, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// The number of live sessions, as the server counts them (`Server::session_count`).
    pub fn session_count(&self) -> usize {
        self.handle().session_count()
    }

    /// Queues `message` for the session `sid` (`Server::send`), as a handler would.
    pub fn send(&self, sid: &str, message: impl Into<Message>) -> Result<(), SendError> {
        self.handle().send(sid, message)
    }

    /// Shuts the server down gracefully (`Server::shutdown(grace)`): see
    /// [`ServerHandle::shutdown`].
    pub fn shutdown(&self, grace: Duration) {
        self.handle().shutdown(grace);
    }

    /// Waits up to `timeout` for the session `sid` to end and returns its log.
    pub fn ended(&self, sid: &str, timeout: Duration) -> SessionLog {
        self.wait_for(sid, timeout, |s| s.reason.is_some(), "end")
    }

    /// Waits up to `timeout` until the session `sid` exists and `done` holds for it.
    fn wait_for(
        &self,
        sid: &str,
        timeout: Duration,
        done: impl Fn(&SessionLog) -> bool,
        what: &str,
    ) -> SessionLog {
        let deadline = Instant::now() + timeout;
        let mut log = self.log.lock();
        loop {
            if let Some(session) = log.iter().find(|s| s.sid.as_str() == sid && done(s)) {
                return session.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let stopped = self
                    .log
                    .stopped
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                panic!(
                    "our server on {}: session {sid} did not {what} within {timeout:?}{}; sessions: {:#?}",
                    self.runtime,
                    stopped.map(|e| format!(" (the server stopped: {e})")).unwrap_or_default(),
                    *log
                );
            }
            log = self
                .log
                .changed
                .wait_timeout(log, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// A handle to the server, for other threads of the test (the `EchoServer` itself stays
    /// with the test's thread).
    pub fn handle(&self) -> ServerHandle {
        ServerHandle::new(self.runtime, self.serving.control.clone())
    }
}

/// Limits of the echo server that a test may change ([`EchoServer::start_tuned`]); `None`
/// keeps the server's default.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tuning {
    /// `max_http_buffer_size` (the largest polling body or WebSocket message).
    pub max_http_buffer_size: Option<usize>,
    /// `header_read_timeout` (the time a client has to send a request's head).
    pub header_read_timeout: Option<Duration>,
    /// `ping_interval` (the echo server's default: [`PING_INTERVAL`]).
    pub ping_interval: Option<Duration>,
    /// `upgrade_timeout` (the time a WebSocket probe has to complete the upgrade).
    pub upgrade_timeout: Option<Duration>,
    /// `close_timeout` (the time a server-side close waits for a polling client's next GET).
    pub close_timeout: Option<Duration>,
}

/// Applies the options of `tuning` that both servers' builders have under the same names.
macro_rules! apply_tuning {
    ($builder:ident, $tuning:expr) => {{
        let tuning: Tuning = $tuning;
        if let Some(bytes) = tuning.max_http_buffer_size {
            $builder = $builder.max_http_buffer_size(bytes);
        }
        if let Some(timeout) = tuning.header_read_timeout {
            $builder = $builder.header_read_timeout(timeout);
        }
        if let Some(timeout) = tuning.upgrade_timeout {
            $builder = $builder.upgrade_timeout(timeout);
        }
        if let Some(timeout) = tuning.close_timeout {
            $builder = $builder.close_timeout(timeout);
        }
        $builder.ping_interval(tuning.ping_interval.unwrap_or(PING_INTERVAL))
    }};
}

/// The echo server's options and handlers, whatever runs it.
fn echo_builder(
    files: StaticFiles,
    ping_timeout: Duration,
    tuning: Tuning,
    log: &Arc<Log>,
) -> ServerBuilder {
    let (on_connect, on_message, on_disconnect) =
        (Arc::clone(log), Arc::clone(log), Arc::clone(log));
    let mut builder = Server::builder();
    apply_tuning!(builder, tuning)
        .ping_timeout(ping_timeout)
        .cors_allowed_origins(CorsOrigins::Any)
        .static_files(files)
        .on_connect(move |_server, sid, request| {
            on_connect.connected(sid, request.transport);
            async { Ok(()) }
        })
        .on_message(move |server, sid, message| {
            let transport = server.transport(&sid);
            let close = message.as_text() == Some(CLOSE_ME);
            on_message.message(&sid, message.clone(), transport);
            async move {
                let _ = if close {
                    server.disconnect(&sid)
                } else {
                    server.send(&sid, message)
                };
            }
        })
        .on_disconnect(move |_server, sid, reason| {
            on_disconnect.disconnected(&sid, reason);
            async {}
        })
}

/// Our async server on a thread of its own running `kind`.
fn serve_async(
    kind: AsyncRuntime,
    listener: TcpListener,
    files: StaticFiles,
    ping_timeout: Duration,
    tuning: Tuning,
    log: &Arc<Log>,
) -> Serving {
    let builder = echo_builder(files, ping_timeout, tuning, log);
    let log = Arc::clone(log);
    let name = format!("our server on {}", kind.runtime());
    let (server_tx, server_rx) = mpsc::channel();
    let executor = Executor::start(kind, name, move |rt| {
        Box::pin(async move {
            // Built inside the runtime, where tokio's handle is current too.
            let server = builder.runtime(rt).build();
            let _ = server_tx.send(server.clone());
            match server.serve_listener(listener).await {
                // `shutdown` was called: the accept loop returns at once, while the sessions
                // are still being closed on this runtime, which must keep running for them.
                Ok(()) => std::future::pending::<()>().await,
                Err(error) => {
                    *log.stopped.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some(error.to_string());
                    log.changed.notify_all();
                }
            }
        })
    });
    let server = server_rx
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("our server on {}: not built", kind.runtime()));
    Serving {
        control: Control::Async {
            server,
            runtime: executor.runtime(),
        },
        handler_thread: executor.task_thread(),
        _running: Box::new(executor),
    }
}

/// The name of the threads on which the blocking server runs its handlers: its dispatcher
/// pool's workers (`engineio-handler`, in `runtime-threads/src/server/dispatch.rs`). The
/// connection threads (`engineio-conn`) and the engine thread (`engineio-engine`) never run
/// them, nor does any async runtime's thread.
const THREADS_SERVER_HANDLER_THREAD: &str = "engineio-handler";

/// How long the blocking server's `shutdown` may wait for the sessions left to be told.
const THREADS_SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// How long the blocking server's accept loop may take to return after `shutdown`.
const THREADS_STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// The echo server's options and handlers on the blocking server: those of [`echo_builder`],
/// as plain closures.
fn echo_builder_threads(
    files: StaticFiles,
    ping_timeout: Duration,
    tuning: Tuning,
    log: &Arc<Log>,
) -> engineio::blocking::ServerBuilder {
    let (on_connect, on_message, on_disconnect) =
        (Arc::clone(log), Arc::clone(log), Arc::clone(log));
    let mut builder = engineio::blocking::Server::builder();
    apply_tuning!(builder, tuning)
        .ping_timeout(ping_timeout)
        .cors_allowed_origins(CorsOrigins::Any)
        .static_files(files)
        .on_connect(move |_server, sid, request| {
            on_connect.connected(sid, request.transport);
            Ok(())
        })
        .on_message(move |server, sid, message| {
            let transport = server.transport(&sid);
            let close = message.as_text() == Some(CLOSE_ME);
            on_message.message(&sid, message.clone(), transport);
            let _ = if close {
                server.disconnect(&sid)
            } else {
                server.send(&sid, message)
            };
        })
        .on_disconnect(move |_server, sid, reason| {
            on_disconnect.disconnected(&sid, reason);
        })
}

/// The blocking server and the thread running its accept loop: shut down and joined when
/// dropped.
struct ThreadsServing {
    server: engineio::blocking::Server,
    /// Reports the end of the accept loop.
    done: mpsc::Receiver<()>,
    thread: Option<thread::JoinHandle<()>>,
}

impl fmt::Debug for ThreadsServing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadsServing")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl Drop for ThreadsServing {
    fn drop(&mut self) {
        self.server.shutdown(THREADS_SHUTDOWN_GRACE);
        // As for an async runtime's thread: a stuck accept loop is named (unless the test is
        // failing already), not waited for forever.
        if self.done.recv_timeout(THREADS_STOP_TIMEOUT).is_ok() {
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        } else if !thread::panicking() {
            panic!(
                "our server on threads: serve_listener did not return within \
                 {THREADS_STOP_TIMEOUT:?} of shutdown"
            );
        }
    }
}

/// Our blocking server, its accept loop (`serve_listener`) on a thread of its own.
fn serve_threads(
    listener: TcpListener,
    files: StaticFiles,
    ping_timeout: Duration,
    tuning: Tuning,
    log: &Arc<Log>,
) -> Serving {
    // The blocking accept loop wants a blocking listener: on a non-blocking one `accept`
    // fails with `WouldBlock`, which it takes for an error (a warning and a 50 ms pause).
    listener.set_nonblocking(false).expect("blocking listener");
    let server = echo_builder_threads(files, ping_timeout, tuning, log).build();
    let (done_tx, done) = mpsc::channel();
    let thread = thread::Builder::new()
        .name("our server on threads".to_owned())
        .spawn({
            let server = server.clone();
            let log = Arc::clone(log);
            move || {
                if let Err(error) = server.serve_listener(listener) {
                    *log.stopped.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some(error.to_string());
                    log.changed.notify_all();
                }
                let _ = done_tx.send(());
            }
        })
        .expect("spawn the blocking server's accept thread");
    Serving {
        control: Control::Threads(server.clone()),
        handler_thread: THREADS_SERVER_HANDLER_THREAD.to_owned(),
        _running: Box::new(ThreadsServing {
            server,
            done,
            thread: Some(thread),
        }),
    }
}
