//! hyper glue the server needs beyond [`HyperIo`](crate::io::HyperIo): a `futures-io` view of
//! a connection hyper upgraded but did not get from us (a framework such as axum owns the
//! socket), and the runtime's timers as hyper's timer (for header read timeouts).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use engineio_core::runtime::{Runtime, Timer};
use futures_util::io::{AsyncRead, AsyncWrite};

/// Any hyper I/O (an upgraded connection) as a `futures-io` stream.
pub(crate) struct FuturesIo<T> {
    inner: T,
}

impl<T> FuturesIo<T> {
    pub(crate) fn new(inner: T) -> Self {
        Self { inner }
    }
}

impl<T: hyper::rt::Read + Unpin> AsyncRead for FuturesIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut read_buf = hyper::rt::ReadBuf::new(buf);
        ready!(Pin::new(&mut self.inner).poll_read(cx, read_buf.unfilled()))?;
        Poll::Ready(Ok(read_buf.filled().len()))
    }
}

impl<T: hyper::rt::Write + Unpin> AsyncWrite for FuturesIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The runtime's timers as hyper's timer (header read timeouts), one per connection.
///
/// hyper asks for a new sleep for every request head it starts reading and drops it once the
/// head is in: on a keep-alive connection that was a timer created, registered and torn down
/// per request (a sixteenth of a polling round trip's instructions). A connection keeps its
/// last timer instead, and the next head reuses it without re-arming it when it is armed no
/// later than the new deadline: it then fires early, once per timeout at most, and the sleep
/// re-arms it for its own deadline (moving a registered timer costs about as much as a new
/// one, and a busy connection starts a head every few microseconds).
#[derive(Clone, Debug)]
pub(crate) struct HyperTimer {
    shared: Arc<TimerShared>,
}

impl HyperTimer {
    /// A timer for one connection.
    pub(crate) fn new(runtime: Arc<dyn Runtime>) -> Self {
        Self {
            shared: Arc::new(TimerShared {
                runtime,
                spare: Mutex::default(),
            }),
        }
    }
}

/// What a connection's sleeps share: the clock, and the timer kept between request heads.
#[derive(Debug)]
struct TimerShared {
    runtime: Arc<dyn Runtime>,
    spare: Mutex<Option<ArmedTimer>>,
}

/// A runtime timer and the deadline it is armed for.
#[derive(Debug)]
struct ArmedTimer {
    timer: Pin<Box<dyn Timer>>,
    armed_at: Instant,
}

/// One of hyper's sleeps; gives its timer back to the connection when dropped.
struct HyperSleep {
    timer: Option<ArmedTimer>,
    deadline: Instant,
    shared: Arc<TimerShared>,
}

impl std::future::Future for HyperSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let Some(armed) = &mut this.timer else {
            return Poll::Ready(());
        };
        loop {
            ready!(armed.timer.as_mut().poll_elapsed(cx));
            if armed.armed_at >= this.deadline || this.shared.runtime.now() >= this.deadline {
                return Poll::Ready(());
            }
            // Armed for an earlier head's deadline: fired early, so wait for this one.
            armed.timer.as_mut().reset(this.deadline);
            armed.armed_at = this.deadline;
        }
    }
}

impl hyper::rt::Sleep for HyperSleep {}

impl Drop for HyperSleep {
    fn drop(&mut self) {
        if let Some(armed) = self.timer.take() {
            // A timer that stays registered at its old deadline at worst wakes the
            // connection once for nothing; it is reused or dropped with the connection.
            *self
                .shared
                .spare
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(armed);
        }
    }
}

