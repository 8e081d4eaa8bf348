//! The reference client, `engine.io-client` 6.6.8 on Node (`tests/interop/js_client.js`),
//! against our server ([`EchoServer`](engineio_tests::EchoServer)) on each runtime (tokio,
//! smol, async-std, threads), over polling only, WebSocket only, and polling upgraded to WebSocket.
//!
//! Each test is one runtime, scenario and mode (`js_client::smol::text::upgrade`, …) and proves, from what the client
//! observed *and* from the server's log: the handshake (sid, transports, advertised values,
//! the upgrade), text with multi-byte characters and empty text, binary and empty binary,
//! the order of 1 000 messages, messages written while the client upgrades, the heartbeat
//! over several ping intervals, and both ways of closing, with their reasons on each side.

use engineio::{DisconnectReason, Message, Transport};
use engineio_tests::interop::{Case, Mode, Peer};
use engineio_tests::Runtime;
use serde_json::{json, Value};

engineio_tests::scenario_tests!(js_client {
    handshake: [polling, websocket, upgrade],
    text: [polling, websocket, upgrade],
    binary: [polling, websocket, upgrade],
    ordering: [polling, websocket, upgrade],
    upgrade_messages: [upgrade],
    heartbeat: [polling, websocket, upgrade],
    client_close: [polling, websocket, upgrade],
    server_close: [polling, websocket, upgrade],
});

/// The text the scenarios send.
const TEXT: &str = "héllo wörld ✓ 🦀";

fn run(runtime: Runtime, mode: Mode, scenario: &str) -> Case {
    Case::run(Peer::Node, runtime, mode, scenario)
}

/// Asserts the client reported "forced close" and the server saw it leave, and returns the
/// server's log of the session.
///
/// engine.io-client's `close()` writes a close packet (`1`) only on polling; on WebSocket it
/// just closes the WebSocket (`WS.doClose` in engine.io-client 6.6.8), so the server sees
/// the transport go away: [`DisconnectReason::TransportClose`], as the reference engine.io
/// 6.6.13 server and python-engineio report it too. On polling the server gets the packet:
/// [`DisconnectReason::ClientDisconnect`].
fn closed_by_client(case: &Case) -> engineio_tests::SessionLog {
    case.expect("close_reasons", json!(["forced close"]));
    let session = case.server_session();
    let expected = match case.mode().settles_on() {
        Transport::Polling => DisconnectReason::ClientDisconnect,
        Transport::WebSocket => DisconnectReason::TransportClose,
    };
    case.check(
        session.reason == Some(expected),
        &format!("server reason {:?}, expected {expected:?}", session.reason),
    );
    session
}

fn text_messages(values: &[&str]) -> Vec<Message> {
    values
        .iter()
        .map(|&text| Message::from(text.to_owned()))
        .collect()
}

fn handshake(runtime: Runtime, mode: Mode) {
    let case = run(runtime, mode, "handshake");
    let upgraded = mode == Mode::Upgrade;
    case.expect("open_transport", json!(mode.opens_on().as_str()));
    case.expect(
        "upgraded_to",
        if upgraded {
            json!("websocket")
        } else {
            Value::Null
        },
    );
    case.expect("final_transport", json!(mode.settles_on().as_str()));
    let upgrades = if mode.opens_on() == Transport::Polling {
        json!(["websocket"])
    } else {
        json!([])
    };
    let advertised = case.get("handshake");
    let expected = json!({
        "sid": case.sid(), "upgrades": upgrades, "pingInterval": 300, "pingTimeout": 800, "maxPayload": 1_000_000,
    });
    case.check(
        *advertised == expected,
        &format!("handshake {advertised}, expected {expected}"),
    );
    closed_by_client(&case);
}

fn text(runtime: Runtime, mode: Mode) {
    let case = run(runtime, mode, "text");
    case.expect("transport", json!(mode.settles_on().as_str()));
    case.expect(
        "echoed",
        // The empty text goes out as `4` and comes back as `4`, which engine.io-parser hands
        // to the application as a message without data (`undefined`); the server's log below
        // shows it arrived as an empty text.
        json!([{ "type": "string", "value": TEXT }, { "type": "undefined", "value": null }]),
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
    case.expect("transport", json!(mode.settles_on().as_str()));
    case.expect(
        "echoed",
        json!([{ "type": "Buffer", "value": [0, 1, 2, 255] }, { "type": "Buffer", "value": [] }]),
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
    let numbered: Vec<String> = (0..1000).map(|i| format!("msg {i}")).collect();
    case.expect("echoed", json!(numbered));
    case.expect("final_transport", json!(mode.settles_on().as_str()));
    let session = closed_by_client(&case);
    let numbered: Vec<&str> = numbered.iter().map(String::as_str).collect();
    case.check(
        session.received == text_messages(&numbered),
        "the server did not receive msg 0..999 in order",
    );
}

fn upgrade_messages(runtime: Runtime, mode: Mode) {
    let case = run(runtime, mode, "upgrade_messages");
    let sent = case.get("sent").as_u64().unwrap_or_default();
    let numbered: Vec<String> = (0..sent).map(|i| format!("u {i}")).collect();
    case.expect("echoed", json!(numbered));
    for phase in ["before_upgrading", "during_upgrade", "after_upgrade"] {
        case.check(
            case.get(phase).as_u64() >= Some(1),
            &format!("no message sent {phase}"),
        );
    }
    case.check(
        case.get("during_upgrade").as_u64() >= Some(10),
        "the burst at `upgrading` is missing",
    );
    case.expect("final_transport", json!("websocket"));
    let session = closed_by_client(&case);
    let numbered: Vec<&str> = numbered.iter().map(String::as_str).collect();
    case.check(
        session.received == text_messages(&numbered),
        "the server did not receive every message in order",
    );
    case.check(
        session.last_message_transport == Some(Transport::WebSocket),
        "the last messages did not arrive on WebSocket",
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
    case.expect("transport", json!(mode.settles_on().as_str()));
    let session = closed_by_client(&case);
    case.check(
        session.received == text_messages(&["still alive"]),
        &format!("server received {:?}", session.received),
    );
}

fn client_close(runtime: Runtime, mode: Mode) {
    let case = run(runtime, mode, "client_close");
    case.expect("echoed", json!(["hello"]));
    case.expect("transport", json!(mode.settles_on().as_str()));
    closed_by_client(&case);
}

fn server_close(runtime: Runtime, mode: Mode) {
    let case = run(runtime, mode, "server_close");
    case.expect("transport", json!(mode.settles_on().as_str()));
    case.expect("close_reasons", json!(["transport close"]));
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
