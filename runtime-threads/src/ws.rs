//! The WebSocket machinery shared by the server and the client.
//!
//! # Two threads per socket, one connection
//!
//! tungstenite's `WebSocket` cannot be split, and a thread blocked in `read()` cannot write.
//! Each socket therefore has
//!
//! - a **reader** thread that owns the `WebSocket` (over a [`Conn`] clone) and only reads.
//!   tungstenite answers pings and the peer's close frame by itself; those replies are written
//!   through the same `Conn`, whose writes are whole and serialized by its mutex;
//! - a **writer** thread that receives the core's batches ([`WsCommand`]), encodes every frame
//!   of a batch with tungstenite's own frame codec (`protocol::frame::Frame`, masked on the
//!   client side), writes the batch in one locked write and reports it written. That is the
//!   core's flow control: one batch outstanding, everything queued meanwhile goes in the next.
//!
//! Neither can interleave a partial frame with the other, because every write is a whole
//! buffer of whole frames written under the `Conn` lock. A close is a close frame written with
//! the `closing` flag, after which nothing else is written. The writer then waits briefly for
//! the reader to see the peer's close reply; if the peer stays silent it shuts the connection
//! down, which unblocks the reader. Otherwise the reader's thread tears the connection down:
//! at once after a clean close, or with a lingering close ([`Conn::linger_close`]) after a protocol
//! failure (RFC 6455 §7.4.1 codes: 1002, 1007 for invalid UTF-8, 1009 for too large), whose
//! peer may still be sending the rest of a frame nobody will read.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use engineio_core::{ByteString, Frame, Frames, WsFailure};
use tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tungstenite::protocol::frame::Frame as WireFrame;
use tungstenite::protocol::CloseFrame;
use tungstenite::{Message as WsMessage, Utf8Bytes, WebSocket};

use crate::conn::Conn;

/// The most frames one socket's reader may have handed to the engine that the engine has not
/// taken yet.
const MAX_IN_FLIGHT: usize = 64;
/// How long a reader waits for the engine to take a frame before it gives the socket up.
const CREDIT_WAIT: Duration = Duration::from_secs(30);

/// Backpressure between a socket's reader and the engine: the reader takes a [`Token`] per
/// frame it hands on, and waits while [`MAX_IN_FLIGHT`] are out; a token comes back when the
/// engine drops the input that carried it (processed or discarded). A fast peer therefore
/// waits in its TCP window instead of filling the engine's queue.
#[derive(Debug, Default)]
pub(crate) struct Credit {
    in_flight: Mutex<usize>,
    freed: Condvar,
}

/// One frame's share of a [`Credit`], returned when dropped.
#[derive(Debug)]
pub(crate) struct Token(Arc<Credit>);

impl Credit {
    /// Waits for room; `None` if the engine took nothing for [`CREDIT_WAIT`].
    pub(crate) fn acquire(self: &Arc<Self>) -> Option<Token> {
        let deadline = Instant::now() + CREDIT_WAIT;
        let mut in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while *in_flight >= MAX_IN_FLIGHT {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            in_flight = self
                .freed
                .wait_timeout(in_flight, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        *in_flight += 1;
        Some(Token(Arc::clone(self)))
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        let credit = &self.0;
        let mut in_flight = credit
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *in_flight = in_flight.saturating_sub(1);
        credit.freed.notify_one();
    }
}

/// What the writer of one socket must do.
#[derive(Debug)]
pub(crate) enum WsCommand {
    /// Write these frames as one batch, then report it written.
    Send(Frames),
    /// Write a close frame with this code and stop.
    Close(u16),
}

/// How the reader saw the socket end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SocketEnd {
    /// A close frame, or the connection closed.
    Closed,
    /// The library refused what the peer sent; the failure names the close code.
    Failed(WsFailure),
}

/// Which side of the connection we are: client frames are masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Server,
    Client,
}

/// Encodes a batch of frames into one buffer.
pub(crate) fn encode(frames: Frames, side: Side) -> Vec<u8> {
    let size: usize = frames.iter().map(|frame| frame.len() + 14).sum();
    let mut out = Vec::with_capacity(size);
    for frame in frames {
        let (opcode, payload) = match frame {
            Frame::Text(text) => (Data::Text, text.into_bytes()),
            Frame::Binary(bytes) => (Data::Binary, bytes),
        };
        let wire = WireFrame::message(payload, OpCode::Data(opcode), true);
        format(wire, side, &mut out);
    }
    out
}

