//! `floor-polling [--port N]`: the bare hyper polling echo floor (see `engineio_floors`).

use clap::Parser;

/// Bare hyper polling echo: POST ?c=N stores, GET ?c=N answers at once (no Engine.IO).
#[derive(Parser, Debug)]
struct Args {
    /// TCP port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    engineio_floors::run(args.port, engineio_floors::serve_polling)
}
