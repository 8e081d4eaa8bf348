//! Why a connection could not be made ([`ConnectError`]) and why `send_json` failed
//! ([`SendJsonError`]).

use std::{fmt, io};

use bytes::Bytes;
use engineio_core::SendError;

/// Why [`ClientBuilder::connect`](super::ClientBuilder::connect) failed.
///
/// The protocol failures come from the core's handshake
/// ([`engineio_core::ConnectError`]); the others from the network underneath (name resolution,
/// TCP, TLS, HTTP), reported as precisely as the runtime allows.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL does not parse, or its scheme is not `http`, `https`, `ws` or `wss`.
    InvalidUrl(String),
    /// A header given to [`ClientBuilder::header`](super::ClientBuilder::header) is not a valid
    /// HTTP header name or value.
    InvalidHeader(String),
    /// The server answered the handshake with an HTTP status other than 200 (or, on a
    /// WebSocket-only connection, other than 101).
    Rejected {
        /// The HTTP status (400 for a bad request, 401 or 403 when the server refused, …).
        status: u16,
        /// The response body (Engine.IO servers send `{"code":…,"message":"…"}`).
        body: Bytes,
    },
    /// The handshake did not complete in time: the
    /// [`request_timeout`](super::ClientBuilder::request_timeout) of the handshake request, or
    /// the core's [`connect_timeout`](engineio_core::ClientConfig::connect_timeout).
    Timeout,
    /// The connection failed: name resolution, TCP, or the HTTP exchange.
    Io(io::Error),
    /// The TLS handshake failed (an untrusted or invalid certificate, a peer that does not
    /// speak TLS), or TLS was asked for without the `tls` feature of this crate.
    Tls(String),
    /// The server's answer is not Engine.IO (an invalid open packet, a broken HTTP or WebSocket
    /// exchange).
    Protocol(String),
    /// The configuration enables no transport.
    NoTransport,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl(detail) => write!(f, "invalid URL: {detail}"),
            Self::InvalidHeader(detail) => write!(f, "invalid header: {detail}"),
            Self::Rejected { status, body } => {
                write!(f, "handshake rejected with HTTP status {status}")?;
                if !body.is_empty() {
                    let shown = &body[..body.len().min(200)];
                    write!(f, ": {}", String::from_utf8_lossy(shown))?;
                }
                Ok(())
            }
            Self::Timeout => f.write_str("handshake timed out"),
            Self::Io(error) => write!(f, "connection failed: {error}"),
            Self::Tls(detail) => write!(f, "TLS failed: {detail}"),
            Self::Protocol(detail) => write!(f, "protocol error: {detail}"),
            Self::NoTransport => f.write_str("no transport enabled"),
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(error) => Some(error),
            _ => None,
        }
    }
}

impl From<engineio_core::ConnectError> for ConnectError {
    fn from(error: engineio_core::ConnectError) -> Self {
        use engineio_core::ConnectError as Core;
        match error {
            Core::Rejected { status, body } => Self::Rejected { status, body },
            Core::Timeout => Self::Timeout,
            Core::Transport => Self::Io(io::Error::other("handshake transport failed")),
            Core::NoTransport => Self::NoTransport,
            other => Self::Protocol(other.to_string()),
        }
    }
}

impl From<io::Error> for ConnectError {
    fn from(error: io::Error) -> Self {
        Self::Io(error)
    }
}

/// Why [`Client::send_json`](super::Client::send_json) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum SendJsonError {
    /// The value did not serialize to JSON.
    Json(serde_json::Error),
    /// The message was refused (see [`Client::send`](super::Client::send)).
    Send(SendError),
}

impl fmt::Display for SendJsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json(error) => write!(f, "JSON serialization failed: {error}"),
            Self::Send(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for SendJsonError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Json(error) => Some(error),
            Self::Send(error) => Some(error),
        }
    }
}

impl From<SendError> for SendJsonError {
    fn from(error: SendError) -> Self {
        Self::Send(error)
    }
}

impl From<serde_json::Error> for SendJsonError {
    fn from(error: serde_json::Error) -> Self {
        Self::Json(error)
    }
}
