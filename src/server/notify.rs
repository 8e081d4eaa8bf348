//! A runtime-neutral wake-up flag: one task waits, any thread notifies.

use std::future::{poll_fn, Future};
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;

use futures_util::task::AtomicWaker;

/// Wakes one waiting task; a notification sent while nobody waits is kept for the next wait.
#[derive(Debug, Default)]
pub(crate) struct Notify {
    notified: AtomicBool,
    waker: AtomicWaker,
}

impl Notify {
    pub(crate) fn notify(&self) {
        self.notified.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// Completes once `notify` has been called since the last completed wait.
    pub(crate) fn notified(&self) -> impl Future<Output = ()> + '_ {
        poll_fn(|cx| {
            if self.notified.swap(false, Ordering::AcqRel) {
                return Poll::Ready(());
            }
            self.waker.register(cx.waker());
            if self.notified.swap(false, Ordering::AcqRel) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }
}
