//! Against real peers nobody here wrote: the npm `engine.io-client` against this server, and
//! this client against the npm `engine.io` server. They need Node and the packages installed
//! in `tests/interop` (`npm ci` there), so they are ignored by default:
//!
//! ```text
//! cargo test -p engineio-runtime-threads --test node_interop -- --ignored --nocapture
//! ```
//!
//! (The workspace's own interop suite runs every runtime against these peers; this file is the
//! blocking runtime's direct check.)

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Mode, TestServer, MODES, WAIT};
use engineio_runtime_threads::{Client, DisconnectReason, Message, Server};

fn interop_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/interop"))
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Polling => "polling",
        Mode::WebSocket => "websocket",
        Mode::Upgrade => "upgrade",
    }
}

#[test]
#[ignore = "needs node and tests/interop/node_modules"]
fn the_npm_client_against_this_server() {
    let server = TestServer::start(
        Server::builder()
            .ping_interval(Duration::from_millis(300))
            .ping_timeout(Duration::from_millis(200))
            .on_message(|server, sid, message| {
                if message.as_text() == Some("close me") {
                    let _ = server.disconnect(&sid);
                } else {
                    let _ = server.send(&sid, message);
                }
            }),
    );
    let scenarios = [
        "handshake",
        "text",
        "binary",
        "ordering",
        "upgrade_messages",
        "heartbeat",
        "client_close",
        "server_close",
    ];
    let mut failures = Vec::new();
    for mode in MODES {
        for scenario in scenarios {
            if scenario == "upgrade_messages" && mode != Mode::Upgrade {
                continue;
            }
            let output = Command::new("node")
                .current_dir(interop_dir())
                .args([
                    "js_client.js",
                    "--url",
                    &server.url,
                    "--mode",
                    mode_name(mode),
                ])
                .args(["--scenario", scenario])
                .output()
                .expect("node runs");
            let line = String::from_utf8_lossy(&output.stdout);
            let result: serde_json::Value =
                serde_json::from_str(line.trim()).unwrap_or(serde_json::Value::Null);
            let ok = result["ok"] == true;
            let mut summary = result.clone();
            if let Some(object) = summary.as_object_mut() {
                for bulky in ["echoed", "messages", "log", "handshake"] {
                    if let Some(list) = object.get(bulky).and_then(|v| v.as_array()) {
                        let count = list.len();
                        object.insert(bulky.into(), format!("[{count} items]").into());
                    }
                }
            }
            println!("{} {scenario}: {summary}", mode_name(mode));
            if !ok {
                failures.push(format!("{} {scenario}: {line}", mode_name(mode)));
            }
            if scenario == "ordering" {
                let echoed = result["echoed"].as_array().cloned().unwrap_or_default();
                let expected: Vec<_> = (0..1000).map(|i| format!("msg {i}")).collect();
                let echoed: Vec<_> = echoed.iter().filter_map(|v| v.as_str()).collect();
                assert_eq!(echoed, expected, "{mode:?}: order");
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Starts the npm `engine.io` server (echo, "close me" closes) on a free port.
fn node_server() -> (Child, String) {
    let script = r#"
        const http = require('http');
        const { Server } = require('engine.io');
        const httpServer = http.createServer();
        const server = new Server({ pingInterval: 300, pingTimeout: 200, maxHttpBufferSize: 1e6 });
        server.attach(httpServer);
        server.on('connection', (socket) => {
            socket.on('message', (data) => {
                if (data === 'close me') socket.close(); else socket.send(data);
            });
            socket.on('close', (reason) => console.log('close ' + reason));
        });
        httpServer.listen(0, '127.0.0.1', () => console.log('port ' + httpServer.address().port));
    "#;
    let mut child = Command::new("node")
        .current_dir(interop_dir())
        .args(["-e", script])
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("a line").expect("text");
    let port = first
        .strip_prefix("port ")
        .expect("the port line")
        .to_owned();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            println!("node server: {line}");
        }
    });
    (child, format!("http://127.0.0.1:{port}"))
}

#[test]
#[ignore = "needs node and tests/interop/node_modules"]
fn this_client_against_the_npm_server() {
    let (mut node, url) = node_server();
    for mode in MODES {
        let client = mode.client().connect(&url).expect("connect to node");
        client.send("héllo wörld ✓ 🦀").unwrap();
        assert_eq!(
            client.recv_timeout(WAIT).unwrap().as_text(),
            Some("héllo wörld ✓ 🦀"),
            "{mode:?}"
        );
        client.send(vec![0u8, 1, 2, 255]).unwrap();
        assert_eq!(
            client.recv_timeout(WAIT).unwrap(),
            Message::Binary(vec![0u8, 1, 2, 255].into()),
            "{mode:?}"
        );
        for i in 0..1000 {
            client.send(format!("m{i}")).unwrap();
        }
        for i in 0..1000 {
            let echo = client.recv_timeout(WAIT).expect("echo");
            assert_eq!(echo.as_text(), Some(format!("m{i}").as_str()), "{mode:?}");
        }
        // Several of node's ping intervals.
        assert_eq!(
            client.wait_timeout(Duration::from_millis(1500)),
            None,
            "{mode:?}"
        );
        assert_eq!(client.transport(), Some(mode.settled()), "{mode:?}");
        client.disconnect();
        assert_eq!(client.wait(), DisconnectReason::ClientDisconnect);
        println!("{mode:?} against node: echo, binary, 1000 in order, heartbeat, close: ok");

        let client = mode.client().connect(&url).expect("connect to node");
        if mode == Mode::Upgrade {
            common::eventually("the upgrade", || client.transport() == Some(mode.settled()));
        }
        client.send("close me").unwrap();
        let reason = client.wait_timeout(WAIT).expect("closed by node");
        println!("{mode:?} closed by node: {reason:?}");
        assert!(
            matches!(
                reason,
                DisconnectReason::ServerDisconnect | DisconnectReason::TransportClose
            ),
            "{mode:?}: {reason:?}"
        );
    }
    let _ = Client::builder();
    let _ = node.kill();
    let _ = node.wait();
}
