//! A second server for the advisories about policy rather than parsing: the default CORS
//! policy (same origin, which refuses foreign `Origin`s with 403, where the echo server allows
//! any) and an `authorize` hook that lets only `token=good` in. It runs on each runtime as the
//! echo server does, and lives as long as the test process (each test is a process of its
//! own under nextest).

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::mpsc;
use std::sync::Arc;

use engineio::blocking;
use engineio::runtime::{AsyncStdRuntime, Runtime as AsyncRuntime, SmolRuntime, TokioRuntime};
use engineio::server::{ConnectRequest, Forbidden, Server};

use super::*;

/// The message of the `authorize` hook's refusal.
pub(crate) const NOT_ALLOWED: &str = "Thou shall not pass";

/// A running policy server: where it listens, and how many sessions it holds.
pub(crate) struct PolicyServer {
    pub(crate) addr: SocketAddr,
    pub(crate) runtime: Runtime,
    sessions: Box<dyn Fn() -> usize>,
}

impl PolicyServer {
    /// The number of live sessions.
    pub(crate) fn session_count(&self) -> usize {
        (self.sessions)()
    }

    /// Sends `raw` on a fresh connection and reads the answer.
    pub(crate) fn exchange(&self, raw: &[u8]) -> Outcome {
        let mut stream = TcpStream::connect(self.addr).expect("connect to the policy server");
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        let _ = stream.write_all(raw);
        read_response(&mut stream)
    }

    /// The answer to `raw`, which must come.
    pub(crate) fn response(&self, raw: &[u8], what: &str) -> HttpResponse {
        match self.exchange(raw) {
            Outcome::Response(r) => r,
            Outcome::Closed(e) => panic!(
                "policy server on {}: {what}: no response, the connection ended ({e})",
                self.runtime
            ),
        }
    }
}

/// A request to the Engine.IO path with extra header lines (each ending in `\r\n`); a
/// WebSocket upgrade when `websocket`.
pub(crate) fn request_with(query: &str, headers: &str, websocket: bool) -> Vec<u8> {
    let upgrade = if websocket {
        "Upgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    } else {
        "Connection: close\r\n"
    };
    format!("GET {PATH}?{query} HTTP/1.1\r\n{headers}{upgrade}\r\n").into_bytes()
}

fn authorize(request: &ConnectRequest) -> Result<(), Forbidden> {
    match request.query("token").as_deref() {
        Some("good") => Ok(()),
        _ => Err(Forbidden::message(NOT_ALLOWED)),
    }
}

/// Starts the policy server on `runtime`.
pub(crate) fn start_policy(runtime: Runtime) -> PolicyServer {
    let listener =
        TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    let sessions: Box<dyn Fn() -> usize> = match runtime {
        Runtime::Threads => {
            let server = blocking::Server::builder()
                .authorize(|request| authorize(&request))
                .build();
            let serving = server.clone();
            thread::spawn(move || serving.serve_listener(listener));
            Box::new(move || server.session_count())
        }
        Runtime::Tokio | Runtime::Smol | Runtime::AsyncStd => {
            let server = serve_async(runtime, listener);
            Box::new(move || server.session_count())
        }
    };
    PolicyServer {
        addr,
        runtime,
        sessions,
    }
}

/// Runs the async server on a thread of its own, inside `runtime`'s executor.
fn serve_async(runtime: Runtime, listener: TcpListener) -> Server {
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    let (server_tx, server_rx) = mpsc::channel();
    let serve = move |rt: Arc<dyn AsyncRuntime>| async move {
        let server = Server::builder()
            .runtime(rt)
            .authorize(|request| async move { authorize(&request) })
            .build();
        let _ = server_tx.send(server.clone());
        let _ = server.serve_listener(listener).await;
    };
    thread::spawn(move || match runtime {
        Runtime::Tokio => {
            let tokio = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime");
            let rt = Arc::new(TokioRuntime::from_handle(tokio.handle().clone()));
            tokio.block_on(serve(rt));
        }
        Runtime::Smol => {
            let executor = Arc::new(smol::Executor::new());
            let rt = Arc::new(SmolRuntime::with_executor(Arc::clone(&executor)));
            smol::block_on(executor.run(serve(rt)));
        }
        Runtime::AsyncStd => async_std::task::block_on(serve(Arc::new(AsyncStdRuntime::new()))),
        Runtime::Threads => unreachable!("the blocking server runs without an executor"),
    });
    server_rx
        .recv_timeout(IO_TIMEOUT)
        .expect("the policy server starts")
}
