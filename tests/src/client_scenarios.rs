//! The scenarios of our client against a reference server, written once: each test file
//! (`tests/tests/client_{js,py}_server.rs`) runs them for its server, every runtime and mode,
//! with a [`ServerBehaviour`] that states (and comments) where its server differs.

use engineio::{DisconnectReason, Message, Transport};
use serde_json::{json, Value};

use crate::client_case::{
    expect_received_across_upgrade, first_text_across_upgrade, numbered, received_before_upgrade,
    send_across_upgrade, server_texts, survive_heartbeats, texts, ClientCase, TEXT,
};
use crate::interop::Mode;
use crate::{Runtime, ServerPeer, TestClient, CLOSE_ME};

/// What a reference server does where servers may differ.
#[derive(Debug, Clone)]
pub struct ServerBehaviour {
    /// The server.
    pub peer: ServerPeer,
    /// The server's reason, in its words, when our client disconnects.
    pub client_close_reason: &'static str,
    /// The server's reason, in its words, when it closes the session itself.
    pub server_close_reason: &'static str,
    /// Our client's reason when the server closes the session, on polling.
    pub server_close_on_polling: DisconnectReason,
    /// Our client's reason when the server closes the session, on WebSocket.
    pub server_close_on_websocket: DisconnectReason,
    /// How the server reports receiving the empty text: `(type, value)`.
    pub empty_text: (&'static str, Value),
    /// Whether the server reports its warnings and errors (as `log` events): if so, every
    /// scenario asserts there were none.
    pub reports_log: bool,
}

impl ServerBehaviour {
    fn start(&self, runtime: Runtime, mode: Mode, scenario: &str) -> ClientCase {
        ClientCase::start(self.peer, runtime, mode, scenario)
    }

    fn start_with(
        &self,
        runtime: Runtime,
        mode: Mode,
        scenario: &str,
        right_after_connect: impl FnOnce(&TestClient),
    ) -> ClientCase {
        ClientCase::start_with(self.peer, runtime, mode, scenario, right_after_connect)
    }

    /// Ends the scenario: our `disconnect()`, both sides' reasons, and the server's log.
    fn disconnect(&self, case: &ClientCase) {
        case.disconnect(self.client_close_reason);
        self.finish(case);
    }

