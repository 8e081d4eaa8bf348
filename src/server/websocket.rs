//! The WebSocket side of the server: the opening handshake (101), then one task per socket
//! that reads frames into the core and writes the batches the core hands out.
//!
//! Writes follow the core's flow control: the core hands out one batch of frames at a time;
//! the writer feeds them all, flushes once, and reports `handle_ws_written`, and the next
//! batch holds everything queued meanwhile. A burst of messages therefore costs one flush.

use std::sync::Arc;
use std::time::Duration;

use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use async_tungstenite::tungstenite::{self, Message as WsMessage, Utf8Bytes};
use async_tungstenite::WebSocketStream;
use bytes::Bytes;
use engineio_core::runtime::Stream;
use engineio_core::{ByteString, Frame, RequestId};
use futures_channel::mpsc;
use futures_util::future::{select, Either};
use futures_util::{SinkExt, StreamExt};
use http::header::{self, HeaderValue};
use http_body_util::Full;

use super::engine::{Shared, SocketEnd, WsCommand};
use super::http::{plain, HttpResponse};
use super::hyper_rt::FuturesIo;
use crate::io::HyperIo;
use engineio_core::http::cors::{self, CorsDecision};

/// How long a socket the server closed waits for the client's close frame.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// Answers the handshake with 101 and starts the socket once hyper hands it over.
pub(crate) fn accept(
    shared: &Arc<Shared>,
    id: RequestId,
    parts: &mut http::request::Parts,
    commands: mpsc::UnboundedReceiver<WsCommand>,
    cors: &CorsDecision,
) -> HttpResponse {
    let key = parts.headers.get(header::SEC_WEBSOCKET_KEY).cloned();
    let on_upgrade = parts.extensions.remove::<hyper::upgrade::OnUpgrade>();
    let (Some(key), Some(on_upgrade)) = (key, on_upgrade) else {
        shared.socket_ended(id, SocketEnd::Closed);
        return plain(500, "the connection cannot be upgraded");
    };
    let task_shared = Arc::clone(shared);
    shared.runtime.spawn(Box::pin(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let (stream, read_ahead) = into_stream(upgraded);
                let config = socket_config(&task_shared);
                let socket = WebSocketStream::from_partially_read(
                    stream,
                    read_ahead,
                    Role::Server,
                    Some(config),
                )
                .await;
                run(task_shared, id, socket, commands).await;
            }
            Err(error) => {
                tracing::debug!(%error, "websocket upgrade failed");
                task_shared.socket_ended(id, SocketEnd::Closed);
            }
        }
    }));
    let accept_key = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let mut response = http::Response::new(Full::new(Bytes::new()));
    *response.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(value) = HeaderValue::from_str(&accept_key) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, value);
    }
    cors::apply(cors, shared.options.http.cors_credentials, headers);
    response
}

/// Takes the raw connection back from hyper when it is ours (no copy layer on the hot path),
/// or wraps whatever the hosting framework gave hyper.
fn into_stream(upgraded: hyper::upgrade::Upgraded) -> (Box<dyn Stream>, Vec<u8>) {
    match upgraded.downcast::<HyperIo>() {
        Ok(parts) => (parts.io.inner, parts.read_buf.to_vec()),
        Err(upgraded) => (Box::new(FuturesIo::new(upgraded)), Vec::new()),
    }
}

fn socket_config(shared: &Shared) -> WebSocketConfig {
    // A frame or message one byte over maxPayload is refused by the library (close 1009); the
    // core checks the same bound on what gets through.
    let limit = shared.core_max_payload();
    WebSocketConfig::default()
        .read_buffer_size(shared.options.ws_read_buffer)
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit))
}

/// Runs one socket until either side ends it.
async fn run(
    shared: Arc<Shared>,
    id: RequestId,
    socket: WebSocketStream<Box<dyn Stream>>,
    mut commands: mpsc::UnboundedReceiver<WsCommand>,
) {
    let (mut sink, mut stream) = socket.split();
    let reader_shared = Arc::clone(&shared);
    let reader = async move {
        let shared = reader_shared;
        while let Some(item) = stream.next().await {
            let frame = match item {
                Ok(WsMessage::Text(text)) => match ByteString::try_from(Bytes::from(text)) {
                    Ok(text) => Frame::Text(text),
                    Err(_) => return SocketEnd::Error { too_large: false },
                },
                Ok(WsMessage::Binary(bytes)) => Frame::Binary(bytes),
                Ok(WsMessage::Close(_)) => return SocketEnd::Closed,
                Ok(_) => continue,
                Err(tungstenite::Error::Capacity(_)) => {
                    return SocketEnd::Error { too_large: true }
                }
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                    return SocketEnd::Closed
                }
                Err(tungstenite::Error::Io(_))
                | Err(tungstenite::Error::Protocol(
                    tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
                )) => return SocketEnd::Closed,
                Err(error) => {
                    tracing::debug!(%error, "websocket error");
                    return SocketEnd::Error { too_large: false };
                }
            };
            shared.with_core(|core, now| core.handle_ws_frame(now, id, frame));
        }
        SocketEnd::Closed
    };
    let writer_shared = Arc::clone(&shared);
    let writer = async move {
        let shared = writer_shared;
        while let Some(command) = commands.next().await {
            match command {
                WsCommand::Send(frames) => {
                    for frame in frames {
                        if sink.feed(to_message(frame)).await.is_err() {
                            return;
                        }
                    }
                    if sink.flush().await.is_err() {
                        return;
                    }
                    shared.with_core(|core, now| core.handle_ws_written(now, id));
                }
                WsCommand::Close(code) => {
                    let close = CloseFrame {
                        code: CloseCode::from(code),
                        reason: Utf8Bytes::from_static(""),
                    };
                    let _ = sink.send(WsMessage::Close(Some(close))).await;
                    return;
                }
            }
        }
    };
    let reader = Box::pin(reader);
    match select(reader, Box::pin(writer)).await {
        Either::Left((end, writer)) => {
            let failed = matches!(end, SocketEnd::Error { .. });
            shared.socket_ended(id, end);
            if failed {
                // The core answers a protocol error with a close frame (1002, or 1009 for a
                // message over maxPayload): let the writer send it, for a moment at most.
                let deadline = shared.runtime.now() + CLOSE_LINGER;
                let linger = engineio_core::runtime::sleep_until(&*shared.runtime, deadline);
                let _ = select(writer, linger).await;
            }
        }
        Either::Right(((), reader)) => {
            // The core closed the socket (or the write failed): give the client a moment to
            // answer the close frame, then drop the connection.
            let deadline = shared.runtime.now() + CLOSE_LINGER;
            let linger = engineio_core::runtime::sleep_until(&*shared.runtime, deadline);
            let end = match select(reader, linger).await {
                Either::Left((end, _)) => end,
                Either::Right(_) => SocketEnd::Closed,
            };
            shared.socket_ended(id, end);
        }
    }
}

fn to_message(frame: Frame) -> WsMessage {
    match frame {
        Frame::Text(text) => match Utf8Bytes::try_from(text.into_bytes()) {
            Ok(text) => WsMessage::Text(text),
            Err(_) => WsMessage::Text(Utf8Bytes::from_static("")),
        },
        Frame::Binary(bytes) => WsMessage::Binary(bytes),
    }
}
