//! Blocking waits on the client's inbound [`Backlog`], for the reader threads.
//!
//! The backlog (shared with the async client, in `engineio-core`) wakes its waiters through
//! [`Waker`]s; here the waker unparks the waiting thread, which parks in between. Waits are
//! bounded by a timeout, so that a caller can check meanwhile whether it should stop waiting
//! (its socket closed, its request aborted).

use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use engineio_core::http::backlog::Backlog;

/// Wakes a parked thread.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Blocks until the backlog has room, then counts one unit; `false` if `timeout` passed
/// first (nothing counted).
pub(super) fn reserve(backlog: &Backlog, timeout: Duration) -> bool {
    park_until(timeout, |cx| backlog.poll_reserve(cx).is_ready())
}

/// Blocks until the backlog has room, counting nothing; `false` if `timeout` passed first.
pub(super) fn wait(backlog: &Backlog, timeout: Duration) -> bool {
    park_until(timeout, |cx| backlog.poll_wait(cx).is_ready())
}

fn park_until(timeout: Duration, mut ready: impl FnMut(&mut Context<'_>) -> bool) -> bool {
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let deadline = Instant::now() + timeout;
    loop {
        if ready(&mut cx) {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        thread::park_timeout(left);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocked_reader_is_released_by_another_thread() {
        let backlog = Arc::new(Backlog::new(1));
        assert!(reserve(&backlog, Duration::from_millis(10)));
        assert!(!reserve(&backlog, Duration::from_millis(10)), "full");
        assert!(!wait(&backlog, Duration::from_millis(10)), "full");
        let other = Arc::clone(&backlog);
        let reader = thread::spawn(move || reserve(&other, Duration::from_secs(5)));
        thread::sleep(Duration::from_millis(20));
        backlog.release(1);
        assert!(reader.join().unwrap());
        assert_eq!(backlog.pending(), 1);
    }
}
