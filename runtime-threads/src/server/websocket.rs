//! The WebSocket side of the server: the opening handshake (101), then two threads per socket.
//!
//! The connection thread that read the upgrade request writes the 101 answer, starts the
//! socket's writer thread, and becomes its reader: it owns tungstenite's `WebSocket` (built
//! with `from_partially_read`, so bytes the client sent right after its request are kept) and
//! hands every data frame to the engine. The writer thread writes the batches the engine
//! hands out, then reports them written (the core's flow control). How the two share the
//! connection without interleaving frames is explained in [`crate::ws`].

use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use engineio_core::http::cors::{self, CorsDecision};
use engineio_core::RequestId;
use http::header::{self, HeaderValue};
use tungstenite::protocol::{Role, WebSocketConfig};
use tungstenite::WebSocket;

use super::engine::Command;
use super::http::RequestHead;
use super::response::{plain, write_response};
use super::shared::Shared;
use crate::input::Input;
use crate::ws::{self, Side, SocketEnd, WsCommand};

/// How long a socket the server closed waits for the client's close frame.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// Answers the handshake with 101 and runs the socket until it ends (on the calling thread,
/// which becomes the reader).
pub(crate) fn serve(
    shared: &Arc<Shared>,
    id: RequestId,
    input: &mut Input,
    head: &RequestHead,
    commands: Receiver<WsCommand>,
    cors: &CorsDecision,
) {
    let conn = input.conn.clone();
    let Some(key) = head.headers.get(header::SEC_WEBSOCKET_KEY) else {
        shared.input(Command::WsEnded(id, SocketEnd::Closed));
        write_response(&conn, &plain(400, "Bad Request"), false, false);
        return;
    };
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let mut response = http::Response::new(Bytes::new());
    *response.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(value) = HeaderValue::from_str(&accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, value);
    }
    cors::apply(cors, shared.options.http.cors_credentials, headers);
    // `keep_alive` only keeps `Connection: close` out; the connection is the socket's now.
    if !write_response(&conn, &response, false, true) {
        shared.input(Command::WsEnded(id, SocketEnd::Closed));
        return;
    }
    let read_ahead = input.take_buffered();
    conn.set_read_timeout(Some(shared.socket_idle));

    let (done, reader_done) = mpsc::channel::<()>();
    let writer_conn = conn.clone();
    let weak = Arc::downgrade(shared);
    let writer = std::thread::Builder::new()
        .name("engineio-ws-writer".into())
        .spawn(move || {
            ws::run_writer(
                &writer_conn,
                &commands,
                Side::Server,
                CLOSE_LINGER,
                &reader_done,
                || {
                    if let Some(shared) = weak.upgrade() {
                        shared.input(Command::WsWritten(id));
                    }
                },
            );
        });
    let Ok(writer) = writer else {
        tracing::error!("cannot start a websocket writer thread");
        conn.shutdown();
        shared.input(Command::WsEnded(id, SocketEnd::Closed));
        return;
    };
    // A frame or message one byte over maxPayload is refused by the library (close 1009); the
    // core checks the same bound on what gets through.
    let limit = shared.max_payload;
    let config = WebSocketConfig::default()
        .read_buffer_size(shared.options.ws_read_buffer)
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit));
    let socket_conn = conn.clone();
    let mut socket = WebSocket::from_partially_read(conn, read_ahead, Role::Server, Some(config));
    let end = ws::run_reader(&mut socket, |frame, token| {
        shared.input(Command::WsFrame(id, frame, token));
    });
    tracing::debug!(socket = %id, ?end, "server websocket ended");
    shared.input(Command::WsEnded(id, end));
    let _ = done.send(());
    // The writer sends the core's answer to a failure (a close frame with its code) and stops.
    let _ = writer.join();
    if matches!(end, SocketEnd::Failed(_)) {
        // The client may still be sending (the rest of an oversized frame): a plain close
        // would reset the connection and could destroy the close frame on its way.
        socket_conn.linger_close();
    } else {
        socket_conn.shutdown();
    }
}
