//! Our client ([`engineio::client::Client`], [`engineio::blocking::Client`] on threads) on each
//! runtime (tokio, smol, async-std, threads) against
//! the reference server, npm `engine.io` 6.6.13 on Node (`tests/interop/js_server.js`), over
//! polling only, WebSocket only, and polling upgraded to WebSocket.
//!
//! Each test is one runtime, scenario and mode (`client_js_server::smol::text::upgrade`, …)
//! and proves, from what our client observed *and* from the server's event lines: the
//! handshake (sid, transport, the upgrade), text with multi-byte characters and empty text,
//! binary and empty binary, the order of 1 000 messages, messages sent while the client
//! upgrades, the heartbeat over several ping intervals, and both ways of closing, with their
//! reasons on each side. The scenarios are in [`engineio_tests::client_scenarios`]; what is
//! particular to this server is [`SERVER`].

use engineio::DisconnectReason;
use engineio_tests::client_scenarios::{self, ServerBehaviour};
use engineio_tests::interop::Mode;
use engineio_tests::{Runtime, ServerPeer};
use serde_json::Value;

/// How the engine.io server behaves where servers may differ.
const SERVER: ServerBehaviour = ServerBehaviour {
    peer: ServerPeer::Node,
    // engine.io has no reason of its own for a client's close packet: on polling the transport
    // closes when it reads `1` (`Polling.onData`); on WebSocket the packet is ignored and the
    // socket closing follows. Both are "transport close".
    client_close_reason: "transport close",
    // `socket.close()`.
    server_close_reason: "forced close",
    // On polling, `socket.close()` answers the pending GET with a close packet (`1`).
    server_close_on_polling: DisconnectReason::ServerDisconnect,
    // On WebSocket, engine.io just closes the WebSocket (`WebSocket.doClose` in engine.io
    // 6.6.13 sends no packet): our client sees the transport go away, as engine.io-client
    // reports "transport close".
    server_close_on_websocket: DisconnectReason::TransportClose,
    // engine.io-parser decodes the empty text, a bare `4`, to a message without data
    // (`undefined`); echoed, it is `4` again: an empty text for our client.
    empty_text: ("undefined", Value::Null),
    reports_log: false,
};

engineio_tests::scenario_tests!(client_js_server {
    handshake: [polling, websocket, upgrade],
    text: [polling, websocket, upgrade],
    binary: [polling, websocket, upgrade],
    ordering: [polling, websocket, upgrade],
    upgrade_messages: [upgrade],
    heartbeat: [polling, websocket, upgrade],
    client_close: [polling, websocket, upgrade],
    server_close: [polling, websocket, upgrade],
});

fn handshake(runtime: Runtime, mode: Mode) {
    client_scenarios::handshake(&SERVER, runtime, mode);
}

fn text(runtime: Runtime, mode: Mode) {
    client_scenarios::text(&SERVER, runtime, mode);
}

fn binary(runtime: Runtime, mode: Mode) {
    client_scenarios::binary(&SERVER, runtime, mode);
}

fn ordering(runtime: Runtime, mode: Mode) {
    client_scenarios::ordering(&SERVER, runtime, mode);
}

fn upgrade_messages(runtime: Runtime, mode: Mode) {
    client_scenarios::upgrade_messages(&SERVER, runtime, mode);
}

fn heartbeat(runtime: Runtime, mode: Mode) {
    client_scenarios::heartbeat(&SERVER, runtime, mode);
}

fn client_close(runtime: Runtime, mode: Mode) {
    client_scenarios::client_close(&SERVER, runtime, mode);
}

fn server_close(runtime: Runtime, mode: Mode) {
    client_scenarios::server_close(&SERVER, runtime, mode);
}
