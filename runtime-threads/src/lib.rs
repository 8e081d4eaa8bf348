//! A blocking Engine.IO v4 server and client on plain std threads.
//!
//! `engineio-runtime-threads` drives the sans-IO protocol core ([`engineio_core`]) with
//! ordinary threads, blocking sockets and `std::sync::mpsc` channels. There is no async
//! runtime anywhere in its dependency tree (no tokio, async-std, smol or async-io), so a
//! blocking program can use Engine.IO without hosting a hidden runtime, and handlers may call
//! back into the API without deadlocking.
//!
//! It offers the same capabilities as the async `engineio` server and client, with the same
//! names: a [`Server`] with handlers (`authorize`, `on_connect`, `on_message`,
//! `on_disconnect`), a stream face ([`server::Incoming`]), `send`, `send_json`, `disconnect`,
//! `disconnect_all`, `shutdown(grace)`, per-session storage, CORS, the session cookie,
//! compression of polling responses and static files; and a [`Client`] over polling,
//! WebSocket or polling upgraded to WebSocket, with TLS through rustls.
//!
//! # Example
//!
//! A server on a free port and a client that talks to it:
//!
//! ```
//! use std::net::TcpListener;
//! use std::time::Duration;
//! use engineio_runtime_threads::{Client, Server};
//!
//! // An echo server, served on its own thread.
//! let server = Server::builder()
//!     .on_message(|server, sid, message| {
//!         let _ = server.send(&sid, message);
//!     })
//!     .build();
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let url = format!("http://{}", listener.local_addr()?);
//! let serving = std::thread::spawn({
//!     let server = server.clone();
//!     move || server.serve_listener(listener)
//! });
//!
//! // A client: connect, send, read the echo.
//! let client = Client::connect(&url)?;
//! client.send("héllo")?;
//! let echo = client.recv_timeout(Duration::from_secs(5))?;
//! assert_eq!(echo.as_text(), Some("héllo"));
//! client.disconnect();
//!
//! server.shutdown(Duration::from_secs(1));
//! serving.join().unwrap()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The thread design
//!
//! **One engine thread owns the core**, on each side. It is the run loop of str0m's blocking
//! example: wait on a channel with `recv_timeout` until the core's `poll_timeout`; feed the
//! core what arrived (or `handle_timeout`); drain `poll_transmit` and `poll_event` until both
//! are empty; repeat. Nothing else touches the core: I/O threads send it inputs, API calls
//! send it closures and wait for the answer, and it routes its outputs to channels (the
//! response a request thread waits for, the batches a socket writer waits for, the jobs of the
//! handler threads). The engine never blocks on a socket and never runs application code.
//!
//! **Sockets have their own threads.** On the server, the accepting thread starts one thread
//! per connection (capped, `503` beyond); it parses requests with `httparse` under size and
//! time limits and waits for the engine's answer, so a held long-poll GET costs a parked
//! thread. A WebSocket has a reader thread and a writer thread sharing one connection (see
//! below). The client has one thread per polling request kind (GET, POST) and the same two
//! per WebSocket.
//!
//! **Handlers run on dispatcher threads**, one session's (or one client's) in order, never
//! under a lock, so `send`, `disconnect` and the session storage may be called from them.
//!
//! # WebSocket on threads
//!
//! tungstenite's `WebSocket` cannot be split, and a thread blocked in `read()` cannot write.
//! Each socket therefore has a **reader** thread that owns the `WebSocket` and only reads, and
//! a **writer** thread that takes the core's batches from a channel. The writer encodes every
//! frame of a batch with tungstenite's frame codec (`protocol::frame::Frame`, masked on the
//! client), writes the batch in one write, and reports it written: the core's flow control,
//! one batch outstanding. Both write through one handle on the connection whose writes are
//! whole buffers under a mutex, so the writer's frames never interleave with the pongs and
//! close replies tungstenite writes from the reader. After a close frame nothing more is
//! written; the writer then gives the peer a moment to answer and shuts the connection down,
//! which also ends a read blocked on a silent peer. For TLS (client side) the reader reads
//! ciphertext without the lock and decrypts under it, so writes go on while it waits. Each
//! reader holds at most 64 frames handed to the engine and not yet taken (backpressure into
//! the peer's TCP window).
//!
//! # Dependencies
//!
//! `httparse` for HTTP/1.1 heads (requests on the server, responses on the client), tungstenite
//! 0.30's blocking API for WebSocket, rustls (ring) with webpki-roots for TLS, and the `http`
//! crate's types for the shared CORS, cookie, compression and static-file policies of
//! `engineio_core::http`. `cargo tree -p engineio-runtime-threads -e normal` lists them; the
//! test `tests/no_async_runtime.rs` fails if an async runtime ever appears there.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod client;
mod conn;
mod input;
pub mod server;
mod ws;

pub use client::{Client, ClientBuilder, ConnectError, SendJsonError};
pub use engineio_core::client::ClientConfig;
pub use engineio_core::{
    BufferLimits, Bytes, DisconnectReason, Message, OverflowPolicy, SendError, Sid, Transport,
    Transports,
};
pub use server::{
    ConnectRequest, Cookie, CorsOrigins, Forbidden, Incoming, Rejection, SameSite, Server,
    ServerBuilder, SessionGuard, Socket, StaticFiles,
};
