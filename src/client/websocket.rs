//! The WebSocket transport: one task per socket opens it (TCP, TLS, the HTTP 101 handshake
//! through async-tungstenite), then reads frames and writes batches until it closes.
//!
//! Every outcome goes back to the driver as an [`Input`]: opened, each data frame, each batch
//! written, and exactly one closed. Control frames stay in tungstenite, which answers pings by
//! itself. A server that breaks the WebSocket protocol gets a close frame with the RFC 6455
//! code of its failure (1002, 1007 for invalid UTF-8, 1009 for too large).

use std::future::poll_fn;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use async_tungstenite::{WebSocketReceiver, WebSocketSender, WebSocketStream};
use bytes::Bytes;
use engineio_core::http::backlog::Backlog;
use engineio_core::packet::{Frame, Frames};
use engineio_core::runtime::{sleep_until, Stream};
use engineio_core::{ByteString, RequestId, WsFailure};
use futures_channel::mpsc::{self, UnboundedReceiver, UnboundedSender};
use futures_util::future::{select, Either};
use futures_util::{SinkExt, StreamExt};
use tungstenite::client::IntoClientRequest;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tungstenite::{Message as WsMessage, Utf8Bytes};

use super::driver::Input;
use super::net::Context;
use super::ConnectError;
use engineio_core::http::client::websocket_message_limit;
use engineio_core::http::ws_error::ws_failure;
use engineio_core::http::ws_message::to_message;

/// tungstenite zero-fills its whole read buffer for every read, so keep it small.
const READ_BUFFER: usize = 16 * 1024;
/// How long to wait for the server's close frame after sending ours.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// What the driver asks a socket's writer to do.
#[derive(Debug)]
pub(super) enum WriterCommand {
    /// Write these frames, flush, then report [`Input::WsWritten`].
    Send(Frames),
    /// Close the socket after the batches queued before.
    Close,
}

/// Starts the task of WebSocket `socket`; returns the channel that feeds its writer (dropping
/// it closes the socket too).
pub(super) fn spawn(
    ctx: Arc<Context>,
    socket: RequestId,
    query: String,
    max_payload: Option<u64>,
    inputs: UnboundedSender<Input>,
) -> UnboundedSender<WriterCommand> {
    let (commands, receiver) = mpsc::unbounded();
    let limit = websocket_message_limit(max_payload);
    let runtime = ctx.runtime.clone();
    runtime.spawn(Box::pin(run(ctx, socket, query, limit, inputs, receiver)));
    commands
}

async fn run(
    ctx: Arc<Context>,
    socket: RequestId,
    query: String,
    limit: usize,
    inputs: UnboundedSender<Input>,
    commands: UnboundedReceiver<WriterCommand>,
) {
    let opened = ctx
        .with_timeout(Some(ctx.request_timeout), open(&ctx, &query, limit))
        .await;
    let ws = match opened {
        Ok(ws) => ws,
        Err(error) => {
            tracing::debug!(%error, %socket, "engine.io websocket failed to open");
            let _ = inputs.unbounded_send(Input::WsClosed {
                socket,
                error: Some(error),
            });
            return;
        }
    };
    let _ = inputs.unbounded_send(Input::WsOpen { socket });
    let (mut sink, stream) = ws.split();
    let failure = {
        let reader = Box::pin(read(stream, socket, &inputs, &ctx.backlog));
        let writer = Box::pin(write(&mut sink, commands, socket, &inputs));
        match select(reader, writer).await {
            Either::Left((failure, _writer)) => failure,
            Either::Right(((), reader)) => {
                // Our close frame is out (or writing failed): let the server answer it, briefly.
                let deadline = ctx.runtime.now() + CLOSE_GRACE;
                let _ = select(reader, sleep_until(&*ctx.runtime, deadline)).await;
                None
            }
        }
    };
    if let Some(failure) = failure {
        // The server broke the protocol: tell it why (RFC 6455 §7.4.1), briefly.
        let close = CloseFrame {
            code: CloseCode::from(failure.close_code()),
            reason: Utf8Bytes::default(),
        };
        let deadline = ctx.runtime.now() + CLOSE_GRACE;
        let sent = pin!(sink.send(WsMessage::Close(Some(close))));
        let _ = select(sent, sleep_until(&*ctx.runtime, deadline)).await;
    }
    let _ = inputs.unbounded_send(Input::WsClosed {
        socket,
        error: None,
    });
}

/// TCP (+ TLS), then the opening handshake with the application's headers and cookies.
async fn open(
    ctx: &Context,
    query: &str,
    limit: usize,
) -> Result<WebSocketStream<Box<dyn Stream>>, ConnectError> {
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
    let stream = ctx.open_stream().await?;
    let (ws, response) = async_tungstenite::client_async_with_config(request, stream, Some(config))
        .await
        .map_err(handshake_error)?;
    ctx.headers.store_cookies(response.headers());
    Ok(ws)
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

/// Reports data frames until the socket closes or fails; returns the failure when the server
/// broke the protocol. Before each read it reserves a unit of the inbound backlog, waiting
/// while the backlog is full (the client's backpressure); the unit travels with the data
/// frame to the driver.
async fn read(
    mut stream: WebSocketReceiver<Box<dyn Stream>>,
    socket: RequestId,
    inputs: &UnboundedSender<Input>,
    backlog: &Backlog,
) -> Option<WsFailure> {
    let mut reserved = false;
    loop {
        if !reserved {
            poll_fn(|cx| backlog.poll_reserve(cx)).await;
            reserved = true;
        }
        let Some(message) = stream.next().await else {
            break;
        };
        let frame = match message {
            Ok(WsMessage::Text(text)) => match ByteString::try_from(Bytes::from(text)) {
                Ok(text) => Frame::Text(text),
                Err(_) => {
                    backlog.release(1);
                    return Some(WsFailure::InvalidUtf8);
                }
            },
            Ok(WsMessage::Binary(bytes)) => Frame::Binary(bytes),
            // Control frames: tungstenite answers pings and the close handshake itself.
            Ok(
                WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Close(_) | WsMessage::Frame(_),
            ) => continue,
            Err(error) => {
                tracing::debug!(%error, %socket, "engine.io websocket read failed");
                backlog.release(1);
                return ws_failure(&error);
            }
        };
        // Once the driver is gone the writer closes the socket; keep reading until then.
        reserved = false;
        let _ = inputs.unbounded_send(Input::WsFrame { socket, frame });
    }
    if reserved {
        backlog.release(1);
    }
    None
}

/// Writes each batch (feed every frame, flush once, report), then closes the socket.
async fn write(
    sink: &mut WebSocketSender<Box<dyn Stream>>,
    mut commands: UnboundedReceiver<WriterCommand>,
    socket: RequestId,
    inputs: &UnboundedSender<Input>,
) {
    while let Some(command) = commands.next().await {
        let WriterCommand::Send(frames) = command else {
            break;
        };
        let mut written = Ok(());
        for frame in frames {
            written = sink.feed(to_message(frame)).await;
            if written.is_err() {
                break;
            }
        }
        if written.is_ok() {
            written = sink.flush().await;
        }
        if let Err(error) = written {
            tracing::debug!(%error, %socket, "engine.io websocket write failed");
            return;
        }
        let _ = inputs.unbounded_send(Input::WsWritten { socket });
    }
    let normal = CloseFrame {
        code: CloseCode::Normal,
        reason: Utf8Bytes::default(),
    };
    let _ = sink.close(Some(normal)).await;
}
