//! The Engine.IO v4 protocol as a pure state machine: bytes, requests and time in; actions out.
//!
//! `engineio-core` is the sans-IO heart of the `engineio` crates. It does no I/O, spawns no
//! threads, runs no async code, reads no clock and draws no global randomness. A runtime (tokio,
//! smol, async-std, plain threads, or your own event loop) reads sockets, hands what it read to
//! the core together with the current time, and carries out what the core asks for. Because the
//! protocol lives in one deterministic place, it is tested with simulated time (minutes of
//! heartbeat in microseconds), fuzzed as a whole machine, and shared by every runtime.
//!
//! # What is here
//!
//! - [`packet`]: the codecs. [`Packet`] and [`Message`] encode to WebSocket [`Frame`]s and to
//!   polling payloads (`0x1e`-separated records, binary as `b<base64>`).
//! - [`Server`]: routes Engine.IO HTTP requests and WebSocket frames to per-session state
//!   machines (held polls, heartbeats, upgrades, closes, authorization, bounded buffers).
//! - [`client::Client`]: the same for the client side, including the reference client's
//!   upgrade (probe, pause polling, `5`) and POST batching under the server's `maxPayload`.
//!
//! # The contract
//!
//! - Every input is a `handle_*(now, …)` call; `now` is the first argument, always.
//! - Outputs are drained: after **every** input or command, call `poll_transmit` and
//!   `poll_event` until both return `None`, then arm one timer for `poll_timeout()`. When the
//!   timer fires call `handle_timeout(now)`; calling it early is harmless.
//! - A misbehaving peer never makes a call fail. It gets an HTTP error response or a closed
//!   socket, and the application sees `Disconnected { reason }`. `Err` means local misuse.
//! - Every request gets exactly one answer, every intermediate state has a deadline, and
//!   `poll_timeout()` is `Some` whenever a session exists.
//! - Randomness for session ids comes from a seed the caller passes ([`Server::new`]); the
//!   runtimes seed it from the operating system.
//!
//! # Embedding the core in your own event loop
//!
//! The example in `core/examples/custom_loop/` (`cargo run -p engineio-core --example
//! custom_loop`) serves Engine.IO over polling and
//! WebSocket from a single-threaded, non-blocking loop on `mio`, with `httparse` and
//! `tungstenite` and no async runtime: it reads sockets, feeds the core, drains it, writes
//! what it returns and arms its timer at `poll_timeout()`. A test drives it with the real
//! `engine.io-client`. The async `engineio` crate and the blocking
//! `engineio-runtime-threads` are the other two ways to run the core.
//!
//! # Features
//!
//! The protocol modules have no optional parts. Two features add what every front end
//! shares around the protocol: `http` (CORS, cookie, compression, static files, client URLs,
//! response decoration, on the `http` crate's types) and `tls` (the rustls client
//! configuration).
//!
//! # A hand-written run loop
//!
//! A runtime maps its network onto the core like this (here the "network" is a few lines of
//! code; a real one writes the [`Transmit`]s to sockets and arms a real timer):
//!
//! ```
//! use std::sync::Arc;
//! use std::time::{Duration, Instant};
//!
//! use engineio_core::{Event, Request, RequestId, Server, ServerConfig, Transmit};
//!
//! let mut server = Server::new(Arc::new(ServerConfig::default()), [7; 32]); // seed from the OS
//! let mut now = Instant::now();
//!
//! // A client's handshake arrives. The runtime names the request.
//! server.handle_request(now, RequestId(1), Request::get("EIO=4&transport=polling"));
//!
//! // Drain everything the input caused.
//! let mut sid = None;
//! while let Some(transmit) = server.poll_transmit() {
//!     match transmit {
//!         Transmit::Respond { request, response } => {
//!             assert_eq!(request, RequestId(1));
//!             assert_eq!(response.status, 200);
//!             assert!(response.body.starts_with(b"0{\"sid\":"));
//!         }
//!         other => unreachable!("{other:?}"),
//!     }
//! }
//! while let Some(event) = server.poll_event() {
//!     if let Event::Connected { sid: new, .. } = event {
//!         sid = Some(new);
//!     }
//! }
//! let sid = sid.expect("connected");
//!
//! // The client polls; there is nothing to send, so the core holds the GET.
//! let query = format!("EIO=4&transport=polling&sid={sid}");
//! server.handle_request(now, RequestId(2), Request::get(&query));
//! assert!(server.poll_transmit().is_none());
//!
//! // Nothing happens until the deadline the core asked for: the first ping.
//! let deadline = server.poll_timeout().expect("a session always has a deadline");
//! assert_eq!(deadline, now + Duration::from_secs(25));
//! now = deadline;
//! server.handle_timeout(now);
//! match server.poll_transmit() {
//!     Some(Transmit::Respond { request, response }) => {
//!         assert_eq!(request, RequestId(2));
//!         assert_eq!(&response.body[..], b"2"); // the ping answers the held GET
//!     }
//!     other => panic!("expected the ping, got {other:?}"),
//! }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod buffer;
pub mod client;
#[cfg(feature = "http")]
pub mod http;
pub mod id_map;
pub mod packet;
mod query;
pub mod runtime;
pub mod server;
mod sid;
mod types;

pub use bytes::Bytes;
pub use bytestring::ByteString;
pub use client::{Client, ClientConfig, ClientEvent, ClientTransmit, ConnectError};
pub use packet::{DecodeError, Frame, Frames, Message, OpenPacket, Packet, PacketType};
pub use server::{
    Authorization, ErrorCode, Event, Method, Request, Response, ResponseKind, Server, ServerConfig,
    Transmit, UnknownRequest,
};
pub use sid::{Sid, SID_LEN};
pub use types::{
    BufferLimits, DisconnectReason, OverflowPolicy, RequestId, SendError, Transport,
    TransportError, Transports, WsFailure,
};
