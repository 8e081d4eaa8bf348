//! The WebSocket side of the server: the opening handshake (101), then one task per socket
//! that reads frames into the core and writes the batches the core hands out.
//!
//! Writes follow the core's flow control: the core hands out one batch of frames at a time;
//! the writer feeds them all, flushes once, and reports `handle_ws_written`, and the next
//! batch holds everything queued meanwhile. A burst of messages therefore costs one flush.
//!
//! When the library refuses what the client sent (RFC 6455 §7.4.1: 1002 for a framing
//! violation, 1007 for a text message that is not UTF-8, 1009 for a frame or message over
//! `maxPayload`), the connection can still be written: the core answers with a close frame
//! carrying that code, the writer sends it, and the connection ends with a lingering close,
//! because the client may still be sending the rest of a frame the server will never read.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use async_tungstenite::tungstenite::{self, Message as WsMessage, Utf8Bytes};
use async_tungstenite::{WebSocketReceiver, WebSocketSender, WebSocketStream};
use bytes::Bytes;
use engineio_core::http::ws_message::to_message;
use engineio_core::runtime::{Runtime, Stream};
use engineio_core::{ByteString, Frame, RequestId, WsFailure};
use futures_util::future::{select, Either};
use futures_util::{SinkExt, StreamExt};
use http::header::{self, HeaderValue};
use http_body_util::Full;

use super::engine::{Shared, SocketEnd};
use super::http::{plain, HttpResponse};
use super::hyper_rt::FuturesIo;
use super::mailbox::WsCommand;
use super::read_ahead::ReadAhead;
use crate::io::HyperIo;
use engineio_core::http::cors::{self, CorsDecision};

