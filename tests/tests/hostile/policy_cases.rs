//! The policy advisories, against the policy server (same-origin CORS, an `authorize` hook):
//! foreign origins (CSWSH) and a missing `Origin`, and the same authorization on every
//! transport, with no session before it.

use super::policy::{request_with, start_policy, PolicyServer, NOT_ALLOWED};
use super::*;

/// Asserts a polling refusal: `status`, JSON `{"code":<code>,"message":<message>}`, and no
/// CORS header (a refusal never echoes the origin).
fn assert_json_refusal(r: &HttpResponse, status: u16, code: u64, message: &str, what: &str) {
    assert_eq!(r.status, status, "{what}: {:?}", r.text());
    let json: serde_json::Value = serde_json::from_slice(&r.body)
        .unwrap_or_else(|e| panic!("{what}: body {:?} is not JSON: {e}", r.text()));
    assert_eq!(
        (json["code"].as_u64(), json["message"].as_str()),
        (Some(code), Some(message)),
        "{what}"
    );
    assert_eq!(r.header("access-control-allow-origin"), None, "{what}");
}

/// Asserts a refused upgrade: `status`, the plain `message`, `Connection: close`, no 101.
fn assert_upgrade_refusal(r: &HttpResponse, status: u16, message: &str, what: &str) {
    assert_eq!((r.status, r.text().as_str()), (status, message), "{what}");
    assert_eq!(r.header("content-type"), Some("text/html"), "{what}");
    assert_eq!(
        r.header("connection")
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("close"),
        "{what}"
    );
    assert_eq!(r.header("access-control-allow-origin"), None, "{what}");
}

/// A fresh handshake with a good token still works.
fn assert_policy_serves(server: &PolicyServer) {
    let r = server.response(
        &request_with("EIO=4&transport=polling&token=good", "", false),
        "fresh handshake",
    );
    assert_eq!(
        r.status,
        200,
        "policy server on {}: fresh handshake: {:?}",
        server.runtime,
        r.text()
    );
    assert!(r.text().starts_with("0{\"sid\":"), "{:?}", r.text());
}

// CVE-2019-13611 (cross-site WebSocket hijacking: no Origin check on the upgrade) and
// python-engineio#131 (a crash on a request without `Origin`).
pub(crate) fn foreign_origins(runtime: Runtime) {
    let server = start_policy(runtime);
    let host = format!("Host: {}\r\n", server.addr);
    let handshake = "EIO=4&transport=polling&token=good";
    let upgrade = "EIO=4&transport=websocket&token=good";
    for origin in ["http://evil.example", "null", "http://127.0.0.1:1"] {
        let headers = format!("{host}Origin: {origin}\r\n");
        let what = format!("policy server on {runtime}: handshake from {origin}");
        let r = server.response(&request_with(handshake, &headers, false), &what);
        assert_json_refusal(&r, 403, 4, "Not an accepted origin", &what);
        let what = format!("policy server on {runtime}: upgrade from {origin}");
        let r = server.response(&request_with(upgrade, &headers, true), &what);
        assert_upgrade_refusal(&r, 403, "Not an accepted origin", &what);
    }
    assert_eq!(
        server.session_count(),
        0,
        "policy server on {runtime}: sessions after refused origins"
    );
    // No `Origin` at all: a non-browser client, never refused, given no CORS header.
    let what = format!("policy server on {runtime}: handshake without Origin");
    let r = server.response(&request_with(handshake, &host, false), &what);
    assert_eq!(r.status, 200, "{what}: {:?}", r.text());
    assert_eq!(r.header("access-control-allow-origin"), None, "{what}");
    // The server's own origin is accepted and echoed.
    let own = format!("http://{}", server.addr);
    let what = format!("policy server on {runtime}: handshake from its own origin");
    let r = server.response(
        &request_with(handshake, &format!("{host}Origin: {own}\r\n"), false),
        &what,
    );
    assert_eq!(r.status, 200, "{what}: {:?}", r.text());
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some(own.as_str()),
        "{what}"
    );
    assert_eq!(
        server.session_count(),
        2,
        "policy server on {runtime}: the two accepted handshakes"
    );
    assert_policy_serves(&server);
}

// engine.io fix d1f5aa9 (a transport that skipped the middleware) and CVE-2026-48802 (work
// allocated before authorization): every transport goes through `authorize`, and a refused
// handshake leaves no session behind.
pub(crate) fn authorize_every_transport(runtime: Runtime) {
    let server = start_policy(runtime);
    for token in ["", "&token=bad", "&token=__proto__"] {
        let what = format!("policy server on {runtime}: polling handshake with {token:?}");
        let query = format!("EIO=4&transport=polling{token}");
        let r = server.response(&request_with(&query, "", false), &what);
        assert_json_refusal(&r, 403, 4, NOT_ALLOWED, &what);
        let what = format!("policy server on {runtime}: WebSocket handshake with {token:?}");
        let query = format!("EIO=4&transport=websocket{token}");
        let r = server.response(&request_with(&query, "", true), &what);
        assert_upgrade_refusal(&r, 403, NOT_ALLOWED, &what);
    }
    assert_eq!(
        server.session_count(),
        0,
        "policy server on {runtime}: sessions after refused handshakes"
    );
    // Accepted on both transports.
    let mut socket = TcpStream::connect(server.addr).unwrap();
    socket.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    socket
        .write_all(&request_with(
            "EIO=4&transport=websocket&token=good",
            "",
            true,
        ))
        .unwrap();
    let (status, _, _) = read_head(&mut socket).unwrap_or_else(|e| {
        panic!("policy server on {runtime}: accepted WebSocket handshake: {e}")
    });
    assert_eq!(
        status, 101,
        "policy server on {runtime}: accepted WebSocket handshake"
    );
    assert_policy_serves(&server);
    assert_eq!(
        server.session_count(),
        2,
        "policy server on {runtime}: the two accepted handshakes"
    );
}
