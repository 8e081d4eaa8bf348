//! One case of our client against a reference server: a fresh [`PeerServer`], our
//! [`TestClient`] connected to it on one runtime in one mode, and the helpers the scenarios
//! of `tests/tests/client_{js,py}_server.rs` share. Every failure names the server, the
//! runtime, the mode and the scenario, and shows what the server printed.

use std::fmt::Debug;
use std::time::{Duration, Instant};

use engineio::{DisconnectReason, Message, Transport};
use serde_json::{json, Value};

use crate::echo::PING_INTERVAL;
use crate::interop::Mode;
use crate::{PeerServer, Runtime, ServerPeer, TestClient, PING_TIMEOUT};

/// How long an echo, or the server's report of a message, may take.
pub const ECHO_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the upgrade may take.
const UPGRADE_TIMEOUT: Duration = Duration::from_secs(5);
/// The server's ping timeout where the heartbeat is not the subject (pings still go every
/// 300 ms): a process stalled on a loaded machine keeps its session. `heartbeat` and
/// `handshake` use the tight 800 ms.
const RELAXED_PING_TIMEOUT: Duration = Duration::from_secs(5);
/// The scenarios run against the tight 300 ms / 800 ms heartbeat.
const TIGHT_HEARTBEAT: [&str; 2] = ["heartbeat", "handshake"];

/// Our client against a reference server, for one scenario.
#[derive(Debug)]
pub struct ClientCase {
    /// `our client on smol against the npm engine.io server, polling mode, scenario text`.
    pub context: String,
    /// The mode.
    pub mode: Mode,
    /// The server (its events are the server's view of the session).
    pub server: PeerServer,
    /// Our client, connected.
    pub client: TestClient,
    /// When `connect` returned.
    pub connected_at: Instant,
    /// The server's ping timeout.
    ping_timeout: Duration,
    /// The session id.
    sid: String,
}

impl ClientCase {
    /// Starts `peer`, connects our client on `runtime` in `mode`, and checks that the server
    /// saw the session open, with our sid, on the mode's first transport.
    pub fn start(peer: ServerPeer, runtime: Runtime, mode: Mode, scenario: &str) -> Self {
        Self::start_with(peer, runtime, mode, scenario, |_| {})
    }

    /// [`start`](Self::start), running `right_after_connect` on our client as soon as it is
    /// connected, before the checks (which wait for the server's report of the session).
    pub fn start_with(
        peer: ServerPeer,
        runtime: Runtime,
        mode: Mode,
        scenario: &str,
        right_after_connect: impl FnOnce(&TestClient),
    ) -> Self {
        let ping_timeout = if TIGHT_HEARTBEAT.contains(&scenario) {
            PING_TIMEOUT
        } else {
            RELAXED_PING_TIMEOUT
        };
        let context =
            format!("our client on {runtime} against {peer}, {mode} mode, scenario {scenario}");
        let server = PeerServer::start(peer, ping_timeout);
        let client = TestClient::connect(runtime, &server.url(), mode)
            .unwrap_or_else(|e| server.report(&format!("{context}: connect failed: {e}")));
        let connected_at = Instant::now();
        right_after_connect(&client);
        let sid = client.sid();
        let case = Self {
            context,
            mode,
            server,
            client,
            connected_at,
            ping_timeout,
            sid,
        };
        let connection = case
            .server
            .wait_event(&case.sid, "connection", ECHO_TIMEOUT);
        case.expect(
            &connection["transport"],
            &json!(mode.opens_on().as_str()),
            "the transport the server saw the session open on",
        );
        case
    }

    /// Our session id, as our client reports it.
    pub fn sid(&self) -> &str {
        &self.sid
    }

    /// Fails with `what`, the context and everything the server printed.
    pub fn fail(&self, what: &str) -> ! {
        self.server.report(&format!("{}: {what}", self.context))
    }

    /// Asserts `condition`.
    pub fn check(&self, condition: bool, what: &str) {
        if !condition {
            self.fail(what);
        }
    }

    /// Asserts that `actual` is `expected`.
    pub fn expect<T: PartialEq + Debug + ?Sized>(&self, actual: &T, expected: &T, what: &str) {
        if actual != expected {
            self.fail(&format!("{what}: {actual:?}, expected {expected:?}"));
        }
    }

