//! CPU time and RSS of a process, read from `/proc`.
//!
//! The server's CPU time per operation is the headline number: it holds even when the load
//! generator, not the server, limits the throughput. The precise source is the first field of
//! `/proc/<pid>/task/<tid>/schedstat` (nanoseconds on CPU), summed over the threads. A thread
//! that exits during the window takes its time with it, which would under-count a server that
//! spawns short-lived threads (the blocking runtime does, one per connection), so the tick-based
//! `utime + stime` of `/proc/<pid>/stat`, which keeps the time of exited threads, is read too,
//! and [`cpu_delta`] uses it when it is larger by more than its resolution.
//!
//! `stat` also splits the time into user and system (kernel) time, which schedstat does not:
//! [`user_share`] gives the user part of a window. On loopback a new session's cost is mostly
//! the kernel's TCP work, the same for every server, so the user part is where servers differ.

use std::fs;
use std::io;

/// Clock ticks per second of `/proc/<pid>/stat` times. USER_HZ is 100 on every Linux
/// architecture in use (it is part of the kernel ABI), and reading `sysconf` would need `unsafe`.
pub const CLK_TCK: u64 = 100;

/// Nanoseconds per clock tick.
const NS_PER_TICK: u64 = 1_000_000_000 / CLK_TCK;

/// One reading of a process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcSample {
    /// Sum of the threads' on-CPU nanoseconds from `task/*/schedstat`, if readable.
    pub sched_ns: Option<u64>,
    /// `utime + stime` from `stat`, in nanoseconds (tick resolution), if readable.
    pub stat_ns: Option<u64>,
    /// `utime` and `stime` from `stat`, in ticks, if readable.
    pub user_sys_ticks: Option<(u64, u64)>,
    /// Resident set size in KiB from `status`.
    pub rss_kb: Option<u64>,
    /// Threads seen in `task/`.
    pub threads: usize,
}

/// Where a CPU-time difference came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuSource {
    /// Per-thread schedstat sums (nanosecond precision).
    Schedstat,
    /// `utime + stime` (10 ms ticks): schedstat was missing, or threads exited with their time.
    Stat,
}

/// Reads `/proc/<pid>` (`pid` `None` means this process).
pub fn sample(pid: Option<u32>) -> io::Result<ProcSample> {
    let dir = match pid {
        Some(pid) => format!("/proc/{pid}"),
        None => "/proc/self".to_owned(),
    };
    let status = fs::read_to_string(format!("{dir}/status"))?;
    let user_sys_ticks = fs::read_to_string(format!("{dir}/stat"))
        .ok()
        .and_then(|s| parse_stat_ticks(&s));
    let stat_ns = user_sys_ticks.map(|(user, sys)| (user + sys) * NS_PER_TICK);
    let mut sched_ns = None;
    let mut threads = 0;
    if let Ok(tasks) = fs::read_dir(format!("{dir}/task")) {
        for task in tasks.flatten() {
            // A thread may exit between listing and reading: skip it.
            let Ok(text) = fs::read_to_string(task.path().join("schedstat")) else {
                continue;
            };
            if let Some(ns) = parse_schedstat(&text) {
                threads += 1;
                sched_ns = Some(sched_ns.unwrap_or(0) + ns);
            }
        }
    }
    Ok(ProcSample {
        sched_ns,
        stat_ns,
        user_sys_ticks,
        rss_kb: parse_vmrss_kb(&status),
        threads,
    })
}

/// The first field of a `schedstat` line: nanoseconds spent on the CPU.
pub fn parse_schedstat(text: &str) -> Option<u64> {
    text.split_ascii_whitespace().next()?.parse().ok()
}

/// `utime` and `stime` in ticks from a `/proc/<pid>/stat` line. The command name (field 2) may
/// hold spaces and parentheses, so fields are counted from the last `)`.
pub fn parse_stat_ticks(text: &str) -> Option<(u64, u64)> {
    let after = &text[text.rfind(')')? + 1..];
    let mut fields = after.split_ascii_whitespace();
    // After ")": field 3 (state) is index 0, so utime (14) is index 11 and stime (15) index 12.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime, stime))
}

