//! The application's side: the state shared by every [`Client`] handle and the driver, the
//! handler job queue, the `recv` queue and the end of the connection.
//!
//! The driver never waits on the application. It turns events into [`Job`]s on an unbounded
//! queue; one dispatcher task runs them in order, one at a time: a handler, or a push onto the
//! bounded `recv` queue, which waits for room (backpressure on dispatch, never a drop). Once the
//! connection has ended there is nothing left to slow down, so the remaining messages go onto
//! the `recv` queue without waiting and `wait()` can resolve even if nobody reads them.
//!
//! Every message delivered (its handler has run, or it is on the `recv` queue) releases its
//! unit of the inbound [`Backlog`], on which the transport's readers wait: the job queue is
//! unbounded in type but never holds more than the backlog's bound (plus, on polling, one
//! response), because the readers stop reading while it is full.
//!
//! No lock is held while user code runs, so handlers may call back into the [`Client`].

use std::cell::Cell;
use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll, Waker};

use engineio_core::client::Client as Core;
use engineio_core::http::backlog::Backlog;
use engineio_core::runtime::Runtime;
use engineio_core::{DisconnectReason, Message};
use futures_channel::mpsc::{UnboundedReceiver, UnboundedSender};
use futures_util::{FutureExt, StreamExt};

use super::{Alive, Client};

/// How many messages [`Client::recv`] may have waiting before dispatch waits for the reader.
pub(super) const RECV_CAPACITY: usize = 1024;

/// A handler's future.
pub(super) type HandlerFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
/// `on_connect`, type-erased.
pub(super) type OnConnect = Arc<dyn Fn(Client) -> HandlerFuture + Send + Sync>;
/// `on_message`, type-erased.
pub(super) type OnMessage = Arc<dyn Fn(Client, Message) -> HandlerFuture + Send + Sync>;
/// `on_disconnect`, type-erased.
pub(super) type OnDisconnect = Arc<dyn Fn(Client, DisconnectReason) -> HandlerFuture + Send + Sync>;

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

/// What the handles, the driver and the dispatcher share.
pub(super) struct Shared {
    pub(super) runtime: Arc<dyn Runtime>,
    /// The protocol state machine. Locked briefly by the driver (inputs and drains) and by
    /// `send`/`disconnect`; never across an `.await`, never while user code runs.
    core: Mutex<Core>,
    status: Mutex<Status>,
    /// A kick is on its way to the driver (kicks are coalesced).
    kick_pending: AtomicBool,
    kicks: UnboundedSender<()>,
    /// The messages read and not yet delivered; the transport's readers wait on it.
    pub(super) backlog: Arc<Backlog>,
}

#[derive(Default)]
struct Status {
    /// Messages for `recv`.
    queue: VecDeque<Message>,
    /// The driver saw the end of the connection.
    ended: Option<DisconnectReason>,
    /// The dispatcher has delivered everything, `on_disconnect` included.
    finished: Option<DisconnectReason>,
    /// Tasks waiting in `recv`, `wait` or for room in the queue; all woken on any change.
    waiters: Vec<Waker>,
}

impl Status {
    fn register(&mut self, waker: &Waker) {
        if !self.waiters.iter().any(|known| known.will_wake(waker)) {
            self.waiters.push(waker.clone());
        }
    }
}

impl Shared {
    pub(super) fn new(
        runtime: Arc<dyn Runtime>,
        core: Core,
        kicks: UnboundedSender<()>,
        backlog: Arc<Backlog>,
    ) -> Self {
        Self {
            runtime,
            core: Mutex::new(core),
            status: Mutex::default(),
            kick_pending: AtomicBool::new(false),
            kicks,
            backlog,
        }
    }

    /// Locks the core (briefly: no `.await` and no user code while the guard lives).
    pub(super) fn core(&self) -> MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Tells the driver to drain the core after a command.
    pub(super) fn kick(&self) {
        if !self.kick_pending.swap(true, Ordering::AcqRel) {
            let _ = self.kicks.unbounded_send(());
        }
    }

    /// The driver took a kick; the next command sends a new one.
    pub(super) fn clear_kick(&self) {
        self.kick_pending.store(false, Ordering::Release);
    }

