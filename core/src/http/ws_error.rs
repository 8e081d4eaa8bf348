//! What a WebSocket library error means for the protocol, shared by the runtimes that read
//! sockets through tungstenite: the peer went away, or it broke RFC 6455 in a way that has a
//! close code of its own (§7.4.1), which the core answers with.

use tungstenite::error::ProtocolError;
use tungstenite::Error;

use crate::WsFailure;

/// The failure `error` reports, or `None` when it only says that the connection ended
/// (a close, a dropped connection, a peer that left without a close frame: a transport
/// close, as the reference servers report it).
pub fn ws_failure(error: &Error) -> Option<WsFailure> {
    match error {
        Error::ConnectionClosed
        | Error::AlreadyClosed
        | Error::Io(_)
        | Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => None,
        Error::Capacity(_) => Some(WsFailure::TooLarge),
        Error::Utf8(_) => Some(WsFailure::InvalidUtf8),
        _ => Some(WsFailure::Protocol),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tungstenite::error::CapacityError;

    #[test]
    fn each_error_gets_its_close_code_or_none() {
        let io = Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert_eq!(ws_failure(&io), None);
        assert_eq!(ws_failure(&Error::ConnectionClosed), None);
        let reset = Error::Protocol(ProtocolError::ResetWithoutClosingHandshake);
        assert_eq!(ws_failure(&reset), None);
        let too_long = Error::Capacity(CapacityError::MessageTooLong {
            size: 2,
            max_size: 1,
        });
        assert_eq!(ws_failure(&too_long).map(WsFailure::close_code), Some(1009));
        let utf8 = Error::Utf8("invalid".into());
        assert_eq!(ws_failure(&utf8).map(WsFailure::close_code), Some(1007));
        let reserved = Error::Protocol(ProtocolError::NonZeroReservedBits);
        assert_eq!(ws_failure(&reserved).map(WsFailure::close_code), Some(1002));
    }
}
