//! Benchmark floors: what the kernel, hyper and tungstenite cost on their own.
//!
//! A floor is an echo server built on the very crates and adapters the `engineio` server uses
//! on tokio (the `engineio-runtime-tokio` listener and streams, hyper's http1 server with
//! upgrades, async-tungstenite with the same read buffer) but with no Engine.IO logic at all.
//! `scripts/bench-load` runs them next to our echo server so that the "server CPU per message"
//! of each scenario can be read as a ratio to what the stack underneath imposes anyway.
//!
//! - [`serve_ws`]: upgrades every request to a WebSocket and echoes each data frame, with one
//!   write per message or one write per burst (`floor-ws [--burst]`);
//! - [`serve_polling`]: `POST ?c=N` stores the body of client N, `GET ?c=N` answers it at once
//!   (`floor-polling`).

mod http_server;
mod polling;
mod ws;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};

pub use polling::serve_polling;
pub use ws::{serve_ws, WS_READ_BUFFER};

/// Binds `127.0.0.1:port`, prints `listening on http://127.0.0.1:<port>` and runs `serve` on
/// a single-threaded tokio runtime, as the echo example does with `--runtime tokio`.
///
/// # Errors
///
/// When the port cannot be bound, the runtime cannot start, or `serve` fails.
pub fn run<F, Fut>(port: u16, serve: F) -> std::io::Result<()>
where
    F: FnOnce(TcpListener) -> Fut,
    Fut: Future<Output = std::io::Result<()>>,
{
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    println!("listening on http://{}", listener.local_addr()?);
    runtime.block_on(serve(listener))
}
