//! What the server core needs to know of an HTTP request, and the responses it gives.
//!
//! The runtime parses HTTP; the core sees only the few facts that routing depends on
//! ([`Request`]) and answers with a [`Response`] the runtime writes out, adding its own
//! transport headers (CORS, compression, cookies) as configured.

use std::borrow::Cow;

use bytes::Bytes;

use crate::sid::Sid;

/// The HTTP method, as far as Engine.IO cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`: handshakes, polls and WebSocket upgrades.
    Get,
    /// `POST`: client-to-server polling payloads.
    Post,
    /// Any other method (answered with an error).
    Other,
}

impl Method {
    /// Maps a method name; anything but `GET` and `POST` is [`Method::Other`].
    pub fn from_name(name: &str) -> Self {
        match name {
            "GET" => Self::Get,
            "POST" => Self::Post,
            _ => Self::Other,
        }
    }
}

/// The routing facts of one request to the Engine.IO path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// The method.
    pub method: Method,
    /// The raw query string, without the leading `?`.
    pub query: &'a str,
    /// Whether the request asks to switch to WebSocket (`Upgrade: websocket`).
    pub websocket: bool,
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// The `Content-Length` header, if any (a chunked body has none).
    pub content_length: Option<u64>,
    /// The raw `Origin` header, if any; checked for characters no header may hold.
    pub origin: Option<&'a [u8]>,
}

impl<'a> Request<'a> {
    /// A `GET` with the given query.
    pub fn get(query: &'a str) -> Self {
        Self {
            method: Method::Get,
            query,
            websocket: false,
            content_type: None,
            content_length: None,
            origin: None,
        }
    }

    /// A `POST` with the given query; its body follows through
    /// [`Server::handle_body`](super::Server::handle_body).
    pub fn post(query: &'a str) -> Self {
        Self {
            method: Method::Post,
            ..Self::get(query)
        }
    }

    /// A `GET` that asks for a WebSocket upgrade.
    pub fn websocket(query: &'a str) -> Self {
        Self {
            websocket: true,
            ..Self::get(query)
        }
    }
}

/// The Engine.IO error codes of HTTP error responses (the reference server's `Server.errors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 0: the transport is missing, unknown or disabled.
    UnknownTransport = 0,
    /// 1: the `sid` names no open session.
    UnknownSid = 1,
    /// 2: a handshake that is not a `GET`.
    BadHandshakeMethod = 2,
    /// 3: anything else the request got wrong (transport mismatch, missing upgrade, …).
    BadRequest = 3,
    /// 4: the authorization step refused the request.
    Forbidden = 4,
    /// 5: `EIO` is not `4`.
    UnsupportedProtocolVersion = 5,
}

impl ErrorCode {
    /// The reference message for the code.
    pub fn message(self) -> &'static str {
        match self {
            Self::UnknownTransport => "Transport unknown",
            Self::UnknownSid => "Session ID unknown",
            Self::BadHandshakeMethod => "Bad handshake method",
            Self::BadRequest => "Bad request",
            Self::Forbidden => "Forbidden",
            Self::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }

    /// The HTTP status: 403 for `Forbidden`, 400 for the others.
    pub fn status(self) -> u16 {
        match self {
            Self::Forbidden => 403,
            _ => 400,
        }
    }
}

/// What a response is, so the runtime can decorate it (cookie on handshakes, compression of
/// poll payloads) without parsing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseKind {
    /// The polling handshake: `0{…}` for the session `sid`.
    Handshake {
        /// The new session.
        sid: Sid,
    },
    /// A poll answered with a payload.
    Payload,
    /// A POST acknowledged with `ok`.
    Ack,
    /// An error with an Engine.IO code (JSON body).
    Error(ErrorCode),
    /// An error status the application or a limit chose (401 rejection, 413, 503).
    Refused,
}

/// An HTTP response for the runtime to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The `Content-Type`, when there is a body.
    pub content_type: Option<&'static str>,
    /// The body.
    pub body: Bytes,
    /// What this response is.
    pub kind: ResponseKind,
}

pub(crate) const TEXT_PLAIN: &str = "text/plain; charset=UTF-8";
pub(crate) const JSON: &str = "application/json";

