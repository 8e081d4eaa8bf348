//! What the client asks the runtime to do ([`ClientTransmit`]) and tells the application
//! ([`ClientEvent`]).

use std::fmt;

use bytes::Bytes;

use crate::packet::{Frames, Message};
use crate::types::{DisconnectReason, RequestId, Transport};

/// A network action the runtime must carry out, drained with
/// [`Client::poll_transmit`](super::Client::poll_transmit).
///
/// Carry them out in the order they come. Every request and socket is named by a [`RequestId`]
/// the client chose; report its outcome with the same id (`handle_response`,
/// `handle_request_failed`, `handle_ws_*`). Outcomes of ids the client no longer tracks are
/// ignored, so races (a response arriving just after an `Abort`) are harmless.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientTransmit {
    /// Send an HTTP GET, then report it with `handle_response` or `handle_request_failed`.
    ///
    /// `query` holds only the Engine.IO parameters (`EIO=4&transport=polling&t=…&sid=…`); the
    /// runtime appends it to the user's URL and path (after `?`, or after `&` if the user's URL
    /// has a query already). Polling GETs are long: the server holds them until it has data.
    Get {
        /// The id to report the outcome with.
        request: RequestId,
        /// The Engine.IO query parameters.
        query: String,
    },
    /// Send an HTTP POST whose body is a polling payload, with
    /// `Content-Type: text/plain;charset=UTF-8`; then report it like a [`Get`](Self::Get).
    Post {
        /// The id to report the outcome with.
        request: RequestId,
        /// The Engine.IO query parameters.
        query: String,
        /// The payload: packets joined by `0x1e`, never larger than the server's `maxPayload`
        /// unless a single packet is.
        body: Bytes,
    },
    /// Open a WebSocket to the user's URL and path with `query`; report
    /// `handle_ws_open` once it is established (or `handle_ws_closed` if it fails), then each
    /// data frame with `handle_ws_frame` and its end with `handle_ws_closed`.
    OpenWebSocket {
        /// The id that names this socket from now on.
        socket: RequestId,
        /// The Engine.IO query parameters (`EIO=4&transport=websocket[&sid=…]`).
        query: String,
    },
    /// Write these frames, in order, on the socket, flush, then call `handle_ws_written`.
    ///
    /// The client keeps at most one batch outstanding per socket: the next `WsSend` for the
    /// same socket comes only after `handle_ws_written`.
    WsSend {
        /// The socket to write on.
        socket: RequestId,
        /// One Engine.IO packet per frame.
        frames: Frames,
    },
    /// Close the socket (after writing any batch queued before this transmit). The client
    /// has forgotten it; later reports about it are ignored.
    WsClose {
        /// The socket to close.
        socket: RequestId,
    },
    /// Cancel this in-flight HTTP request: the client no longer wants its outcome (the held
    /// GET after `close`, requests left over when the connection ends).
    Abort {
        /// The request to cancel.
        request: RequestId,
    },
}

/// Something the application should learn, drained with
/// [`Client::poll_event`](super::Client::poll_event).
///
/// A client emits at most one [`Connected`](Self::Connected), and exactly one terminal event:
/// [`ConnectFailed`](Self::ConnectFailed) or [`Disconnected`](Self::Disconnected).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// The open packet arrived; the full packet is available from
    /// [`Client::open_packet`](super::Client::open_packet).
    Connected {
        /// The session id the server assigned.
        sid: String,
        /// The transport the handshake went over.
        transport: Transport,
    },
    /// The server sent a message.
    Message(Message),
    /// The connection moved from polling to WebSocket.
    Upgraded,
    /// Terminal: the handshake failed, the client never connected.
    ConnectFailed(ConnectError),
    /// Terminal: the connection ended.
    ///
    /// Emitted after [`Connected`](Self::Connected), and also when the caller ends a client that
    /// had not connected yet ([`Client::close`](super::Client::close), or a buffer overflow under
    /// [`OverflowPolicy::Close`](crate::OverflowPolicy::Close)): those are local decisions,
    /// not handshake failures.
    Disconnected(DisconnectReason),
}

/// Why the handshake failed, carried by [`ClientEvent::ConnectFailed`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectError {
    /// The server answered the handshake GET with a status other than 200.
    Rejected {
        /// The HTTP status (400 for a bad request, 403 when the server refused, …).
        status: u16,
        /// The response body (the JS server sends `{"code":…,"message":"…"}`).
        body: Bytes,
    },
    /// No open packet arrived within
    /// [`connect_timeout`](super::ClientConfig::connect_timeout).
    Timeout,
    /// The handshake request failed, or the WebSocket closed before the open packet.
    Transport,
    /// The handshake response was not a valid open packet.
    Handshake,
    /// The configuration enables no transport.
    NoTransport,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected { status, .. } => {
                write!(f, "handshake rejected with HTTP status {status}")
            }
            Self::Timeout => f.write_str("handshake timed out"),
            Self::Transport => f.write_str("handshake transport failed"),
            Self::Handshake => f.write_str("invalid handshake response"),
            Self::NoTransport => f.write_str("no transport enabled"),
        }
    }
}

impl std::error::Error for ConnectError {}
