//! The Engine.IO v4 client as a sans-IO state machine.
//!
//! [`Client`] drives one connection the way the reference client (engine.io-client 6.x) does:
//! handshake over polling (or straight over WebSocket), the long-poll loop, POST batching under
//! the server's `maxPayload`, the heartbeat deadline, the upgrade to WebSocket (probe, pause
//! polling, `5`), and close. It asks for requests with [`ClientTransmit`], reports to the
//! application with [`ClientEvent`], and learns time only from the `now` its caller passes.
//!
//! Reconnection is not here: a [`Client`] ends with one terminal event, and reconnecting means
//! building a new one, as in every reference implementation.

mod config;
mod event;
#[cfg(test)]
mod hostile;
mod polling;
mod state;
#[cfg(test)]
mod test_util;
mod timer;
mod upgrade;
mod websocket;

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;

pub use config::ClientConfig;
pub use event::{ClientEvent, ClientTransmit, ConnectError};

use crate::buffer::{OutBuffer, Overflow};
use crate::packet::{Frame, Message, OpenPacket, Packet};
use crate::types::{DisconnectReason, RequestId, SendError, Transport};
use state::Phase;
use upgrade::Probe;
use websocket::Socket;

/// One Engine.IO v4 client connection, as a state machine that does no I/O.
///
/// The client decides what to send and when; its caller (a runtime) makes the HTTP requests
/// and WebSocket connections it asks for and reports what happened. The client names every
/// request and socket with a [`RequestId`] it allocates from a counter.
///
/// # Methods
///
/// - (A) getters: [`sid`](Self::sid), [`transport`](Self::transport),
///   [`open_packet`](Self::open_packet), [`is_closed`](Self::is_closed).
/// - (B) inputs: [`handle_response`](Self::handle_response),
///   [`handle_request_failed`](Self::handle_request_failed),
///   [`handle_ws_open`](Self::handle_ws_open), [`handle_ws_frame`](Self::handle_ws_frame),
///   [`handle_ws_written`](Self::handle_ws_written), [`handle_ws_closed`](Self::handle_ws_closed),
///   [`handle_timeout`](Self::handle_timeout).
/// - (C) commands: [`send`](Self::send), [`close`](Self::close).
/// - (D) outputs: [`poll_transmit`](Self::poll_transmit), [`poll_event`](Self::poll_event),
///   [`poll_timeout`](Self::poll_timeout).
///
/// # The drain contract
///
/// After [`new`](Self::new) and after every input or command: call
/// [`poll_transmit`](Self::poll_transmit) until it returns `None`, carrying out each
/// [`ClientTransmit`] in order; call [`poll_event`](Self::poll_event) until it returns `None`,
/// delivering each [`ClientEvent`]; then arm one timer at [`poll_timeout`](Self::poll_timeout)
/// and call [`handle_timeout`](Self::handle_timeout) when it fires. Calling `handle_timeout`
/// early is harmless. `poll_timeout` is `Some` until the client is closed.
///
/// # Lifecycle
///
/// Every client ends with exactly one terminal event: [`ClientEvent::ConnectFailed`] when the
/// handshake fails (rejected, timed out, transport failure, bad open packet), otherwise
/// [`ClientEvent::Disconnected`]. A [`close`](Self::close) or a buffer overflow before the
/// handshake completes ends with `Disconnected` too: those are the caller's decisions, not
/// handshake failures. After the terminal event, inputs are ignored, [`send`](Self::send)
/// returns [`SendError::Closed`] and `poll_timeout` returns `None`. No input ever panics,
/// whatever the peer sends and whatever ids the runtime reports.
///
/// # Example
///
/// A polling handshake answered by hand:
///
/// ```
/// use std::time::{Duration, Instant};
/// use engineio_core::client::{Client, ClientConfig, ClientEvent, ClientTransmit};
/// use engineio_core::{Bytes, Transport};
///
/// let now = Instant::now();
/// let mut client = Client::new(now, ClientConfig::default());
///
/// // The handshake GET; the runtime sends it to `<url>?<query>`.
/// let Some(ClientTransmit::Get { request, query }) = client.poll_transmit() else {
///     panic!("expected the handshake GET");
/// };
/// assert_eq!(query, "EIO=4&transport=polling&t=0");
///
/// // The server's answer.
/// client.handle_response(
///     now,
///     request,
///     200,
///     Bytes::from_static(
///         b"0{\"sid\":\"abc\",\"upgrades\":[],\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}",
///     ),
/// );
/// assert_eq!(
///     client.poll_event(),
///     Some(ClientEvent::Connected { sid: "abc".into(), transport: Transport::Polling })
/// );
/// // The long-poll starts at once, and the heartbeat deadline is interval + timeout away.
/// assert!(matches!(client.poll_transmit(), Some(ClientTransmit::Get { .. })));
/// assert_eq!(client.poll_timeout(), Some(now + Duration::from_secs(45)));
///
/// // A message goes out in a POST.
/// client.send(now, "hello".into()).unwrap();
/// let Some(ClientTransmit::Post { body, .. }) = client.poll_transmit() else {
///     panic!("expected a POST");
/// };
/// assert_eq!(&body[..], b"4hello");
/// ```
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    phase: Phase,
    /// The transport in use: the handshake's, then WebSocket after an upgrade.
    transport: Transport,
    open: Option<OpenPacket>,
    buffer: OutBuffer,
    /// The polling GET in flight (the handshake GET while connecting).
    get: Option<RequestId>,
    /// The polling POST in flight.
    post: Option<RequestId>,
    /// The WebSocket in use as the transport (the handshake socket while connecting).
    ws: Option<Socket>,
    /// The WebSocket being probed for an upgrade.
    probe: Option<Probe>,
    next_id: u64,
    next_token: u64,
    transmits: VecDeque<ClientTransmit>,
    events: VecDeque<ClientEvent>,
}

