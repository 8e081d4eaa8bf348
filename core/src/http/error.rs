//! Why a client could not connect ([`ConnectError`]) and why `send_json` failed
//! ([`SendJsonError`]): the error types of both clients (the async one in `engineio` and the
//! blocking one in `engineio-runtime-threads`), which re-export them.

use std::{fmt, io};

use crate::{DisconnectReason, SendError};
use bytes::Bytes;

/// Why a client's `connect` failed.
///
/// The protocol failures come from the core's handshake
/// ([`crate::ConnectError`]); the others from the network underneath (name resolution,
/// TCP, TLS, HTTP), reported as precisely as the runtime allows.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL does not parse, or its scheme is not `http`, `https`, `ws` or `wss`.
    InvalidUrl(String),
    /// A header given to the client builder's `header` is not a valid HTTP header name or
    /// value.
    InvalidHeader(String),
    /// The server answered the handshake with an HTTP status other than 200 (or, on a
    /// WebSocket-only connection, other than 101).
    Rejected {
        /// The HTTP status (400 for a bad request, 401 or 403 when the server refused, …).
        status: u16,
        /// The response body (Engine.IO servers send `{"code":…,"message":"…"}`).
        body: Bytes,
    },
    /// The handshake did not complete in time: the client builder's `request_timeout` of the
    /// handshake request, or the core's
    /// [`connect_timeout`](crate::ClientConfig::connect_timeout).
    Timeout,
    /// The connection failed: name resolution, TCP, or the HTTP exchange.
    Io(io::Error),
    /// The TLS handshake failed (an untrusted or invalid certificate, a peer that does not
    /// speak TLS), or TLS was asked for without the client crate's `tls` feature.
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

impl From<crate::ConnectError> for ConnectError {
    fn from(error: crate::ConnectError) -> Self {
        use crate::ConnectError as Core;
        match error {
            Core::Rejected { status, body } => Self::Rejected { status, body },
            Core::Timeout => Self::Timeout,
            Core::Transport => Self::Io(io::Error::other("handshake transport failed")),
            Core::NoTransport => Self::NoTransport,
            other => Self::Protocol(other.to_string()),
        }
    }
}

impl ConnectError {
    /// What a client reports when the core gives up on the handshake: the network failure
    /// behind a core [`Transport`](crate::ConnectError::Transport) failure when the client
    /// saw one (`network`), the core's own error otherwise.
    pub fn handshake_failed(error: crate::ConnectError, network: Option<Self>) -> Self {
        match (error, network) {
            (crate::ConnectError::Transport, Some(network)) => network,
            (error, _) => error.into(),
        }
    }

    /// What a client reports when the connection closed before its handshake completed.
    pub fn closed_before_handshake(reason: DisconnectReason) -> Self {
        Self::Io(io::Error::other(format!(
            "closed before the handshake completed: {reason}"
        )))
    }
}

impl From<io::Error> for ConnectError {
    fn from(error: io::Error) -> Self {
        Self::Io(error)
    }
}

/// Why a client's `send_json` failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum SendJsonError {
    /// The value did not serialize to JSON.
    Json(serde_json::Error),
    /// The message was refused (see [`SendError`]).
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
