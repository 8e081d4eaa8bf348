//! WebSocket sessions: connect, open, frame helpers and a clean close.
//!
//! Buffers are sized on purpose. tungstenite zero-fills its whole read buffer before every
//! read and the default is 128 KiB, which alone makes a client several times slower; a few KiB
//! hold any echo burst of this benchmark. The write buffer only coalesces frames fed before a
//! flush (nothing is zero-filled there), so it is large enough for a whole pipelined burst to
//! leave in one `write`.

use std::time::Duration;

use async_tungstenite::tokio::TokioAdapter;
use async_tungstenite::tungstenite::protocol::WebSocketConfig;
use async_tungstenite::tungstenite::{Bytes, Message, Utf8Bytes};
use async_tungstenite::WebSocketStream;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;

use crate::eio::{self, OpenInfo};
use crate::{Error, Target};

/// A client WebSocket over a tokio TCP stream.
pub type Ws = WebSocketStream<TokioAdapter<TcpStream>>;

/// Read buffer for echo traffic.
pub const ECHO_READ_BUFFER: usize = 8 * 1024;
/// Read buffer for sessions that only open, idle and close.
pub const IDLE_READ_BUFFER: usize = 4 * 1024;
/// Frames are coalesced up to this many bytes before a flush writes them.
const WRITE_BUFFER: usize = 64 * 1024;
/// How long a connect, upgrade or open packet may take.
pub const OPEN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for the server's side of a close.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// The WebSocket configuration with a `read_buffer`-byte read buffer.
pub fn config(read_buffer: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(read_buffer)
        .write_buffer_size(WRITE_BUFFER)
}

/// Opens a TCP connection and upgrades it to a WebSocket at `url`.
pub async fn connect(target: &Target, url: &str, read_buffer: usize) -> Result<Ws, Error> {
    let upgrade = async {
        let stream = target.connect().await?;
        let (ws, _response) = async_tungstenite::tokio::client_async_with_config(
            url,
            stream,
            Some(config(read_buffer)),
        )
        .await?;
        Ok::<_, Error>(ws)
    };
    tokio::time::timeout(OPEN_TIMEOUT, upgrade).await?
}

/// Opens a WebSocket-only Engine.IO session and reads its open packet.
pub async fn open_session(
    target: &Target,
    url: &str,
    read_buffer: usize,
) -> Result<(Ws, OpenInfo), Error> {
    let mut ws = connect(target, url, read_buffer).await?;
    let first = tokio::time::timeout(OPEN_TIMEOUT, next_message(&mut ws)).await??;
    let open = match &first {
        Message::Text(text) => eio::expect_open(text.as_bytes())?,
        other => return Err(Error(format!("expected the open packet, got {other:?}"))),
    };
    Ok((ws, open))
}

/// The next text or binary message; WebSocket pings are answered by tungstenite itself. The
/// end of the stream or a close frame is an error: the server ended the session.
pub async fn next_message(ws: &mut Ws) -> Result<Message, Error> {
    loop {
        match ws.next().await {
            Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => return Ok(message),
            Some(Ok(Message::Close(frame))) => {
                return Err(Error(format!("server closed the WebSocket: {frame:?}")))
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => return Err(Error("server closed the connection".into())),
        }
    }
}

/// A text frame from ASCII or UTF-8 bytes.
pub fn text_frame(bytes: Vec<u8>) -> Result<Message, Error> {
    Utf8Bytes::try_from(bytes)
        .map(Message::Text)
        .map_err(|_| Error("text payload is not UTF-8".into()))
}

/// A binary frame.
pub fn binary_frame(bytes: Vec<u8>) -> Message {
    Message::Binary(Bytes::from(bytes))
}

/// The Engine.IO pong frame.
pub fn pong_frame() -> Message {
    Message::Text(Utf8Bytes::from_static("3"))
}

/// Closes cleanly: the Engine.IO close packet (`eio`), a close frame, then waits (bounded) for
/// the server to finish the closing handshake so that it, not us, holds the TIME_WAIT.
/// Errors after the close was sent are not the session's fault and are ignored.
pub async fn close(ws: &mut Ws, eio: bool) -> Result<(), Error> {
    if eio {
        ws.feed(Message::Text(Utf8Bytes::from_static("1"))).await?;
    }
    ws.feed(Message::Close(None)).await?;
    ws.flush().await?;
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
    Ok(())
}