impl Client {
    /// Creates a client and queues its handshake: a polling GET if polling is enabled,
    /// otherwise a WebSocket open. Drain [`poll_transmit`](Self::poll_transmit) next.
    pub fn new(now: Instant, config: ClientConfig) -> Self {
        let deadline = timer::after(now, config.connect_timeout);
        let mut client = Self {
            config,
            phase: Phase::Connecting { deadline },
            transport: Transport::Polling,
            open: None,
            buffer: OutBuffer::default(),
            get: None,
            post: None,
            ws: None,
            probe: None,
            next_id: 0,
            next_token: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        };
        if client.config.transports.polling {
            client.send_get();
        } else if client.config.transports.websocket {
            client.transport = Transport::WebSocket;
            let socket = client.next_request();
            let query = client.query(Transport::WebSocket);
            client.ws = Some(Socket::new(socket));
            client.transmit(ClientTransmit::OpenWebSocket { socket, query });
        } else {
            client.finish(ClientEvent::ConnectFailed(ConnectError::NoTransport));
        }
        client
    }

    /// Reports the answer to a [`ClientTransmit::Get`] or [`ClientTransmit::Post`].
    ///
    /// Call it once the whole response body has been read. Only status 200 counts as success;
    /// answers for requests the client no longer tracks (aborted, duplicated, unknown) are
    /// ignored.
    pub fn handle_response(&mut self, now: Instant, request: RequestId, status: u16, body: Bytes) {
        if self.get == Some(request) {
            self.get = None;
            if matches!(self.phase, Phase::Connecting { .. }) {
                self.on_handshake_response(now, status, body);
            } else {
                self.on_poll_response(now, status, body);
            }
        } else if self.post == Some(request) {
            self.post = None;
            self.on_post_response(status);
        }
        self.pump();
    }

    /// Reports that a [`ClientTransmit::Get`] or [`ClientTransmit::Post`] failed without a
    /// response. Call it on a connection error or when the runtime's request timeout fires.
    pub fn handle_request_failed(&mut self, now: Instant, request: RequestId) {
        let _ = now;
        if self.get == Some(request) {
            self.get = None;
            self.on_request_failed();
        } else if self.post == Some(request) {
            self.post = None;
            self.on_request_failed();
        }
        self.pump();
    }

    /// Reports that the WebSocket asked for by [`ClientTransmit::OpenWebSocket`] is
    /// established. Call it once the opening handshake (HTTP 101) has completed.
    pub fn handle_ws_open(&mut self, now: Instant, socket: RequestId) {
        let _ = now;
        if self.is_probe(socket) {
            self.on_probe_open();
        }
        self.pump();
    }

    /// Reports one data frame (text or binary) received on a WebSocket. Control frames
    /// (ping, pong, close) stay in the WebSocket library.
    pub fn handle_ws_frame(&mut self, now: Instant, socket: RequestId, frame: Frame) {
        if self.ws.as_ref().is_some_and(|ws| ws.id == socket) {
            self.on_ws_frame(now, frame);
        } else if self.is_probe(socket) {
            self.on_probe_frame(frame);
        }
        self.pump();
    }

    /// Reports that the last [`ClientTransmit::WsSend`] batch for `socket` was written and
    /// flushed; the client may then send the next batch.
    pub fn handle_ws_written(&mut self, now: Instant, socket: RequestId) {
        let _ = now;
        if let Some(ws) = self.ws.as_mut().filter(|ws| ws.id == socket) {
            ws.writing = false;
        } else if let Some(probe) = self.probe.as_mut().filter(|p| p.socket.id == socket) {
            probe.socket.writing = false;
        }
        self.pump();
    }

    /// Reports that a WebSocket closed or failed, including failing to open. Call it once
    /// per socket, also for sockets the client asked to close.
    pub fn handle_ws_closed(&mut self, now: Instant, socket: RequestId) {
        let _ = now;
        if self.ws.as_ref().is_some_and(|ws| ws.id == socket) {
            self.ws = None;
            self.on_ws_closed();
        } else if self.is_probe(socket) {
            // The probe failed; polling carries on.
            self.probe = None;
        }
        self.pump();
    }

