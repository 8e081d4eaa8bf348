//! A client's inbound backlog: the messages read from the server that the application has not
//! taken yet, bounded, with the transport's readers waiting while it is full.
//!
//! A client's protocol side never waits on the application: the messages it decodes go to a
//! dispatcher that runs the handlers one at a time. Without a bound, a server that sends
//! faster than a slow handler consumes fills the client's memory without limit. With one, the
//! readers stop reading when the backlog is full, and the pressure moves to where it belongs:
//! TCP's window, then the server's own bounded buffer (which refuses, drops or closes by its
//! policy). That is backpressure, not loss: nothing read is ever dropped.
//!
//! The count covers every message between the socket and the application:
//!
//! - a WebSocket reader [`reserve`](Backlog::poll_reserve)s one unit per data frame before it hands
//!   the frame on (waiting while the backlog is full), so the frames in flight to the
//!   protocol core are counted too; the core turns a frame into at most one message, and the
//!   client [`release`](Backlog::release)s the reservations that produced none (a ping, a noop);
//! - a long-poll GET [`wait`](Backlog::poll_wait)s for room before it is sent; the messages of its
//!   response are [`add`](Backlog::add)ed as the core decodes them, so a backlog may exceed its
//!   limit by the messages of one poll response (bounded by the server's `maxPayload`);
//! - the dispatcher [`release`](Backlog::release)s one unit per message once the handler has
//!   run (or the message is on the `recv` queue, which has its own bound).
//!
//! A reader that waits does not read the server's pings either: a handler slower than the
//! heartbeat for longer than `pingInterval + pingTimeout` ends the connection with a ping
//! timeout, as it would against any server. Once the connection has ended, [`close`]
//! releases every waiter for good.
//!
//! [`close`]: Backlog::close

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

/// The default bound: as many messages as the server's `max_pending_messages`.
pub const DEFAULT_MAX_PENDING_MESSAGES: usize = 1024;

/// The bounded count of a client's pending inbound messages (see the [module](self)).
///
/// Waiting is by [`Waker`]: an async reader passes its task's context; a blocking one a
/// waker that unparks its thread, and parks until woken.
#[derive(Debug)]
pub struct Backlog {
    limit: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    pending: usize,
    peak: usize,
    closed: bool,
    /// Readers waiting for room.
    waiters: Vec<Waker>,
}

impl Backlog {
    /// A backlog of at most `limit` messages (at least 1).
    pub fn new(limit: usize) -> Self {
        Self {
            limit: limit.max(1),
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The bound.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The messages (and reservations) pending now.
    pub fn pending(&self) -> usize {
        self.lock().pending
    }

    /// The most that were ever pending at once.
    pub fn peak(&self) -> usize {
        self.lock().peak
    }

    /// Counts `count` more messages, without waiting (a poll response's messages).
    pub fn add(&self, count: usize) {
        let mut state = self.lock();
        state.pending = state.pending.saturating_add(count);
        state.peak = state.peak.max(state.pending);
    }

    /// Uncounts `count` units: messages the application took, or reservations that produced
    /// no message. Wakes the readers when there is room again.
    pub fn release(&self, count: usize) {
        let waiters = {
            let mut state = self.lock();
            state.pending = state.pending.saturating_sub(count);
            if state.pending >= self.limit {
                return;
            }
            std::mem::take(&mut state.waiters)
        };
        waiters.into_iter().for_each(Waker::wake);
    }

    /// The connection ended: nobody waits for room any more.
    pub fn close(&self) {
        let waiters = {
            let mut state = self.lock();
            state.closed = true;
            std::mem::take(&mut state.waiters)
        };
        waiters.into_iter().for_each(Waker::wake);
    }

    /// Ready, with one unit counted, once there is room (or the backlog is closed); until
    /// then `cx`'s waker is kept and woken when room is made.
    pub fn poll_reserve(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.lock();
        if state.closed || state.pending < self.limit {
            state.pending += 1;
            state.peak = state.peak.max(state.pending);
            return Poll::Ready(());
        }
        if !state
            .waiters
            .iter()
            .any(|known| known.will_wake(cx.waker()))
        {
            state.waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Ready once there is room (or the backlog is closed), counting nothing: for a reader
    /// that cannot tell how many messages its read brings (a long-poll GET).
    pub fn poll_wait(&self, cx: &mut Context<'_>) -> Poll<()> {
        let ready = self.poll_reserve(cx);
        if ready.is_ready() {
            self.release(1);
        }
        ready
    }
}

impl Default for Backlog {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_PENDING_MESSAGES)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    use super::*;

    #[derive(Default)]
    struct Flag(AtomicBool);

    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn readers_wait_while_full_and_go_on_when_released() {
        let backlog = Backlog::new(2);
        let flag = Arc::new(Flag::default());
        let waker = Waker::from(Arc::clone(&flag));
        let mut cx = Context::from_waker(&waker);
        assert!(backlog.poll_reserve(&mut cx).is_ready());
        backlog.add(1);
        assert_eq!(backlog.pending(), 2);
        assert!(backlog.poll_reserve(&mut cx).is_pending(), "full");
        assert!(backlog.poll_wait(&mut cx).is_pending(), "full");
        backlog.release(1);
        assert!(flag.0.load(Ordering::SeqCst), "woken");
        assert!(backlog.poll_reserve(&mut cx).is_ready());
        assert_eq!((backlog.pending(), backlog.peak()), (2, 2));
        flag.0.store(false, Ordering::SeqCst);
        assert!(backlog.poll_wait(&mut cx).is_pending());
        backlog.close();
        assert!(flag.0.load(Ordering::SeqCst), "woken by the close");
        assert!(
            backlog.poll_wait(&mut cx).is_ready(),
            "closed: no more waiting"
        );
        assert_eq!(backlog.pending(), 2, "waiting counts nothing");
        backlog.release(5);
        assert_eq!(backlog.pending(), 0);
        assert_eq!(Backlog::new(0).limit(), 1);
    }
}
