//! The background load of the fault tests: well-behaved sessions (our client on tokio, in
//! every mode) echoing numbered messages one after the other for as long as the test runs.
//! Each client checks every echo as it comes (the next number, nothing else); the test checks
//! that the counts keep rising while faults are injected, and at the end that the server's
//! handler saw exactly the messages each client sent, in order.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use engineio::{DisconnectReason, Message};
use engineio_tests::interop::Mode;
use engineio_tests::load::wait_until;
use engineio_tests::{EchoServer, Runtime, TestClient};

/// Well-behaved sessions in the background.
pub(crate) const BACKGROUND: usize = 20;
/// How long an echo may take on a loaded machine.
const ECHO_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the background clients may take to connect, or to show progress.
const PROGRESS_TIMEOUT: Duration = Duration::from_secs(20);

/// What one background client did: its sid and the messages it had echoed.
type Done = Result<(String, usize), String>;

/// The background clients, running.
pub(crate) struct Background {
    context: String,
    stop: Arc<AtomicBool>,
    counts: Vec<Arc<AtomicUsize>>,
    threads: Vec<JoinHandle<Done>>,
    /// What the clients that failed said, as they failed.
    errors: Arc<Mutex<Vec<String>>>,
}

/// The text of background message `n` of client `i`.
fn text(i: usize, n: usize) -> String {
    format!("background {i} message {n}")
}

impl Background {
    /// Connects the background clients to `server` and waits until each has had an echo.
    pub(crate) fn start(server: &EchoServer) -> Self {
        let context = format!("our server on {}: background load", server.runtime());
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready) = mpsc::channel::<()>();
        let mut counts = Vec::new();
        let mut threads = Vec::new();
        let errors = Arc::new(Mutex::new(Vec::new()));
        for i in 0..BACKGROUND {
            let mode = [Mode::Polling, Mode::WebSocket, Mode::Upgrade][i % 3];
            let count = Arc::new(AtomicUsize::new(0));
            counts.push(Arc::clone(&count));
            let (url, stop, ready_tx) = (server.url(), Arc::clone(&stop), ready_tx.clone());
            let errors = Arc::clone(&errors);
            let run = move || -> Done {
                let client = TestClient::connect(Runtime::Tokio, &url, mode)
                    .map_err(|e| format!("client {i} ({mode}): connect: {e}"))?;
                let mut n = 0;
                while !stop.load(Ordering::Acquire) {
                    client
                        .try_send(text(i, n))
                        .map_err(|e| format!("client {i} ({mode}): send {n}: {e}"))?;
                    match client.recv(ECHO_TIMEOUT) {
                        Some(echo) if echo == Message::from(text(i, n)) => {}
                        other => {
                            return Err(format!(
                                "client {i} ({mode}): echo of message {n}: {other:?} \
                                     (ended: {:?})",
                                client.ended_yet()
                            ))
                        }
                    }
                    n += 1;
                    count.store(n, Ordering::Release);
                    if n == 1 {
                        let _ = ready_tx.send(());
                    }
                }
                client.disconnect();
                let reason = client.reason(ECHO_TIMEOUT);
                if reason != DisconnectReason::ClientDisconnect {
                    return Err(format!("client {i} ({mode}): ended with {reason:?}"));
                }
                Ok((client.sid(), n))
            };
            let thread = thread::Builder::new()
                .name(format!("background client {i}"))
                .spawn(move || {
                    let done = run();
                    if let Err(error) = &done {
                        errors
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(error.clone());
                    }
                    done
                })
                .expect("spawn a background client");
            threads.push(thread);
        }
        let background = Self {
            context,
            stop,
            counts,
            threads,
            errors,
        };
        for _ in 0..BACKGROUND {
            if ready.recv_timeout(PROGRESS_TIMEOUT).is_err() {
                background.fail("not every client had its first echo");
            }
        }
        assert_eq!(
            server.session_count(),
            BACKGROUND,
            "{}: sessions once every client had an echo",
            background.context
        );
        background
    }

    /// How many echoes each client has had so far.
    pub(crate) fn counts(&self) -> Vec<usize> {
        self.counts
            .iter()
            .map(|c| c.load(Ordering::Acquire))
            .collect()
    }

    /// Waits until every client has had more echoes than in `before`: nobody stalled.
    pub(crate) fn assert_rising(&self, before: &[usize], during: &str) {
        let rising = wait_until(PROGRESS_TIMEOUT, || {
            self.counts()
                .iter()
                .zip(before)
                .all(|(now, then)| now > then)
        });
        if !rising {
            self.fail(&format!(
                "during {during}: echoes {:?}, before {before:?}: some client stalled",
                self.counts()
            ));
        }
    }

    /// Stops the clients, asserts that none failed, and that the server's handler saw
    /// exactly what each sent, in order, and ended each session as the client asked.
    pub(crate) fn finish(self, server: &EchoServer) {
        self.stop.store(true, Ordering::Release);
        let context = self.context.clone();
        for (i, thread) in self.threads.into_iter().enumerate() {
            let (sid, sent) = match thread.join() {
                Ok(Ok(done)) => done,
                Ok(Err(error)) => panic!("{context}: {error}"),
                Err(_) => panic!("{context}: client {i} panicked"),
            };
            let session = server.ended(&sid, ECHO_TIMEOUT);
            let expected: Vec<Message> = (0..sent).map(|n| Message::from(text(i, n))).collect();
            assert!(
                session.received == expected,
                "{context}: client {i}: the server's handler saw {} messages, the client sent \
                 {sent}; first difference at {:?}",
                session.received.len(),
                session
                    .received
                    .iter()
                    .zip(&expected)
                    .position(|(a, b)| a != b)
            );
            assert_eq!(
                session.reason,
                Some(DisconnectReason::ClientDisconnect),
                "{context}: client {i}: the server's reason"
            );
        }
    }

    fn fail(&self, what: &str) -> ! {
        self.stop.store(true, Ordering::Release);
        let errors = self
            .errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        panic!("{}: {what}; failed clients: {errors:#?}", self.context)
    }
}
