//! [`Runtime`]: which runtime runs our server or our client in a test, and [`Executor`], the
//! thread that runs an async one.
//!
//! Tests are plain `#[test]` functions: they never run inside a runtime themselves. Each
//! server and each client under test gets a dedicated thread running the chosen runtime's
//! executor, and is built with that runtime passed explicitly (`.runtime(…)`), so nothing
//! falls back on a default runtime by accident. The blocking server and client
//! ([`Runtime::Threads`]) need no executor: they run on their own threads.

use std::fmt;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use engineio::runtime::{
    AsyncStdRuntime, BoxFuture, Runtime as RuntimeApi, SmolRuntime, TokioRuntime,
};
use futures_channel::oneshot;
use futures_util::future;
use futures_util::FutureExt;

/// The runtime a server or client under test runs on. Every scenario runs once per runtime;
/// the test's name and its failure messages name it.
///
/// Adding a runtime is its variant here, its arm in [`EchoServer::start_with`](crate::EchoServer)
/// (our server on it) and in [`TestClient::connect`](crate::TestClient::connect) (our client on
/// it), and its line in [`scenario_tests!`](crate::scenario_tests) (whose exhaustive `match`
/// does not compile until the line is there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Runtime {
    /// tokio: a current-thread runtime on its own thread ([`TokioRuntime`]).
    Tokio,
    /// smol: `smol::block_on` driving a dedicated `smol::Executor` on its own thread
    /// ([`SmolRuntime::with_executor`]).
    Smol,
    /// async-std: `async_std::task::block_on` on its own thread, tasks on async-std's global
    /// executor ([`AsyncStdRuntime`]).
    AsyncStd,
    /// The blocking server and client of `engineio-runtime-threads` (`engineio::blocking`):
    /// no executor, plain std threads. The server's accept loop runs on a thread of its own,
    /// its handlers on the crate's `engineio-handler` pool; the client's handlers on its
    /// `engineio-client-dispatch` thread.
    Threads,
}

impl Runtime {
    /// The runtime's name in messages: its variant in kebab case (`tokio`, `async-std`).
    pub fn name(self) -> String {
        let mut name = String::new();
        for (i, c) in format!("{self:?}").chars().enumerate() {
            if c.is_uppercase() && i > 0 {
                name.push('-');
            }
            name.push(c.to_ascii_lowercase());
        }
        name
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// The async runtimes, each of which [`Executor`] can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AsyncRuntime {
    /// [`Runtime::Tokio`].
    Tokio,
    /// [`Runtime::Smol`].
    Smol,
    /// [`Runtime::AsyncStd`].
    AsyncStd,
}

impl AsyncRuntime {
    /// The runtime, as the tests name it.
    pub(crate) fn runtime(self) -> Runtime {
        match self {
            Self::Tokio => Runtime::Tokio,
            Self::Smol => Runtime::Smol,
            Self::AsyncStd => Runtime::AsyncStd,
        }
    }
}

/// A thread running one async runtime, for one server or one client: it drives the `main`
/// future it was started with (the server's accept loop) and the tasks spawned on its
/// [`runtime`](Self::runtime), until dropped.
pub(crate) struct Executor {
    /// Who runs here, for messages: `our server on smol`; also the thread's name.
    name: String,
    /// The runtime.
    kind: AsyncRuntime,
    /// The runtime handle to build servers and clients with, and to spawn on.
    runtime: Arc<dyn RuntimeApi>,
    /// Stops the thread's `block_on`.
    stop: Option<oneshot::Sender<()>>,
    /// Reports the end of the thread's `block_on`.
    done: mpsc::Receiver<()>,
    /// The thread.
    thread: Option<thread::JoinHandle<()>>,
}

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Executor {
    /// Starts a thread for `kind` named `name`, running `main(runtime)` (raced against the
    /// executor's drop) inside the runtime's `block_on`.
    pub(crate) fn start(
        kind: AsyncRuntime,
        name: String,
        main: impl FnOnce(Arc<dyn RuntimeApi>) -> BoxFuture<'static, ()> + Send + 'static,
    ) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let (runtime_tx, runtime_rx) = mpsc::channel::<Arc<dyn RuntimeApi>>();
        let (done_tx, done) = mpsc::channel();
        let until_stopped = move |runtime: Arc<dyn RuntimeApi>| {
            let _ = runtime_tx.send(Arc::clone(&runtime));
            let main = main(runtime);
            async move {
                // Either the main future ends (the accept loop failed: the server is gone)
                // or the executor is dropped.
                let _ = future::select(main, stopped).await;
            }
        };
        let thread = thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                match kind {
                    AsyncRuntime::Tokio => {
                        let tokio = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .expect("build a current-thread tokio runtime");
                        let runtime = Arc::new(TokioRuntime::from_handle(tokio.handle().clone()));
                        tokio.block_on(until_stopped(runtime));
                    }
                    AsyncRuntime::Smol => {
                        let executor = Arc::new(smol::Executor::new());
                        let runtime = Arc::new(SmolRuntime::with_executor(Arc::clone(&executor)));
                        smol::block_on(executor.run(until_stopped(runtime)));
                    }
                    AsyncRuntime::AsyncStd => {
                        async_std::task::block_on(until_stopped(Arc::new(AsyncStdRuntime::new())));
                    }
                }
                let _ = done_tx.send(());
            })
            .expect("spawn a runtime thread");
        let runtime = runtime_rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("{name}: the runtime thread did not start"));
        Self {
            name,
            kind,
            runtime,
            stop: Some(stop),
            done,
            thread: Some(thread),
        }
    }

    /// The runtime handle: pass it to `.runtime(…)` and spawn on it.
    pub(crate) fn runtime(&self) -> Arc<dyn RuntimeApi> {
        Arc::clone(&self.runtime)
    }

    /// The name of the threads that run the tasks spawned on the runtime: this executor's own
    /// thread for tokio (current-thread) and smol (a dedicated executor), async-std's global
    /// executor threads for async-std. Handlers seen running elsewhere would mean that the
    /// runtime given was not the one used.
    pub(crate) fn task_thread(&self) -> String {
        match self.kind {
            AsyncRuntime::Tokio | AsyncRuntime::Smol => self.name.clone(),
            AsyncRuntime::AsyncStd => "async-std/runtime".to_owned(),
        }
    }

    /// Runs `future` as a task on the runtime and waits up to `timeout` for its output; fails
    /// naming `what` if it takes longer (or panics).
    pub(crate) fn run<T: Send + 'static>(
        &self,
        what: &str,
        timeout: Duration,
        future: impl std::future::Future<Output = T> + Send + 'static,
    ) -> T {
        let (tx, rx) = mpsc::sync_channel(1);
        self.runtime.spawn(Box::pin(future.map(move |output| {
            let _ = tx.send(output);
        })));
        match rx.recv_timeout(timeout) {
            Ok(output) => output,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("{}: {what} did not finish within {timeout:?}", self.name)
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                panic!(
                    "{}: {what} was dropped or panicked before finishing",
                    self.name
                )
            }
        }
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // The thread leaves its `block_on` at once; a thread stuck in a task is left behind
        // rather than hanging the test (and named, unless the test is failing already).
        if self.done.recv_timeout(Duration::from_secs(5)).is_ok() {
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        } else if !thread::panicking() {
            panic!("{}: the runtime thread did not stop within 5 s", self.name);
        }
    }
}
