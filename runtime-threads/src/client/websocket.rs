//! The WebSocket transport of the client: a reader thread per socket opens it (TCP, TLS, the
//! HTTP 101 handshake through tungstenite, within the request timeout), starts the socket's
//! writer thread, then reads frames until the socket closes. See [`crate::ws`] for how the two
//! threads share one connection.
//!
//! Every outcome goes back to the engine as an [`Input`]: opened, each data frame, each batch
//! written, and exactly one closed.

use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use engineio_core::RequestId;
use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::HandshakeError;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::WebSocket;

use super::engine::Input;
use super::net::Context;
use super::room;
use super::ConnectError;
use crate::conn::Conn;
use crate::ws::{self, Side, SocketEnd, WsCommand};
use engineio_core::http::client::websocket_message_limit;

/// tungstenite zero-fills its whole read buffer for every read, so keep it small.
const READ_BUFFER: usize = 16 * 1024;
/// How long to wait for the server's close frame after sending ours.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// The shortest time a write may block before the socket is given up.
const MIN_WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a reader waiting for room in the backlog checks whether its socket closed.
const ROOM_CHECK: Duration = Duration::from_millis(50);

/// Starts the threads of WebSocket `socket`; returns the channel that feeds its writer
/// (dropping it closes the socket too).
pub(super) fn spawn(
    ctx: Arc<Context>,
    socket: RequestId,
    query: String,
    max_payload: Option<u64>,
    inputs: Sender<Input>,
) -> Sender<WsCommand> {
    let (commands, receiver) = mpsc::channel();
    let limit = websocket_message_limit(max_payload);
    let failed = inputs.clone();
    let started = std::thread::Builder::new()
        .name("engineio-ws".into())
        .spawn(move || run(&ctx, socket, &query, limit, &inputs, receiver));
    if let Err(error) = started {
        let _ = failed.send(Input::WsClosed {
            socket,
            error: Some(ConnectError::Io(error)),
        });
    }
    commands
}

fn run(
    ctx: &Context,
    socket: RequestId,
    query: &str,
    limit: usize,
    inputs: &Sender<Input>,
    commands: mpsc::Receiver<WsCommand>,
) {
    let (mut ws, conn) = match open(ctx, query, limit) {
        Ok(opened) => opened,
        Err(error) => {
            tracing::debug!(%error, %socket, "engine.io websocket failed to open");
            let _ = inputs.send(Input::WsClosed {
                socket,
                error: Some(error),
            });
            return;
        }
    };
    conn.set_read_timeout(None);
    conn.set_write_timeout(Some(ctx.request_timeout.max(MIN_WRITE_TIMEOUT)));
    let _ = inputs.send(Input::WsOpen { socket });
    let (done, reader_done) = mpsc::channel::<()>();
    let writer_conn = conn.clone();
    let writer_inputs = inputs.clone();
    let writer = std::thread::Builder::new()
        .name("engineio-ws-writer".into())
        .spawn(move || {
            ws::run_writer(
                &writer_conn,
                &commands,
                Side::Client,
                CLOSE_GRACE,
                &reader_done,
                || {
                    let _ = writer_inputs.send(Input::WsWritten { socket });
                },
            );
        });
    let Ok(writer) = writer else {
        conn.shutdown();
        let _ = inputs.send(Input::WsClosed {
            socket,
            error: None,
        });
        return;
    };
    let end = ws::run_reader(&mut ws, |frame, token| {
        // Backpressure: no further frame is read while the backlog is full. A socket closed
        // meanwhile (by us) gives the frame up rather than waiting for the application.
        while !room::reserve(&ctx.backlog, ROOM_CHECK) {
            if conn.is_closed() {
                return;
            }
        }
        let _ = inputs.send(Input::WsFrame {
            socket,
            frame,
            _token: token,
        });
    });
    tracing::debug!(?end, %socket, "engine.io websocket ended");
    if let SocketEnd::Failed(failure) = end {
        // Tell the server why (RFC 6455 §7.4.1); nothing is written after it.
        let _ = conn.send(&ws::encode_close(failure.close_code(), Side::Client), true);
    }
    let _ = inputs.send(Input::WsClosed {
        socket,
        error: None,
    });
    let _ = done.send(());
    let _ = writer.join();
    conn.shutdown();
}

/// TCP (+ TLS), then the opening handshake with the application's headers and cookies.
fn open(ctx: &Context, query: &str, limit: usize) -> Result<(WebSocket<Conn>, Conn), ConnectError> {
    let url = ctx.target.websocket_url(query);
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|error| ConnectError::InvalidUrl(format!("{url}: {error}")))?;
    ctx.headers.add_to(request.headers_mut());
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit));
    // The socket's timeouts (the request timeout) bound every read and write of the handshake.
    let conn = ctx.open(ctx.request_timeout)?;
    match tungstenite::client::client_with_config(request, conn.clone(), Some(config)) {
        Ok((ws, response)) => {
            ctx.headers.store_cookies(response.headers());
            Ok((ws, conn))
        }
        Err(HandshakeError::Failure(error)) => Err(handshake_error(error)),
        Err(HandshakeError::Interrupted(_)) => Err(ConnectError::Timeout),
    }
}

fn handshake_error(error: tungstenite::Error) -> ConnectError {
    match error {
        tungstenite::Error::Http(response) => ConnectError::Rejected {
            status: response.status().as_u16(),
            body: response.into_body().map(Bytes::from).unwrap_or_default(),
        },
        tungstenite::Error::Io(error) => ConnectError::Io(error),
        other => ConnectError::Protocol(other.to_string()),
    }
}
