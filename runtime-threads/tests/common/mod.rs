//! Helpers shared by the integration tests: a server on a free port, the three transport
//! modes, an event channel, and raw HTTP over a `TcpStream`.
#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use engineio_runtime_threads::{
    Client, ClientBuilder, Server, ServerBuilder, Transport, Transports,
};

/// How long a test waits for something that should happen.
pub const WAIT: Duration = Duration::from_secs(5);

/// A server serving on 127.0.0.1 with a free port; shut down when dropped.
pub struct TestServer {
    pub server: Server,
    pub addr: SocketAddr,
    pub url: String,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub fn start(builder: ServerBuilder) -> Self {
        let server = builder.build();
        Self::serve(server)
    }

    pub fn serve(server: Server) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("local address");
        let thread = std::thread::spawn({
            let server = server.clone();
            move || server.serve_listener(listener)
        });
        Self {
            server,
            addr,
            url: format!("http://{addr}"),
            thread: Some(thread),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.shutdown(Duration::from_millis(500));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The three ways a client can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Polling,
    WebSocket,
    Upgrade,
}

pub const MODES: [Mode; 3] = [Mode::Polling, Mode::WebSocket, Mode::Upgrade];

impl Mode {
    pub fn client(self) -> ClientBuilder {
        let builder = Client::builder().request_timeout(WAIT);
        match self {
            Self::Polling => builder.transports(Transports::POLLING),
            Self::WebSocket => builder.transports(Transports::WEBSOCKET),
            Self::Upgrade => builder.transports(Transports::ALL).upgrade(true),
        }
    }

    /// The transport the client ends up on.
    pub fn settled(self) -> Transport {
        match self {
            Self::Polling => Transport::Polling,
            Self::WebSocket | Self::Upgrade => Transport::WebSocket,
        }
    }
}

/// Waits (bounded) until `check` holds.
pub fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A channel for what handlers observe.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    mpsc::channel()
}

/// Receives within [`WAIT`] or panics.
pub fn next<T>(receiver: &Receiver<T>, what: &str) -> T {
    receiver
        .recv_timeout(WAIT)
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// A raw HTTP response.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Connects with a read timeout of [`WAIT`].
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream
}

/// Reads one response (head, then `Content-Length` bytes, or until close).
pub fn read_response(stream: &mut TcpStream) -> RawResponse {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let (length, mut response) = loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(length) = parsed.parse(&buf).expect("valid response") {
            let response = RawResponse {
                status: parsed.code.unwrap(),
                headers: parsed
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_owned(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect(),
                body: Vec::new(),
            };
            break (length, response);
        }
        let read = stream.read(&mut chunk).expect("read the head");
        assert!(read > 0, "connection closed before a response: {buf:?}");
        buf.extend_from_slice(&chunk[..read]);
    };
    let mut body = buf.split_off(length);
    if response.status != 101 {
        match response
            .header("content-length")
            .map(|v| v.parse::<usize>().unwrap())
        {
            Some(expected) => {
                while body.len() < expected {
                    let read = stream.read(&mut chunk).expect("read the body");
                    assert!(read > 0, "connection closed inside the body");
                    body.extend_from_slice(&chunk[..read]);
                }
            }
            None => {
                let _ = stream.read_to_end(&mut body);
            }
        }
    }
    response.body = body;
    response
}

/// Sends a request on a new connection and reads the response.
pub fn request(addr: SocketAddr, request: &str) -> RawResponse {
    let mut stream = connect(addr);
    stream.write_all(request.as_bytes()).unwrap();
    read_response(&mut stream)
}

/// A GET with extra header lines (each ending in `\r\n`).
pub fn get(addr: SocketAddr, target: &str, headers: &str) -> RawResponse {
    request(
        addr,
        &format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n"),
    )
}

/// Opens a polling session by hand; returns its sid.
pub fn handshake(addr: SocketAddr) -> String {
    let response = get(addr, "/engine.io/?EIO=4&transport=polling", "");
    assert_eq!(response.status, 200);
    let body = String::from_utf8(response.body).unwrap();
    let open: serde_json::Value = serde_json::from_str(&body[1..]).unwrap();
    open["sid"].as_str().unwrap().to_owned()
}
