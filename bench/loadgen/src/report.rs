//! The result of a run: one JSON line for scripts, a few lines of prose for people.
//!
//! The JSON field set is a contract with `scripts/bench-load` and `bench/floors`: every field is
//! always present, `null` when it does not apply to the scenario (sizes for handshakes, the
//! idle fields for echo runs) or could not be measured (server CPU without `--server-pid`).

use serde::Serialize;

use crate::measure::{Stats, WindowResult};
use crate::proc_stats::CpuSource;
use crate::{Config, Scenario};

/// Memory figures of the `idle` scenario.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct IdleMemory {
    /// Sessions requested.
    pub sessions: u64,
    /// Server RSS before opening any session, KiB.
    pub rss_kb_before: Option<u64>,
    /// Server RSS with the sessions open, KiB.
    pub rss_kb_with_sessions: Option<u64>,
    /// Server RSS once the sessions closed and the RSS settled, KiB.
    pub rss_kb_after_close: Option<u64>,
    /// `(with − before) / sessions open`, bytes.
    pub bytes_per_session: Option<f64>,
}

/// One run's results, serialized as the single JSON line on stdout.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    /// `--label`.
    pub label: Option<String>,
    /// The scenario name.
    pub scenario: String,
    /// Concurrent clients or workers.
    pub clients: Option<u64>,
    /// Payload bytes (echo scenarios).
    pub size: Option<u64>,
    /// Binary payloads (echo scenarios).
    pub binary: Option<bool>,
    /// Messages in flight per client (`ws-echo`).
    pub depth: Option<u64>,
    /// The measured window in seconds.
    pub duration_s: f64,
    /// Operations delivered in the window (echoes, sessions; for `idle`, sessions held).
    pub ops: u64,
    /// `ops / duration_s`.
    pub ops_per_s: Option<f64>,
    /// Median latency of an operation, µs (`idle`: session open time).
    pub p50_us: Option<f64>,
    /// 99th percentile latency, µs.
    pub p99_us: Option<f64>,
    /// Largest latency, µs.
    pub max_us: Option<f64>,
    /// Errors during warm-up and measurement.
    pub errors: u64,
    /// Server CPU time in the window, ns.
    pub server_cpu_ns: Option<u64>,
    /// Server CPU per operation, µs.
    pub server_cpu_us_per_op: Option<f64>,
    /// The user-space part of it (the rest is the kernel's), split by `/proc/<pid>/stat`'s
    /// `utime` and `stime`, µs.
    pub server_user_us_per_op: Option<f64>,
    /// Server RSS at the start of the window, KiB.
    pub server_rss_kb_start: Option<u64>,
    /// Server RSS at the end of the window, KiB.
    pub server_rss_kb_end: Option<u64>,
    /// The load generator's own CPU time in the window, ns.
    pub loadgen_cpu_ns: Option<u64>,
    /// `idle`: sessions requested.
    pub sessions: Option<u64>,
    /// `idle`: server RSS before, KiB.
    pub rss_kb_before: Option<u64>,
    /// `idle`: server RSS with the sessions open, KiB.
    pub rss_kb_with_sessions: Option<u64>,
    /// `idle`: server RSS after closing them, KiB.
    pub rss_kb_after_close: Option<u64>,
    /// `idle`: server bytes per idle session.
    pub bytes_per_session: Option<f64>,
    /// Not serialized: notes for the human summary (CPU source, lost threads, first errors).
    #[serde(skip)]
    pub notes: Vec<String>,
}

