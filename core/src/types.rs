//! Small value types shared by the server and the client machines.

use std::fmt;

/// Names one HTTP request or one WebSocket connection between the core and its runtime.
///
/// On the server the runtime picks the id of every incoming request (any value not in use), so
/// that a GET held for seconds can be answered later; a WebSocket keeps the id of the request
/// that opened it. On the client the core picks the ids of the requests it asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// The two Engine.IO transports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// HTTP long-polling (`transport=polling`).
    Polling,
    /// WebSocket (`transport=websocket`).
    WebSocket,
}

impl Transport {
    /// The value of the `transport` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Polling => "polling",
            Self::WebSocket => "websocket",
        }
    }

    /// Parses a `transport` query value by exact comparison (no prototype-style lookups).
    pub fn from_query(value: &str) -> Option<Self> {
        match value {
            "polling" => Some(Self::Polling),
            "websocket" => Some(Self::WebSocket),
            _ => None,
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The set of transports a server accepts or a client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transports {
    /// HTTP long-polling.
    pub polling: bool,
    /// WebSocket.
    pub websocket: bool,
}

impl Transports {
    /// Both transports (the default).
    pub const ALL: Self = Self {
        polling: true,
        websocket: true,
    };
    /// Long-polling only.
    pub const POLLING: Self = Self {
        polling: true,
        websocket: false,
    };
    /// WebSocket only (no sticky sessions needed behind a load balancer).
    pub const WEBSOCKET: Self = Self {
        polling: false,
        websocket: true,
    };

    /// Returns true if `transport` is in the set.
    pub fn contains(self, transport: Transport) -> bool {
        match transport {
            Transport::Polling => self.polling,
            Transport::WebSocket => self.websocket,
        }
    }
}

impl Default for Transports {
    fn default() -> Self {
        Self::ALL
    }
}

/// Why a session ended. Every session that was connected ends with exactly one of these, on
/// the server (`Event::Disconnected`) and on the client (`ClientEvent::Disconnected`).
///
/// The names say who or what ended it; [`as_str`](Self::as_str) gives the reference's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The client closed the session (a `1` packet, or the local client's `close`).
    ClientDisconnect,
    /// The server closed the session (a `1` packet, or the local server's `close`).
    ServerDisconnect,
    /// The server is shutting down and closed every session.
    ServerShutdown,
    /// The heartbeat failed: no pong on the server, or no ping on the client, in time.
    PingTimeout,
    /// The transport's connection went away (WebSocket closed, poll request dropped).
    TransportClose,
    /// The transport was used against the protocol (see [`TransportError`]).
    TransportError(TransportError),
    /// The peer sent bytes that do not decode as Engine.IO packets.
    ParseError,
    /// The peer sent a body or message larger than `maxPayload`, or more packets than allowed.
    PayloadTooLarge,
    /// The outgoing buffer overflowed under [`OverflowPolicy::Close`](crate::OverflowPolicy::Close).
    BufferOverflow,
}

impl DisconnectReason {
    /// The reason as the reference implementations word it (`"ping timeout"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientDisconnect => "client disconnect",
            Self::ServerDisconnect => "server disconnect",
            Self::ServerShutdown => "server shutting down",
            Self::PingTimeout => "ping timeout",
            Self::TransportClose => "transport close",
            Self::TransportError(_) => "transport error",
            Self::ParseError => "parse error",
            Self::PayloadTooLarge => "payload too large",
            Self::BufferOverflow => "buffer overflow",
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TransportError(detail) => write!(f, "transport error: {detail}"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// What went wrong with a transport, carried by [`DisconnectReason::TransportError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportError {
    /// A second GET arrived while one was held.
    OverlappingPoll,
    /// A second POST arrived while one was being read.
    OverlappingPost,
    /// A POST with a content type v4 does not allow (`application/octet-stream`).
    InvalidContentType,
    /// A packet that makes no sense in this direction or state (a v4 client's `2`, a `5` on polling).
    UnexpectedPacket,
    /// The WebSocket library reported a protocol error.
    WebSocket,
    /// An HTTP request failed or answered with an error status (client side).
    Http,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OverlappingPoll => "overlapping poll requests",
            Self::OverlappingPost => "overlapping post requests",
            Self::InvalidContentType => "invalid content type",
            Self::UnexpectedPacket => "unexpected packet",
            Self::WebSocket => "websocket protocol error",
            Self::Http => "http request failed",
        })
    }
}

