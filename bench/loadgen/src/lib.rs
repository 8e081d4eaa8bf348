//! A lean Engine.IO v4 load generator.
//!
//! It speaks Engine.IO itself, over raw `tokio` sockets: WebSocket through async-tungstenite
//! with small buffers, polling through a hand-driven HTTP/1.1 keep-alive connection parsed with
//! `httparse`. It deliberately does not use the `engineio` client: a benchmark client must cost
//! far less than the server it measures, so that the server is the bottleneck, and it must not
//! share code (and bugs) with the server under test.
//!
//! Everything runs on one current-thread tokio runtime (the binary is meant to be pinned to one
//! core with `taskset`). Results are read where they cannot be skewed by the load generator:
//! the server's CPU time and RSS come from `/proc/<pid>` ([`proc_stats`]), so CPU per operation
//! holds even when the load generator saturates its own core.
//!
//! [`run`] is the whole program minus the command line: the binary parses arguments into a
//! [`Config`], and the integration tests call [`run`] directly against an in-process server.

pub mod eio;
pub mod measure;
pub mod payload;
pub mod polling;
pub mod proc_stats;
pub mod report;
pub mod scenarios;
pub mod target;
pub mod ws;

use std::fmt;
use std::time::Duration;

pub use report::Report;
pub use target::Target;

/// What load to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// Closed-loop echo over WebSocket sessions, `depth` messages in flight per client.
    WsEcho,
    /// Closed-loop echo over polling sessions: POST one message, GET until it comes back.
    PollingEcho,
    /// New polling sessions: GET open, then POST `1`.
    HandshakePolling,
    /// New WebSocket sessions: TCP connect, upgrade, read open, send `1`, close.
    HandshakeWs,
    /// N idle WebSocket sessions held while answering pings; measures memory per session.
    Idle,
}

impl Scenario {
    /// The name used on the command line and in the JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Self::WsEcho => "ws-echo",
            Self::PollingEcho => "polling-echo",
            Self::HandshakePolling => "handshake-polling",
            Self::HandshakeWs => "handshake-ws",
            Self::Idle => "idle",
        }
    }

    /// Parses a command-line name.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::WsEcho,
            Self::PollingEcho,
            Self::HandshakePolling,
            Self::HandshakeWs,
            Self::Idle,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }

    /// Whether the scenario has a `--raw` (no Engine.IO) variant for the floors.
    pub fn supports_raw(self) -> bool {
        matches!(self, Self::WsEcho | Self::PollingEcho)
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One run's parameters (the command line, parsed).
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the server is, e.g. `http://127.0.0.1:5000/engine.io/`.
    pub url: String,
    /// The load to generate.
    pub scenario: Scenario,
    /// The server process to read CPU time and RSS from.
    pub server_pid: Option<u32>,
    /// Concurrent clients (echo) or workers (handshakes).
    pub clients: usize,
    /// Message payload size in bytes.
    pub size: usize,
    /// Send binary messages instead of ASCII text.
    pub binary: bool,
    /// Messages in flight per WebSocket client.
    pub depth: usize,
    /// The measured window.
    pub duration: Duration,
    /// Load before the measured window, not counted.
    pub warmup: Duration,
    /// Idle sessions to open (`idle` only).
    pub sessions: usize,
    /// No Engine.IO: plain WebSocket / plain HTTP echo, for the floors.
    pub raw: bool,
    /// A free-form name copied to the output.
    pub label: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:5000/engine.io/".to_owned(),
            scenario: Scenario::WsEcho,
            server_pid: None,
            clients: 50,
            size: 32,
            binary: false,
            depth: 1,
            duration: Duration::from_secs(5),
            warmup: Duration::from_secs(1),
            sessions: 10_000,
            raw: false,
            label: None,
        }
    }
}

/// Why a run could not start (as opposed to errors during the run, which are counted).
#[derive(Debug)]
pub struct SetupError(pub String);

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SetupError {}

/// Something that went wrong with one session or request during a run: counted, not fatal.
#[derive(Debug)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Self(format!("io: {e}"))
    }
}

impl From<eio::BadPacket> for Error {
    fn from(e: eio::BadPacket) -> Self {
        Self(format!("protocol: {e}"))
    }
}

impl From<async_tungstenite::tungstenite::Error> for Error {
    fn from(e: async_tungstenite::tungstenite::Error) -> Self {
        Self(format!("websocket: {e}"))
    }
}

impl From<tokio::time::error::Elapsed> for Error {
    fn from(_: tokio::time::error::Elapsed) -> Self {
        Self("timed out".into())
    }
}

/// Runs one scenario to completion on a fresh current-thread runtime and returns its report.
///
/// Fails only when the run cannot start: a bad URL, an unsupported combination, or a server
/// that cannot be reached at all. Everything that goes wrong later is counted in
/// [`Report::errors`].
pub fn run(config: &Config) -> Result<Report, SetupError> {
    if config.raw && !config.scenario.supports_raw() {
        return Err(SetupError(format!(
            "--raw is not supported by scenario {}",
            config.scenario
        )));
    }
    if config.clients == 0 || config.depth == 0 {
        return Err(SetupError(
            "--clients and --depth must be at least 1".into(),
        ));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SetupError(format!("cannot build the runtime: {e}")))?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let target = Target::resolve(&config.url).await?;
        // One plain TCP connect first: "could not connect at all" is a setup failure.
        target
            .connect()
            .await
            .map_err(|e| SetupError(format!("cannot connect to {}: {e}", target.addr)))?;
        Ok(scenarios::run(config, target).await)
    })
}
