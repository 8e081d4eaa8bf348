//! [`TestClient`]: our client, on the runtime of the test's choice, behind one blocking face so
//! that a scenario is written once for every runtime.
//!
//! The client is built with the runtime passed explicitly and connected by a task on that
//! runtime's thread ([`Executor`]); its handlers (`on_message`, `on_disconnect`) feed channels
//! that the test reads with deadlines; `disconnect` runs as a task on the runtime too. The
//! other calls (`send`, `sid`, `transport`) are synchronous in our API and made directly.
//! The blocking client (`threads`) needs no executor: it is connected and closed by a helper
//! thread that the test waits for with the same deadlines, and runs its handlers on its own
//! dispatcher thread.

use std::fmt;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use engineio::client::{Client, ConnectError};
use engineio::{DisconnectReason, Message, SendError, Transport, Transports};

use crate::echo::thread_name;
use crate::interop::Mode;
use crate::runtime::{AsyncRuntime, Executor};
use crate::Runtime;

/// How long `connect` may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `disconnect` may take (our client bounds its last write by its 5 s request
/// timeout).
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(8);

/// What every client under test can do, whatever runs it.
trait ClientHandle: Send {
    fn sid(&self) -> Option<String>;
    fn transport(&self) -> Option<Transport>;
    fn send(&self, message: Message) -> Result<(), SendError>;
    /// Closes gracefully and returns once closed.
    fn disconnect(&self);
    /// The name of the threads the handlers must run on.
    fn handler_thread(&self) -> String;
}

/// Our async client and the thread of its runtime.
struct AsyncClient {
    /// Dropped first: closes the connection (if the test did not) while the runtime runs.
    client: Client,
    executor: Executor,
}

impl ClientHandle for AsyncClient {
    fn sid(&self) -> Option<String> {
        self.client.sid()
    }

    fn transport(&self) -> Option<Transport> {
        self.client.transport()
    }

    fn send(&self, message: Message) -> Result<(), SendError> {
        self.client.send(message)
    }

    fn disconnect(&self) {
        let client = self.client.clone();
        self.executor
            .run("disconnect()", DISCONNECT_TIMEOUT, async move {
                client.disconnect().await
            });
    }

    fn handler_thread(&self) -> String {
        self.executor.task_thread()
    }
}

/// The name of the thread on which the blocking client runs its handlers, one at a time:
/// its dispatcher (`engineio-client-dispatch`, started in `runtime-threads/src/client/mod.rs`,
/// run by `runtime-threads/src/client/dispatch.rs`); never its engine thread
/// (`engineio-client`), its I/O threads, nor any async runtime's thread.
const THREADS_CLIENT_HANDLER_THREAD: &str = "engineio-client-dispatch";

/// Our blocking client (`engineio::blocking`), on its own threads.
struct ThreadsClient {
    client: engineio::blocking::Client,
}

impl ClientHandle for ThreadsClient {
    fn sid(&self) -> Option<String> {
        self.client.sid()
    }

    fn transport(&self) -> Option<Transport> {
        self.client.transport()
    }

    fn send(&self, message: Message) -> Result<(), SendError> {
        self.client.send(message)
    }

    fn disconnect(&self) {
        let client = self.client.clone();
        run_blocking("disconnect()", DISCONNECT_TIMEOUT, move || {
            client.disconnect();
        });
    }

    fn handler_thread(&self) -> String {
        THREADS_CLIENT_HANDLER_THREAD.to_owned()
    }
}

/// Runs the blocking `call` on a helper thread and waits up to `timeout` for it; fails
/// naming `what` if it takes longer (or panics). The helper is left behind on a timeout.
fn run_blocking<T: Send + 'static>(
    what: &str,
    timeout: Duration,
    call: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::sync_channel(1);
    thread::Builder::new()
        .name(format!("our client on threads: {what}"))
        .spawn(move || {
            let _ = tx.send(call());
        })
        .expect("spawn a helper thread");
    match rx.recv_timeout(timeout) {
        Ok(output) => output,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("our client on threads: {what} did not return within {timeout:?}")
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            panic!("our client on threads: {what} panicked")
        }
    }
}

