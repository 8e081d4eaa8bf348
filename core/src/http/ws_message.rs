//! The core's WebSocket [`Frame`]s as tungstenite messages, for the runtimes that write
//! sockets through tungstenite.
//!
//! A text frame's payload is a [`ByteString`](crate::ByteString), UTF-8 already. tungstenite's
//! `Message::Text` wants its own `Utf8Bytes`, whose only safe constructor from `Bytes` checks
//! the text again: on an echo that was the third UTF-8 pass over every message (the frame
//! read, the core's decode, this). A data frame built with `Frame::message` carries the
//! payload as it is and goes on the wire byte for byte as `Message::Text` would.

use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::frame::Frame as WireFrame;
use tungstenite::Message;

use crate::Frame;

/// `frame` as a message to write, without checking its text again.
pub fn to_message(frame: Frame) -> Message {
    let (opcode, payload) = match frame {
        Frame::Text(text) => (Data::Text, text.into_bytes()),
        Frame::Binary(bytes) => (Data::Binary, bytes),
    };
    Message::Frame(WireFrame::message(payload, OpCode::Data(opcode), true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use tungstenite::protocol::frame::Frame as WireFrame;

    fn wire(message: Message) -> Vec<u8> {
        let frame = match message {
            Message::Text(text) => WireFrame::message(text, OpCode::Data(Data::Text), true),
            Message::Binary(bytes) => WireFrame::message(bytes, OpCode::Data(Data::Binary), true),
            Message::Frame(frame) => frame,
            other => panic!("not a data message: {other:?}"),
        };
        let mut out = Vec::new();
        frame.format(&mut out).unwrap();
        out
    }

    #[test]
    fn frames_go_out_as_the_messages_they_stand_for() {
        assert_eq!(
            wire(to_message(Frame::Text("4hé".into()))),
            wire(Message::text("4hé"))
        );
        assert_eq!(
            wire(to_message(Frame::Binary(Bytes::from_static(b"\x01\x02")))),
            wire(Message::binary(Bytes::from_static(b"\x01\x02")))
        );
    }
}
