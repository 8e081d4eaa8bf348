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

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use async_tungstenite::tungstenite;
use async_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use async_tungstenite::WebSocketStream;
use bytes::Bytes;
use engineio_core::runtime::{Runtime, Stream};
use engineio_core::RequestId;
use futures_util::future::{select, Either};
use http::header::{self, HeaderValue};
use http_body_util::Full;

use super::engine::{Shared, SocketEnd};
use super::http::{plain, HttpResponse};
use super::hyper_rt::FuturesIo;
use super::read_ahead::ReadAhead;
use super::ws_io::SocketIo;
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
                    stream,
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
///
/// Returns the stream (with the handshake's answer, when it was held back to leave with the
/// first frame) and what hyper had read past the handshake.
fn into_stream(upgraded: hyper::upgrade::Upgraded) -> (ReadAhead, Vec<u8>) {
    match upgraded.downcast::<HyperIo>() {
        Ok(parts) => {
            let (stream, head) = parts.io.into_upgraded();
            (ReadAhead::new(stream, head), parts.read_buf.to_vec())
        }
        Err(upgraded) => (
            ReadAhead::new(Box::new(FuturesIo::new(upgraded)), Vec::new()),
            Vec::new(),
        ),
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
/// The reading and the writing run side by side on the one stream (see [`SocketIo`]); when
/// one stops, the other gets a moment to finish, so that a socket failed by a protocol error
/// can be closed the lingering way (see [`linger_close`]) once the writer has sent the core's
/// close frame.
async fn run(shared: Arc<Shared>, id: RequestId, socket: WebSocketStream<ReadAhead>) {
    let mut io = SocketIo::new(socket);
    let first = poll_fn(|cx| {
        if let Poll::Ready(end) = io.poll_read(cx, &shared, id) {
            return Poll::Ready(Some(end));
        }
        io.poll_write(cx, &shared, id).map(|()| None)
    })
    .await;
    // The endings are boxed: they run once, and inline their state (sleeps, the lingering
    // close) would size every socket's future, idle or not, for its whole life.
    match first {
        Some(end) => Box::pin(after_reader(shared, id, end, io)).await,
        None => Box::pin(after_writer(shared, id, io)).await,
    }
}

/// The reader stopped first: report the end, let the writer send what the core answers
/// (a close frame), then close the connection.
async fn after_reader(shared: Arc<Shared>, id: RequestId, end: SocketEnd, mut io: SocketIo) {
    shared.socket_ended(id, end);
    // A failure is answered by the core with a close frame (1002, 1007 or 1009),
    // which the writer sends and then stops; a plain close stops it at once.
    let deadline = shared.runtime.now() + CLOSE_LINGER;
    let linger = engineio_core::runtime::sleep_until(&*shared.runtime, deadline);
    let writer = poll_fn(|cx| io.poll_write(cx, &shared, id));
    if let Either::Left(_) = select(writer, linger).await {
        match end {
            SocketEnd::Failed(_) => {
                let stream = io.into_stream().into_inner();
                linger_close(Arc::clone(&shared.runtime), stream).await;
            }
            SocketEnd::Closed => {
                // The library queued the answer to the client's close frame: send it.
                let deadline = shared.runtime.now() + CLOSE_LINGER;
                let sleep = engineio_core::runtime::sleep_until(&*shared.runtime, deadline);
                let _ = select(poll_fn(|cx| io.poll_flush(cx)), sleep).await;
            }
        }
    }
}

/// The writer stopped first: the core closed the socket (or a write failed). Gives the
/// client a moment to answer the close frame, then drops the connection.
async fn after_writer(shared: Arc<Shared>, id: RequestId, mut io: SocketIo) {
    let deadline = shared.runtime.now() + CLOSE_LINGER;
    let linger = engineio_core::runtime::sleep_until(&*shared.runtime, deadline);
    let reader = poll_fn(|cx| io.poll_read(cx, &shared, id));
    let end = match select(reader, linger).await {
        Either::Left((end, _)) => end,
        Either::Right(_) => SocketEnd::Closed,
    };
    shared.socket_ended(id, end);
}

/// Closes a connection whose client may still be sending (see
/// [`engineio_core::http::linger`]): the same lingering close as an HTTP connection's
/// ([`HyperIo::lingering`]), run on the raw stream.
async fn linger_close(runtime: Arc<dyn Runtime>, stream: Box<dyn Stream>) {
    let mut io = HyperIo::lingering(stream, runtime);
    let _ = poll_fn(|cx| hyper::rt::Write::poll_shutdown(Pin::new(&mut io), cx)).await;
}
