//! Every scenario, briefly, against servers started in this process: our Engine.IO echo server
//! for the Engine.IO scenarios, and two bare echo servers written here for `--raw` (a WebSocket
//! echo, and an HTTP "give me back what I posted" server that answers in chunked encoding to
//! exercise that path of the polling client).

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_tungstenite::tungstenite::Message;
use engineio::server::Server;
use engineio_loadgen::{run, Config, Report, Scenario};
use futures_util::StreamExt as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Binds a free loopback port.
fn bind() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// Runs `serve` on a current-thread tokio runtime in a background thread.
fn spawn_runtime<F, Fut>(serve: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(serve());
    });
}

/// Our echo server (as in `examples/echo.rs`) with a short ping interval, so that pings are
/// exchanged during the tests; returns its Engine.IO URL.
fn engineio_echo() -> String {
    let (listener, addr) = bind();
    spawn_runtime(move || async move {
        let server = Server::builder()
            .ping_interval(Duration::from_millis(100))
            .ping_timeout(Duration::from_millis(2000))
            .on_message(|server, sid, message| async move {
                let _ = server.send(&sid, message);
            })
            .build();
        let _ = server.serve_listener(listener).await;
    });
    format!("http://{addr}/engine.io/")
}

/// A bare WebSocket echo (the shape of the WebSocket floor).
fn raw_ws_server() -> String {
    let (listener, addr) = bind();
    spawn_runtime(move || async move {
        listener.set_nonblocking(true).unwrap();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = async_tungstenite::tokio::accept_async(stream).await else {
                    return;
                };
                while let Some(Ok(message)) = ws.next().await {
                    if matches!(message, Message::Text(_) | Message::Binary(_))
                        && ws.send(message).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}/")
}

/// A bare polling echo (the shape of the polling floor): `POST ?c=N` stores the body, `GET ?c=N`
/// returns it, chunked in two pieces.
fn raw_polling_server() -> String {
    let (listener, addr) = bind();
    spawn_runtime(move || async move {
        listener.set_nonblocking(true).unwrap();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let bodies = Arc::new(Mutex::new(HashMap::<String, Vec<u8>>::new()));
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_polling_connection(stream, Arc::clone(&bodies)));
        }
    });
    format!("http://{addr}/floor")
}

/// One keep-alive connection of the bare polling echo.
async fn serve_polling_connection(
    mut stream: tokio::net::TcpStream,
    bodies: Arc<Mutex<HashMap<String, Vec<u8>>>>,
) {
    let mut buf = Vec::new();
    loop {
        let (method, path, head_len, body_len) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 16];
            let mut request = httparse::Request::new(&mut headers);
            if let Ok(httparse::Status::Complete(n)) = request.parse(&buf) {
                let len = request
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .map_or(0, |h| {
                        std::str::from_utf8(h.value).unwrap().parse().unwrap()
                    });
                let method = request.method.unwrap().to_owned();
                break (method, request.path.unwrap().to_owned(), n, len);
            }
            if stream.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                return;
            }
        };
        while buf.len() < head_len + body_len {
            if stream.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                return;
            }
        }
        let body = buf[head_len..head_len + body_len].to_vec();
        buf.drain(..head_len + body_len);
        let client = path.split_once("c=").map_or("", |(_, c)| c).to_owned();
        let response = if method == "POST" {
            bodies.lock().unwrap().insert(client, body);
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec()
        } else {
            let stored = bodies
                .lock()
                .unwrap()
                .get(&client)
                .cloned()
                .unwrap_or_default();
            let (a, b) = stored.split_at(stored.len() / 2);
            let mut r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            for chunk in [a, b] {
                if !chunk.is_empty() {
                    r.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                    r.extend_from_slice(chunk);
                    r.extend_from_slice(b"\r\n");
                }
            }
            r.extend_from_slice(b"0\r\n\r\n");
            r
        };
        if stream.write_all(&response).await.is_err() {
            return;
        }
    }
}

