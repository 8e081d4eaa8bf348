//! One interop case: a peer client script runs one scenario in one mode against a fresh
//! [`EchoServer`] on one runtime; the test then asserts on what the script observed and on the
//! server's log.

use std::fmt;
use std::time::Duration;

use engineio::server::StaticFiles;
use engineio::Transport;
use serde_json::Value;

use crate::echo::{PING_INTERVAL, PING_TIMEOUT};
use crate::{peers, EchoServer, Runtime, SessionLog};

/// How long a peer script may run.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(25);
/// How long the server may take to notice the end of a session the client has left, on top
/// of a heartbeat (a client that leaves without a word is seen by its missing pong).
const SERVER_TIMEOUT: Duration = Duration::from_secs(3);
/// The server's ping timeout where the heartbeat is not the subject: pings still go every
/// 300 ms, but a peer stalled for seconds on a loaded machine (seen with `-j 6` beside
/// Chromium) keeps its session. `heartbeat` and `handshake` use the tighter 800 ms.
const RELAXED_PING_TIMEOUT: Duration = Duration::from_secs(5);
/// The scenarios run against the tighter 300 ms / 800 ms heartbeat.
const TIGHT_HEARTBEAT: [&str; 2] = ["heartbeat", "handshake"];

/// The client peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// `tests/interop/js_client.js`: engine.io-client on Node.
    Node,
    /// `tests/interop/py_client.py`: python-engineio's sync `engineio.Client`.
    Python,
}

/// The transports a client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Long-polling only.
    Polling,
    /// WebSocket only.
    WebSocket,
    /// Polling first, then the upgrade to WebSocket.
    Upgrade,
}

impl Mode {
    /// The mode named `polling`, `websocket` or `upgrade`.
    pub fn named(name: &str) -> Self {
        match name {
            "polling" => Self::Polling,
            "websocket" => Self::WebSocket,
            "upgrade" => Self::Upgrade,
            other => panic!("unknown mode {other:?}"),
        }
    }

    /// The mode's name, as the scripts take it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Polling => "polling",
            Self::WebSocket => "websocket",
            Self::Upgrade => "upgrade",
        }
    }

    /// The transport the session opens on.
    pub fn opens_on(self) -> Transport {
        match self {
            Self::Polling | Self::Upgrade => Transport::Polling,
            Self::WebSocket => Transport::WebSocket,
        }
    }

    /// The transport the session settles on.
    pub fn settles_on(self) -> Transport {
        match self {
            Self::Polling => Transport::Polling,
            Self::WebSocket | Self::Upgrade => Transport::WebSocket,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A finished scenario: the script's result line and the server it ran against.
#[derive(Debug)]
pub struct Case {
    /// Who to blame in messages: `node engine.io-client against our server on smol, polling
    /// mode, scenario text`.
    pub context: String,
    /// The script's result line.
    pub result: Value,
    /// The server, still running (its log is complete once the session ended).
    pub server: EchoServer,
    /// The server's ping timeout.
    ping_timeout: Duration,
}

impl Case {
    /// Starts a server on `runtime`, runs `scenario` with `peer` in `mode`, and checks that the
    /// script ran it to its end without client errors.
    pub fn run(peer: Peer, runtime: Runtime, mode: Mode, scenario: &str) -> Self {
        let ping_timeout = if TIGHT_HEARTBEAT.contains(&scenario) {
            PING_TIMEOUT
        } else {
            RELAXED_PING_TIMEOUT
        };
        let server = EchoServer::start_with(runtime, StaticFiles::new(), ping_timeout);
        let url = server.url();
        let args = [
            "--url",
            url.as_str(),
            "--mode",
            mode.name(),
            "--scenario",
            scenario,
        ];
        let (lines, who) = match peer {
            Peer::Node => (
                peers::run_node("js_client.js", &args, SCRIPT_TIMEOUT),
                "node engine.io-client",
            ),
            Peer::Python => (
                peers::run_python("py_client.py", &args, SCRIPT_TIMEOUT),
                "python-engineio Client",
            ),
        };
        let case = Self {
            context: format!(
                "{who} against our server on {runtime}, {mode} mode, scenario {scenario}"
            ),
            result: peers::result(&lines, "scenario", scenario).clone(),
            server,
            ping_timeout,
        };
        // Shown on failure, or with `--no-capture`.
        eprintln!("{}: {}", case.context, case.result);
        case.expect("ok", Value::Bool(true));
        case.expect("errors", Value::Array(Vec::new()));
        case
    }

    /// The field `key` of the result; fails if it is missing.
    pub fn get(&self, key: &str) -> &Value {
        self.result.get(key).unwrap_or_else(|| {
            panic!(
                "{}: no {key:?} in the result {:#}",
                self.context, self.result
            )
        })
    }

    /// Asserts that the result's `key` is `expected`.
    pub fn expect(&self, key: &str, expected: Value) {
        let actual = self.result.get(key).unwrap_or(&Value::Null);
        assert!(
            *actual == expected,
            "{}: {key} is {actual}, expected {expected}\nresult: {:#}",
            self.context,
            self.result
        );
    }

    /// Asserts `condition`, naming the case and `what` if it fails.
    pub fn check(&self, condition: bool, what: &str) {
        assert!(
            condition,
            "{}: {what}\nresult: {:#}",
            self.context, self.result
        );
    }

    /// The session id the client reported (at least 20 characters).
    pub fn sid(&self) -> String {
        let sid = self.get("sid").as_str().unwrap_or_default().to_owned();
        self.check(sid.len() >= 20, "the sid has fewer than 20 characters");
        sid
    }

    /// The server's log of the session, once it ended; asserts that it was the only session,
    /// that its handlers ran on the runtime's threads, and that it opened on the mode's first
    /// transport.
    pub fn server_session(&self) -> SessionLog {
        let timeout = PING_INTERVAL + self.ping_timeout + SERVER_TIMEOUT;
        let session = self.server.ended(&self.sid(), timeout);
        let sessions = self.server.sessions().len();
        self.check(
            sessions == 1,
            &format!("the server saw {sessions} sessions, expected 1"),
        );
        let thread = self.server.handler_thread();
        self.check(
            session.handler_threads == [thread.as_str()],
            &format!(
                "the server's handlers ran on threads {:?}, expected {thread:?}: not on the runtime given",
                session.handler_threads
            ),
        );
        let opened_on = self.mode().opens_on();
        self.check(
            session.opened_on == opened_on,
            &format!(
                "the server saw the session open on {}, expected {opened_on}",
                session.opened_on
            ),
        );
        session
    }

    /// The mode of the case.
    pub fn mode(&self) -> Mode {
        Mode::named(self.get("mode").as_str().unwrap_or_default())
    }
}
