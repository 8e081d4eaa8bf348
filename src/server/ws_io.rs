//! One WebSocket's reading and writing, driven by its task from one place.
//!
//! The socket is one `WebSocketStream`, not split into a sender and a receiver: the split
//! halves share the stream behind a mutex, locked on every read, every frame written and every
//! flush (three to five locks per echoed message), although only this task ever touches it.
//! [`SocketIo`] instead owns the stream and keeps where the writing stands as a small state
//! ([`Writing`]), so the task polls the reading and the writing side by side with plain `&mut`.
//!
//! Reading hands the core every data frame already read, in one crossing (see
//! [`SocketIo::poll_read`]); writing follows the core's flow control: one batch of frames at a
//! time, fed into the library, then one flush, then `handle_ws_written`.

use std::sync::Arc;
use std::task::{ready, Context, Poll};

use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::protocol::CloseFrame;
use async_tungstenite::tungstenite::{self, Message as WsMessage, Utf8Bytes};
use async_tungstenite::WebSocketStream;
use bytes::Bytes;
use engineio_core::http::ws_message::to_message;
use engineio_core::{ByteString, Frame, RequestId, WsFailure};
use futures_util::{Sink, Stream};

use super::engine::{Shared, SocketEnd};
use super::mailbox::WsCommand;
use super::read_ahead::ReadAhead;

/// The most frames handed to the core under one lock.
const MAX_BURST: usize = 64;

/// A WebSocket and where its writing stands (see the module docs).
pub(super) struct SocketIo {
    ws: WebSocketStream<ReadAhead>,
    writing: Writing,
}

/// Where the writer is between the core's commands.
enum Writing {
    /// Waiting for the core's next command.
    Idle,
    /// Feeding a batch into the library. `second` marks the batch taken when the first was
    /// reported written: its own `handle_ws_written` is owed after the flush.
    Feeding {
        frames: engineio_core::packet::frames::IntoIter,
        second: bool,
    },
    /// Flushing what was fed; `second` as in `Feeding`.
    Flushing { second: bool },
    /// Sending a close frame (until it is fed), then flushing it.
    Closing(Option<WsMessage>),
    /// Stopped: the close is sent, a write failed, or the socket ended.
    Done,
}

impl SocketIo {
    /// Starts driving `ws`, with nothing to write.
    pub(super) fn new(ws: WebSocketStream<ReadAhead>) -> Self {
        Self {
            ws,
            writing: Writing::Idle,
        }
    }

    /// The connection under the WebSocket (bytes read ahead and not taken are dropped).
    pub(super) fn into_stream(self) -> ReadAhead {
        self.ws.into_inner()
    }

    /// Sends what the library still holds (the answer to a client's close frame, say).
    pub(super) fn poll_flush(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), tungstenite::Error>> {
        std::pin::Pin::new(&mut self.ws).poll_flush(cx)
    }

    /// Hands every data frame to the core until the socket ends; `Ready` with how it ended.
    ///
    /// Frames that are already read when one arrives (a client's burst, which usually comes
    /// in one system call) go to the core together, under one lock and in one
    /// [`handle_ws_frames`](engineio_core::Server::handle_ws_frames) call; their messages then
    /// queue up for the session's handlers, which take them in one go. A lone frame costs no
    /// allocation.
    pub(super) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        shared: &Arc<Shared>,
        id: RequestId,
    ) -> Poll<SocketEnd> {
        loop {
            let (first, more, end, drained) = match ready!(gather(&mut self.ws, cx)) {
                Gathered::Frames {
                    first,
                    more,
                    end,
                    drained,
                } => (first, more, end, drained),
                Gathered::Ended(end) => return Poll::Ready(end),
            };
            shared.with_socket_input(id, |core, now| {
                if more.is_empty() {
                    core.handle_ws_frame(now, id, first);
                } else {
                    core.handle_ws_frames(now, id, std::iter::once(first).chain(more));
                }
            });
            if let Some(end) = end {
                return Poll::Ready(end);
            }
            // The stream had nothing more and holds this task's waker: reading again now
            // would only repeat the read that found nothing (a third of the reads of a
            // closed-loop echo). A wake-up that came while the frames were handled makes the
            // executor poll the task again.
            if drained {
                return Poll::Pending;
            }
        }
    }

    /// Writes the batches and the close the core hands out; `Ready` once the writing has
    /// stopped: told to close (the close frame sent), the socket ended, or a write failed.
    pub(super) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        shared: &Arc<Shared>,
        id: RequestId,
    ) -> Poll<()> {
        let written = self.poll_commands(cx, shared, id);
        // The handshake's answer waits to leave with the first frame (see `ReadAhead`); with
        // nothing to write now, it goes alone, so that the client is not kept waiting for it.
        // (If sending it fails, so does the next write.)
        if self.ws.get_ref().holds_head() && self.ws.get_mut().poll_send_head(cx).is_pending() {
            return Poll::Pending;
        }
        written
    }

    /// Carries out the core's commands (see [`poll_write`](Self::poll_write)).
    fn poll_commands(
        &mut self,
        cx: &mut Context<'_>,
        shared: &Arc<Shared>,
        id: RequestId,
    ) -> Poll<()> {
        // Set when this poll reported a batch written and found no command: the mailbox
        // keeps this task's waker from then on.
        let mut waker_left = false;
        loop {
            let next = match &mut self.writing {
                Writing::Idle => match ready!(shared.poll_ws_command(id, cx)) {
                    Some(command) => Writing::commanded(command, false),
                    None => Writing::Done,
                },
                Writing::Feeding { frames, second } => {
                    let second = *second;
                    match ready!(feed(&mut self.ws, cx, frames)) {
                        Err(()) => Writing::Done,
                        // The batch is in the library's buffer: report it written before the
                        // flush, so that what queued in the core meanwhile (typically the
                        // rest of a burst just read) comes out as one more batch and leaves
                        // in the same write. At most two batches wait for one flush, so the
                        // core's buffer limits still hold.
                        Ok(()) if !second => match shared.ws_written(id, cx.waker()) {
                            Poll::Ready(Some(command)) => Writing::commanded(command, true),
                            // The socket has ended: what was fed still goes out.
                            Poll::Ready(None) => Writing::Flushing { second: false },
                            Poll::Pending => {
                                waker_left = true;
                                Writing::Flushing { second: false }
                            }
                        },
                        Ok(()) => Writing::Flushing { second: true },
                    }
                }
                Writing::Flushing { second } => {
                    let second = *second;
                    match ready!(self.poll_flush(cx)) {
                        Err(_) => Writing::Done,
                        Ok(()) if second => {
                            shared.with_core(|core, now| core.handle_ws_written(now, id));
                            Writing::Idle
                        }
                        // Flushed in the poll that left the waker: a command that came since
                        // has woken the task, which asks next time; asking now finds nothing.
                        // (A flush finished in a later poll asks: that poll may be the wake.)
                        Ok(()) if waker_left => {
                            self.writing = Writing::Idle;
                            return Poll::Pending;
                        }
                        Ok(()) => Writing::Idle,
                    }
                }
                Writing::Closing(close) => match ready!(send(&mut self.ws, cx, close)) {
                    Ok(()) | Err(_) => Writing::Done,
                },
                Writing::Done => return Poll::Ready(()),
            };
            self.writing = next;
        }
    }
}