/// How long a socket the server closed waits for the client's close frame.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// Answers the handshake with 101 and starts the socket once hyper hands it over.
pub(crate) fn accept(
    shared: &Arc<Shared>,
    id: RequestId,
    parts: &mut http::request::Parts,
    cors: &CorsDecision,
) -> HttpResponse {
    let key = parts.headers.get(header::SEC_WEBSOCKET_KEY).cloned();
    let on_upgrade = parts.extensions.remove::<hyper::upgrade::OnUpgrade>();
    let (Some(key), Some(on_upgrade)) = (key, on_upgrade) else {
        shared.socket_ended(id, SocketEnd::Closed);
        shared.forget_socket(id);
        return plain(500, "the connection cannot be upgraded");
    };
    let task_shared = Arc::clone(shared);
    shared.runtime.spawn(Box::pin(async move {
        // However the task ends (even by a panic), the socket's mailbox goes with it.
        let _forget = ForgetSocket(Arc::clone(&task_shared), id);
        match on_upgrade.await {
            Ok(upgraded) => {
                let (stream, read_ahead) = into_stream(upgraded);
                let config = socket_config(&task_shared);
                // Boxed, as the tails of `run`: inline, this one-off step would size the
                // socket's future for its whole life.
                let socket = Box::pin(WebSocketStream::from_partially_read(
                    ReadAhead::new(stream),
                    read_ahead,
                    Role::Server,
                    Some(config),
                ))
                .await;
                run(task_shared, id, socket).await;
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

/// Forgets a socket's mailbox when the socket's task ends.
struct ForgetSocket(Arc<Shared>, RequestId);

impl Drop for ForgetSocket {
    fn drop(&mut self) {
        self.0.forget_socket(self.1);
    }
}

/// Takes the raw connection back from hyper when it is ours (no copy layer on the hot path),
/// or wraps whatever the hosting framework gave hyper.
fn into_stream(upgraded: hyper::upgrade::Upgraded) -> (Box<dyn Stream>, Vec<u8>) {
    match upgraded.downcast::<HyperIo>() {
        Ok(parts) => (parts.io.into_inner(), parts.read_buf.to_vec()),
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
///
/// The reader and the writer run side by side and give their halves back when they stop, so
/// that a socket failed by a protocol error can be closed the lingering way (see
/// [`linger_close`]) once the writer has sent the core's close frame.
async fn run(shared: Arc<Shared>, id: RequestId, socket: WebSocketStream<ReadAhead>) {
    let (sink, stream) = socket.split();
    // The reader and the writer live as long as the socket: inline, not boxed (a box is one
    // more allocation per session, for the same bytes).
    let reader = std::pin::pin!(read_frames(Arc::clone(&shared), id, stream));
    let writer = std::pin::pin!(write_frames(Arc::clone(&shared), id, sink));
    // The endings are boxed: they run once, and inline their state (sleeps, the lingering
    // close) would size every socket's future, idle or not, for its whole life.
    match select(reader, writer).await {
        Either::Left(((end, stream), writer)) => {
            Box::pin(after_reader(shared, id, end, stream, writer)).await;
        }
        Either::Right((_sink, reader)) => Box::pin(after_writer(shared, id, reader)).await,
    }
}

/// The reader stopped first: report the end, let the writer send what the core answers
/// (a close frame), then close the connection.
async fn after_reader(
    shared: Arc<Shared>,
    id: RequestId,
    end: SocketEnd,
    stream: WebSocketReceiver<ReadAhead>,
    writer: impl Future<Output = WebSocketSender<ReadAhead>> + Unpin,
) {
    shared.socket_ended(id, end);
    // A failure is answered by the core with a close frame (1002, 1007 or 1009),
    // which the writer sends and then stops; a plain close stops it at once.
    let deadline = shared.runtime.now() + CLOSE_LINGER;
    let linger = engineio_core::runtime::sleep_until(&*shared.runtime, deadline);
    if let Either::Left((mut sink, _)) = select(writer, linger).await {
        match end {
            SocketEnd::Failed(_) => {
                if let Ok(socket) = WebSocketStream::reunite(sink, stream) {
                    let stream = socket.into_inner().into_inner();
                    linger_close(Arc::clone(&shared.runtime), stream).await;
                }
            }
            SocketEnd::Closed => {
                // The library queued the answer to the client's close frame: send it.
                let deadline = shared.runtime.now() + CLOSE_LINGER;
                let sleep = engineio_core::runtime::sleep_until(&*shared.runtime, deadline);
                let _ = select(sink.flush(), sleep).await;
            }
        }
    }
}

/// The writer stopped first: the core closed the socket (or a write failed). Gives the
/// client a moment to answer the close frame, then drops the connection.
async fn after_writer(
    shared: Arc<Shared>,
    id: RequestId,
    reader: impl Future<Output = (SocketEnd, WebSocketReceiver<ReadAhead>)> + Unpin,
) {
    let deadline = shared.runtime.now() + CLOSE_LINGER;
    let linger = engineio_core::runtime::sleep_until(&*shared.runtime, deadline);
    let end = match select(reader, linger).await {
        Either::Left(((end, _stream), _)) => end,
        Either::Right(_) => SocketEnd::Closed,
    };
    shared.socket_ended(id, end);
}

/// The most frames handed to the core under one lock.
const MAX_BURST: usize = 64;

/// Hands every data frame to the core until the socket ends; returns how it ended and the
/// read half.
///
/// Frames that are already read when one arrives (a client's burst, which usually comes in
/// one system call) go to the core together, under one lock and in one
/// [`handle_ws_frames`](engineio_core::Server::handle_ws_frames) call; their messages then
/// queue up for the session's handlers, which take them in one go. A lone frame costs no
/// allocation.
async fn read_frames(
    shared: Arc<Shared>,
    id: RequestId,
    mut stream: WebSocketReceiver<ReadAhead>,
) -> (SocketEnd, WebSocketReceiver<ReadAhead>) {
    // Set when the stream, polled with this task's waker, had nothing more after the frames
    // just gathered. Polling it again before a wake-up would only repeat the read that found
    // nothing (a third of the reads of a closed-loop echo); a wake-up that comes while the
    // frames are handled makes the executor poll the task again, and then the stream is
    // polled. So the first poll after a batch, made in the same task poll, is skipped.
    let mut waiting = false;
    loop {
        let read = poll_fn(|cx| {
            if std::mem::take(&mut waiting) {
                return Poll::Pending;
            }
            gather(&mut stream, cx, &mut waiting)
        })
        .await;
        let (first, more, end) = match read {
            Gathered::Frames { first, more, end } => (first, more, end),
            Gathered::Ended(end) => return (end, stream),
        };
        shared.with_core_on_io_task(|core, now| {
            if more.is_empty() {
                core.handle_ws_frame(now, id, first);
            } else {
                core.handle_ws_frames(now, id, std::iter::once(first).chain(more));
            }
        });
        if let Some(end) = end {
            return (end, stream);
        }
    }
}

/// What [`gather`] read.
enum Gathered {
    /// At least one data frame, up to [`MAX_BURST`], and how the socket ended right after
    /// them, if it did.
    Frames {
        first: Frame,
        more: Vec<Frame>,
        end: Option<SocketEnd>,
    },
    /// The socket ended with no data frame before.
    Ended(SocketEnd),
}

/// Reads the data frames the stream has ready, up to [`MAX_BURST`]: `Pending` until there is
/// one. Sets `waiting` when it stops because the stream has no more for now (so the stream
/// holds the task's waker).
fn gather(
    stream: &mut WebSocketReceiver<ReadAhead>,
    cx: &mut Context<'_>,
    waiting: &mut bool,
) -> Poll<Gathered> {
    let mut first = None;
    let mut more = Vec::new();
    let end = loop {
        if first.is_some() && more.len() == MAX_BURST - 1 {
            break None;
        }
        match stream.poll_next_unpin(cx) {
            Poll::Ready(Some(item)) => match to_frame(item) {
                Ok(Some(frame)) if first.is_none() => first = Some(frame),
                Ok(Some(frame)) => {
                    if more.capacity() == 0 {
                        more.reserve(MAX_BURST - 1);
                    }
                    more.push(frame);
                }
                Ok(None) => {}
                Err(end) => break Some(end),
            },
            Poll::Ready(None) => break Some(SocketEnd::Closed),
            Poll::Pending if first.is_none() => return Poll::Pending,
            Poll::Pending => {
                *waiting = true;
                break None;
            }
        }
    };
    Poll::Ready(match first {
        Some(first) => Gathered::Frames { first, more, end },
        None => Gathered::Ended(end.unwrap_or(SocketEnd::Closed)),
    })
}

/// What one item read from the socket means: a data frame for the core, nothing (pings are
/// answered by the library; pongs and raw frames mean nothing here), or the socket's end.
fn to_frame(item: Result<WsMessage, tungstenite::Error>) -> Result<Option<Frame>, SocketEnd> {
    match item {
        Ok(WsMessage::Text(text)) => match ByteString::try_from(Bytes::from(text)) {
            Ok(text) => Ok(Some(Frame::Text(text))),
            Err(_) => Err(SocketEnd::Failed(WsFailure::InvalidUtf8)),
        },
        Ok(WsMessage::Binary(bytes)) => Ok(Some(Frame::Binary(bytes))),
        Ok(WsMessage::Close(_)) => Err(SocketEnd::Closed),
        Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_)) => Ok(None),
        Err(error) => {
            let end = socket_end(&error);
            tracing::debug!(%error, ?end, "websocket ended");
            Err(end)
        }
    }
}

/// Writes the batches and the close the core hands out; returns the write half when told to
/// close, when the socket ends, or when a write fails.
async fn write_frames(
    shared: Arc<Shared>,
    id: RequestId,
    mut sink: WebSocketSender<ReadAhead>,
) -> WebSocketSender<ReadAhead> {
    while let Some(command) = poll_fn(|cx| shared.poll_ws_command(id, cx)).await {
        let frames = match command {
            WsCommand::Send(frames) => frames,
            WsCommand::Close(code) => return send_close(sink, code).await,
        };
        if feed(&mut sink, frames).await.is_err() {
            return sink;
        }
        // The batch is in the library's buffer: report it written before the flush, so that
        // what queued in the core meanwhile (typically the rest of a burst the reader just
        // handled) comes out as one more batch and leaves in the same write. At most two
        // batches wait for one flush, so the core's buffer limits still hold.
        let second = match shared.ws_written(id) {
            Some(WsCommand::Send(frames)) => {
                if feed(&mut sink, frames).await.is_err() {
                    return sink;
                }
                true
            }
            Some(WsCommand::Close(code)) => return send_close(sink, code).await,
            None => false,
        };
        if sink.flush().await.is_err() {
            return sink;
        }
        if second {
            shared.with_core(|core, now| core.handle_ws_written(now, id));
        }
    }
    sink
}

/// Buffers `frames` in the library without flushing them.
async fn feed(
    sink: &mut WebSocketSender<ReadAhead>,
    frames: Vec<Frame>,
) -> Result<(), tungstenite::Error> {
    for frame in frames {
        sink.feed(to_message(frame)).await?;
    }
    Ok(())
}

/// Sends a close frame with `code` after whatever is buffered, and hands the write half back.
async fn send_close(mut sink: WebSocketSender<ReadAhead>, code: u16) -> WebSocketSender<ReadAhead> {
    let close = CloseFrame {
        code: CloseCode::from(code),
        reason: Utf8Bytes::from_static(""),
    };
    let _ = sink.send(WsMessage::Close(Some(close))).await;
    sink
}

/// What a WebSocket library error means for the core (see
/// [`ws_failure`](engineio_core::http::ws_error::ws_failure)).
fn socket_end(error: &tungstenite::Error) -> SocketEnd {
    match engineio_core::http::ws_error::ws_failure(error) {
        Some(failure) => SocketEnd::Failed(failure),
        None => SocketEnd::Closed,
    }
}

/// Closes a connection whose client may still be sending (see
/// [`engineio_core::http::linger`]): the same lingering close as an HTTP connection's
/// ([`HyperIo::lingering`]), run on the raw stream.
async fn linger_close(runtime: Arc<dyn Runtime>, stream: Box<dyn Stream>) {
    let mut io = HyperIo::lingering(stream, runtime);
    let _ = poll_fn(|cx| hyper::rt::Write::poll_shutdown(Pin::new(&mut io), cx)).await;
}
