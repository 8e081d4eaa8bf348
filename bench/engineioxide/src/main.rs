//! `engineioxide-echo [--port N]`: the Rust peer engineioxide (0.17) as an Engine.IO echo
//! server, for `scripts/bench-load` to run next to ours and the npm `engine.io` server.
//!
//! Same conventions as our `examples/echo.rs`: path `/engine.io/`, both transports, default
//! ping settings, 1 MB max payload, every message echoed in kind, a current-thread tokio
//! runtime (a multi-thread runtime pinned to one core has a much worse tail latency), and the
//! line `listening on http://127.0.0.1:<port>` once it accepts connections. The WebSocket read
//! buffer is engineioxide's own default (4 KiB).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use engineioxide::config::EngineIoConfig;
use engineioxide::handler::EngineIoHandler;
use engineioxide::service::EngineIoService;
use engineioxide::{DisconnectReason, Socket, Str};
use hyper_util::rt::TokioIo;

/// Sends every message back to its sender, text as text, binary as binary.
#[derive(Debug)]
struct Echo;

impl EngineIoHandler for Echo {
    type Data = ();

    fn on_connect(self: Arc<Self>, _socket: Arc<Socket<()>>) {}

    fn on_disconnect(&self, _socket: Arc<Socket<()>>, _reason: DisconnectReason) {}

    fn on_message(self: &Arc<Self>, msg: Str, socket: Arc<Socket<()>>) {
        let _ = socket.emit(msg);
    }

    fn on_binary(self: &Arc<Self>, data: Bytes, socket: Arc<Socket<()>>) {
        let _ = socket.emit_binary(data);
    }
}

fn port_arg() -> Result<u16, String> {
    let mut args = std::env::args().skip(1);
    let mut port = 5000;
    while let Some(arg) = args.next() {
        let value = match arg.strip_prefix("--port=") {
            Some(value) => value.to_owned(),
            None if arg == "--port" => args.next().ok_or("--port needs a value")?,
            None => return Err(format!("unknown argument {arg:?} (usage: --port N)")),
        };
        port = value.parse().map_err(|_| format!("bad port {value:?}"))?;
    }
    Ok(port)
}

fn main() -> std::io::Result<()> {
    let port =
        port_arg().map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidInput, error))?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(serve(port))
}

async fn serve(port: u16) -> std::io::Result<()> {
    let config = EngineIoConfig::builder()
        .req_path("/engine.io")
        .max_payload(1_000_000)
        .build();
    let service = EngineIoService::with_config(Arc::new(Echo), config);
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(_) => {
                // Out of descriptors and the like: back off instead of spinning.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}