    /// In upgrade mode, waits for the server's `upgrade` event and checks that our client is
    /// on WebSocket too; in the other modes, nothing (the scenario then runs on the transport
    /// the session settles on).
    pub fn settle(&self) {
        if self.mode == Mode::Upgrade {
            let upgrade = self
                .server
                .wait_event(&self.sid, "upgrade", UPGRADE_TIMEOUT);
            self.expect(
                &upgrade["transport"],
                &json!("websocket"),
                "the server's upgrade",
            );
            // Our client switches when it writes the upgrade packet, before the server reads it.
            self.expect(
                &self.client.transport(),
                &Some(Transport::WebSocket),
                "our client's transport after the server's upgrade",
            );
        }
    }

    /// Asserts that the session has the transport of the mode's end, on both sides, and that
    /// the server reported no upgrade outside upgrade mode.
    pub fn expect_settled(&self) {
        let settled = self.mode.settles_on();
        self.expect(
            &self.client.transport(),
            &Some(settled),
            "our client's transport",
        );
        let upgrades = self.server.named(&self.sid, "upgrade").len();
        let expected = usize::from(self.mode == Mode::Upgrade);
        self.expect(&upgrades, &expected, "the upgrades the server reported");
    }

    /// The next `count` messages our client received (in order, within [`ECHO_TIMEOUT`]);
    /// fails as soon as the server reports an error (python-engineio's `log` events), which
    /// says more than the missing echoes would.
    pub fn echoes(&self, count: usize) -> Vec<Message> {
        let deadline = Instant::now() + ECHO_TIMEOUT;
        let mut received = Vec::with_capacity(count);
        while received.len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                self.fail(&format!(
                    "{} of {count} echoes within {ECHO_TIMEOUT:?} (our client ended: {:?}); the last ones: {:?}",
                    received.len(),
                    self.client.ended_yet(),
                    &received[received.len().saturating_sub(3)..]
                ));
            }
            match self.client.recv(left.min(Duration::from_millis(100))) {
                Some(message) => received.push(message),
                None => {
                    if let Some(error) = self.server_errors().first() {
                        self.fail(&format!(
                            "{} of {count} echoes, and the server logged an error: {}\n{}",
                            received.len(),
                            error["message"],
                            error["exception"].as_str().unwrap_or_default()
                        ));
                    }
                }
            }
        }
        received
    }

    /// The server's `log` events of level ERROR so far.
    fn server_errors(&self) -> Vec<Value> {
        self.server
            .events()
            .into_iter()
            .filter(|event| event["event"] == "log" && event["level"] == "ERROR")
            .collect()
    }

    /// The first `count` messages the server reported receiving from us (waiting for them),
    /// as `{type, value, transport}`.
    pub fn server_messages(&self, count: usize) -> Vec<Value> {
        self.server
            .wait_named(&self.sid, "message", count, ECHO_TIMEOUT)
            .into_iter()
            .take(count)
            .map(|event| json!({ "type": event["type"], "value": event["value"], "transport": event["transport"] }))
            .collect()
    }

    /// The server's `close` event for our session, waiting for it (the server may notice a
    /// silent client only by its heartbeat).
    pub fn server_close(&self) -> Value {
        let timeout = PING_INTERVAL + self.ping_timeout + Duration::from_secs(3);
        self.server.wait_event(&self.sid, "close", timeout)
    }

    /// Why our client says the connection ended, waiting for it.
    pub fn client_reason(&self) -> DisconnectReason {
        self.client
            .reason(PING_INTERVAL + self.ping_timeout + Duration::from_secs(3))
    }

    /// Closes with our `disconnect()` and checks both sides' reasons: ours is
    /// `ClientDisconnect`, the server's is `server_reason` (in its own words).
    pub fn disconnect(&self, server_reason: &str) {
        self.client.disconnect();
        self.expect(
            &self.client.reason(Duration::ZERO),
            &DisconnectReason::ClientDisconnect,
            "our reason after disconnect()",
        );
        let close = self.server_close();
        self.expect(
            &close["reason"],
            &json!(server_reason),
            "the server's close reason",
        );
    }

    /// Asserts that the server saw one session, ours.
    pub fn expect_one_session(&self) {
        let sessions: Vec<Value> = self
            .server
            .events()
            .into_iter()
            .filter(|event| event["event"] == "connection")
            .map(|event| event["sid"].clone())
            .collect();
        self.expect(
            &sessions,
            &vec![json!(self.sid)],
            "the sessions the server saw",
        );
    }

    /// Asserts that the server logged no warning or error (python-engineio's log events).
    pub fn expect_no_server_log(&self) {
        let logged: Vec<Value> = self
            .server
            .events()
            .into_iter()
            .filter(|event| event["event"] == "log")
            .collect();
        self.expect(&logged, &Vec::new(), "the server's warnings and errors");
    }
}

