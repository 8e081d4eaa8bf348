//! Server options, with the reference implementations' defaults.

use std::time::Duration;

use crate::packet::Message;
use crate::types::{BufferLimits, Transports};

/// Options of a [`Server`](super::Server).
///
/// `Default` gives the JS `engine.io` defaults: ping every 25 s, 20 s to answer, 1 MB
/// `maxPayload`, upgrades on, both transports, a 10 s upgrade deadline.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Time between pings (`pingInterval`). Default 25 s.
    pub ping_interval: Duration,
    /// Extra time advertised on top of `ping_interval` (python-engineio's grace), so that clients
    /// wait longer than the server actually pings. Default 0.
    pub ping_interval_grace: Duration,
    /// Time the client has to answer a ping (`pingTimeout`). Default 20 s.
    pub ping_timeout: Duration,
    /// Time a WebSocket probe has to complete an upgrade before it is dropped. Default 10 s.
    pub upgrade_timeout: Duration,
    /// Time a server close waits for the next poll before the session is dropped anyway
    /// (the reference's `closeTimeout`). Default 30 s.
    pub close_timeout: Duration,
    /// Time the application has to answer [`Event::Authorize`](super::Event::Authorize) or
    /// [`Event::Connecting`](super::Event::Connecting) before the handshake is refused with 503.
    /// Default 10 s.
    pub handshake_timeout: Duration,
    /// The largest polling body, WebSocket message or frame, in bytes (`maxHttpBufferSize`,
    /// advertised as `maxPayload`). Default 1 000 000.
    pub max_payload: usize,
    /// The most packets one polling body may carry; more is rejected like an oversized body.
    /// Default 10 000.
    pub max_packets_per_payload: usize,
    /// The most packets one poll response carries; the rest wait for the next poll. Default
    /// `None`: everything queued goes at once, as in the reference servers. python-engineio's
    /// client drops the connection on a response of more than 16 packets, so a server with
    /// bursty traffic to such clients sets `Some(16)`.
    pub max_packets_per_poll: Option<usize>,
    /// Transports accepted. Default both.
    pub transports: Transports,
    /// Whether polling sessions may upgrade to WebSocket (`allowUpgrades`). Default true.
    pub allow_upgrades: bool,
    /// Bounds and overflow policy of each session's outgoing buffer.
    pub buffer: BufferLimits,
    /// Emit [`Event::Authorize`](super::Event::Authorize) for every handshake and wait for
    /// [`Server::authorize`](super::Server::authorize) before allocating a session (the JS
    /// `allowRequest`). Default false.
    pub authorize: bool,
    /// Hold every new session in [`Event::Connecting`](super::Event::Connecting) until
    /// [`Server::accept_connect`](super::Server::accept_connect) or
    /// [`Server::reject_connect`](super::Server::reject_connect) (python-engineio's connect
    /// handler, which may refuse with 401). Default false.
    pub confirm_connect: bool,
    /// A message queued right after the open packet of every session (the JS `initialPacket`).
    pub initial_message: Option<Message>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(25),
            ping_interval_grace: Duration::ZERO,
            ping_timeout: Duration::from_secs(20),
            upgrade_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(10),
            max_payload: 1_000_000,
            max_packets_per_payload: 10_000,
            max_packets_per_poll: None,
            transports: Transports::ALL,
            allow_upgrades: true,
            buffer: BufferLimits::default(),
            authorize: false,
            confirm_connect: false,
            initial_message: None,
        }
    }
}
