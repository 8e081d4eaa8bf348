//! Headless Chromium against our server, on each runtime (tokio, smol, async-std, threads):
//! the latency demo (`examples/latency/index.html` with the browser bundle of engine.io-client,
//! served as by `examples/latency.rs`) measures round trips through our echo server, driven by
//! `tests/interop/browser.js` (playwright-core, one browser and page per test). Tests are
//! `browser::<runtime>::latency_page::<mode>`.
//!
//! Proves, for the page's default transports (polling upgraded to WebSocket), polling only and
//! WebSocket only: a real browser connects (same-origin, with the static files served beside
//! the Engine.IO path), ends on the expected transport, and gets at least 5 echoes without
//! errors; the server saw each page's session open on the expected transport and receive its
//! pings, the last ones on the expected transport. The default page also leaves a screenshot
//! in `target/browser-latency-<runtime>.png` (not asserted).

use std::path::PathBuf;
use std::time::Duration;

use engineio::server::StaticFiles;
use engineio_tests::interop::Mode;
use engineio_tests::{peers, EchoServer, Runtime, SessionLog};
use serde_json::{json, Value};

/// The latency page and the client bundle, as `examples/latency.rs` serves them.
fn latency_files() -> StaticFiles {
    let bundle = peers::node_modules().join("engine.io-client/dist/engine.io.min.js");
    assert!(
        bundle.is_file(),
        "{} missing: run scripts/setup",
        bundle.display()
    );
    StaticFiles::new()
        .file(
            "/",
            peers::workspace_root().join("examples/latency/index.html"),
        )
        .file("/engine.io.min.js", bundle)
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| peers::workspace_root().join("target"))
}

engineio_tests::scenario_tests!(browser {
    latency_page: [upgrade, polling, websocket],
});

fn latency_page(runtime: Runtime, mode: Mode) {
    peers::chromium();
    // Pings every 300 ms, as everywhere, but 5 s to answer: Chromium starting beside other
    // tests on two busy cores was seen to stall for over a second (the server then ends the
    // session with PingTimeout, correctly).
    let server = EchoServer::start_with(runtime, latency_files(), Duration::from_secs(5));
    let url = server.url();
    let mut args = vec!["--url", url.as_str(), "--mode", mode.name()];
    // The default page (polling, then the upgrade) leaves a screenshot, one per runtime.
    let screenshot = target_dir().join(format!("browser-latency-{runtime}.png"));
    let screenshot = screenshot.to_str().expect("UTF-8 path").to_owned();
    if mode == Mode::Upgrade {
        args.extend(["--screenshot", screenshot.as_str()]);
    }
    let lines = peers::run_node("browser.js", &args, Duration::from_secs(30));
    let result = peers::result(&lines, "mode", mode.name());
    eprintln!("chromium against our server on {runtime}, {mode}: {result}");
    let sessions = server.sessions();
    let session = sessions
        .iter()
        .find(|s| result["sid"].as_str() == Some(s.sid.as_str()));
    let problems = check(mode, result, session, &server.handler_thread());
    assert!(
        problems.is_empty(),
        "chromium on the latency page, our server on {runtime}, {mode} mode:\n{}\n  result: {result}\nserver: {sessions:#?}",
        problems.join("\n")
    );
}

/// What is wrong with one page's result and its session on the server.
fn check(
    mode: Mode,
    result: &Value,
    session: Option<&SessionLog>,
    handler_thread: &str,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut expect = |ok: bool, what: String| {
        if !ok {
            problems.push(what);
        }
    };
    expect(
        result["ok"] == true,
        format!("the page did not finish: {}", result["error"]),
    );
    for list in ["console_errors", "page_errors", "failed_requests"] {
        expect(result[list] == json!([]), format!("{list} is not empty"));
    }
    let latency = &result["latency"];
    expect(
        latency["errors"] == json!([]),
        "the page's socket reported errors".into(),
    );
    expect(
        latency["closed"] == Value::Null,
        "the page's socket closed".into(),
    );
    let transport = mode.settles_on().as_str();
    expect(
        latency["transport"] == transport,
        format!("the page did not end on {transport}"),
    );
    let upgraded = mode == Mode::Upgrade;
    expect(
        latency["upgraded"] == upgraded,
        format!("`upgraded` is not {upgraded}"),
    );
    let samples = latency["samples"].as_array().cloned().unwrap_or_default();
    expect(samples.len() >= 5, "fewer than 5 samples".into());
    let is_round_trip = |s: &Value| s.as_f64().is_some_and(|ms| (0.0..5000.0).contains(&ms));
    expect(
        samples.iter().all(is_round_trip),
        "a sample is not a round trip in milliseconds".into(),
    );

    let Some(session) = session else {
        problems.push(format!("the server has no session {}", result["sid"]));
        return problems;
    };
    expect(
        session.opened_on == mode.opens_on(),
        format!("the server saw the session open on {}", session.opened_on),
    );
    let pings = |m: &engineio::Message| m.as_text().is_some_and(|t| t.starts_with("ping "));
    expect(
        session.received.len() >= samples.len() && session.received.iter().all(pings),
        format!("the server received {:?}", session.received),
    );
    expect(
        session.handler_threads == [handler_thread],
        format!(
            "the server's handlers ran on {:?}, not on the runtime's {handler_thread:?}",
            session.handler_threads
        ),
    );
    let last = session.last_message_transport;
    expect(
        last == Some(mode.settles_on()),
        format!("the last ping reached the server on {last:?}"),
    );
    problems
}
