//! One WebSocket connection: tungstenite over the non-blocking socket.
//!
//! Reading calls `WebSocket::read` until it would block. Text and binary messages become core
//! [`Frame`]s; tungstenite answers pings itself on its next write or flush; a close or an
//! error becomes one last [`Input`].
//!
//! Writing follows the core's flow control. Each `WsSend` is a batch: its frames go to
//! `WebSocket::write` (which buffers them and may send some), then comes one `flush`. Only
//! when the flush succeeds is the batch written, and only then does the loop report
//! `handle_ws_written`. `WouldBlock` at any point keeps the rest for the next writable event.
//! A frame `write` refused with `WouldBlock` is not lost: tungstenite has already buffered it.

use std::collections::VecDeque;
use std::io::{self, Write};

use bytes::Bytes;
use engineio_core::{ByteString, Frame, Frames, RequestId, WsFailure};
use mio::net::TcpStream;
use tungstenite::error::ProtocolError;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tungstenite::{Error, Message, Utf8Bytes, WebSocket};

use super::http::Upgraded;
use super::Phase;

/// The most frames one read step takes, so a busy peer takes turns with the others.
const READ_BUDGET: usize = 64;

/// What the socket's traffic amounts to, for the core.
pub(crate) enum Input {
    /// A text or binary message.
    Frame(Frame),
    /// The peer closed the socket, or the connection ended.
    Closed,
    /// A protocol error (too large, invalid UTF-8, or another framing violation).
    Failed(WsFailure),
}

/// A WebSocket connection.
pub(crate) struct WsConn {
    /// The id of the request that opened it, now the socket's name in the core.
    id: RequestId,
    ws: WebSocket<TcpStream>,
    /// What the socket has not taken yet of the 101 response.
    handshake: Vec<u8>,
    /// Frames read, not yet given to the core.
    inbox: VecDeque<Frame>,
    /// How the socket ended, not yet told to the core.
    end: Option<Input>,
    /// The socket is over: nothing more to read.
    done: bool,
    /// The core's `WsSend` batches not completely written yet.
    batches: VecDeque<VecDeque<Frame>>,
    /// The core closed the socket: send this close code after the batches.
    close: Option<u16>,
    closed_by_core: bool,
}

impl WsConn {
    /// Wraps an upgraded HTTP connection; the core's `maxPayload` bounds frames and messages.
    pub(crate) fn new(id: RequestId, upgraded: Upgraded, max_payload: usize) -> Self {
        let config = WebSocketConfig::default()
            .read_buffer_size(4096)
            .max_message_size(Some(max_payload))
            .max_frame_size(Some(max_payload));
        let ws = WebSocket::from_partially_read(
            upgraded.stream,
            upgraded.read_ahead,
            Role::Server,
            Some(config),
        );
        Self {
            id,
            ws,
            handshake: upgraded.unwritten,
            inbox: VecDeque::new(),
            end: None,
            done: false,
            batches: VecDeque::new(),
            close: None,
            closed_by_core: false,
        }
    }

    pub(crate) fn id(&self) -> RequestId {
        self.id
    }

    pub(crate) fn stream(&mut self) -> &mut TcpStream {
        self.ws.get_mut()
    }

    /// Reads frames until the socket would block. True if the budget ran out first.
    pub(crate) fn read(&mut self) -> bool {
        for _ in 0..READ_BUDGET {
            if self.done {
                return false;
            }
            match self.ws.read() {
                Ok(Message::Text(text)) => match ByteString::try_from(Bytes::from(text)) {
                    Ok(text) => self.inbox.push_back(Frame::Text(text)),
                    Err(_) => self.finish(Input::Failed(WsFailure::InvalidUtf8)),
                },
                Ok(Message::Binary(bytes)) => self.inbox.push_back(Frame::Binary(bytes)),
                // Ping, pong, close: tungstenite answers; after a close the next read says
                // `ConnectionClosed`.
                Ok(_) => {}
                Err(Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(error) => self.finish(end_of(&error)),
            }
        }
        true
    }

    /// The next input for the core: the frames read, then how the socket ended.
    pub(crate) fn next_input(&mut self) -> Option<Input> {
        self.inbox
            .pop_front()
            .map(Input::Frame)
            .or_else(|| self.end.take())
    }

    /// Queues a `WsSend` batch.
    pub(crate) fn send(&mut self, frames: Frames) {
        self.batches.push_back(frames.into_iter().collect());
    }

    /// Queues the core's `WsClose`: a close frame after the batches.
    pub(crate) fn close(&mut self, code: u16) {
        self.close = Some(code);
        self.closed_by_core = true;
    }

    /// Writes what is queued until done or the socket is full. Returns how many batches were
    /// written and flushed, and whether the socket failed (an input for the core).
    pub(crate) fn write(&mut self) -> (usize, bool) {
        let mut batches = 0;
        match self.try_write(&mut batches) {
            Ok(()) => (batches, false),
            Err(Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => (batches, false),
            Err(_) if self.done => (batches, false),
            Err(error) => {
                self.finish(end_of(&error));
                (batches, true)
            }
        }
    }

    fn try_write(&mut self, batches: &mut usize) -> Result<(), Error> {
        // The rest of the 101 response goes first.
        while !self.handshake.is_empty() {
            let n = self.ws.get_mut().write(&self.handshake)?;
            if n == 0 {
                return Err(io::Error::from(io::ErrorKind::WriteZero).into());
            }
            self.handshake.drain(..n);
        }
        while let Some(batch) = self.batches.front_mut() {
            while let Some(frame) = batch.pop_front() {
                self.ws.write(message(frame))?;
            }
            self.ws.flush()?;
            self.batches.pop_front();
            *batches += 1;
        }
        if let Some(code) = self.close.take() {
            let frame = CloseFrame {
                code: CloseCode::from(code),
                reason: Utf8Bytes::from_static(""),
            };
            self.ws.close(Some(frame))?;
        }
        // Whatever tungstenite queued by itself: a pong, the reply to a close.
        self.ws.flush()
    }

    fn finish(&mut self, end: Input) {
        if !self.done {
            self.done = true;
            // A socket the core closed needs no news.
            if !self.closed_by_core {
                self.end = Some(end);
            }
        }
    }

    /// `Closed` once the socket is over and the core knows; `Closing` while our close frame
    /// waits for the peer's reply.
    pub(crate) fn phase(&self) -> Phase {
        if self.done && self.end.is_none() && self.inbox.is_empty() {
            Phase::Closed
        } else if self.closed_by_core && self.close.is_none() {
            Phase::Closing
        } else {
            Phase::Open
        }
    }
}

/// What a tungstenite error means for the core.
fn end_of(error: &Error) -> Input {
    match error {
        // A hang-up without a close frame is a close too, as in the reference server.
        Error::ConnectionClosed
        | Error::AlreadyClosed
        | Error::Io(_)
        | Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => Input::Closed,
        Error::Capacity(_) => Input::Failed(WsFailure::TooLarge),
        Error::Utf8(_) => Input::Failed(WsFailure::InvalidUtf8),
        _ => Input::Failed(WsFailure::Protocol),
    }
}

fn message(frame: Frame) -> Message {
    match frame {
        // Valid UTF-8 already (a `ByteString`); tungstenite checks it again.
        Frame::Text(text) => Message::Text(
            Utf8Bytes::try_from(text.into_bytes()).unwrap_or_else(|_| Utf8Bytes::from_static("")),
        ),
        Frame::Binary(bytes) => Message::Binary(bytes),
    }
}