/// The user (not kernel) share of the CPU time between two samples, from `stat`'s ticks;
/// `None` without ticks in the window. Its resolution is one tick (10 ms) over the window's
/// total: a 3 s run at full load reads it to about 0.3 %.
pub fn user_share(start: &ProcSample, end: &ProcSample) -> Option<f64> {
    let ((user0, sys0), (user1, sys1)) = start.user_sys_ticks.zip(end.user_sys_ticks)?;
    let user = user1.saturating_sub(user0);
    let total = user + sys1.saturating_sub(sys0);
    (total > 0).then(|| user as f64 / total as f64)
}

/// `VmRSS` in KiB from `/proc/<pid>/status`.
pub fn parse_vmrss_kb(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()
}

/// CPU nanoseconds between two samples, and which source they came from.
///
/// Schedstat is used when both samples have it, unless `stat` shows more time by more than two
/// ticks (its resolution): then threads exited during the window and took their schedstat
/// time with them.
pub fn cpu_delta(start: &ProcSample, end: &ProcSample) -> Option<(u64, CpuSource)> {
    let sched = start
        .sched_ns
        .zip(end.sched_ns)
        .map(|(a, b)| b.saturating_sub(a));
    let stat = start
        .stat_ns
        .zip(end.stat_ns)
        .map(|(a, b)| b.saturating_sub(a));
    match (sched, stat) {
        (Some(sched), Some(stat)) if stat > sched + 2 * NS_PER_TICK => {
            Some((stat, CpuSource::Stat))
        }
        (Some(sched), _) => Some((sched, CpuSource::Schedstat)),
        (None, Some(stat)) => Some((stat, CpuSource::Stat)),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_schedstat() {
        assert_eq!(parse_schedstat("123456789 2000 17\n"), Some(123_456_789));
        assert_eq!(parse_schedstat(""), None);
        assert_eq!(parse_schedstat("x 1 2"), None);
    }

    #[test]
    fn parses_stat_with_a_tricky_command_name() {
        let line = "4242 (echo) weird) S 1 4242 4242 0 -1 4194560 300 0 0 0 \
                    250 50 0 0 20 0 3 0 12345 1000000 500 18446744073709551615";
        assert_eq!(parse_stat_ticks(line), Some((250, 50)));
        assert_eq!(parse_stat_ticks("1 (x) S 1 2"), None);
        assert_eq!(parse_stat_ticks("no parens"), None);
    }

    #[test]
    fn parses_vmrss() {
        let status = "Name:\techo\nVmPeak:\t  20000 kB\nVmRSS:\t    5120 kB\nThreads:\t1\n";
        assert_eq!(parse_vmrss_kb(status), Some(5120));
        assert_eq!(parse_vmrss_kb("Name:\tkthread\n"), None);
    }

    #[test]
    fn cpu_delta_prefers_schedstat_unless_threads_vanished() {
        let at = |sched, stat| ProcSample {
            sched_ns: sched,
            stat_ns: stat,
            ..ProcSample::default()
        };
        let tick = NS_PER_TICK;
        // Within stat's resolution: schedstat wins.
        let d = cpu_delta(
            &at(Some(0), Some(0)),
            &at(Some(105 * tick / 10), Some(11 * tick)),
        );
        assert_eq!(d, Some((105 * tick / 10, CpuSource::Schedstat)));
        // Exited threads: stat is far larger.
        let d = cpu_delta(&at(Some(0), Some(0)), &at(Some(tick), Some(50 * tick)));
        assert_eq!(d, Some((50 * tick, CpuSource::Stat)));
        // Only stat.
        let d = cpu_delta(&at(None, Some(tick)), &at(None, Some(3 * tick)));
        assert_eq!(d, Some((2 * tick, CpuSource::Stat)));
        assert_eq!(cpu_delta(&at(None, None), &at(None, None)), None);
    }

    #[test]
    fn user_share_is_the_user_part_of_the_window() {
        let at = |user, sys| ProcSample {
            user_sys_ticks: Some((user, sys)),
            ..ProcSample::default()
        };
        assert_eq!(user_share(&at(10, 20), &at(40, 110)), Some(0.25));
        assert_eq!(user_share(&at(10, 20), &at(10, 20)), None);
        assert_eq!(user_share(&ProcSample::default(), &at(1, 1)), None);
    }

    #[test]
    fn samples_this_process() {
        let s = sample(None).unwrap();
        assert!(s.rss_kb.is_some_and(|kb| kb > 0));
        assert!(s.threads >= 1);
        assert!(s.stat_ns.is_some());
    }
}
