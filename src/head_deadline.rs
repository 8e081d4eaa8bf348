//! The time a server connection's client has to send its next request head
//! (`header_read_timeout`), kept beside hyper rather than by it.
//!
//! hyper has this deadline built in, but with it set, hyper polls the connection once more
//! after every response, to start the timer for the next head at once: measured, that was 9 %
//! of a polling round trip's instructions. Here the connection's I/O ([`HyperIo`]) keeps the
//! deadline instead, from two facts it learns for nothing:
//!
//! - a response being written (every write while no request is in flight) starts the time for
//!   the next head: the deadline is the last such write plus the timeout, and the
//!   connection's opening counts as one;
//! - a request is counted in flight by the service ([`Requests::enter`]) from its head until
//!   its future is dropped (when it has answered), and no deadline applies meanwhile: a long
//!   poll, a body being read.
//!
//! When a read finds nothing while no request is in flight, the timer is armed (lazily: a
//! timer armed for an earlier deadline stays, fires early, and is re-armed then), and once
//! the deadline has passed the read fails with `TimedOut`, which makes hyper drop the
//! connection. Bytes arriving do not move the deadline, so a head sent a byte at a time (the
//! slow-loris attack) is cut off like a silent one.
//!
//! [`HyperIo`]: crate::io::HyperIo

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use engineio_core::runtime::{Runtime, Timer};

/// How many of a connection's requests are in flight; shared by its service and its I/O.
#[derive(Debug, Default)]
pub(crate) struct Requests(AtomicUsize);

impl Requests {
    /// Counts a request in flight until the guard is dropped (with the request's future).
    pub(crate) fn enter(self: &Arc<Self>) -> RequestGuard {
        self.0.fetch_add(1, Ordering::Relaxed);
        RequestGuard(Arc::clone(self))
    }

    fn idle(&self) -> bool {
        self.0.load(Ordering::Relaxed) == 0
    }
}

/// A request in flight (see [`Requests::enter`]).
#[derive(Debug)]
pub(crate) struct RequestGuard(Arc<Requests>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, Ordering::Relaxed);
    }
}

pin_project_lite::pin_project! {
    /// A request's future, counted in flight while it lives (hyper drops it once it has
    /// answered, before writing the answer).
    pub(crate) struct Tracked<F> {
        #[pin]
        future: F,
        guard: RequestGuard,
    }
}

impl<F> Tracked<F> {
    /// Wraps `future`, counted in flight through `guard`.
    pub(crate) fn new(future: F, guard: RequestGuard) -> Self {
        Self { future, guard }
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.project().future.poll(cx)
    }
}

/// A connection's deadline for its next request head (see the module docs).
pub(crate) struct HeadDeadline {
    runtime: Arc<dyn Runtime>,
    timeout: Duration,
    requests: Arc<Requests>,
    deadline: Instant,
    /// The timer, once a read had to wait, and the deadline it is armed for.
    timer: Option<(Pin<Box<dyn Timer>>, Instant)>,
}

impl HeadDeadline {
    /// The deadline of a connection opening now, whose service counts its requests in
    /// `requests`.
    pub(crate) fn new(
        runtime: Arc<dyn Runtime>,
        timeout: Duration,
        requests: Arc<Requests>,
    ) -> Self {
        let deadline = runtime.now() + timeout;
        Self {
            runtime,
            timeout,
            requests,
            deadline,
            timer: None,
        }
    }

    /// A write to the connection: with no request in flight, a response is going out, and
    /// the next head is due a timeout from now.
    pub(crate) fn on_write(&mut self) {
        if self.requests.idle() {
            self.deadline = self.runtime.now() + self.timeout;
        }
    }

    /// A read found nothing: true once the next head is overdue. Otherwise the task is woken
    /// at the deadline (if no request is in flight).
    pub(crate) fn poll_overdue(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.requests.idle() {
            return false;
        }
        let deadline = self.deadline;
        let (timer, armed_at) = self
            .timer
            .get_or_insert_with(|| (self.runtime.timer(deadline), deadline));
        if *armed_at > deadline {
            timer.as_mut().reset(deadline);
            *armed_at = deadline;
        }
        loop {
            if timer.as_mut().poll_elapsed(cx).is_pending() {
                return false;
            }
            if *armed_at >= deadline || self.runtime.now() >= deadline {
                return true;
            }
            // Armed for an earlier head's deadline: fired early, so wait for this one.
            timer.as_mut().reset(deadline);
            *armed_at = deadline;
        }
    }
}

