//! `floor-ws [--port N] [--burst]`: the bare WebSocket echo floor (see `engineio_floors`).

use clap::Parser;

/// Bare WebSocket echo on hyper + async-tungstenite (no Engine.IO).
#[derive(Parser, Debug)]
struct Args {
    /// TCP port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// One flush per burst of readable frames instead of one per message.
    #[arg(long)]
    burst: bool,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    engineio_floors::run(args.port, |listener| {
        engineio_floors::serve_ws(listener, args.burst)
    })
}
