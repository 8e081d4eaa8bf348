//! The application's side of a client: the state every [`Client`] handle shares with the
//! engine and the dispatcher, the `recv` queue, and the dispatcher thread that runs handlers.
//!
//! The engine never waits on the application: it turns events into [`Job`]s on a channel. One
//! dispatcher thread runs them in order, one at a time: a handler, or a push onto the bounded
//! `recv` queue, which waits for room while the connection lasts (backpressure on dispatch,
//! never a drop). Once the connection has ended the remaining messages go onto the queue
//! without waiting, so that [`Client::wait`] returns even if nobody reads them.
//!
//! Every message delivered (its handler has run, or it is on the `recv` queue) releases its
//! unit of the inbound [`Backlog`], on which the transport's readers wait: the job channel
//! never holds more than the backlog's bound (plus, on polling, one response), because the
//! readers stop reading while it is full.
//!
//! No lock is held while user code runs, so handlers may call back into the [`Client`].

use std::cell::Cell;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use engineio_core::http::backlog::Backlog;
use engineio_core::{DisconnectReason, Message, Transport};

use super::engine::Input;
use super::{Alive, Client};

/// How many messages [`Client::recv`] may have waiting before dispatch waits for the reader.
pub(super) const RECV_CAPACITY: usize = 1024;

/// `on_connect`, type-erased.
pub(super) type OnConnect = Arc<dyn Fn(Client) + Send + Sync>;
/// `on_message`, type-erased.
pub(super) type OnMessage = Arc<dyn Fn(Client, Message) + Send + Sync>;
/// `on_disconnect`, type-erased.
pub(super) type OnDisconnect = Arc<dyn Fn(Client, DisconnectReason) + Send + Sync>;

/// The application's handlers.
#[derive(Clone, Default)]
pub(super) struct Handlers {
    pub(super) on_connect: Option<OnConnect>,
    pub(super) on_message: Option<OnMessage>,
    pub(super) on_disconnect: Option<OnDisconnect>,
}

/// One thing for the dispatcher to deliver, in order.
#[derive(Debug)]
pub(super) enum Job {
    Connect,
    Message(Message),
    Disconnect(DisconnectReason),
}

#[derive(Debug, Default)]
struct Status {
    /// Messages for `recv`.
    queue: VecDeque<Message>,
    /// The engine saw the end of the connection.
    ended: Option<DisconnectReason>,
    /// The dispatcher has delivered everything, `on_disconnect` included.
    finished: Option<DisconnectReason>,
    sid: Option<String>,
    transport: Option<Transport>,
}

/// What the handles, the engine and the dispatcher share.
#[derive(Debug)]
pub(super) struct Shared {
    /// The engine's input channel.
    pub(super) inputs: Sender<Input>,
    status: Mutex<Status>,
    changed: Condvar,
    /// The messages read and not yet delivered; the transport's readers wait on it.
    pub(super) backlog: Arc<Backlog>,
}

thread_local! {
    /// Set while this thread runs a handler.
    static IN_HANDLER: Cell<bool> = const { Cell::new(false) };
}

impl Shared {
    pub(super) fn new(inputs: Sender<Input>, backlog: Arc<Backlog>) -> Self {
        Self {
            inputs,
            status: Mutex::default(),
            changed: Condvar::new(),
            backlog,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn update(&self, change: impl FnOnce(&mut Status)) {
        change(&mut self.lock());
        self.changed.notify_all();
    }

    /// Waits until `ready` gives a value, or `deadline` passes (`None` then).
    fn wait_for<T>(
        &self,
        deadline: Option<Instant>,
        mut ready: impl FnMut(&mut Status) -> Option<T>,
    ) -> Option<T> {
        let mut status = self.lock();
        loop {
            if let Some(value) = ready(&mut status) {
                drop(status);
                self.changed.notify_all();
                return Some(value);
            }
            status = match deadline {
                None => self
                    .changed
                    .wait(status)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    self.changed
                        .wait_timeout(status, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }

    /// The engine's view of the session, published after every drain.
    pub(super) fn set_info(&self, sid: Option<&str>, transport: Option<Transport>) {
        let mut status = self.lock();
        if status.sid.as_deref() != sid {
            status.sid = sid.map(str::to_owned);
        }
        status.transport = transport;
    }

    pub(super) fn sid(&self) -> Option<String> {
        self.lock().sid.clone()
    }

    pub(super) fn transport(&self) -> Option<Transport> {
        self.lock().transport
    }

    /// The engine saw the end of the connection.
    pub(super) fn set_ended(&self, reason: DisconnectReason) {
        self.update(|status| {
            status.ended.get_or_insert(reason);
        });
    }

    fn set_finished(&self) {
        self.update(|status| {
            let reason = *status.ended.get_or_insert(DisconnectReason::TransportClose);
            status.finished = Some(reason);
        });
    }

    /// The next message for `recv`; `None` once everything is delivered after the end, or
    /// when `timeout` passes (`Err(Timeout)`).
    pub(super) fn recv(&self, timeout: Option<Duration>) -> Result<Message, RecvTimeoutError> {
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        let next = self.wait_for(deadline, |status| match status.queue.pop_front() {
            Some(message) => Some(Some(message)),
            None if status.finished.is_some() => Some(None),
            None => None,
        });
        match next {
            Some(Some(message)) => Ok(message),
            Some(None) => Err(RecvTimeoutError::Disconnected),
            None => Err(RecvTimeoutError::Timeout),
        }
    }

    /// Queues a message for `recv`, waiting for room while the connection lasts.
    fn push(&self, message: Message) {
        let mut message = Some(message);
        self.wait_for(None, |status| {
            if status.queue.len() < RECV_CAPACITY || status.ended.is_some() {
                status.queue.extend(message.take());
                Some(())
            } else {
                None
            }
        });
    }

    /// The end of the connection: once `on_disconnect` has run, or, from inside a handler
    /// (which the dispatcher is busy running), as soon as the connection has ended.
    pub(super) fn wait(&self, timeout: Option<Duration>) -> Option<DisconnectReason> {
        let inside_handler = IN_HANDLER.with(Cell::get);
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        self.wait_for(deadline, |status| {
            if inside_handler {
                status.ended
            } else {
                status.finished
            }
        })
    }
}

/// Runs the jobs in order until the engine is gone, then marks the end.
pub(super) fn run(
    shared: &Arc<Shared>,
    alive: &Weak<Alive>,
    handlers: &Handlers,
    jobs: &Receiver<Job>,
) {
    let client = || Client {
        shared: Arc::clone(shared),
        _alive: alive.upgrade(),
    };
    while let Ok(job) = jobs.recv() {
        match job {
            Job::Connect => {
                if let Some(handler) = &handlers.on_connect {
                    call(|| handler(client()));
                }
            }
            Job::Message(message) => {
                match &handlers.on_message {
                    Some(handler) => call(|| handler(client(), message)),
                    None => shared.push(message),
                }
                shared.backlog.release(1);
            }
            Job::Disconnect(reason) => {
                if let Some(handler) = &handlers.on_disconnect {
                    call(|| handler(client(), reason));
                }
            }
        }
    }
    shared.set_finished();
}

/// Calls a handler, marked as inside a handler; a panic is logged and dispatch goes on.
fn call(handler: impl FnOnce()) {
    IN_HANDLER.with(|flag| flag.set(true));
    let outcome = catch_unwind(AssertUnwindSafe(handler));
    IN_HANDLER.with(|flag| flag.set(false));
    if outcome.is_err() {
        tracing::error!("an engine.io client handler panicked");
    }
}
