//! The latency demo: a page that measures Engine.IO round trips from the browser, like the
//! reference implementations' latency example.
//!
//! ```text
//! scripts/demo                 # installs the client bundle, then runs this
//! cargo run --example latency -- --port 5000
//! ```
//!
//! Open <http://127.0.0.1:5000/>. The page is `examples/latency/index.html`; it loads the
//! official engine.io-client browser bundle, served from the npm package that
//! `scripts/setup` installs (`tests/interop/node_modules/engine.io-client/dist/`), so the
//! browser runs the real reference client against this server.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;

use clap::Parser;
use engineio::server::{Server, StaticFiles};

#[derive(Parser, Debug)]
#[command(about = "Engine.IO latency demo")]
struct Args {
    /// TCP port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 5000)]
    port: u16,
}

fn main() -> std::io::Result<()> {
    // Logs: RUST_LOG=engineio=debug
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bundle = root.join("tests/interop/node_modules/engine.io-client/dist/engine.io.min.js");
    if !bundle.exists() {
        eprintln!(
            "the engine.io-client bundle is missing ({}); run scripts/setup first",
            bundle.display()
        );
        std::process::exit(1);
    }
    let files = StaticFiles::new()
        .file("/", root.join("examples/latency/index.html"))
        .file("/engine.io.min.js", bundle);
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)))?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let server = Server::builder()
                .static_files(files)
                .on_message(|server, sid, message| async move {
                    let _ = server.send(&sid, message);
                })
                .build();
            println!("listening on http://{}", listener.local_addr()?);
            server.serve_listener(listener).await
        })
}
