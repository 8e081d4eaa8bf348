//! The `custom_loop` example against the reference client: `engine.io-client` (Node) connects
//! over polling, over WebSocket and over polling then upgrade, and everything it sends comes
//! back in order and in kind, across several pings.
//!
//! Needs `node` and `tests/interop/node_modules`: without them the test fails (run
//! `scripts/setup`), it never skips.

#[path = "../examples/custom_loop/server.rs"]
mod server;

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use engineio_core::ServerConfig;
use serde_json::{json, Value};

const NODE_MODULES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/interop/node_modules");
const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/custom_loop/js_check.js"
);
/// The whole Node run; the script gives each mode 10 s.
const NODE_TIMEOUT: Duration = Duration::from_secs(30);

#[test]
fn reference_client_in_every_mode() {
    let client = Path::new(NODE_MODULES).join("engine.io-client/package.json");
    assert!(
        client.is_file(),
        "{} missing: run scripts/setup",
        client.display()
    );

    // A fast heartbeat, so that a short run sees several pings.
    let config = ServerConfig {
        ping_interval: Duration::from_millis(300),
        ping_timeout: Duration::from_millis(800),
        ..ServerConfig::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let (event_loop, stop) = server::EventLoop::new(listener, config).expect("event loop");
    let addr = event_loop.local_addr().expect("local address");
    let (ended, loop_ended) = mpsc::channel();
    let thread = thread::spawn(move || {
        let result = event_loop.run();
        let _ = ended.send(());
        result
    });

    let results = run_node(addr);

    stop.stop();
    loop_ended
        .recv_timeout(Duration::from_secs(5))
        .expect("the loop stops when asked");
    thread.join().expect("no panic").expect("no I/O error");

    let results = results.as_array().expect("one result per mode");
    assert_eq!(results.len(), 3, "{results:?}");
    let mut expected = vec![
        json!("héllo wörld ✓ 🦀"),
        json!({ "binary": [0, 1, 2, 255] }),
    ];
    expected.extend((0..200).map(|i| json!(format!("msg {i}"))));
    expected.push(json!("last"));
    for (result, mode, open, upgraded, last) in [
        (&results[0], "polling", "polling", Value::Null, "polling"),
        (
            &results[1],
            "websocket",
            "websocket",
            Value::Null,
            "websocket",
        ),
        (
            &results[2],
            "upgrade",
            "polling",
            json!("websocket"),
            "websocket",
        ),
    ] {
        assert_eq!(result["mode"], mode);
        assert_eq!(result.get("error"), None, "{mode}: {result}");
        assert_eq!(result["errors"], json!([]), "{mode}");
        assert_eq!(result["open_transport"], open, "{mode}");
        assert_eq!(result["upgraded_to"], upgraded, "{mode}");
        assert_eq!(result["final_transport"], last, "{mode}");
        assert_eq!(result["messages"], Value::Array(expected.clone()), "{mode}");
        assert!(result["pings"].as_u64() >= Some(3), "{mode}: {result}");
        assert_eq!(result["close_reason"], "forced close", "{mode}");
    }
}

/// Runs the check script against `addr`, killing it after [`NODE_TIMEOUT`]; returns its JSON.
fn run_node(addr: SocketAddr) -> Value {
    let mut child = Command::new("node")
        .arg(SCRIPT)
        .arg(format!("http://{addr}"))
        .env("NODE_PATH", NODE_MODULES)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node ({e}): install Node.js, run scripts/setup"));
    let drain = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped")));
    #[allow(clippy::disallowed_methods)] // the test, like any embedder, owns the clock
    let deadline = Instant::now() + NODE_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            break Some(status);
        }
        #[allow(clippy::disallowed_methods)] // the test, like any embedder, owns the clock
        let now = Instant::now();
        if now >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let stdout = stdout.join().expect("stdout reader");
    let stderr = stderr.join().expect("stderr reader");
    match status {
        Some(status) if status.success() => {}
        Some(status) => panic!("node failed ({status}).\nstdout:\n{stdout}\nstderr:\n{stderr}"),
        None => {
            panic!("node timed out after {NODE_TIMEOUT:?}.\nstdout:\n{stdout}\nstderr:\n{stderr}")
        }
    }
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}