/// A short run of `scenario` against `url`, measuring this process as "the server".
fn short(url: &str, scenario: Scenario) -> Config {
    Config {
        url: url.to_owned(),
        scenario,
        server_pid: Some(std::process::id()),
        clients: 4,
        duration: Duration::from_millis(300),
        warmup: Duration::ZERO,
        ..Config::default()
    }
}

/// The checks every timed run must pass.
fn assert_clean(report: &Report) {
    assert!(report.ops > 0, "no ops: {}", report.summary());
    assert_eq!(report.errors, 0, "{}", report.summary());
    let (p50, p99, max) = (
        report.p50_us.unwrap(),
        report.p99_us.unwrap(),
        report.max_us.unwrap(),
    );
    assert!(
        0.0 < p50 && p50 <= p99 && p99 <= max,
        "{}",
        report.summary()
    );
    assert!(report.server_cpu_ns.is_some_and(|ns| ns > 0));
    assert!(report.loadgen_cpu_ns.is_some());
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["ops"], report.ops);
}

#[test]
fn ws_echo_text() {
    let report = run(&short(&engineio_echo(), Scenario::WsEcho)).unwrap();
    assert_clean(&report);
    assert_eq!(report.depth, Some(1));
}

#[test]
fn ws_echo_binary_pipelined() {
    let config = Config {
        binary: true,
        depth: 8,
        size: 100,
        ..short(&engineio_echo(), Scenario::WsEcho)
    };
    assert_clean(&run(&config).unwrap());
}

#[test]
fn polling_echo_text_and_binary() {
    let url = engineio_echo();
    assert_clean(&run(&short(&url, Scenario::PollingEcho)).unwrap());
    let binary = Config {
        binary: true,
        ..short(&url, Scenario::PollingEcho)
    };
    assert_clean(&run(&binary).unwrap());
}

#[test]
fn handshakes() {
    let url = engineio_echo();
    let polling = run(&short(&url, Scenario::HandshakePolling)).unwrap();
    assert_clean(&polling);
    assert_eq!(polling.size, None);
    assert_clean(&run(&short(&url, Scenario::HandshakeWs)).unwrap());
}

#[test]
fn idle_sessions_answer_pings_and_report_memory() {
    let config = Config {
        sessions: 40,
        duration: Duration::from_millis(400),
        ..short(&engineio_echo(), Scenario::Idle)
    };
    let report = run(&config).unwrap();
    assert_eq!(report.errors, 0, "{}", report.summary());
    // Every session survived several ping intervals, so pings were answered.
    assert_eq!(report.ops, 40, "{}", report.summary());
    assert_eq!(report.sessions, Some(40));
    assert!(report.rss_kb_before.is_some() && report.rss_kb_after_close.is_some());
    assert!(report.bytes_per_session.is_some());
    // The hold lasted several ping intervals: pings came and were answered.
    let pings: u64 = report
        .notes
        .iter()
        .find_map(|n| {
            n.strip_suffix(" pings answered")?
                .rsplit(' ')
                .next()?
                .parse()
                .ok()
        })
        .expect("a note with the pings answered");
    assert!(pings > 0, "{}", report.summary());
}

#[test]
fn raw_ws_echo() {
    let config = Config {
        raw: true,
        depth: 4,
        ..short(&raw_ws_server(), Scenario::WsEcho)
    };
    assert_clean(&run(&config).unwrap());
}

#[test]
fn raw_polling_echo_with_chunked_answers() {
    let url = raw_polling_server();
    let config = Config {
        raw: true,
        ..short(&url, Scenario::PollingEcho)
    };
    assert_clean(&run(&config).unwrap());
}

#[test]
fn raw_is_refused_where_it_has_no_meaning() {
    let config = Config {
        raw: true,
        ..short("http://127.0.0.1:9/engine.io/", Scenario::Idle)
    };
    assert!(run(&config).is_err());
}

#[test]
fn an_unreachable_server_is_a_setup_error() {
    let (listener, addr) = bind();
    drop(listener);
    let config = short(&format!("http://{addr}/engine.io/"), Scenario::WsEcho);
    assert!(run(&config).is_err());
}