/// Our client connected to a server, on one runtime: what it received and how it ended
/// arrive through its handlers, and the test waits for them with deadlines.
pub struct TestClient {
    runtime: Runtime,
    mode: Mode,
    handle: Box<dyn ClientHandle>,
    messages: Receiver<Message>,
    ended: Receiver<DisconnectReason>,
    /// The reason, once read from `ended`.
    reason: Mutex<Option<DisconnectReason>>,
    /// The names of the threads the handlers ran on.
    handler_threads: Arc<Mutex<Vec<String>>>,
}

impl fmt::Debug for TestClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestClient")
            .field("runtime", &self.runtime)
            .field("mode", &self.mode)
            .field("sid", &self.handle.sid())
            .field("transport", &self.handle.transport())
            .finish_non_exhaustive()
    }
}

/// The channels the handlers feed.
struct Feeds {
    messages: Sender<Message>,
    ended: Sender<DisconnectReason>,
    /// Where the handlers note the thread they run on.
    threads: Arc<Mutex<Vec<String>>>,
}

impl Feeds {
    /// Notes the thread the calling handler runs on.
    fn note_thread(threads: &Mutex<Vec<String>>) {
        let thread = thread_name();
        let mut threads = threads.lock().unwrap_or_else(|e| e.into_inner());
        if !threads.contains(&thread) {
            threads.push(thread);
        }
    }
}

impl TestClient {
    /// Connects our client on `runtime` to `url` in `mode` (polling only; WebSocket only;
    /// polling with the upgrade), and returns once the session is open.
    pub fn connect(runtime: Runtime, url: &str, mode: Mode) -> Result<Self, ConnectError> {
        let (messages_tx, messages) = mpsc::channel();
        let (ended_tx, ended) = mpsc::channel();
        let handler_threads = Arc::new(Mutex::new(Vec::new()));
        let feeds = Feeds {
            messages: messages_tx,
            ended: ended_tx,
            threads: Arc::clone(&handler_threads),
        };
        let handle: Box<dyn ClientHandle> = match runtime {
            Runtime::Tokio => Box::new(connect_async(AsyncRuntime::Tokio, url, mode, feeds)?),
            Runtime::Smol => Box::new(connect_async(AsyncRuntime::Smol, url, mode, feeds)?),
            Runtime::AsyncStd => Box::new(connect_async(AsyncRuntime::AsyncStd, url, mode, feeds)?),
            Runtime::Threads => Box::new(connect_threads(url, mode, feeds)?),
        };
        Ok(Self {
            runtime,
            mode,
            handle,
            messages,
            ended,
            reason: Mutex::new(None),
            handler_threads,
        })
    }

    /// The names of the threads the handlers ran on so far.
    pub fn handler_threads(&self) -> Vec<String> {
        self.handler_threads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Asserts that every handler call so far ran on the runtime's threads (and some did).
    pub fn expect_handlers_on_runtime(&self) {
        let expected = self.handle.handler_thread();
        let threads = self.handler_threads();
        assert!(
            threads == [expected.as_str()],
            "our client on {}: its handlers ran on threads {threads:?}, expected {expected:?}: \
             not on the runtime given",
            self.runtime
        );
    }

    /// The runtime the client runs on.
    pub fn runtime(&self) -> Runtime {
        self.runtime
    }

    /// The session id (at least 20 characters, as the reference servers make them).
    pub fn sid(&self) -> String {
        let sid = self.handle.sid().unwrap_or_default();
        assert!(
            sid.len() >= 20,
            "our client on {}: sid {sid:?} has fewer than 20 characters",
            self.runtime
        );
        sid
    }

    /// The transport in use.
    pub fn transport(&self) -> Option<Transport> {
        self.handle.transport()
    }

    /// Queues a message; fails the test if the client refuses it.
    pub fn send(&self, message: impl Into<Message>) {
        let message = message.into();
        if let Err(error) = self.handle.send(message.clone()) {
            panic!(
                "our client on {}: send({message:?}) failed: {error}",
                self.runtime
            );
        }
    }

    /// Queues a message and returns what the client said.
    pub fn try_send(&self, message: impl Into<Message>) -> Result<(), SendError> {
        self.handle.send(message.into())
    }

    /// The next message from the server, waiting up to `timeout`; `None` if none came.
    pub fn recv(&self, timeout: Duration) -> Option<Message> {
        self.messages.recv_timeout(timeout).ok()
    }

    /// Messages received and not read yet, without waiting.
    pub fn pending(&self) -> Vec<Message> {
        self.messages.try_iter().collect()
    }

    /// Closes the connection (our `disconnect()`), returning once it is closed.
    pub fn disconnect(&self) {
        self.handle.disconnect();
    }

    /// Why the connection ended, waiting up to `timeout` for it to end; fails if it does not.
    pub fn reason(&self, timeout: Duration) -> DisconnectReason {
        if let Some(reason) = self.ended_yet() {
            return reason;
        }
        match self.ended.recv_timeout(timeout) {
            Ok(reason) => {
                *self.reason.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason);
                assert!(
                    self.ended.try_recv().is_err(),
                    "our client on {}: on_disconnect ran twice",
                    self.runtime
                );
                reason
            }
            Err(_) => panic!(
                "our client on {}, {} mode: the connection did not end within {timeout:?}",
                self.runtime, self.mode
            ),
        }
    }

