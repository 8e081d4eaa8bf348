//! Encoding of single packets, for polling records and for WebSocket frames.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::{BufMut, BytesMut};
use bytestring::ByteString;

use super::{Frame, Frames, Message, Packet};

impl Packet {
    /// Appends the packet as one polling record: text as `<type><data>`, binary as `b<base64>`
    /// (padded). The record separator is not written; see [`payload::encode`](super::payload::encode).
    pub fn encode_polling(&self, out: &mut BytesMut) {
        match self {
            Self::Message(Message::Binary(bytes)) => {
                out.reserve(1 + base64::encoded_len(bytes.len(), true).unwrap_or(0));
                out.put_u8(b'b');
                let start = out.len();
                out.resize(start + base64_len(bytes.len()), 0);
                let written = STANDARD
                    .encode_slice(bytes, &mut out[start..])
                    .expect("the buffer was sized by base64_len");
                out.truncate(start + written);
            }
            _ => self.encode_text(out),
        }
    }

    /// Returns the exact number of bytes [`encode_polling`](Self::encode_polling) writes.
    pub fn polling_len(&self) -> usize {
        match self {
            Self::Open(open) => 1 + open.to_json().len(),
            Self::PingProbe | Self::PongProbe => 6,
            Self::Message(message) => message_polling_len(message),
            Self::Close | Self::Ping | Self::Pong | Self::Upgrade | Self::Noop => 1,
        }
    }

    /// Returns the WebSocket frame that carries this packet.
    ///
    /// Binary messages become raw binary frames, unless `base64` is set (the client asked for
    /// `b64=1`), in which case they become `b<base64>` text frames.
    pub fn to_frame(&self, base64: bool) -> Frame {
        match self {
            Self::Message(Message::Binary(bytes)) if !base64 => Frame::Binary(bytes.clone()),
            Self::Message(Message::Text(text)) => {
                let mut out = String::with_capacity(1 + text.len());
                out.push('4');
                out.push_str(text);
                Frame::Text(out.into())
            }
            Self::Close => Frame::Text(ByteString::from_static("1")),
            Self::Ping => Frame::Text(ByteString::from_static("2")),
            Self::PingProbe => Frame::Text(ByteString::from_static("2probe")),
            Self::Pong => Frame::Text(ByteString::from_static("3")),
            Self::PongProbe => Frame::Text(ByteString::from_static("3probe")),
            Self::Upgrade => Frame::Text(ByteString::from_static("5")),
            Self::Noop => Frame::Text(ByteString::from_static("6")),
            Self::Open(_) | Self::Message(Message::Binary(_)) => {
                // An open packet's exact length would cost a second serialization: guess.
                let capacity = match self {
                    Self::Open(_) => 128,
                    _ => self.polling_len(),
                };
                let mut out = BytesMut::with_capacity(capacity);
                self.encode_polling(&mut out);
                Frame::Text(
                    ByteString::try_from(out.freeze()).expect("text encodings are ASCII or UTF-8"),
                )
            }
        }
    }

    /// Returns the WebSocket frames that carry `packets`, one per packet, as
    /// [`to_frame`](Self::to_frame) would.
    ///
    /// Call it for a batch: the text messages are written into one buffer that their frames
    /// share, so a burst of N messages costs one allocation rather than N (the frames are
    /// written out together and freed together).
    pub fn to_frames<'a, I>(packets: I, base64: bool) -> Frames
    where
        I: IntoIterator<Item = &'a Self>,
        I::IntoIter: Clone,
    {
        let mut packets = packets.into_iter();
        if packets.size_hint() == (1, Some(1)) {
            // The closed-loop case: one packet, nothing to share.
            return packets
                .next()
                .map(|p| Frames::from(p.to_frame(base64)))
                .unwrap_or_default();
        }
        let (texts, text_len) = packets
            .clone()
            .fold((0, 0), |(count, len), packet| match packet {
                Self::Message(Message::Text(text)) => (count + 1, len + 1 + text.len()),
                _ => (count, len),
            });
        if texts < 2 {
            return packets
                .map(|p| p.to_frame(base64))
                .collect::<Vec<_>>()
                .into();
        }
        let mut joined = String::with_capacity(text_len);
        for packet in packets.clone() {
            if let Self::Message(Message::Text(text)) = packet {
                joined.push('4');
                joined.push_str(text);
            }
        }
        let joined = ByteString::from(joined);
        let mut start = 0;
        packets
            .map(|packet| match packet {
                Self::Message(Message::Text(text)) => {
                    let end = start + 1 + text.len();
                    let frame = Frame::Text(joined.slice_ref(&joined[start..end]));
                    start = end;
                    frame
                }
                other => other.to_frame(base64),
            })
            .collect::<Vec<_>>()
            .into()
    }