    /// Asserts that our client's handlers ran on the runtime's threads, that the server saw
    /// one session, and that it logged no warning or error, if it reports them.
    fn finish(&self, case: &ClientCase) {
        case.client.expect_handlers_on_runtime();
        case.expect_one_session();
        if self.reports_log {
            case.expect_no_server_log();
        }
    }
}

/// Open: the sid and transport the server saw match ours; upgrade mode: the server reports
/// the upgrade and our client is on WebSocket; the other modes: no upgrade after a round trip.
pub fn handshake(server: &ServerBehaviour, runtime: Runtime, mode: Mode) {
    let case = server.start(runtime, mode, "handshake");
    case.settle();
    if mode != Mode::Upgrade {
        // A round trip, to give an unwanted upgrade time to show.
        case.client.send("hello");
        case.expect(&case.echoes(1), &texts(&["hello"]), "the echo");
    }
    case.expect_settled();
    server.disconnect(&case);
}

/// Multi-byte and empty text, echoed exactly, received as sent on the settled transport.
pub fn text(server: &ServerBehaviour, runtime: Runtime, mode: Mode) {
    let case = server.start(runtime, mode, "text");
    case.settle();
    case.client.send(TEXT);
    case.client.send("");
    case.expect(&case.echoes(2), &texts(&[TEXT, ""]), "the echoes");
    let settled = mode.settles_on().as_str();
    let (empty_type, empty_value) = &server.empty_text;
    let expected = vec![
        json!({ "type": "text", "value": TEXT, "transport": settled }),
        json!({ "type": empty_type, "value": empty_value, "transport": settled }),
    ];
    case.expect(
        &case.server_messages(2),
        &expected,
        "what the server received",
    );
    case.expect_settled();
    server.disconnect(&case);
}

/// Binary (bytes 0, 1, 2, 255) and empty binary, echoed as binary, received as binary.
pub fn binary(server: &ServerBehaviour, runtime: Runtime, mode: Mode) {
    let case = server.start(runtime, mode, "binary");
    case.settle();
    case.client.send(vec![0u8, 1, 2, 255]);
    case.client.send(Vec::<u8>::new());
    let sent = vec![
        Message::from(vec![0u8, 1, 2, 255]),
        Message::from(Vec::<u8>::new()),
    ];
    case.expect(&case.echoes(2), &sent, "the echoes");
    let settled = mode.settles_on().as_str();
    let expected = vec![
        json!({ "type": "binary", "value": [0, 1, 2, 255], "transport": settled }),
        json!({ "type": "binary", "value": [], "transport": settled }),
    ];
    case.expect(
        &case.server_messages(2),
        &expected,
        "what the server received",
    );
    server.disconnect(&case);
}

/// 1 000 numbered texts sent at once from the open (upgrade mode: across the upgrade), echoed
/// and received in order.
pub fn ordering(server: &ServerBehaviour, runtime: Runtime, mode: Mode) {
    let case = server.start(runtime, mode, "ordering");
    let sent = numbered("msg", 1000);
    for text in &sent {
        case.client.send(text.clone());
    }
    case.expect(&case.echoes(sent.len()), &texts(&sent), "the echoes");
    let received: Vec<Value> = case
        .server_messages(sent.len())
        .into_iter()
        .map(|m| m["value"].clone())
        .collect();
    let expected: Vec<Value> = sent.iter().map(|t| json!(t)).collect();
    case.expect(&received, &expected, "what the server received, in order");
    case.settle();
    case.expect_settled();
    server.disconnect(&case);
}

/// Upgrade mode: texts sent before, during and after the upgrade; none lost or reordered.
///
/// Which texts leave on polling is up to timing: once the probe's `3probe` is in, our client
/// holds every text for the WebSocket, as it should, and on loopback the probe can finish
/// before the first text is sent (one run in a few dozen on threads). Such a run checks order
/// and loss but not the polling side, so it is run again, up to three times;
/// the last attempt must cover both sides.
pub fn upgrade_messages(server: &ServerBehaviour, runtime: Runtime, mode: Mode) {
    for attempt in 1..=UPGRADE_ATTEMPTS {
        let mut first = None;
        let case = server.start_with(runtime, mode, "upgrade_messages", |client| {
            first = Some(first_text_across_upgrade(client));
        });
        let first = first.expect("the hook runs once the client is connected");
        let across = send_across_upgrade(&case, first);
        let sent = &across.sent;
        case.expect(&case.echoes(sent.len()), &texts(sent), "the echoes");
        if attempt < UPGRADE_ATTEMPTS && received_before_upgrade(&case, sent.len()) == 0 {
            eprintln!(
                "{runtime}, attempt {attempt}: the probe finished before the first text left; \
                 every text went on the WebSocket, so again"
            );
            server.disconnect(&case);
            continue;
        }
        expect_received_across_upgrade(&case, &across);
        case.expect_settled();
        server.disconnect(&case);
        return;
    }
}

/// How many times [`upgrade_messages`] runs at most to see texts on both sides of the upgrade.
const UPGRADE_ATTEMPTS: usize = 3;

/// Connected through several of the server's pings (300 ms, timeout 800 ms) without either
/// side ending the session; an echo still comes back.
pub fn heartbeat(server: &ServerBehaviour, runtime: Runtime, mode: Mode) {
    let case = server.start(runtime, mode, "heartbeat");
    case.settle();
    survive_heartbeats(&case);
    server.disconnect(&case);
}

/// Our `disconnect()` after an echo: `ClientDisconnect` here, the server's reason there.
pub fn client_close(server: &ServerBehaviour, runtime: Runtime, mode: Mode) {
    let case = server.start(runtime, mode, "client_close");
    case.settle();
    case.client.send("hello");
    case.expect(&case.echoes(1), &texts(&["hello"]), "the echo");
    server.disconnect(&case);
    case.expect(
        &case.server_messages(1),
        &server_texts(&["hello"], mode.settles_on()),
        "what the server received",
    );
}

/// `"close me"`: the server closes the session; both sides' reasons, and nothing echoed.
pub fn server_close(server: &ServerBehaviour, runtime: Runtime, mode: Mode) {
    let case = server.start(runtime, mode, "server_close");
    case.settle();
    case.client.send(CLOSE_ME);
    let expected = match mode.settles_on() {
        Transport::Polling => server.server_close_on_polling,
        Transport::WebSocket => server.server_close_on_websocket,
    };
    case.expect(
        &case.client_reason(),
        &expected,
        "our reason after the server closed",
    );
    let close = case.server_close();
    case.expect(
        &close["reason"],
        &json!(server.server_close_reason),
        "the server's close reason",
    );
    case.expect(
        &case.server_messages(1),
        &server_texts(&[CLOSE_ME], mode.settles_on()),
        "what the server received",
    );
    case.expect(
        &case.client.pending(),
        &Vec::new(),
        "messages after `close me`",
    );
    server.finish(&case);
}
