//! Our client ([`engineio::client::Client`], [`engineio::blocking::Client`] on threads) on each
//! runtime (tokio, smol, async-std, threads) against
//! the reference server, python-engineio 4.15.1's `AsyncServer` on aiohttp (`tests/interop/py_server.py`), over
//! polling only, WebSocket only, and polling upgraded to WebSocket.
//!
//! Each test is one runtime, scenario and mode (`client_py_server::smol::text::upgrade`, …)
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

/// How python-engineio's server behaves where servers may differ.
const SERVER: ServerBehaviour = ServerBehaviour {
    peer: ServerPeer::Python,
    // Its socket handles the close packet (`1`) as `client disconnect`, on both transports.
    client_close_reason: "client disconnect",
    server_close_reason: "server disconnect",
    // `disconnect(sid)` queues a close packet (`1`) on both transports.
    server_close_on_polling: DisconnectReason::ServerDisconnect,
    server_close_on_websocket: DisconnectReason::ServerDisconnect,
    // The empty text stays an empty `str` (only texts that parse as JSON are decoded).
    empty_text: ("text", Value::String(String::new())),
    // The script reports the server's warnings and errors: there must be none.
    reports_log: true,
};

engineio_tests::scenario_tests!(client_py_server {
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
