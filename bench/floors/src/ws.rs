//! The WebSocket floor: any request is upgraded and every data frame is echoed as is.
//!
//! The socket is set up exactly as the engineio server sets up its own: hyper answers the
//! handshake, the raw runtime stream is taken back from hyper (no copy layer), and
//! async-tungstenite runs over it with the server's read buffer size. Two ways to echo:
//!
//! - per message (default): `send` each echo, one write system call per message;
//! - per burst (`--burst`): `feed` every frame that is already readable, then one `flush`,
//!   so a client with 16 messages in flight costs one read and one write per burst.

use std::net::TcpListener;

use async_tungstenite::tungstenite::handshake::derive_accept_key;
use async_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use async_tungstenite::tungstenite::Message;
use async_tungstenite::WebSocketStream;
use bytes::Bytes;
use engineio_core::runtime::Stream;
use futures_util::{FutureExt, SinkExt, StreamExt};
use http::header::{self, HeaderValue};
use hyper::body::Incoming;

use crate::http_server::{self, respond, Response};
use engineio::io::HyperIo;

/// The WebSocket read buffer: the engineio server's default (`ws_read_buffer` in
/// `src/server/options.rs`), not tungstenite's 128 KiB, which it zero-fills before every read.
pub const WS_READ_BUFFER: usize = 4 * 1024;

/// Serves WebSocket echo on every connection `listener` accepts; `burst` selects one flush
/// per burst of readable frames instead of one per message.
///
/// # Errors
///
/// When the listener cannot be registered with the runtime.
pub async fn serve_ws(listener: TcpListener, burst: bool) -> std::io::Result<()> {
    http_server::serve(
        listener,
        move |request| async move { upgrade(request, burst) },
    )
    .await
}

/// Answers the handshake with 101 and starts the echo once hyper hands the connection over.
fn upgrade(mut request: http::Request<Incoming>, burst: bool) -> Response {
    let Some(key) = request.headers().get(header::SEC_WEBSOCKET_KEY).cloned() else {
        return respond(400, Bytes::from_static(b"not a WebSocket handshake"));
    };
    let on_upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        // Our own connections are always a HyperIo: take the raw stream back.
        let Ok(parts) = upgraded.downcast::<HyperIo>() else {
            return;
        };
        let config = WebSocketConfig::default().read_buffer_size(WS_READ_BUFFER);
        let socket = WebSocketStream::from_partially_read(
            parts.io.into_inner(),
            parts.read_buf.to_vec(),
            Role::Server,
            Some(config),
        )
        .await;
        if burst {
            echo_per_burst(socket).await;
        } else {
            echo_per_message(socket).await;
        }
    });
    let mut response = respond(101, Bytes::new());
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

type Socket = WebSocketStream<Box<dyn Stream>>;

/// What to do with one incoming message.
enum Step {
    /// A data frame to send back.
    Echo(Message),
    /// A control frame: tungstenite answers pings (and close) on the next write or flush.
    Skip,
    /// The peer closed, or the connection failed.
    End,
}

fn step(next: Option<Result<Message, tungstenite::Error>>) -> Step {
    match next {
        Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => Step::Echo(message),
        Some(Ok(Message::Close(_))) | Some(Err(_)) | None => Step::End,
        Some(Ok(_)) => Step::Skip,
    }
}

/// One write and flush per message.
async fn echo_per_message(mut socket: Socket) {
    loop {
        match step(socket.next().await) {
            Step::Echo(message) => {
                if socket.send(message).await.is_err() {
                    return;
                }
            }
            Step::Skip => {}
            Step::End => break,
        }
    }
    // Sends the queued close reply, if any.
    let _ = socket.flush().await;
}

/// Buffers the echo of every frame that is readable now, then flushes once.
async fn echo_per_burst(mut socket: Socket) {
    let mut open = true;
    while open {
        let mut next = Some(socket.next().await);
        while let Some(message) = next {
            match step(message) {
                Step::Echo(message) => {
                    if socket.feed(message).await.is_err() {
                        return;
                    }
                }
                Step::Skip => {}
                Step::End => {
                    open = false;
                    break;
                }
            }
            // Another frame already buffered or readable without waiting?
            next = socket.next().now_or_never();
        }
        if socket.flush().await.is_err() {
            return;
        }
    }
}
