//! Embedding `engineio-core` in an event loop of your own: no async runtime, one thread.
//!
//! An Engine.IO echo server on `/engine.io/`, over HTTP long-polling and WebSocket (with the
//! upgrade), driven by a hand-written `mio` loop: `httparse` reads HTTP, `tungstenite` speaks
//! WebSocket on the same non-blocking sockets, and the core's `poll_timeout()` is the loop's
//! only timer. `server.rs` explains the loop step by step.
//!
//! ```text
//! cargo run -p engineio-core --example custom_loop -- --port 5000
//! ```
//!
//! `--port 0` (the default) picks a free port; the address is printed on stdout.

mod server;

use std::net::TcpListener;

use engineio_core::ServerConfig;

fn main() -> std::io::Result<()> {
    let port = port_from_args()?;
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let (event_loop, _stop) = server::EventLoop::new(listener, ServerConfig::default())?;
    println!("listening on http://{}", event_loop.local_addr()?);
    event_loop.run()
}

/// `--port N`, the only option.
fn port_from_args() -> std::io::Result<u16> {
    let usage = || std::io::Error::other("usage: custom_loop [--port PORT]");
    let mut args = std::env::args().skip(1);
    let mut port = 0;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => port = args.next().and_then(|p| p.parse().ok()).ok_or_else(usage)?,
            _ => return Err(usage()),
        }
    }
    Ok(port)
}
