//! [`PeerServer`]: a reference Engine.IO server (`tests/interop/js_server.js`,
//! `tests/interop/py_server.py`) running as a child process for our client to talk to, with
//! the events it prints (one JSON line each) for the test to wait for and assert on.

use std::fmt;
use std::process::Stdio;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use crate::echo::PING_INTERVAL;
use crate::peers;

/// How long a server may take to start (Python imports aiohttp first).
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// A reference server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerPeer {
    /// `tests/interop/js_server.js`: the npm `engine.io` 6.6.13 server on Node.
    Node,
    /// `tests/interop/py_server.py`: python-engineio 4.15.1's `AsyncServer` on aiohttp.
    Python,
}

impl ServerPeer {
    /// Who to blame in messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Node => "the npm engine.io server",
            Self::Python => "the python-engineio AsyncServer",
        }
    }
}

impl fmt::Display for ServerPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the server printed so far.
#[derive(Debug, Default)]
struct Output {
    /// The JSON lines, in order (the `listening` line included).
    lines: Vec<Value>,
    /// Lines that were not JSON.
    garbage: Vec<String>,
    /// Its standard output closed: it exited.
    exited: bool,
    /// Its standard error so far.
    stderr: String,
}

/// The output and the condition variable that signals each new line.
#[derive(Debug, Default)]
struct Shared {
    output: Mutex<Output>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Output> {
        self.output.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update(&self, change: impl FnOnce(&mut Output)) {
        change(&mut self.lock());
        self.changed.notify_all();
    }
}

/// A reference server, listening on `127.0.0.1:<port>`; killed when dropped (and exiting by
/// itself when its standard input, held here, closes: even if the test process dies).
pub struct PeerServer {
    peer: ServerPeer,
    port: u16,
    shared: Arc<Shared>,
    _stdin: ChildStdin,
    _child: Child,
}

impl fmt::Debug for PeerServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerServer")
            .field("peer", &self.peer)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl PeerServer {
    /// Starts `peer` pinging every 300 ms ([`PING_INTERVAL`]) with `ping_timeout`, and waits
    /// until it listens.
    pub fn start(peer: ServerPeer, ping_timeout: Duration) -> Self {
        let (program, script) = match peer {
            ServerPeer::Node => {
                peers::node_modules();
                (peers::node(), "js_server.js")
            }
            ServerPeer::Python => (peers::python3(), "py_server.py"),
        };
        let script = peers::interop_dir().join(script);
        let interval = PING_INTERVAL.as_millis().to_string();
        let timeout = ping_timeout.as_millis().to_string();
        let _runtime = peers::peer_runtime().enter();
        let mut child = Command::new(&program)
            .arg(&script)
            .args(["--ping-interval", &interval, "--ping-timeout", &timeout])
            .current_dir(peers::interop_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} {}: {e}",
                    program.display(),
                    script.display()
                )
            });
        let shared = Arc::new(Shared::default());
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let stdin = child.stdin.take().expect("piped");
        let out = Arc::clone(&shared);
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if line.trim().is_empty() {
                    continue;
                }
                out.update(|output| match serde_json::from_str(&line) {
                    Ok(value) => output.lines.push(value),
                    Err(_) => output.garbage.push(line),
                });
            }
            out.update(|output| output.exited = true);
        });
        let err = Arc::clone(&shared);
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                err.update(|output| {
                    output.stderr.push_str(&line);
                    output.stderr.push('\n');
                });
            }
        });
        let mut server = Self {
            peer,
            port: 0,
            shared,
            _stdin: stdin,
            _child: child,
        };
        let Some(lines) = server.wait_lines("listening", START_TIMEOUT, |lines| {
            lines.iter().any(|line| line["listening"].is_u64())
        }) else {
            if peer == ServerPeer::Python {
                // Say so if python-engineio or aiohttp is missing.
                peers::peer_runtime().block_on(peers::python());
            }
            server.fail("exited before listening");
        };
        server.port = lines
            .iter()
            .find_map(|line| line["listening"].as_u64())
            .and_then(|port| u16::try_from(port).ok())
            .expect("a port");
        server
    }

    /// Who the server is.
    pub fn peer(&self) -> ServerPeer {
        self.peer
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The events printed so far (every line but `listening`).
    pub fn events(&self) -> Vec<Value> {
        events(&self.shared.lock().lines)
    }

    /// The events of the session `sid` so far.
    pub fn session_events(&self, sid: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|event| event["sid"] == sid)
            .collect()
    }

    /// The session's events named `name` (`message`, `pong`, …) so far.
    pub fn named(&self, sid: &str, name: &str) -> Vec<Value> {
        self.session_events(sid)
            .into_iter()
            .filter(|event| event["event"] == name)
            .collect()
    }

    /// Waits up to `timeout` for the session `sid` to have `count` events named `name`, and
    /// returns them; fails, with everything the server printed, if it does not happen or the
    /// server exits.
    pub fn wait_named(&self, sid: &str, name: &str, count: usize, timeout: Duration) -> Vec<Value> {
        let matching = |events: &[Value]| {
            events
                .iter()
                .filter(|event| event["sid"] == sid && event["event"] == name)
                .cloned()
                .collect::<Vec<_>>()
        };
        let what = format!("{count} `{name}` events of session {sid}");
        match self.wait_lines(&what, timeout, |lines| matching(lines).len() >= count) {
            Some(lines) => matching(&lines),
            None => self.fail(&format!("exited before {what}")),
        }
    }

    /// Waits up to `timeout` for the first event named `name` of the session `sid`.
    pub fn wait_event(&self, sid: &str, name: &str, timeout: Duration) -> Value {
        self.wait_named(sid, name, 1, timeout).swap_remove(0)
    }

    /// Fails the test with `what` (prefixed with the server's name) and everything the server
    /// printed.
    pub fn fail(&self, what: &str) -> ! {
        self.report(&format!("{}: {what}", self.peer))
    }

    /// Fails the test with `message` and what the server printed (its first 20 `message`
    /// events, and every other line).
    pub fn report(&self, message: &str) -> ! {
        let output = self.shared.lock();
        let mut messages = 0;
        let mut shown = Vec::new();
        for line in &output.lines {
            if line["event"] == "message" {
                messages += 1;
                if messages > 20 {
                    continue;
                }
            }
            shown.push(line.to_string());
        }
        panic!(
            "{message}\nserver output ({messages} message events, the first 20 shown):\n  {}\n\
             non-JSON lines: {:?}\nserver stderr:\n{}",
            shown.join("\n  "),
            output.garbage,
            output.stderr
        );
    }

    /// Waits up to `timeout` until `done` holds for the lines printed so far and returns them;
    /// `None` if the server exited first; fails on the deadline.
    fn wait_lines(
        &self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&[Value]) -> bool,
    ) -> Option<Vec<Value>> {
        let deadline = Instant::now() + timeout;
        let mut output = self.shared.lock();
        loop {
            if done(&output.lines) {
                return Some(output.lines.clone());
            }
            if output.exited {
                return None;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                drop(output);
                self.fail(&format!("no {what} within {timeout:?}"));
            }
            output = self
                .shared
                .changed
                .wait_timeout(output, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// The lines that are events (not the `listening` line).
fn events(lines: &[Value]) -> Vec<Value> {
    lines
        .iter()
        .filter(|line| line.get("event").is_some())
        .cloned()
        .collect()
}