    /// Appends the text form (`<type><data>`); binary messages must not come here.
    fn encode_text(&self, out: &mut BytesMut) {
        match self {
            Self::Open(open) => {
                out.put_u8(b'0');
                open.write_json(out);
            }
            Self::Close => out.put_u8(b'1'),
            Self::Ping => out.put_u8(b'2'),
            Self::PingProbe => out.extend_from_slice(b"2probe"),
            Self::Pong => out.put_u8(b'3'),
            Self::PongProbe => out.extend_from_slice(b"3probe"),
            Self::Message(Message::Text(text)) => {
                out.reserve(1 + text.len());
                out.put_u8(b'4');
                out.extend_from_slice(text.as_bytes());
            }
            Self::Message(Message::Binary(_)) => unreachable!("binary is encoded by the caller"),
            Self::Upgrade => out.put_u8(b'5'),
            Self::Noop => out.put_u8(b'6'),
        }
    }
}

/// The exact length of a message packet in a polling payload (`4<text>` or `b<base64>`).
pub(crate) fn message_polling_len(message: &Message) -> usize {
    match message {
        Message::Text(text) => 1 + text.len(),
        Message::Binary(bytes) => 1 + base64_len(bytes.len()),
    }
}

/// Padded base64 length of `n` bytes.
fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn polling(packet: &Packet) -> Vec<u8> {
        let mut out = BytesMut::new();
        packet.encode_polling(&mut out);
        assert_eq!(out.len(), packet.polling_len(), "polling_len of {packet:?}");
        out.to_vec()
    }

    #[test]
    fn polling_forms() {
        assert_eq!(
            polling(&Packet::Message("héllo".into())),
            "4héllo".as_bytes()
        );
        assert_eq!(polling(&Packet::Message("".into())), b"4");
        let binary = Packet::Message(Message::Binary(Bytes::from_static(&[1, 2, 3, 4])));
        assert_eq!(polling(&binary), b"bAQIDBA==");
        assert_eq!(polling(&Packet::PingProbe), b"2probe");
        assert_eq!(polling(&Packet::Noop), b"6");
    }

    #[test]
    fn batch_frames_match_single_frames() {
        let binary = Packet::Message(Message::Binary(Bytes::from_static(&[1, 2])));
        let packets = [
            Packet::Message("héllo".into()),
            Packet::Ping,
            binary.clone(),
            Packet::Message("".into()),
            Packet::Message("x".into()),
            Packet::Close,
        ];
        for base64 in [false, true] {
            let single: Vec<Frame> = packets.iter().map(|p| p.to_frame(base64)).collect();
            assert_eq!(Packet::to_frames(&packets, base64), single);
        }
        assert!(Packet::to_frames(&[], false).is_empty());
        assert_eq!(
            Packet::to_frames(&[Packet::Message("a".into())], false),
            vec![Frame::Text("4a".into())]
        );
    }

    #[test]
    fn frames() {
        let binary = Packet::Message(Message::Binary(Bytes::from_static(&[1, 2])));
        assert_eq!(
            binary.to_frame(false),
            Frame::Binary(Bytes::from_static(&[1, 2]))
        );
        assert_eq!(binary.to_frame(true), Frame::Text("bAQI=".into()));
        assert_eq!(
            Packet::Message("x".into()).to_frame(false),
            Frame::Text("4x".into())
        );
        assert_eq!(
            Packet::PongProbe.to_frame(false),
            Frame::Text("3probe".into())
        );
    }
}
