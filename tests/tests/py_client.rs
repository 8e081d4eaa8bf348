//! The Python reference client, python-engineio 4.15.1's sync `engineio.Client`
//! (`tests/interop/py_client.py`), against our server
//! ([`EchoServer`](engineio_tests::EchoServer)) on each runtime (tokio, smol, async-std, threads), over
//! polling only, WebSocket only, and polling upgraded to WebSocket.
//!
//! Each test is one runtime, scenario and mode (`py_client::async_std::text::upgrade`, …) and
//! proves, from what the client
//! observed *and* from the server's log: the handshake (sid, transport, advertised values,
//! the upgrade), text with multi-byte characters and empty text, binary and empty binary,
//! the order of 1 000 messages, messages queued before the upgrade, the heartbeat over
//! several ping intervals, and both ways of closing, with their reasons on each side. The
//! client's own warnings (a failed upgrade, a dropped connection) fail the test.

use engineio::{DisconnectReason, Message, Transport};
use engineio_tests::interop::{Case, Mode, Peer};
use engineio_tests::Runtime;
use engineio_tests::SessionLog;
use serde_json::{json, Value};

engineio_tests::scenario_tests!(py_client {
    handshake: [polling, websocket, upgrade],
    text: [polling, websocket, upgrade],
    binary: [polling, websocket, upgrade],
    ordering: [polling, websocket, upgrade],
    upgrade_messages: [upgrade],
    heartbeat: [polling, websocket, upgrade],
    client_close: [polling, websocket, upgrade],
    server_close: [polling, websocket, upgrade],
});

/// The text the scenarios send (not JSON, so python-engineio leaves it a `str`).
const TEXT: &str = "héllo wörld ✓ 🦀";

/// The warnings python-engineio may log once the connection is ending: its read loop sees
/// the WebSocket that `disconnect()` (or the server) closed, or its last GET, issued while it
/// still thought it was connected, reaches the server after the session ended (400, the
/// reference servers' answer to an unknown sid too).
const WARNINGS_AT_END: [&str; 2] = [
    "WARNING: WebSocket connection was closed, aborting",
    "WARNING: Unexpected status code 400 in server response, aborting",
];

fn run(runtime: Runtime, mode: Mode, scenario: &str) -> Case {
    let case = Case::run(Peer::Python, runtime, mode, scenario);
    let at_end = case
        .get("warnings_at_end")
        .as_array()
        .cloned()
        .unwrap_or_default();
    case.check(
        at_end
            .iter()
            .all(|warning| WARNINGS_AT_END.iter().any(|w| warning == w)),
        "unexpected client warnings while the connection ended",
    );
    case
}

/// Asserts the client reported "client disconnect" and the server the reason implied by what
/// the client wrote, and returns the server's log.
///
/// python-engineio's `disconnect()` races its own write loop (see `Wire` in py_client.py):
/// the close packet (`1`) may go out before the WebSocket close frame or after it, and on
/// polling the write loop may exit without sending it. The script records the order on
/// the wire; the server must say [`DisconnectReason::ClientDisconnect`] if the packet came
/// first, else [`DisconnectReason::TransportClose`] (WebSocket closed) or
/// [`DisconnectReason::PingTimeout`] (polling client gone silent).
fn closed_by_client(case: &Case) -> SessionLog {
    case.expect("close_reasons", json!(["client disconnect"]));
    let packet_first = case.get("close_packet_first").as_bool() == Some(true);
    let session = case.server_session();
    let expected = match (packet_first, case.mode().settles_on()) {
        (true, _) => DisconnectReason::ClientDisconnect,
        (false, Transport::WebSocket) => DisconnectReason::TransportClose,
        (false, Transport::Polling) => DisconnectReason::PingTimeout,
    };
    case.check(
        session.reason == Some(expected),
        &format!(
            "server reason {:?}, expected {expected:?} (close packet first: {packet_first})",
            session.reason
        ),
    );
    session
}

fn text_messages(values: &[&str]) -> Vec<Message> {
    values
        .iter()
        .map(|&text| Message::from(text.to_owned()))
        .collect()
}

fn numbered(prefix: &str, count: u64) -> Vec<String> {
    (0..count).map(|i| format!("{prefix} {i}")).collect()
}

fn settled(mode: Mode) -> Value {
    json!(mode.settles_on().as_str())
}