    /// Why the connection ended, if it has (without waiting).
    pub fn ended_yet(&self) -> Option<DisconnectReason> {
        let mut reason = self.reason.lock().unwrap_or_else(|e| e.into_inner());
        if reason.is_none() {
            *reason = self.ended.try_recv().ok();
        }
        *reason
    }
}

/// Our async client on a thread of its own running `kind`.
fn connect_async(
    kind: AsyncRuntime,
    url: &str,
    mode: Mode,
    feeds: Feeds,
) -> Result<AsyncClient, ConnectError> {
    let executor = Executor::start(kind, format!("our client on {}", kind.runtime()), |_| {
        Box::pin(std::future::pending())
    });
    let (transports, upgrade) = transports(mode);
    let Feeds {
        messages,
        ended,
        threads,
    } = feeds;
    let message_threads = Arc::clone(&threads);
    let builder = Client::builder()
        .runtime(executor.runtime())
        .transports(transports)
        .upgrade(upgrade)
        .on_message(move |_client, message| {
            Feeds::note_thread(&message_threads);
            let _ = messages.send(message);
            async {}
        })
        .on_disconnect(move |_client, reason| {
            Feeds::note_thread(&threads);
            let _ = ended.send(reason);
            async {}
        });
    let url = url.to_owned();
    let client = executor.run("connect()", CONNECT_TIMEOUT, async move {
        builder.connect(&url).await
    })?;
    Ok(AsyncClient { client, executor })
}

/// The transports and upgrade of `mode`: polling only; WebSocket only; polling, then the
/// upgrade.
fn transports(mode: Mode) -> (Transports, bool) {
    match mode {
        Mode::Polling => (Transports::POLLING, false),
        Mode::WebSocket => (Transports::WEBSOCKET, false),
        Mode::Upgrade => (Transports::ALL, true),
    }
}

/// Our blocking client, with the handlers of [`connect_async`] as plain closures.
fn connect_threads(url: &str, mode: Mode, feeds: Feeds) -> Result<ThreadsClient, ConnectError> {
    let (transports, upgrade) = transports(mode);
    let Feeds {
        messages,
        ended,
        threads,
    } = feeds;
    let message_threads = Arc::clone(&threads);
    let builder = engineio::blocking::Client::builder()
        .transports(transports)
        .upgrade(upgrade)
        .on_message(move |_client, message| {
            Feeds::note_thread(&message_threads);
            let _ = messages.send(message);
        })
        .on_disconnect(move |_client, reason| {
            Feeds::note_thread(&threads);
            let _ = ended.send(reason);
        });
    let url = url.to_owned();
    let client = run_blocking("connect()", CONNECT_TIMEOUT, move || builder.connect(&url))?;
    Ok(ThreadsClient { client })
}