impl Response {
    pub(crate) fn payload(body: Bytes, kind: ResponseKind) -> Self {
        Self {
            status: 200,
            content_type: Some(TEXT_PLAIN),
            body,
            kind,
        }
    }

    pub(crate) fn ok() -> Self {
        Self {
            status: 200,
            content_type: Some("text/html"),
            body: Bytes::from_static(b"ok"),
            kind: ResponseKind::Ack,
        }
    }

    pub(crate) fn error(code: ErrorCode) -> Self {
        Self::error_with(code, code.status(), code.message())
    }

    pub(crate) fn error_with(code: ErrorCode, status: u16, message: &str) -> Self {
        Self {
            status,
            content_type: Some(JSON),
            body: serde_json::json!({ "code": code as u8, "message": message })
                .to_string()
                .into(),
            kind: ResponseKind::Error(code),
        }
    }

    pub(crate) fn refused(status: u16, content_type: Option<&'static str>, body: Bytes) -> Self {
        Self {
            status,
            content_type,
            body,
            kind: ResponseKind::Refused,
        }
    }
}

/// One query parameter as seen in the query string.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) enum Param<'a> {
    #[default]
    Missing,
    One(Cow<'a, str>),
    /// The key appeared more than once: never a valid value.
    Repeated,
}

impl<'a> Param<'a> {
    fn push(&mut self, value: Cow<'a, str>) {
        *self = match self {
            Param::Missing => Param::One(value),
            _ => Param::Repeated,
        };
    }

    pub(crate) fn value(&self) -> Option<&str> {
        match self {
            Param::One(value) => Some(value),
            _ => None,
        }
    }

    pub(crate) fn is_missing(&self) -> bool {
        matches!(self, Param::Missing)
    }
}

/// The Engine.IO parameters of a query string, percent-decoded.
#[derive(Debug, Default)]
pub(crate) struct Query<'a> {
    pub(crate) eio: Param<'a>,
    pub(crate) transport: Param<'a>,
    pub(crate) sid: Param<'a>,
    pub(crate) b64: bool,
}

impl<'a> Query<'a> {
    pub(crate) fn parse(query: &'a str) -> Self {
        let mut parsed = Self::default();
        for (key, value) in crate::query::pairs(query) {
            let slot = match &*key {
                "EIO" => &mut parsed.eio,
                "transport" => &mut parsed.transport,
                "sid" => &mut parsed.sid,
                "b64" => {
                    parsed.b64 = !value.is_empty() && value != "0" && value != "false";
                    continue;
                }
                _ => continue,
            };
            slot.push(value);
        }
        parsed
    }
}

/// True if `value` holds a byte no HTTP header value may hold (the reference's
/// `checkInvalidHeaderChar`: only tab, visible ASCII and obs-text are allowed).
pub(crate) fn has_invalid_header_char(value: &[u8]) -> bool {
    value
        .iter()
        .any(|&b| !(b == b'\t' || (0x20..=0x7e).contains(&b) || b >= 0x80))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_decodes_parameters() {
        let query = Query::parse("EIO=4&transport=polling&t=N8hyd6w&sid=ab%2Dcd&b64=1");
        assert_eq!(query.eio.value(), Some("4"));
        assert_eq!(query.transport.value(), Some("polling"));
        assert_eq!(query.sid.value(), Some("ab-cd"));
        assert!(query.b64);
    }

    #[test]
    fn repeated_keys_are_never_valid() {
        let query = Query::parse("transport=polling&transport=websocket&EIO=4");
        assert_eq!(query.transport, Param::Repeated);
        assert_eq!(query.transport.value(), None);
        assert!(!query.transport.is_missing());
        assert!(Query::parse("EIO=4").transport.is_missing());
    }

    #[test]
    fn error_bodies_match_the_reference() {
        let response = Response::error(ErrorCode::UnknownSid);
        assert_eq!(response.status, 400);
        assert_eq!(
            &response.body[..],
            br#"{"code":1,"message":"Session ID unknown"}"#
        );
        assert_eq!(Response::error(ErrorCode::Forbidden).status, 403);
    }

    #[test]
    fn header_charset() {
        assert!(!has_invalid_header_char(b"https://example.com"));
        assert!(has_invalid_header_char(b"https://exa\nmple.com"));
        assert!(has_invalid_header_char(b"\x00"));
    }
}
