//! Mounting Engine.IO in an axum application: the app keeps its own routes, and the Engine.IO
//! server answers under `/engine.io/` through its tower `Service`.
//!
//! ```text
//! cargo run --example axum            # then: curl 'http://127.0.0.1:3000/engine.io/?EIO=4&transport=polling'
//! ```

use axum::routing::get;
use axum::Router;
use engineio::server::Server;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    // Logs: RUST_LOG=engineio=debug
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let engine = Server::builder()
        .on_connect(|_, sid, request| async move {
            println!("{sid} connected from {:?}", request.remote_addr);
            Ok(())
        })
        .on_message(|server, sid, message| async move {
            let _ = server.send(&sid, message);
        })
        .build();
    let app = Router::new()
        .route("/", get(|| async { "the app's own routes still answer" }))
        .route_service("/engine.io/", engine.service());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
