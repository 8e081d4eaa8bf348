//! Why a connection could not be made ([`ConnectError`]) and why `send_json` failed
//! ([`SendJsonError`]): both shared with the blocking client, in [`engineio_core::http::error`].

use std::io;

pub use engineio_core::http::error::{ConnectError, SendJsonError};

/// Turns a hyper error into the I/O error under it when there is one.
pub(super) fn from_hyper(error: hyper::Error) -> ConnectError {
    if error.is_parse() || error.is_parse_status() || error.is_user() {
        return ConnectError::Protocol(error.to_string());
    }
    let source = std::error::Error::source(&error);
    let kind = source
        .and_then(|source| source.downcast_ref::<io::Error>())
        .map_or(io::ErrorKind::Other, io::Error::kind);
    let message = match source {
        Some(source) => format!("{error}: {source}"),
        None => error.to_string(),
    };
    ConnectError::Io(io::Error::new(kind, message))
}
