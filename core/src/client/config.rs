//! Settings of one [`Client`](super::Client).

use std::time::Duration;

use crate::types::{BufferLimits, Transports};

/// Settings of one [`Client`](super::Client): transports, deadlines and buffer bounds.
///
/// Start from [`Default`] and change what you need:
///
/// ```
/// use std::time::Duration;
/// use engineio_core::client::ClientConfig;
/// use engineio_core::Transports;
///
/// let config = ClientConfig {
///     transports: Transports::WEBSOCKET,
///     connect_timeout: Duration::from_secs(5),
///     ..ClientConfig::default()
/// };
/// assert!(config.upgrade);
/// ```
///
/// Durations too large to add to an [`Instant`](std::time::Instant) are capped at about a year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The transports the client may use (default: both).
    ///
    /// With polling enabled the handshake goes over polling (and may upgrade); with only
    /// WebSocket enabled it goes straight over WebSocket. With neither, the client fails at once
    /// with [`ConnectError::NoTransport`](super::ConnectError::NoTransport).
    pub transports: Transports,
    /// Whether to upgrade from polling to WebSocket when the server offers it (default `true`).
    pub upgrade: bool,
    /// How long the handshake may take, from [`Client::new`](super::Client::new) to the open
    /// packet (default 20 s, the reference client's `timeout`).
    pub connect_timeout: Duration,
    /// How long an upgrade probe may take, from opening the WebSocket to sending `5`
    /// (default 10 s). When it passes, the probe is dropped and polling carries on.
    pub upgrade_timeout: Duration,
    /// How long [`Client::close`](super::Client::close) may take to deliver the final `1`
    /// (default 5 s).
    pub close_timeout: Duration,
    /// Bounds of the outgoing message buffer and what happens when it is full.
    pub buffer: BufferLimits,
    /// The most packets decoded from one polling response; more is a
    /// [`DisconnectReason::PayloadTooLarge`](crate::DisconnectReason::PayloadTooLarge)
    /// (default 10 000).
    pub max_packets_per_payload: usize,
    /// The most packets one POST carries (default 16); the rest go in the next POST.
    ///
    /// python-engineio's server decodes at most 16 packets per POST and silently drops the
    /// whole body beyond that (answering 200), so the default keeps every reference server
    /// whole; the JS server has no limit, and raising this saves round trips against it.
    pub max_packets_per_post: usize,
    /// Whether polling requests carry a `t=<token>` cache-busting parameter (default `true`).
    ///
    /// The token comes from a per-client counter: it keeps caches from answering a request
    /// with an older response and carries no meaning for the server.
    pub timestamp_requests: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            transports: Transports::ALL,
            upgrade: true,
            connect_timeout: Duration::from_secs(20),
            upgrade_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(5),
            buffer: BufferLimits::default(),
            max_packets_per_payload: 10_000,
            max_packets_per_post: 16,
            timestamp_requests: true,
        }
    }
}
