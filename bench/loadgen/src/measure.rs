//! Counting what was delivered inside the measured window.
//!
//! A run has three phases: warm-up (load runs, nothing counts), measure (delivered operations
//! and their latencies are recorded) and done (clients wind down). All clients live on one
//! thread, so the shared [`Stats`] is plain `Cell`/`RefCell` behind an `Rc`: no atomics and no
//! locks in the hot path. Operations are counted when they are *delivered* (an echo received,
//! a session completed), whenever they were started.

use std::cell::{Cell, RefCell};
use std::fmt::Display;
use std::rc::Rc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::proc_stats::{self, CpuSource, ProcSample};

/// Where the run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Load runs, nothing is counted.
    Warmup,
    /// Operations and latencies are counted.
    Measure,
    /// The window closed: clients stop at their next step.
    Done,
}

/// How many error messages are kept for the human summary.
const KEPT_ERRORS: usize = 5;
/// The largest latency the histogram tracks (larger values are clamped): one minute, in ns.
const MAX_LATENCY_NS: u64 = 60_000_000_000;

/// Counters shared by all the clients of a run.
#[derive(Debug)]
pub struct Stats {
    /// The current phase.
    phase: Cell<Phase>,
    /// Operations delivered while measuring.
    ops: Cell<u64>,
    /// Errors outside the wind-down.
    errors: Cell<u64>,
    /// Latencies of the counted operations, ns.
    latency_ns: RefCell<Histogram<u64>>,
    /// The first [`KEPT_ERRORS`] error messages.
    first_errors: RefCell<Vec<String>>,
}

impl Stats {
    /// Fresh counters, in the warm-up phase.
    pub fn new() -> Rc<Self> {
        // Constant, valid bounds: this cannot fail.
        let histogram =
            Histogram::new_with_bounds(1, MAX_LATENCY_NS, 3).expect("valid histogram bounds");
        Rc::new(Self {
            phase: Cell::new(Phase::Warmup),
            ops: Cell::new(0),
            errors: Cell::new(0),
            latency_ns: RefCell::new(histogram),
            first_errors: RefCell::new(Vec::new()),
        })
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.phase.get()
    }

    /// Moves to another phase.
    pub fn set_phase(&self, phase: Phase) {
        self.phase.set(phase);
    }

    /// Whether clients should stop.
    pub fn is_done(&self) -> bool {
        self.phase.get() == Phase::Done
    }

    /// One operation delivered, `latency` after it started; counted only while measuring.
    pub fn record_op(&self, latency: Duration) {
        if self.phase.get() == Phase::Measure {
            self.ops.set(self.ops.get() + 1);
            let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX).max(1);
            self.latency_ns.borrow_mut().saturating_record(ns);
        }
    }

    /// One error; counted during warm-up and measurement, ignored while winding down.
    pub fn record_error(&self, error: impl Display) {
        if self.phase.get() == Phase::Done {
            return;
        }
        self.errors.set(self.errors.get() + 1);
        let mut kept = self.first_errors.borrow_mut();
        if kept.len() < KEPT_ERRORS {
            kept.push(error.to_string());
        }
    }

    /// Operations delivered while measuring.
    pub fn ops(&self) -> u64 {
        self.ops.get()
    }

    /// Errors counted.
    pub fn errors(&self) -> u64 {
        self.errors.get()
    }

    /// The first few error messages.
    pub fn first_errors(&self) -> Vec<String> {
        self.first_errors.borrow().clone()
    }

    /// Latency percentiles in microseconds: (p50, p99, max), `None` without samples.
    pub fn latency_us(&self) -> Option<(f64, f64, f64)> {
        let h = self.latency_ns.borrow();
        if h.is_empty() {
            return None;
        }
        let us = |ns: u64| (ns as f64 / 100.0).round() / 10.0;
        Some((
            us(h.value_at_quantile(0.5)),
            us(h.value_at_quantile(0.99)),
            us(h.max()),
        ))
    }
}

