//! The refusals a server's application handlers can return: [`Rejection`] from `on_connect`,
//! [`Forbidden`] from `authorize`. Shared by the async and the blocking servers.

use bytes::Bytes;

use crate::Authorization;

/// Refuses a connection from an `on_connect` handler: the handshake is answered with 401 and
/// a JSON body, and the session ends without a disconnect (python-engineio's
/// `ConnectionRefusedError`).
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    body: serde_json::Value,
}

impl Rejection {
    /// A rejection with the body `{"message":"Unauthorized"}`.
    pub fn new() -> Self {
        Self::message("Unauthorized")
    }

    /// A rejection with the body `{"message":<message>}`.
    pub fn message(message: impl Into<String>) -> Self {
        Self {
            body: serde_json::json!({ "message": message.into() }),
        }
    }

    /// A rejection with any JSON body.
    pub fn with_body(body: serde_json::Value) -> Self {
        Self { body }
    }

    /// The JSON body of the 401 answer, serialized (what the core's `reject_connect` sends).
    pub fn into_body(self) -> Bytes {
        Bytes::from(self.body.to_string())
    }
}

impl Default for Rejection {
    fn default() -> Self {
        Self::new()
    }
}

/// Refuses a handshake from an `authorize` hook, before any session exists: the request is
/// answered with the status (403 by default) and `{"code":4,"message":…}` (the JS server's
/// `allowRequest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forbidden {
    status: u16,
    message: String,
}

impl Forbidden {
    /// 403 with the reference message `Forbidden`.
    pub fn new() -> Self {
        Self::message("Forbidden")
    }

    /// 403 with this message.
    pub fn message(message: impl Into<String>) -> Self {
        Self {
            status: 403,
            message: message.into(),
        }
    }

    /// Changes the HTTP status (for example 401, or 429 when rate limiting).
    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }
}

impl Default for Forbidden {
    fn default() -> Self {
        Self::new()
    }
}

impl From<Forbidden> for Authorization {
    /// The core's refusal of the handshake: the status and the message of the JSON body.
    fn from(forbidden: Forbidden) -> Self {
        Self::Reject {
            status: forbidden.status,
            message: forbidden.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_and_statuses() {
        assert_eq!(
            Rejection::new().into_body(),
            Bytes::from_static(br#"{"message":"Unauthorized"}"#)
        );
        assert_eq!(
            Rejection::with_body(serde_json::json!({"a": 1})).into_body(),
            Bytes::from_static(br#"{"a":1}"#)
        );
        assert_eq!(
            Authorization::from(Forbidden::message("no").status(429)),
            Authorization::Reject {
                status: 429,
                message: "no".to_owned()
            }
        );
    }
}