/// Encodes a close frame.
pub(crate) fn encode_close(code: u16, side: Side) -> Vec<u8> {
    let close = CloseFrame {
        code: CloseCode::from(code),
        reason: Utf8Bytes::from_static(""),
    };
    let mut out = Vec::with_capacity(8);
    format(WireFrame::close(Some(close)), side, &mut out);
    out
}

fn format(mut frame: WireFrame, side: Side, out: &mut Vec<u8>) {
    if side == Side::Client {
        let mut mask = [0u8; 4];
        if getrandom::fill(&mut mask).is_err() {
            // Masking defends intermediaries against cache poisoning; any value is valid.
            mask = [0x5a, 0x17, 0xc3, 0x9e];
        }
        frame.header_mut().mask = Some(mask);
    }
    // Writing into a Vec cannot fail.
    let _ = frame.format(out);
}

/// Runs the writer of one socket until it is told to close, its channel closes, or a write
/// fails; then waits up to `linger` for the reader (`reader_done`). A reader that is done
/// tears the connection down itself (possibly with a lingering close); one that is not, a
/// peer that never answered the close, is cut off by shutting the connection down, which
/// ends its blocked read. `written` is called after each batch.
pub(crate) fn run_writer(
    conn: &Conn,
    commands: &Receiver<WsCommand>,
    side: Side,
    linger: Duration,
    reader_done: &Receiver<()>,
    mut written: impl FnMut(),
) {
    while let Ok(command) = commands.recv() {
        match command {
            WsCommand::Send(frames) => {
                if let Err(error) = conn.send(&encode(frames, side), false) {
                    tracing::debug!(%error, "websocket write failed");
                    break;
                }
                written();
            }
            WsCommand::Close(code) => {
                let _ = conn.send(&encode_close(code, side), true);
                break;
            }
        }
    }
    conn.mark_closed();
    if let Err(RecvTimeoutError::Timeout) = reader_done.recv_timeout(linger) {
        tracing::debug!("websocket peer did not close in time");
        conn.shutdown();
    }
}

/// Reads data frames and hands them to `deliver`, each with its [`Token`] of backpressure,
/// until the socket ends.
pub(crate) fn run_reader(
    ws: &mut WebSocket<Conn>,
    mut deliver: impl FnMut(Frame, Token),
) -> SocketEnd {
    let credit = Arc::new(Credit::default());
    loop {
        let frame = match ws.read() {
            Ok(WsMessage::Text(text)) => match ByteString::try_from(Bytes::from(text)) {
                Ok(text) => Frame::Text(text),
                Err(_) => return SocketEnd::Failed(WsFailure::InvalidUtf8),
            },
            Ok(WsMessage::Binary(bytes)) => Frame::Binary(bytes),
            Ok(WsMessage::Close(close)) => {
                tracing::debug!(?close, "websocket close frame");
                // Send tungstenite's reply now; nothing may follow it.
                let _ = ws.flush();
                ws.get_ref().mark_closed();
                return SocketEnd::Closed;
            }
            Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_)) => continue,
            Err(error) => {
                let end = socket_end(&error);
                tracing::debug!(%error, ?end, "websocket ended");
                return end;
            }
        };
        let Some(token) = credit.acquire() else {
            tracing::warn!("the engine took no frame in time; dropping the socket");
            return SocketEnd::Closed;
        };
        deliver(frame, token);
    }
}

/// What a WebSocket library error means for the core (see
/// [`ws_failure`](engineio_core::http::ws_error::ws_failure)).
fn socket_end(error: &tungstenite::Error) -> SocketEnd {
    match engineio_core::http::ws_error::ws_failure(error) {
        Some(failure) => SocketEnd::Failed(failure),
        None => SocketEnd::Closed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_server_and_client_frames() {
        let frames = vec![
            Frame::Text("4hé".into()),
            Frame::Binary(Bytes::from_static(b"\x01")),
        ];
        let server = encode(frames.clone().into(), Side::Server);
        assert_eq!(&server[..2], &[0x81, 4]);
        assert_eq!(&server[2..6], "4hé".as_bytes());
        assert_eq!(&server[6..], &[0x82, 1, 1]);
        let client = encode(frames.into(), Side::Client);
        assert_eq!(client[1], 0x80 | 4, "client frames are masked");
        assert_eq!(client.len(), server.len() + 8);
        assert_eq!(encode_close(1000, Side::Server), vec![0x88, 2, 0x03, 0xe8]);
    }
}