/// The measured window as seen from `/proc`: the server's and our own CPU time and RSS.
#[derive(Clone, Debug, Default)]
pub struct WindowResult {
    /// Wall time of the window.
    pub elapsed: Duration,
    /// Server CPU nanoseconds in the window and their source.
    pub server_cpu: Option<(u64, CpuSource)>,
    /// The user (not kernel) share of the server's CPU time in the window.
    pub server_user_share: Option<f64>,
    /// Server RSS at the start, KiB.
    pub server_rss_kb_start: Option<u64>,
    /// Server RSS at the end, KiB.
    pub server_rss_kb_end: Option<u64>,
    /// Server threads seen at the start and the end.
    pub server_threads: Option<(usize, usize)>,
    /// Our own CPU nanoseconds in the window.
    pub loadgen_cpu_ns: Option<u64>,
}

/// An open measurement window.
#[derive(Debug)]
pub struct Window {
    /// The server, if known.
    pid: Option<u32>,
    /// When the window opened.
    start: Instant,
    /// The server at the start.
    server: Option<ProcSample>,
    /// This process at the start.
    own: Option<ProcSample>,
}

impl Window {
    /// Samples the server (if a pid is given) and this process now.
    pub fn open(pid: Option<u32>) -> Self {
        Self {
            pid,
            server: pid.and_then(|p| proc_stats::sample(Some(p)).ok()),
            own: proc_stats::sample(None).ok(),
            start: Instant::now(),
        }
    }

    /// Samples again and returns the differences.
    pub fn close(self) -> WindowResult {
        let elapsed = self.start.elapsed();
        let server_end = self.pid.and_then(|p| proc_stats::sample(Some(p)).ok());
        let own_end = proc_stats::sample(None).ok();
        let pair = |a: Option<ProcSample>, b: Option<ProcSample>| a.zip(b);
        let server = pair(self.server, server_end);
        WindowResult {
            elapsed,
            server_cpu: server.and_then(|(a, b)| proc_stats::cpu_delta(&a, &b)),
            server_user_share: server.and_then(|(a, b)| proc_stats::user_share(&a, &b)),
            server_rss_kb_start: self.server.and_then(|s| s.rss_kb),
            server_rss_kb_end: server_end.and_then(|s| s.rss_kb),
            server_threads: server.map(|(a, b)| (a.threads, b.threads)),
            loadgen_cpu_ns: pair(self.own, own_end)
                .and_then(|(a, b)| proc_stats::cpu_delta(&a, &b))
                .map(|(ns, _)| ns),
        }
    }
}

/// Runs the warm-up, switches to measuring, and closes the window after `duration`; the phase
/// is [`Phase::Done`] on return.
pub async fn timed_window(
    stats: &Stats,
    pid: Option<u32>,
    warmup: Duration,
    duration: Duration,
) -> WindowResult {
    if !warmup.is_zero() {
        tokio::time::sleep(warmup).await;
    }
    let window = Window::open(pid);
    stats.set_phase(Phase::Measure);
    tokio::time::sleep(duration).await;
    stats.set_phase(Phase::Done);
    window.close()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_while_measuring() {
        let stats = Stats::new();
        stats.record_op(Duration::from_micros(5));
        stats.record_error("warm-up error");
        assert_eq!((stats.ops(), stats.errors()), (0, 1));
        assert_eq!(stats.latency_us(), None);
        stats.set_phase(Phase::Measure);
        for us in [10, 20, 30, 1000] {
            stats.record_op(Duration::from_micros(us));
        }
        stats.set_phase(Phase::Done);
        stats.record_op(Duration::from_micros(5));
        stats.record_error("shutdown noise");
        assert_eq!((stats.ops(), stats.errors()), (4, 1));
        let (p50, p99, max) = stats.latency_us().unwrap();
        assert!(p50 <= p99 && p99 <= max);
        assert!((19.9..=20.1).contains(&p50), "{p50}");
        assert!((999.0..=1001.0).contains(&max), "{max}");
        assert_eq!(stats.first_errors(), vec!["warm-up error".to_owned()]);
    }
}
