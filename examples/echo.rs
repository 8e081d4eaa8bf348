//! An echo server: every message goes back to its sender, in kind (text as text, binary as
//! binary). CORS is open to all origins and the path is `/engine.io/`, so any Engine.IO client
//! can talk to it; the interop tests and the benchmarks use it.
//!
//! ```text
//! cargo run --example echo -- --port 5000
//! cargo run --example echo -- --port 0 --ping-interval-ms 300 --ping-timeout-ms 200
//! ```
//!
//! Prints one line, `listening on http://127.0.0.1:<port>`, once it accepts connections.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use engineio::runtime::Runtime;
use engineio::server::{CorsOrigins, Server};

#[derive(Parser, Debug)]
#[command(about = "Engine.IO echo server")]
struct Args {
    /// TCP port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 5000)]
    port: u16,
    /// Milliseconds between pings.
    #[arg(long, default_value_t = 25_000)]
    ping_interval_ms: u64,
    /// Milliseconds a client has to answer a ping.
    #[arg(long, default_value_t = 20_000)]
    ping_timeout_ms: u64,
    /// The largest message or polling body accepted, in bytes.
    #[arg(long, default_value_t = 1_000_000)]
    max_payload: usize,
    /// The runtime: tokio, smol, async-std, or threads (the blocking server, no async
    /// runtime); all but tokio need their Cargo feature (`--features smol`, …).
    #[arg(long, default_value = "tokio")]
    runtime: String,
}

fn main() -> std::io::Result<()> {
    // Logs: RUST_LOG=engineio=debug
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)))?;
    match args.runtime.as_str() {
        "tokio" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(serve(args, listener, None)),
        #[cfg(feature = "smol")]
        "smol" => {
            // One thread, as tokio's current-thread runtime above: every task runs on this
            // executor, which `block_on` drives together with the I/O reactor. (Spawning on
            // smol's global executor would run the tasks on a thread of their own, and every
            // I/O event would cross threads.)
            let executor = Arc::new(smol::Executor::new());
            let runtime = Arc::new(engineio::runtime::SmolRuntime::with_executor(Arc::clone(
                &executor,
            )));
            smol::block_on(executor.run(serve(args, listener, Some(runtime))))
        }
        #[cfg(feature = "threads")]
        "threads" => serve_blocking(args, listener),
        #[cfg(feature = "async-std")]
        "async-std" => {
            let runtime = Arc::new(engineio::runtime::AsyncStdRuntime::new());
            async_std::task::block_on(serve(args, listener, Some(runtime)))
        }
        other => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "runtime {other:?} is not available (compiled in: {})",
                compiled_runtimes()
            ),
        )),
    }
}

fn compiled_runtimes() -> String {
    let mut names = vec!["tokio"];
    if cfg!(feature = "smol") {
        names.push("smol");
    }
    if cfg!(feature = "async-std") {
        names.push("async-std");
    }
    if cfg!(feature = "threads") {
        names.push("threads");
    }
    names.join(", ")
}

async fn serve(
    args: Args,
    listener: TcpListener,
    runtime: Option<Arc<dyn Runtime>>,
) -> std::io::Result<()> {
    let mut builder = Server::builder();
    if let Some(runtime) = runtime {
        builder = builder.runtime(runtime);
    }
    let server = builder
        .ping_interval(Duration::from_millis(args.ping_interval_ms))
        .ping_timeout(Duration::from_millis(args.ping_timeout_ms))
        .max_http_buffer_size(args.max_payload)
        .cors_allowed_origins(CorsOrigins::Any)
        .on_message_sync(|server, sid, message| {
            let _ = server.send(&sid, message);
        })
        .build();
    println!("listening on http://{}", listener.local_addr()?);
    server.serve_listener(listener).await
}

/// The same echo server on the blocking runtime: plain threads, no async runtime.
#[cfg(feature = "threads")]
fn serve_blocking(args: Args, listener: TcpListener) -> std::io::Result<()> {
    use engineio::blocking;

    let server = blocking::Server::builder()
        .ping_interval(Duration::from_millis(args.ping_interval_ms))
        .ping_timeout(Duration::from_millis(args.ping_timeout_ms))
        .max_http_buffer_size(args.max_payload)
        .cors_allowed_origins(CorsOrigins::Any)
        .on_message(|server, sid, message| {
            let _ = server.send(&sid, message);
        })
        .build();
    println!("listening on http://{}", listener.local_addr()?);
    server.serve_listener(listener)
}