/// How the runtime's WebSocket library gave up on a socket, as told to
/// [`Server::handle_ws_error`](crate::Server::handle_ws_error).
///
/// RFC 6455 §7.4.1 gives each failure its own close code, so that the peer learns why it was
/// cut off; the core answers with that code on a socket it still owns (the session's, or an
/// upgrade probe) and ends the session with [`reason`](Self::reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WsFailure {
    /// A violation of the framing rules: reserved bits without an extension, an unknown
    /// opcode, a continuation frame with no message to continue, a fragmented control frame or
    /// one over 125 bytes, an unmasked client frame (close code 1002).
    Protocol,
    /// A text message that is not UTF-8 (close code 1007).
    InvalidUtf8,
    /// A frame or a (reassembled) message larger than `maxPayload` (close code 1009).
    TooLarge,
}

impl WsFailure {
    /// The close code the failure is answered with: 1002, 1007 or 1009.
    pub fn close_code(self) -> u16 {
        match self {
            Self::Protocol => 1002,
            Self::InvalidUtf8 => 1007,
            Self::TooLarge => 1009,
        }
    }

    /// Why the session ends: [`DisconnectReason::PayloadTooLarge`] for
    /// [`TooLarge`](Self::TooLarge), a WebSocket [`TransportError`] otherwise.
    pub fn reason(self) -> DisconnectReason {
        match self {
            Self::TooLarge => DisconnectReason::PayloadTooLarge,
            Self::Protocol | Self::InvalidUtf8 => {
                DisconnectReason::TransportError(TransportError::WebSocket)
            }
        }
    }
}

/// Why a local `send` was refused. These are the caller's errors, never the peer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SendError {
    /// No session has this id (never existed, or already closed and reported).
    UnknownSession,
    /// The session is closing or closed.
    Closed,
    /// The outgoing buffer is full under [`OverflowPolicy::Reject`](crate::OverflowPolicy::Reject).
    BufferFull,
    /// The message alone is larger than the peer's `maxPayload`.
    PayloadTooLarge,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UnknownSession => "unknown session",
            Self::Closed => "session closed",
            Self::BufferFull => "outgoing buffer full",
            Self::PayloadTooLarge => "message larger than maxPayload",
        })
    }
}

impl std::error::Error for SendError {}

/// What to do when a session's outgoing buffer is full.
///
/// The buffer is bounded in packets and in bytes ([`BufferLimits`]). Control packets (ping,
/// pong, noop, close) are not counted and are never refused, so a full buffer cannot stall the
/// heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OverflowPolicy {
    /// `send` returns [`SendError::BufferFull`]; nothing queued is lost (the default).
    #[default]
    Reject,
    /// The oldest queued messages are dropped to make room.
    DropOldest,
    /// The session is closed with [`DisconnectReason::BufferOverflow`].
    Close,
}

/// Bounds of one session's outgoing message buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BufferLimits {
    /// The most messages queued at once.
    pub max_packets: usize,
    /// The most encoded bytes queued at once.
    pub max_bytes: usize,
    /// What happens when a `send` would cross either bound.
    pub overflow: OverflowPolicy,
}

impl Default for BufferLimits {
    fn default() -> Self {
        Self {
            max_packets: 4096,
            max_bytes: 16 * 1024 * 1024,
            overflow: OverflowPolicy::Reject,
        }
    }
}