impl hyper::rt::Timer for HyperTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep_until(self.shared.runtime.now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        let spare = self
            .shared
            .spare
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let armed = match spare {
            // Armed no later than wanted: it fires early and the sleep re-arms it then.
            Some(armed) if armed.armed_at <= deadline => armed,
            Some(mut armed) => {
                armed.timer.as_mut().reset(deadline);
                armed.armed_at = deadline;
                armed
            }
            None => ArmedTimer {
                timer: self.shared.runtime.timer(deadline),
                armed_at: deadline,
            },
        };
        Box::pin(HyperSleep {
            timer: Some(armed),
            deadline,
            shared: Arc::clone(&self.shared),
        })
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        *sleep = self.sleep_until(new_deadline);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engineio_core::runtime::{BoxFuture, Listener, Stream};
    use hyper::rt::Timer as _;
    use std::net::SocketAddr;

    /// A runtime whose only working parts are `timer` and `now`: it records every deadline
    /// its timers were created or re-armed with, and how many it created.
    #[derive(Debug, Default)]
    struct CountingRuntime {
        log: Arc<Mutex<(usize, Vec<Instant>)>>,
    }

    #[derive(Debug)]
    struct FakeTimer {
        log: Arc<Mutex<(usize, Vec<Instant>)>>,
        deadline: Instant,
    }

    impl Timer for FakeTimer {
        fn reset(mut self: Pin<&mut Self>, deadline: Instant) {
            self.log.lock().unwrap().1.push(deadline);
            self.deadline = deadline;
        }

        /// Elapsed once its deadline has passed (the tests' deadlines are a minute away).
        fn poll_elapsed(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
            if Instant::now() >= self.deadline {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
    }

    impl Runtime for CountingRuntime {
        fn now(&self) -> Instant {
            Instant::now()
        }

        fn spawn(&self, _future: BoxFuture<'static, ()>) {}

        fn timer(&self, deadline: Instant) -> Pin<Box<dyn Timer>> {
            let mut log = self.log.lock().unwrap();
            log.0 += 1;
            log.1.push(deadline);
            Box::pin(FakeTimer {
                log: Arc::clone(&self.log),
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

    #[test]
    fn a_connection_reuses_its_timer_from_head_to_head() {
        let runtime = Arc::new(CountingRuntime::default());
        let timer = HyperTimer::new(runtime.clone());
        let start = Instant::now();
        let deadlines: Vec<Instant> = (1..=5).map(|s| start + Duration::from_secs(s)).collect();
        for &deadline in &deadlines {
            drop(timer.sleep_until(deadline));
        }
        {
            let log = runtime.log.lock().unwrap();
            assert_eq!(log.0, 1, "one timer for five heads");
            assert_eq!(
                log.1,
                deadlines[..1],
                "armed once: later deadlines leave it armed early"
            );
        }
        // An earlier deadline than the one armed re-arms it.
        drop(timer.sleep_until(start));
        assert_eq!(runtime.log.lock().unwrap().1.last(), Some(&start));
        // Two sleeps alive at once each need a timer of their own.
        let first = timer.sleep_until(start);
        let second = timer.sleep_until(start);
        assert_eq!(runtime.log.lock().unwrap().0, 2);
        drop((first, second));
    }

    #[test]
    fn a_sleep_woken_early_waits_for_its_own_deadline() {
        let runtime = Arc::new(CountingRuntime::default());
        let timer = HyperTimer::new(runtime.clone());
        let past = Instant::now() - Duration::from_secs(60);
        let future = Instant::now() + Duration::from_secs(60);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        // The timer is armed for a deadline already passed (an earlier head's).
        drop(timer.sleep_until(past));
        let mut sleep = timer.sleep_until(future);
        assert!(
            sleep.as_mut().poll(&mut cx).is_pending(),
            "not before its deadline"
        );
        assert_eq!(
            runtime.log.lock().unwrap().1,
            vec![past, future],
            "re-armed for its own deadline when the early one fired"
        );
        drop(sleep);
        let mut sleep = timer.sleep_until(past);
        assert!(
            sleep.as_mut().poll(&mut cx).is_ready(),
            "a passed deadline is passed"
        );
    }
}
