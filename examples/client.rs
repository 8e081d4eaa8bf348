//! A client: connects, sends a few messages, prints what comes back, and disconnects.
//!
//! ```text
//! cargo run --example echo &                       # a server to talk to
//! cargo run --example client -- --url http://127.0.0.1:5000 hello "wörld ✓"
//! cargo run --example client -- --url http://127.0.0.1:5000 --transport websocket hi
//! ```

use std::time::Duration;

use clap::{Parser, ValueEnum};
use engineio::client::Client;
use engineio::Transports;

#[derive(Parser, Debug)]
#[command(about = "Engine.IO client: send messages, print the answers")]
struct Args {
    /// The server URL (http, https, ws or wss).
    #[arg(long, default_value = "http://127.0.0.1:5000")]
    url: String,
    /// Which transports to use.
    #[arg(long, value_enum, default_value_t = Mode::Upgrade)]
    transport: Mode,
    /// Accept any TLS certificate (for self-signed test servers only).
    #[arg(long)]
    insecure: bool,
    /// The messages to send.
    #[arg(default_values_t = vec!["hello".to_string()])]
    messages: Vec<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Mode {
    /// Long-polling only.
    Polling,
    /// WebSocket only.
    Websocket,
    /// Polling, upgraded to WebSocket.
    Upgrade,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Logs: RUST_LOG=engineio=debug
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let transports = match args.transport {
        Mode::Polling => Transports::POLLING,
        Mode::Websocket => Transports::WEBSOCKET,
        Mode::Upgrade => Transports::ALL,
    };
    let client = Client::builder()
        .transports(transports)
        .ssl_verify(!args.insecure)
        .connect(&args.url)
        .await?;
    println!(
        "connected: sid {}, transport {:?}",
        client.sid().unwrap_or_default(),
        client.transport()
    );
    for message in &args.messages {
        client.send(message.clone())?;
    }
    for _ in &args.messages {
        match tokio::time::timeout(Duration::from_secs(5), client.recv()).await {
            Ok(Some(message)) => println!("received: {message:?}"),
            Ok(None) => break,
            Err(_) => {
                println!("no answer within 5 s");
                break;
            }
        }
    }
    println!("transport at the end: {:?}", client.transport());
    client.disconnect().await;
    println!("disconnected: {}", client.wait().await);
    Ok(())
}