    fn update(&self, change: impl FnOnce(&mut Status)) {
        let waiters = {
            let mut status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
            change(&mut status);
            std::mem::take(&mut status.waiters)
        };
        waiters.into_iter().for_each(Waker::wake);
    }

    fn poll_status<T>(
        &self,
        cx: &mut Context<'_>,
        mut ready: impl FnMut(&mut Status) -> Option<T>,
    ) -> Poll<T> {
        let (result, waiters) = {
            let mut status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
            match ready(&mut status) {
                Some(value) => (value, std::mem::take(&mut status.waiters)),
                None => {
                    status.register(cx.waker());
                    return Poll::Pending;
                }
            }
        };
        // Something changed (a message taken or queued): let the others look.
        waiters.into_iter().for_each(Waker::wake);
        Poll::Ready(result)
    }

    /// The driver saw the end of the connection.
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

    /// The next message for `recv`; `None` once everything is delivered after the end.
    pub(super) async fn recv(&self) -> Option<Message> {
        poll_fn(|cx| {
            self.poll_status(cx, |status| match status.queue.pop_front() {
                Some(message) => Some(Some(message)),
                None if status.finished.is_some() => Some(None),
                None => None,
            })
        })
        .await
    }

    /// Queues a message for `recv`, waiting for room while the connection lasts.
    async fn push(&self, message: Message) {
        let mut message = Some(message);
        poll_fn(|cx| {
            self.poll_status(cx, |status| {
                if status.queue.len() < RECV_CAPACITY || status.ended.is_some() {
                    status.queue.extend(message.take());
                    Some(())
                } else {
                    None
                }
            })
        })
        .await;
    }

    /// The end of the connection: once `on_disconnect` has run, or, from inside a handler
    /// (which the dispatcher is busy running), as soon as the connection has ended.
    pub(super) async fn wait(&self) -> DisconnectReason {
        poll_fn(|cx| {
            let inside_handler = IN_HANDLER.with(Cell::get);
            self.poll_status(cx, |status| {
                if inside_handler {
                    status.ended
                } else {
                    status.finished
                }
            })
        })
        .await
    }
}

thread_local! {
    /// Set while a handler's future is being polled.
    static IN_HANDLER: Cell<bool> = const { Cell::new(false) };
}

/// A handler's future, marked so that `wait`/`disconnect` called from inside it do not wait
/// for the dispatcher that runs it.
struct InHandler(HandlerFuture);

impl Future for InHandler {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let outer = IN_HANDLER.with(|flag| flag.replace(true));
        let poll = self.0.as_mut().poll(cx);
        IN_HANDLER.with(|flag| flag.set(outer));
        poll
    }
}

/// Runs the jobs in order until the driver is gone, then marks the end.
pub(super) async fn run(
    shared: Arc<Shared>,
    alive: Weak<Alive>,
    handlers: Handlers,
    mut jobs: UnboundedReceiver<Job>,
) {
    let client = || Client {
        shared: shared.clone(),
        _alive: alive.upgrade(),
    };
    while let Some(job) = jobs.next().await {
        match (job, &handlers) {
            (
                Job::Connect,
                Handlers {
                    on_connect: Some(handler),
                    ..
                },
            ) => {
                call(|| handler(client())).await;
            }
            (
                Job::Message(message),
                Handlers {
                    on_message: Some(handler),
                    ..
                },
            ) => {
                call(|| handler(client(), message)).await;
                shared.backlog.release(1);
            }
            (Job::Message(message), _) => {
                shared.push(message).await;
                shared.backlog.release(1);
            }
            (
                Job::Disconnect(reason),
                Handlers {
                    on_disconnect: Some(handler),
                    ..
                },
            ) => {
                call(|| handler(client(), reason)).await;
            }
            (Job::Connect | Job::Disconnect(_), _) => {}
        }
    }
    shared.set_finished();
}

/// Calls a handler and runs its future; a panic is logged and dispatch goes on.
async fn call(handler: impl FnOnce() -> HandlerFuture) {
    let outcome = match std::panic::catch_unwind(AssertUnwindSafe(handler)) {
        Ok(future) => AssertUnwindSafe(InHandler(future)).catch_unwind().await,
        Err(panic) => Err(panic),
    };
    if outcome.is_err() {
        tracing::error!("an engine.io client handler panicked");
    }
}
