//! Engine.IO v4 server and client, on the async runtime of your choice.
//!
//! Engine.IO is the transport under Socket.IO: a session between a client (often a browser)
//! and a server over HTTP long-polling and WebSocket, with the upgrade between them, heartbeats,
//! and text and binary messages. This crate is the async face of it; the protocol itself lives
//! in the sans-IO [`engineio_core`] crate, re-exported as [`core`].
//!
//! - `server::Server` (feature `server`): handlers (`on_connect`, `on_message`, `on_disconnect`) or a stream
//!   of sockets, per-session storage, CORS, cookies, compression, static files, a standalone
//!   `serve` and a tower `Service` for axum or hyper applications.
//! - `client::Client` (feature `client`): connects over polling, WebSocket, or polling upgraded to WebSocket,
//!   with https/wss through rustls.
//!
//! Runtimes are chosen by Cargo features (`tokio`, the default, `smol`, `async-std`); see
//! [`runtime`]. The `threads` feature adds `blocking`, a server and client on plain std
//! threads with no async runtime at all (the `engineio-runtime-threads` crate).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use engineio_core as core;
pub use engineio_core::{
    ByteString, Bytes, DisconnectReason, Message, SendError, Sid, Transport, Transports,
};

#[cfg(feature = "threads")]
pub use engineio_runtime_threads as blocking;
#[cfg(feature = "client")]
pub mod client;
// A field of `io::HyperIo`, which the client shares; only the server's connections set it.
#[cfg(any(feature = "server", feature = "client"))]
#[cfg_attr(not(feature = "server"), allow(dead_code))]
mod head_deadline;
#[cfg(any(feature = "server", feature = "client"))]
pub mod io;
pub mod runtime;
#[cfg(feature = "server")]
pub mod server;
#[cfg(all(test, any(feature = "server", feature = "client")))]
mod test_stream;
