//! Packets, messages and the two wire encodings of Engine.IO v4.
//!
//! A [`Packet`] is one protocol unit (`0` open … `6` noop). It travels in two ways:
//!
//! - over WebSocket, one packet per frame ([`Frame`]): text packets as text frames (`4hello`),
//!   binary messages as raw binary frames with no type byte;
//! - over HTTP long-polling, several packets joined by the record separator `0x1e` into one
//!   payload ([`payload`]), where a binary message is written `b<base64>` (with no `4`).
//!
//! Decoding is total: it never panics, never allocates more than the input justifies, and turns
//! every malformed input into a [`DecodeError`]. Text is kept as [`ByteString`], a UTF-8 checked
//! view of the input [`Bytes`], so a decoded message shares memory with the buffer it came from.

mod decode;
mod encode;
pub(crate) use encode::message_polling_len;
pub mod frames;
pub(crate) mod open;
pub mod payload;

use bytes::Bytes;
use bytestring::ByteString;

pub use frames::Frames;
pub use open::OpenPacket;
pub use payload::{PayloadDecoder, PayloadIter};

/// The packet type byte: the first character of every text-encoded packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// `0`: the server's handshake packet.
    Open = b'0',
    /// `1`: either side closes the session.
    Close = b'1',
    /// `2`: heartbeat request (server to client in v4; `2probe` from the client during upgrade).
    Ping = b'2',
    /// `3`: heartbeat answer (client to server in v4; `3probe` from the server during upgrade).
    Pong = b'3',
    /// `4`: an application message.
    Message = b'4',
    /// `5`: the client switches to the new transport.
    Upgrade = b'5',
    /// `6`: no operation; completes a pending poll.
    Noop = b'6',
}

impl PacketType {
    /// Parses the type byte of a text-encoded packet.
    pub fn from_byte(byte: u8) -> Option<Self> {
        Some(match byte {
            b'0' => Self::Open,
            b'1' => Self::Close,
            b'2' => Self::Ping,
            b'3' => Self::Pong,
            b'4' => Self::Message,
            b'5' => Self::Upgrade,
            b'6' => Self::Noop,
            _ => return None,
        })
    }

    /// The ASCII digit that starts a text-encoded packet of this type.
    pub fn as_byte(self) -> u8 {
        self as u8
    }
}

/// An application message: UTF-8 text or raw bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Message {
    /// A text message (`4<text>` on the wire).
    Text(ByteString),
    /// A binary message (a binary WebSocket frame, or `b<base64>` in a polling payload).
    Binary(Bytes),
}

impl Message {
    /// Returns the number of payload bytes (UTF-8 bytes for text, raw bytes for binary).
    pub fn len(&self) -> usize {
        match self {
            Self::Text(text) => text.len(),
            Self::Binary(bytes) => bytes.len(),
        }
    }

    /// Returns true for an empty text or binary message (both are legal).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the text, if this is a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            Self::Binary(_) => None,
        }
    }

    /// Returns the bytes, if this is a binary message.
    pub fn as_binary(&self) -> Option<&Bytes> {
        match self {
            Self::Text(_) => None,
            Self::Binary(bytes) => Some(bytes),
        }
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Self::Text(text.into())
    }
}

impl From<&'static str> for Message {
    fn from(text: &'static str) -> Self {
        Self::Text(ByteString::from_static(text))
    }
}

impl From<ByteString> for Message {
    fn from(text: ByteString) -> Self {
        Self::Text(text)
    }
}

impl From<Bytes> for Message {
    fn from(bytes: Bytes) -> Self {
        Self::Binary(bytes)
    }
}

impl From<Vec<u8>> for Message {
    fn from(bytes: Vec<u8>) -> Self {
        Self::Binary(bytes.into())
    }
}

/// One Engine.IO packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// `0{…}`: the handshake, sent by the server as the first packet of a session.
    Open(OpenPacket),
    /// `1`: close the session.
    Close,
    /// `2`: a heartbeat ping.
    Ping,
    /// `2probe`: the client's probe on a WebSocket that is being upgraded to.
    PingProbe,
    /// `3`: a heartbeat pong.
    Pong,
    /// `3probe`: the server's answer to `2probe`.
    PongProbe,
    /// `4…` or binary: an application message.
    Message(Message),
    /// `5`: the client completes the upgrade on the new transport.
    Upgrade,
    /// `6`: no operation.
    Noop,
}

impl Packet {
    /// Returns the packet's type.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Self::Open(_) => PacketType::Open,
            Self::Close => PacketType::Close,
            Self::Ping | Self::PingProbe => PacketType::Ping,
            Self::Pong | Self::PongProbe => PacketType::Pong,
            Self::Message(_) => PacketType::Message,
            Self::Upgrade => PacketType::Upgrade,
            Self::Noop => PacketType::Noop,
        }
    }
}

impl From<Message> for Packet {
    fn from(message: Message) -> Self {
        Self::Message(message)
    }
}

/// A WebSocket data frame as the runtime's WebSocket library sees it.
///
/// Engine.IO puts exactly one packet in each frame. Control frames (ping, pong, close) belong to
/// the WebSocket library and never reach the core.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Frame {
    /// A text frame.
    Text(ByteString),
    /// A binary frame.
    Binary(Bytes),
}

impl Frame {
    /// Returns the frame's payload length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Self::Text(text) => text.len(),
            Self::Binary(bytes) => bytes.len(),
        }
    }

    /// Returns true if the frame carries no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why a packet or payload could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeError {
    /// The packet (or the whole payload) is empty.
    Empty,
    /// The first byte is not a packet type (`0`–`6`) nor `b`.
    UnknownType(u8),
    /// Text that is not valid UTF-8.
    InvalidUtf8,
    /// A `b…` record whose base64 does not decode.
    InvalidBase64,
    /// An open packet whose JSON is not a valid handshake.
    InvalidOpen,
    /// A payload holds more packets than the configured cap.
    TooManyPackets,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => f.write_str("empty packet"),
            Self::UnknownType(byte) => write!(f, "unknown packet type byte 0x{byte:02x}"),
            Self::InvalidUtf8 => f.write_str("packet text is not valid UTF-8"),
            Self::InvalidBase64 => f.write_str("invalid base64 in binary packet"),
            Self::InvalidOpen => f.write_str("invalid open packet"),
            Self::TooManyPackets => f.write_str("too many packets in one payload"),
        }
    }
}

impl std::error::Error for DecodeError {}