/// `count` numbered texts: `"<prefix> 0"`, `"<prefix> 1"`, ….
pub fn numbered(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix} {i}")).collect()
}

/// Texts as messages.
pub fn texts<S: AsRef<str>>(values: &[S]) -> Vec<Message> {
    values
        .iter()
        .map(|text| Message::from(text.as_ref().to_owned()))
        .collect()
}

/// The server's view of texts received on `transport`: `{type: "text", value, transport}`.
pub fn server_texts<S: AsRef<str>>(values: &[S], transport: Transport) -> Vec<Value> {
    values
        .iter()
        .map(|text| json!({ "type": "text", "value": text.as_ref(), "transport": transport.as_str() }))
        .collect()
}

/// The text the scenarios send: multi-byte, and not JSON (python-engineio decodes texts that
/// parse as JSON).
pub const TEXT: &str = "héllo wörld ✓ 🦀";

/// What [`send_across_upgrade`] sent.
#[derive(Debug)]
pub struct AcrossUpgrade {
    /// The texts, in order.
    pub sent: Vec<String>,
    /// How many of them were sent while our client was still on polling.
    pub sent_on_polling: usize,
}

/// The first text of [`send_across_upgrade`], for the hook of [`ClientCase::start_with`]: sent
/// the moment the session is open, so that it leaves on polling before the probe completes.
///
/// Our client opens its probe right after the handshake, and on loopback the probe takes a
/// few milliseconds; sent only once the harness had seen the server report the session, every
/// text could come after the probe's `3probe`, held for the WebSocket, which left the server
/// nothing on polling (one run in several dozen). A POST sent before `3probe` arrives is
/// waited for before the upgrade packet, so this text reaches the server before the upgrade.
pub fn first_text_across_upgrade(client: &TestClient) -> (String, bool) {
    let on_polling = client.transport() == Some(Transport::Polling);
    let text = "u 0".to_owned();
    client.send(text.clone());
    (text, on_polling)
}