fn handshake(runtime: Runtime, mode: Mode) {
    let case = run(runtime, mode, "handshake");
    case.expect("transport", settled(mode));
    let upgrades = if mode.opens_on() == Transport::Polling {
        json!(["websocket"])
    } else {
        json!([])
    };
    case.expect("upgrades", upgrades);
    case.expect("ping_interval", json!(0.3));
    case.expect("ping_timeout", json!(0.8));
    closed_by_client(&case);
}

fn text(runtime: Runtime, mode: Mode) {
    let case = run(runtime, mode, "text");
    case.expect("transport", settled(mode));
    case.expect(
        "echoed",
        json!([{ "type": "str", "value": TEXT }, { "type": "str", "value": "" }]),
    );
    let session = closed_by_client(&case);
    case.check(
        session.received == text_messages(&[TEXT, ""]),
        &format!("server received {:?}", session.received),
    );
    case.check(
        session.last_message_transport == Some(mode.settles_on()),
        &format!(
            "server got the messages on {:?}",
            session.last_message_transport
        ),
    );
}

fn binary(runtime: Runtime, mode: Mode) {
    let case = run(runtime, mode, "binary");
    case.expect("transport", settled(mode));
    case.expect(
        "echoed",
        json!([{ "type": "bytes", "value": [0, 1, 2, 255] }, { "type": "bytes", "value": [] }]),
    );
    let session = closed_by_client(&case);
    let sent = vec![
        Message::from(vec![0u8, 1, 2, 255]),
        Message::from(Vec::<u8>::new()),
    ];
    case.check(
        session.received == sent,
        &format!("server received {:?}", session.received),
    );
}

fn ordering(runtime: Runtime, mode: Mode) {
    let case = run(runtime, mode, "ordering");
    let numbered = numbered("msg", 1000);
    case.expect("echoed", json!(numbered));
    case.expect("transport", settled(mode));
    let session = closed_by_client(&case);
    let numbered: Vec<&str> = numbered.iter().map(String::as_str).collect();
    case.check(
        session.received == text_messages(&numbered),
        "the server did not receive msg 0..999 in order",
    );
}

fn upgrade_messages(runtime: Runtime, mode: Mode) {
    let case = run(runtime, mode, "upgrade_messages");
    let numbered = numbered("u", 20);
    case.expect("sent", json!(20));
    case.expect("echoed", json!(numbered));
    case.expect("transport", json!("websocket"));
    let session = closed_by_client(&case);
    let numbered: Vec<&str> = numbered.iter().map(String::as_str).collect();
    case.check(
        session.received == text_messages(&numbered),
        "the server did not receive u 0..19 in order",
    );
    case.check(
        session.last_message_transport == Some(Transport::WebSocket),
        "the messages did not arrive on WebSocket",
    );
}

fn heartbeat(runtime: Runtime, mode: Mode) {
    let case = run(runtime, mode, "heartbeat");
    case.expect("closed_early", json!([]));
    // 7 pings 300 ms apart: over 2 s, nearly twice the server's ping interval + ping timeout.
    case.check(
        case.get("stayed_ms").as_u64() >= Some(2000),
        "stayed less than 2 s",
    );
    case.check(case.get("pings").as_u64() >= Some(7), "fewer than 7 pings");
    case.expect("echoed", json!(["still alive"]));
    case.expect("transport", settled(mode));
    let session = closed_by_client(&case);
    case.check(
        session.received == text_messages(&["still alive"]),
        &format!("server received {:?}", session.received),
    );
}

fn client_close(runtime: Runtime, mode: Mode) {
    let case = run(runtime, mode, "client_close");
    case.expect("echoed", json!(["hello"]));
    case.expect("transport", settled(mode));
    closed_by_client(&case);
}

fn server_close(runtime: Runtime, mode: Mode) {
    let case = run(runtime, mode, "server_close");
    case.expect("transport", settled(mode));
    case.expect("close_reasons", json!(["server disconnect"]));
    case.expect("messages", json!([]));
    let session = case.server_session();
    case.check(
        session.reason == Some(DisconnectReason::ServerDisconnect),
        &format!(
            "server reason {:?}, expected ServerDisconnect",
            session.reason
        ),
    );
    case.check(
        session.received == text_messages(&[engineio_tests::CLOSE_ME]),
        "the server did not get `close me`",
    );
}