/// Rounds to three decimals, enough for µs and ops/s.
fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl Report {
    /// Assembles the report of a run that delivered `ops` operations.
    pub fn build(
        config: &Config,
        stats: &Stats,
        window: &WindowResult,
        ops: u64,
        idle: Option<IdleMemory>,
    ) -> Self {
        let echo = matches!(config.scenario, Scenario::WsEcho | Scenario::PollingEcho);
        let secs = window.elapsed.as_secs_f64();
        let latency = stats.latency_us();
        let server_cpu_ns = window.server_cpu.map(|(ns, _)| ns);
        let per_op = |value: Option<u64>| {
            value
                .filter(|_| ops > 0 && idle.is_none())
                .map(|ns| round3(ns as f64 / 1000.0 / ops as f64))
        };
        let mut notes = Vec::new();
        if let Some((_, CpuSource::Stat)) = window.server_cpu {
            notes.push(
                "server CPU from /proc/<pid>/stat (10 ms ticks): schedstat missing, or threads \
                 exited during the window and took their schedstat time with them"
                    .to_owned(),
            );
        }
        if let Some((start, end)) = window.server_threads {
            if start != end {
                notes.push(format!("server threads: {start} at start, {end} at end"));
            }
        }
        notes.extend(
            stats
                .first_errors()
                .into_iter()
                .map(|e| format!("error: {e}")),
        );
        let idle_memory = idle.unwrap_or_default();
        Self {
            label: config.label.clone(),
            scenario: config.scenario.name().to_owned(),
            clients: (config.scenario != Scenario::Idle).then_some(config.clients as u64),
            size: echo.then_some(config.size as u64),
            binary: echo.then_some(config.binary),
            depth: (config.scenario == Scenario::WsEcho).then_some(config.depth as u64),
            duration_s: round3(secs),
            ops,
            ops_per_s: (idle.is_none() && secs > 0.0).then(|| round3(ops as f64 / secs)),
            p50_us: latency.map(|l| l.0),
            p99_us: latency.map(|l| l.1),
            max_us: latency.map(|l| l.2),
            errors: stats.errors(),
            server_cpu_ns,
            server_cpu_us_per_op: per_op(server_cpu_ns),
            server_user_us_per_op: per_op(server_cpu_ns)
                .zip(window.server_user_share)
                .map(|(cpu, share)| round3(cpu * share)),
            server_rss_kb_start: window.server_rss_kb_start,
            server_rss_kb_end: window.server_rss_kb_end,
            loadgen_cpu_ns: window.loadgen_cpu_ns,
            sessions: idle.map(|i| i.sessions),
            rss_kb_before: idle_memory.rss_kb_before,
            rss_kb_with_sessions: idle_memory.rss_kb_with_sessions,
            rss_kb_after_close: idle_memory.rss_kb_after_close,
            bytes_per_session: idle_memory.bytes_per_session.map(|b| b.round()),
            notes,
        }
    }

    /// The single JSON line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// A short human summary.
    pub fn summary(&self) -> String {
        let opt = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v}"));
        let mut s = format!(
            "{}{}: {} ops in {:.2} s = {} ops/s, latency p50 {} µs p99 {} µs max {} µs, {} errors\n",
            self.scenario,
            self.label.as_ref().map_or(String::new(), |l| format!(" [{l}]")),
            self.ops,
            self.duration_s,
            opt(self.ops_per_s),
            opt(self.p50_us),
            opt(self.p99_us),
            opt(self.max_us),
            self.errors,
        );
        if let Some(ns) = self.server_cpu_ns {
            s += &format!(
                "server CPU {:.1} ms ({} µs/op, {} in user space), RSS {} → {} KiB\n",
                ns as f64 / 1e6,
                opt(self.server_cpu_us_per_op),
                opt(self.server_user_us_per_op),
                self.server_rss_kb_start
                    .map_or("-".into(), |v| v.to_string()),
                self.server_rss_kb_end.map_or("-".into(), |v| v.to_string()),
            );
        }
        if let Some(ns) = self.loadgen_cpu_ns {
            let share = ns as f64 / 1e9 / self.duration_s.max(1e-9) * 100.0;
            s += &format!(
                "loadgen CPU {:.1} ms ({share:.0}% of one core)\n",
                ns as f64 / 1e6
            );
        }
        if let Some(n) = self.sessions {
            let kb = |v: Option<u64>| v.map_or("-".into(), |v| v.to_string());
            s += &format!(
                "idle: {} of {n} sessions held, RSS {} KiB before, {} KiB with sessions, {} KiB after close: {} bytes/session\n",
                self.ops,
                kb(self.rss_kb_before),
                kb(self.rss_kb_with_sessions),
                kb(self.rss_kb_after_close),
                opt(self.bytes_per_session),
            );
        }
        for note in &self.notes {
            s += &format!("note: {note}\n");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::measure::Phase;

    #[test]
    fn json_has_every_field_and_nulls_where_not_applicable() {
        let stats = Stats::new();
        stats.set_phase(Phase::Measure);
        stats.record_op(Duration::from_micros(40));
        let config = Config {
            scenario: Scenario::HandshakeWs,
            ..Config::default()
        };
        let window = WindowResult {
            elapsed: Duration::from_secs(2),
            server_cpu: Some((4_000, CpuSource::Schedstat)),
            server_user_share: Some(0.25),
            ..WindowResult::default()
        };
        let report = Report::build(&config, &stats, &window, 2, None);
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        let fields = [
            "label",
            "scenario",
            "clients",
            "size",
            "binary",
            "depth",
            "duration_s",
            "ops",
            "ops_per_s",
            "p50_us",
            "p99_us",
            "max_us",
            "errors",
            "server_cpu_ns",
            "server_cpu_us_per_op",
            "server_user_us_per_op",
            "server_rss_kb_start",
            "server_rss_kb_end",
            "loadgen_cpu_ns",
            "sessions",
            "rss_kb_before",
            "rss_kb_with_sessions",
            "rss_kb_after_close",
            "bytes_per_session",
        ];
        let object = json.as_object().unwrap();
        assert_eq!(object.len(), fields.len());
        for field in fields {
            assert!(object.contains_key(field), "{field}");
        }
        assert_eq!(json["scenario"], "handshake-ws");
        assert_eq!(json["size"], serde_json::Value::Null);
        assert_eq!(json["ops_per_s"], 1.0);
        assert_eq!(json["server_cpu_us_per_op"], 2.0);
        assert_eq!(json["server_user_us_per_op"], 0.5);
        assert_eq!(json["sessions"], serde_json::Value::Null);
        assert!(!report.to_json().contains('\n'));
    }
}
