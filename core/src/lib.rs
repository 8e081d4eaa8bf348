//! The Engine.IO v4 protocol as a pure state machine (sans-IO).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod buffer;
pub mod client;
pub mod packet;
mod sid;
mod types;

pub use bytes::Bytes;
pub use bytestring::ByteString;
pub use packet::{DecodeError, Frame, Message, OpenPacket, Packet, PacketType};
pub use sid::{Sid, SID_LEN};
pub use types::{
    BufferLimits, DisconnectReason, OverflowPolicy, RequestId, SendError, Transport,
    TransportError, Transports,
};
pub mod server;
pub use server::{
    Authorization, ErrorCode, Event, Method, Request, Response, ResponseKind, Server, ServerConfig,
    Transmit, UnknownRequest,
};