impl Writing {
    /// The state that carries out `command`; `second` as in [`Writing::Feeding`].
    fn commanded(command: WsCommand, second: bool) -> Self {
        match command {
            WsCommand::Send(frames) => Self::Feeding {
                frames: frames.into_iter(),
                second,
            },
            WsCommand::Close(code) => Self::Closing(Some(WsMessage::Close(Some(CloseFrame {
                code: CloseCode::from(code),
                reason: Utf8Bytes::from_static(""),
            })))),
        }
    }
}

/// Feeds `frames` into the library's buffer without flushing them; `Err` if a write failed.
fn feed(
    ws: &mut WebSocketStream<ReadAhead>,
    cx: &mut Context<'_>,
    frames: &mut engineio_core::packet::frames::IntoIter,
) -> Poll<Result<(), ()>> {
    let mut ws = std::pin::Pin::new(ws);
    loop {
        if ready!(ws.as_mut().poll_ready(cx)).is_err() {
            return Poll::Ready(Err(()));
        }
        let Some(frame) = frames.next() else {
            return Poll::Ready(Ok(()));
        };
        if ws.as_mut().start_send(to_message(frame)).is_err() {
            return Poll::Ready(Err(()));
        }
    }
}

/// Sends `message` (taken once fed) and flushes it.
fn send(
    ws: &mut WebSocketStream<ReadAhead>,
    cx: &mut Context<'_>,
    message: &mut Option<WsMessage>,
) -> Poll<Result<(), tungstenite::Error>> {
    let mut ws = std::pin::Pin::new(ws);
    if message.is_some() {
        ready!(ws.as_mut().poll_ready(cx))?;
        if let Some(message) = message.take() {
            ws.as_mut().start_send(message)?;
        }
    }
    ws.poll_flush(cx)
}

/// What [`gather`] read.
enum Gathered {
    /// At least one data frame, up to [`MAX_BURST`]; how the socket ended right after them,
    /// if it did; and whether the stream had nothing more (it then holds the task's waker).
    Frames {
        first: Frame,
        more: Vec<Frame>,
        end: Option<SocketEnd>,
        drained: bool,
    },
    /// The socket ended with no data frame before.
    Ended(SocketEnd),
}

/// Reads the data frames the stream has ready, up to [`MAX_BURST`]: `Pending` until there is
/// one.
fn gather(ws: &mut WebSocketStream<ReadAhead>, cx: &mut Context<'_>) -> Poll<Gathered> {
    let mut ws = std::pin::Pin::new(ws);
    let mut first = None;
    let mut more = Vec::new();
    let mut drained = false;
    let end = loop {
        if first.is_some() && more.len() == MAX_BURST - 1 {
            break None;
        }
        match ws.as_mut().poll_next(cx) {
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
                drained = true;
                break None;
            }
        }
    };
    Poll::Ready(match first {
        Some(first) => Gathered::Frames {
            first,
            more,
            end,
            drained,
        },
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

/// What a WebSocket library error means for the core (see
/// [`ws_failure`](engineio_core::http::ws_error::ws_failure)).
fn socket_end(error: &tungstenite::Error) -> SocketEnd {
    match engineio_core::http::ws_error::ws_failure(error) {
        Some(failure) => SocketEnd::Failed(failure),
        None => SocketEnd::Closed,
    }
}