impl std::fmt::Debug for HeadDeadline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeadDeadline")
            .field("timeout", &self.timeout)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::net::SocketAddr;
    use std::sync::Mutex;

    use engineio_core::runtime::{BoxFuture, Listener, Stream};

    use super::*;

    /// A runtime with a clock the test moves, and timers that count how often they are armed.
    #[derive(Debug)]
    struct ManualClock {
        now: Mutex<Instant>,
        armed: Mutex<Vec<Instant>>,
    }

    #[derive(Debug)]
    struct ManualTimer {
        clock: Arc<ManualClock>,
        deadline: Instant,
    }

    impl Timer for ManualTimer {
        fn reset(mut self: Pin<&mut Self>, deadline: Instant) {
            self.clock.armed.lock().unwrap().push(deadline);
            self.deadline = deadline;
        }

        fn poll_elapsed(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            if *self.clock.now.lock().unwrap() >= self.deadline {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
    }

    /// The runtime face of a shared clock (`Runtime::timer` needs the `Arc`).
    #[derive(Debug)]
    struct ClockRuntime(Arc<ManualClock>);

    impl Runtime for ClockRuntime {
        fn now(&self) -> Instant {
            *self.0.now.lock().unwrap()
        }

        fn spawn(&self, _future: BoxFuture<'static, ()>) {}

        fn timer(&self, deadline: Instant) -> Pin<Box<dyn Timer>> {
            self.0.armed.lock().unwrap().push(deadline);
            Box::pin(ManualTimer {
                clock: Arc::clone(&self.0),
                deadline,
            })
        }

        fn bind(&self, _addr: SocketAddr) -> io::Result<Box<dyn Listener>> {
            Err(io::Error::other("no sockets here"))
        }

        fn wrap_listener(&self, _listener: std::net::TcpListener) -> io::Result<Box<dyn Listener>> {
            Err(io::Error::other("no sockets here"))
        }

        fn connect(
            &self,
            _host: String,
            _port: u16,
        ) -> BoxFuture<'static, io::Result<Box<dyn Stream>>> {
            Box::pin(async { Err(io::Error::other("no sockets here")) })
        }
    }

    const TIMEOUT: Duration = Duration::from_secs(10);

    fn connection() -> (Arc<ManualClock>, Arc<Requests>, HeadDeadline) {
        let clock = Arc::new(ManualClock {
            now: Mutex::new(Instant::now()),
            armed: Mutex::default(),
        });
        let requests = Arc::new(Requests::default());
        let runtime = Arc::new(ClockRuntime(Arc::clone(&clock)));
        let deadline = HeadDeadline::new(runtime, TIMEOUT, Arc::clone(&requests));
        (clock, requests, deadline)
    }

    fn advance(clock: &ManualClock, by: Duration) {
        *clock.now.lock().unwrap() += by;
    }

    fn overdue(deadline: &mut HeadDeadline) -> bool {
        deadline.poll_overdue(&mut Context::from_waker(std::task::Waker::noop()))
    }

    #[test]
    fn a_silent_connection_is_overdue_a_timeout_after_it_opened() {
        let (clock, _requests, mut deadline) = connection();
        assert!(!overdue(&mut deadline));
        advance(&clock, TIMEOUT - Duration::from_millis(1));
        assert!(!overdue(&mut deadline));
        advance(&clock, Duration::from_millis(1));
        assert!(overdue(&mut deadline));
    }

    #[test]
    fn each_response_gives_the_next_head_a_full_timeout_on_the_same_timer() {
        let (clock, _requests, mut deadline) = connection();
        assert!(!overdue(&mut deadline));
        for _ in 0..5 {
            advance(&clock, TIMEOUT / 2);
            deadline.on_write();
            assert!(!overdue(&mut deadline));
        }
        // Five responses over two and a half timeouts: armed when first needed, then again
        // each time it fired early (once per timeout), not once per response.
        assert_eq!(clock.armed.lock().unwrap().len(), 3);
        advance(&clock, TIMEOUT / 2);
        assert!(
            !overdue(&mut deadline),
            "fired early: re-armed, not overdue"
        );
        assert_eq!(clock.armed.lock().unwrap().len(), 4);
        advance(&clock, TIMEOUT / 2);
        assert!(overdue(&mut deadline), "a timeout after the last response");
    }

    #[test]
    fn no_deadline_holds_while_a_request_is_in_flight() {
        let (clock, requests, mut deadline) = connection();
        let long_poll = requests.enter();
        advance(&clock, TIMEOUT * 3);
        deadline.on_write(); // a write while in flight (a 100 Continue, say) moves nothing
        assert!(!overdue(&mut deadline));
        drop(long_poll);
        deadline.on_write(); // its response
        assert!(!overdue(&mut deadline));
        advance(&clock, TIMEOUT);
        assert!(overdue(&mut deadline));
    }
}