    /// Runs the deadlines that have passed at `now`. Call it when the timer armed at
    /// [`poll_timeout`](Self::poll_timeout) fires; calling it early does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.on_timeout(now);
        self.pump();
    }

    /// Queues a message for the server.
    ///
    /// Allowed before the handshake completes (the message goes after the open). Fails with
    /// [`SendError::PayloadTooLarge`] if the message alone, encoded for the current transport,
    /// is larger than the server's `maxPayload` (checked once the open packet is known); with
    /// [`SendError::BufferFull`] when the buffer is full under
    /// [`OverflowPolicy::Reject`](crate::OverflowPolicy::Reject), or under
    /// [`OverflowPolicy::Close`](crate::OverflowPolicy::Close), which also ends the connection
    /// with [`DisconnectReason::BufferOverflow`]; and with [`SendError::Closed`] after
    /// [`close`](Self::close) or the terminal event.
    pub fn send(&mut self, now: Instant, message: Message) -> Result<(), SendError> {
        let _ = now;
        if matches!(self.phase, Phase::Closing { .. } | Phase::Closed) {
            return Err(SendError::Closed);
        }
        if let Some(open) = &self.open {
            let size = match (self.transport, &message) {
                (Transport::WebSocket, Message::Binary(bytes)) => bytes.len(),
                (Transport::WebSocket, Message::Text(text)) => 1 + text.len(),
                (Transport::Polling, _) => Packet::Message(message.clone()).polling_len(),
            };
            if u64::try_from(size).unwrap_or(u64::MAX) > open.max_payload {
                return Err(SendError::PayloadTooLarge);
            }
        }
        match self.buffer.push_message(message, &self.config.buffer) {
            Ok(()) => {
                self.pump();
                Ok(())
            }
            Err(Overflow::Reject) => Err(SendError::BufferFull),
            Err(Overflow::Close) => {
                self.finish(ClientEvent::Disconnected(DisconnectReason::BufferOverflow));
                Err(SendError::BufferFull)
            }
        }
    }

    /// Closes the connection, delivering what is buffered first.
    ///
    /// On polling: the buffered messages and a final `1` are POSTed (after any POST in
    /// flight) while the held GET stays open for the server to answer, and [`ClientEvent::Disconnected`] with
    /// [`DisconnectReason::ClientDisconnect`] comes when that POST is answered, fails, or
    /// [`close_timeout`](ClientConfig::close_timeout) passes. On WebSocket: the buffered
    /// messages and `1` go in one batch (after any batch being written), then the socket is
    /// closed and `Disconnected` comes at once. A probe in progress is dropped. Before the
    /// handshake completes, the handshake request is cancelled and `Disconnected(ClientDisconnect)`
    /// comes at once. Closing a closed or closing client does nothing.
    pub fn close(&mut self, now: Instant) {
        match self.phase {
            Phase::Connecting { .. } => {
                self.finish(ClientEvent::Disconnected(
                    DisconnectReason::ClientDisconnect,
                ));
            }
            Phase::Open { .. } => {
                if let Some(probe) = self.probe.take() {
                    self.transmit(ClientTransmit::WsClose {
                        socket: probe.socket.id,
                    });
                }
                // The held GET stays: aborting it would make the server drop the session
                // before the final POST arrives. The server answers it (`6`) once it reads
                // `1`, and it is cancelled when the close completes if still outstanding.
                let deadline = timer::after(now, self.config.close_timeout);
                self.phase = Phase::Closing {
                    deadline,
                    close_sent: false,
                };
            }
            Phase::Closing { .. } | Phase::Closed => {}
        }
        self.pump();
    }

    /// Returns the next network action to carry out, or `None` when there is none for now.
    ///
    /// Call it after every input and command until it returns `None`.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<ClientTransmit> {
        self.transmits.pop_front()
    }

    /// Returns the next event for the application, or `None` when there is none for now.
    ///
    /// Call it after every input and command until it returns `None`.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// Returns when [`handle_timeout`](Self::handle_timeout) must be called next: the earliest
    /// pending deadline (handshake, heartbeat, upgrade probe or close). `Some` until the client
    /// is closed, `None` after.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_deadline()
    }

    /// Returns the session id, once the open packet has arrived.
    pub fn sid(&self) -> Option<&str> {
        self.open.as_ref().map(|open| open.sid.as_str())
    }

    /// Returns the transport in use once connected (the last one used after the end), or
    /// `None` before the handshake completes.
    pub fn transport(&self) -> Option<Transport> {
        self.open.as_ref().map(|_| self.transport)
    }

    /// Returns true once the terminal event has been queued.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Returns the server's open packet (ping interval and timeout, `maxPayload`, upgrades),
    /// once it has arrived.
    pub fn open_packet(&self) -> Option<&OpenPacket> {
        self.open.as_ref()
    }
}

#[cfg(test)]
mod tests;
