//! WebSocket echo: a closed loop with `depth` messages in flight per client.
//!
//! The client sends `depth` messages in one write, then sends one more for each echo that comes
//! back. Echoes that arrive together are handled together: replacements are fed into the write
//! buffer and flushed in one write once no echo is left in the read buffer, so a pipelined run
//! looks like bursts on the wire, as the batching floor expects. Each echo must be the oldest
//! message in flight, byte for byte; anything else is an error and the session is replaced.
//!
//! With `--raw` there is no Engine.IO: frames go to the URL as they are and come back as they
//! were (the bare WebSocket floor).

use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Instant;

use async_tungstenite::tungstenite::Message;
use futures_util::{FutureExt as _, SinkExt as _, StreamExt as _};

use super::Ctx;
use crate::eio::{self, Packet};
use crate::payload::PayloadGen;
use crate::ws::{self, Ws};
use crate::Error;

/// One session: open, run the closed loop until the window closes, close.
pub async fn session(ctx: Rc<Ctx>, _index: usize) -> Result<(), Error> {
    let config = &ctx.config;
    let target = &ctx.target;
    let mut ws = if config.raw {
        ws::connect(target, &target.ws_url, ws::ECHO_READ_BUFFER).await?
    } else {
        ws::open_session(
            target,
            &target.ws_with_query(eio::WS_QUERY),
            ws::ECHO_READ_BUFFER,
        )
        .await?
        .0
    };
    let mut echo = Echo {
        gen: PayloadGen::new(config.size, config.binary),
        raw: config.raw,
        binary: config.binary,
        in_flight: VecDeque::with_capacity(config.depth),
        next_seq: 0,
    };
    for _ in 0..config.depth {
        echo.send(&mut ws).await?;
    }
    ws.flush().await?;
    // Frames fed since the last flush (echo replacements and pongs), and how many of them are
    // messages: only messages flushed earlier can have echoes on the way.
    let mut unflushed = false;
    let mut unflushed_messages = 0;
    loop {
        // Echoes already received are taken at once; the write waits until none is left.
        let on_the_wire = echo.in_flight.len() - unflushed_messages;
        let next = if unflushed && on_the_wire > 0 {
            ws.next().now_or_never()
        } else {
            None
        };
        let frame = match next {
            Some(frame) => frame,
            None => {
                if unflushed {
                    ws.flush().await?;
                    unflushed = false;
                    unflushed_messages = 0;
                }
                ws.next().await
            }
        };
        let frame = match frame {
            Some(Ok(frame)) => frame,
            Some(Err(e)) => return Err(e.into()),
            None => return Err(Error("server closed the connection".into())),
        };
        match echo.receive(&frame)? {
            Received::Echo => {
                let sent = echo.in_flight.pop_front().map(|(_, sent)| sent);
                if let Some(sent) = sent {
                    ctx.stats.record_op(sent.elapsed());
                }
                if ctx.stats.is_done() {
                    if unflushed {
                        ws.flush().await?;
                    }
                    return ws::close(&mut ws, !config.raw).await;
                }
                echo.send(&mut ws).await?;
                unflushed = true;
                unflushed_messages += 1;
            }
            Received::Ping => {
                ws.feed(ws::pong_frame()).await?;
                unflushed = true;
            }
            Received::Other => {}
        }
    }
}

/// The closed-loop state of one client.
struct Echo {
    /// Builds and checks the payloads.
    gen: PayloadGen,
    /// No Engine.IO framing (`--raw`).
    raw: bool,
    /// Binary frames instead of text.
    binary: bool,
    /// Messages sent and not echoed yet: sequence number and send time, oldest first.
    in_flight: VecDeque<(u64, Instant)>,
    /// The sequence number of the next message.
    next_seq: u64,
}

/// What a received frame was.
enum Received {
    /// The echo of the oldest message in flight (already checked).
    Echo,
    /// An Engine.IO ping, to be answered.
    Ping,
    /// Something to ignore (noop, pong, WebSocket control frames).
    Other,
}

impl Echo {
    /// Feeds the next message into the write buffer (not flushed).
    async fn send(&mut self, ws: &mut Ws) -> Result<(), Error> {
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut bytes = Vec::with_capacity(self.gen.size() + 1);
        let frame = if self.binary {
            self.gen.write(seq, &mut bytes);
            ws::binary_frame(bytes)
        } else {
            if !self.raw {
                bytes.push(b'4');
            }
            self.gen.write(seq, &mut bytes);
            ws::text_frame(bytes)?
        };
        self.in_flight.push_back((seq, Instant::now()));
        ws.feed(frame).await?;
        Ok(())
    }

    /// Classifies a frame; an echo is checked against the oldest message in flight.
    fn receive(&self, frame: &Message) -> Result<Received, Error> {
        let data: &[u8] = match frame {
            Message::Text(text) if !self.raw => match eio::parse_packet(text.as_bytes())? {
                Packet::Message(data) if !self.binary => data,
                Packet::Ping => return Ok(Received::Ping),
                Packet::Noop | Packet::Pong => return Ok(Received::Other),
                Packet::Close => return Err(Error("server closed the session".into())),
                other => return Err(Error(format!("unexpected packet {other:?}"))),
            },
            Message::Text(text) if !self.binary => text.as_bytes(),
            Message::Binary(data) if self.binary => data,
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => return Ok(Received::Other),
            Message::Close(frame) => {
                return Err(Error(format!("server closed the WebSocket: {frame:?}")))
            }
            other => return Err(Error(format!("unexpected frame kind: {other:?}"))),
        };
        let Some(&(seq, _)) = self.in_flight.front() else {
            return Err(Error("an echo arrived with nothing in flight".into()));
        };
        if self.gen.matches(seq, data) {
            Ok(Received::Echo)
        } else {
            Err(Error(format!(
                "echo out of order or corrupted: expected message {seq}, got {} bytes starting {:?}",
                data.len(),
                String::from_utf8_lossy(&data[..data.len().min(24)])
            )))
        }
    }
}
