//! `loadgen`: drives an Engine.IO server (or a bare floor with `--raw`) and prints one JSON line.
//!
//! ```text
//! loadgen --url http://127.0.0.1:PORT/engine.io/ --scenario <ws-echo|polling-echo|handshake-polling|handshake-ws|idle>
//!         [--server-pid PID] [--clients 50] [--size 32] [--binary] [--depth 1]
//!         [--duration-secs 5] [--warmup-secs 1] [--sessions 10000] [--raw] [--label NAME]
//! ```
//!
//! stdout gets exactly one JSON line (see `report`), stderr a human summary. The exit code is
//! 0 whenever the run happened, errors included (they are in the `errors` field); it is 1 when
//! the run could not start (bad arguments, server unreachable), and then nothing is printed on
//! stdout.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use engineio_loadgen::{run, Config, Scenario};

/// Command-line arguments; see the module docs.
#[derive(Parser, Debug)]
#[command(name = "loadgen", about = "Engine.IO v4 load generator")]
struct Args {
    /// Server URL, e.g. http://127.0.0.1:5000/engine.io/
    #[arg(long)]
    url: String,
    /// ws-echo, polling-echo, handshake-polling, handshake-ws or idle.
    #[arg(long, value_parser = parse_scenario)]
    scenario: Scenario,
    /// Server process whose CPU time and RSS are read from /proc.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Concurrent clients (echo) or workers (handshakes).
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// Message payload size in bytes.
    #[arg(long, default_value_t = 32)]
    size: usize,
    /// Binary messages instead of ASCII text.
    #[arg(long)]
    binary: bool,
    /// Messages in flight per WebSocket client.
    #[arg(long, default_value_t = 1)]
    depth: usize,
    /// Seconds measured.
    #[arg(long, default_value_t = 5.0)]
    duration_secs: f64,
    /// Seconds of load before measuring, not counted.
    #[arg(long, default_value_t = 1.0)]
    warmup_secs: f64,
    /// Idle sessions to open (idle scenario).
    #[arg(long, default_value_t = 10_000)]
    sessions: usize,
    /// No Engine.IO: a plain WebSocket or HTTP echo (the floors).
    #[arg(long)]
    raw: bool,
    /// A name copied to the JSON output.
    #[arg(long)]
    label: Option<String>,
}

/// clap value parser for `--scenario`.
fn parse_scenario(name: &str) -> Result<Scenario, String> {
    Scenario::parse(name).ok_or_else(|| {
        "expected ws-echo, polling-echo, handshake-polling, handshake-ws or idle".to_owned()
    })
}

/// Seconds from the command line as a duration (negative or not a number: zero).
fn seconds(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs).unwrap_or_default()
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = Config {
        url: args.url,
        scenario: args.scenario,
        server_pid: args.server_pid,
        clients: args.clients,
        size: args.size,
        binary: args.binary,
        depth: args.depth,
        duration: seconds(args.duration_secs),
        warmup: seconds(args.warmup_secs),
        sessions: args.sessions,
        raw: args.raw,
        label: args.label,
    };
    match run(&config) {
        Ok(report) => {
            eprint!("{}", report.summary());
            println!("{}", report.to_json());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}