/// Upgrade mode: after `first` (see [`first_text_across_upgrade`]), sends numbered texts
/// `u <i>`, one every 200 µs (pacing, like a ticker; few enough per POST for
/// python-engineio's limit of 16 packets), until our client is on WebSocket *and* the server
/// reported the upgrade, then 10 more. Some go out before the probe, some while it is under
/// way (our client holds them while polling is paused, and sends them after the upgrade
/// packet), some after.
pub fn send_across_upgrade(case: &ClientCase, first: (String, bool)) -> AcrossUpgrade {
    let deadline = Instant::now() + UPGRADE_TIMEOUT;
    let (first, first_on_polling) = first;
    let mut sent = vec![first];
    let send = |sent: &mut Vec<String>| {
        let text = format!("u {}", sent.len());
        case.client.send(text.clone());
        sent.push(text);
    };
    let mut before_switch = (!first_on_polling).then_some(0);
    loop {
        // The transport as it was when the text went out: checked after the send, a text
        // sent on polling would count as sent on WebSocket whenever the upgrade completed
        // while it was being sent (it did, on a fast run: the first text already counted).
        let switched = case.client.transport() == Some(Transport::WebSocket);
        if switched && before_switch.is_none() {
            before_switch = Some(sent.len());
        }
        send(&mut sent);
        if switched && !case.server.named(case.sid(), "upgrade").is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            case.fail(&format!(
                "no upgrade within {UPGRADE_TIMEOUT:?} ({} messages sent)",
                sent.len()
            ));
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    for _ in 0..10 {
        send(&mut sent);
    }
    let sent_on_polling = before_switch.unwrap_or_default();
    case.check(
        sent_on_polling > 0,
        "no message sent before our client switched to WebSocket",
    );
    AcrossUpgrade {
        sent,
        sent_on_polling,
    }
}

/// How many of the `count` texts sent the server received before it reported the upgrade
/// (waiting until it has them all).
pub fn received_before_upgrade(case: &ClientCase, count: usize) -> usize {
    case.server_messages(count);
    let events = case.server.session_events(case.sid());
    events
        .iter()
        .take_while(|e| e["event"] != "upgrade")
        .filter(|e| e["event"] == "message")
        .count()
}

/// Asserts that the server received what was sent in order, some before the upgrade (on
/// polling) and the rest after it (on WebSocket).
pub fn expect_received_across_upgrade(case: &ClientCase, across: &AcrossUpgrade) {
    let sent = &across.sent;
    let received: Vec<Value> = case
        .server_messages(sent.len())
        .into_iter()
        .map(|m| m["value"].clone())
        .collect();
    let sent_values: Vec<Value> = sent.iter().map(|t| json!(t)).collect();
    case.expect(
        &received,
        &sent_values,
        "what the server received, in order",
    );
    let events = case.server.session_events(case.sid());
    let upgrade = events
        .iter()
        .position(|e| e["event"] == "upgrade")
        .unwrap_or_else(|| case.fail("no upgrade event"));
    let messages = |range: &[Value]| {
        range
            .iter()
            .filter(|e| e["event"] == "message")
            .map(|e| e["transport"].clone())
            .collect::<Vec<_>>()
    };
    let (before, after) = (messages(&events[..upgrade]), messages(&events[upgrade..]));
    case.check(
        !before.is_empty() && !after.is_empty(),
        &format!(
            "{} messages reached the server before the upgrade and {} after: expected some of each",
            before.len(),
            after.len()
        ),
    );
    case.check(
        after.iter().all(|t| *t == "websocket"),
        &format!("messages after the upgrade came on {after:?}"),
    );
    // Sent while our client was on polling, received after the upgrade: held while polling
    // was paused for the upgrade, then sent on the WebSocket after the upgrade packet.
    // Whether any is depends on timing (our client has no `upgrading` event to send a burst
    // at, as js_client.js does): with a message every 200 µs, 60 runs held 1 to 47 each. So it
    // is shown, not asserted.
    let held = across.sent_on_polling.saturating_sub(before.len());
    eprintln!(
        "{}: {} sent, {} while our client was on polling, {held} of these held across the switch",
        case.context,
        sent.len(),
        across.sent_on_polling
    );
}

/// Stays connected until the server has had 7 pongs from our client (7 ping intervals, over
/// 2 s: nearly twice our client's own deadline of ping interval + ping timeout, 1.1 s), then
/// checks that neither side saw the connection end and that an echo still comes back.
pub fn survive_heartbeats(case: &ClientCase) {
    let pongs = case
        .server
        .wait_named(case.sid(), "pong", 7, Duration::from_secs(5));
    let stayed = case.connected_at.elapsed();
    case.check(
        stayed >= Duration::from_secs(2),
        &format!("{} pongs after only {stayed:?}", pongs.len()),
    );
    case.expect(
        &case.client.ended_yet(),
        &None,
        "our client's end during the heartbeats",
    );
    case.expect(
        &case.server.named(case.sid(), "close"),
        &Vec::new(),
        "the server's close events",
    );
    case.client.send("still alive");
    case.expect(
        &case.echoes(1),
        &texts(&["still alive"]),
        "the echo after the heartbeats",
    );
    case.expect_settled();
}

impl Drop for ClientCase {
    /// Shows the server's view (shown on failure, or with `--no-capture`): every event but the
    /// messages, which are counted per transport.
    fn drop(&mut self) {
        let mut shown = Vec::new();
        let mut messages = std::collections::BTreeMap::<String, usize>::new();
        for event in self.server.events() {
            if event["event"] == "message" {
                *messages.entry(event["transport"].to_string()).or_default() += 1;
            } else {
                shown.push(event.to_string());
            }
        }
        eprintln!(
            "{}: our client ended with {:?}, its handlers ran on {:?}; messages the server \
             received, per transport: {messages:?}; server events:\n  {}",
            self.context,
            self.client.ended_yet(),
            self.client.handler_threads(),
            shown.join("\n  ")
        );
    }
}
