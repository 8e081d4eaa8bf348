//! Decoding of single packets: one WebSocket frame or one polling record.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use bytes::Bytes;
use bytestring::ByteString;

use super::{DecodeError, Frame, Message, OpenPacket, Packet, PacketType};

/// Standard alphabet, padding optional on input (Node's decoder is lenient, so clients may omit it).
pub(crate) const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

impl Packet {
    /// Decodes one text-encoded packet: a polling record or the text of a WebSocket text frame.
    ///
    /// A record starting with `b` is a base64 binary message (the v4 polling form). Message text
    /// is checked to be UTF-8 and shares memory with `record`.
    pub fn decode(record: Bytes) -> Result<Self, DecodeError> {
        decode_text(record)
    }

    /// Decodes the packet carried by one WebSocket frame.
    ///
    /// A binary frame is always a binary message (v4 sends no type byte). A text frame is decoded
    /// like a polling record, so a client that asked for `b64=1` may send `b<base64>` there too.
    pub fn from_frame(frame: Frame) -> Result<Self, DecodeError> {
        match frame {
            Frame::Binary(bytes) => Ok(Self::Message(Message::Binary(bytes))),
            // A text message keeps the frame's already-checked UTF-8 without a second pass.
            Frame::Text(text) if text.starts_with('4') => {
                Ok(Self::Message(Message::Text(text.slice_ref(&text[1..]))))
            }
            Frame::Text(text) => decode_text(text.into_bytes()),
        }
    }
}

fn decode_text(record: Bytes) -> Result<Packet, DecodeError> {
    let Some(&first) = record.first() else {
        return Err(DecodeError::Empty);
    };
    if first == b'b' {
        return decode_base64(&record[1..]).map(|bytes| Packet::Message(Message::Binary(bytes)));
    }
    let kind = PacketType::from_byte(first).ok_or(DecodeError::UnknownType(first))?;
    let data = record.slice(1..);
    Ok(match kind {
        PacketType::Open => Packet::Open(OpenPacket::parse(&data)?),
        PacketType::Close => Packet::Close,
        PacketType::Ping if &data[..] == b"probe" => Packet::PingProbe,
        PacketType::Ping => Packet::Ping,
        PacketType::Pong if &data[..] == b"probe" => Packet::PongProbe,
        PacketType::Pong => Packet::Pong,
        PacketType::Message => Packet::Message(Message::Text(
            ByteString::try_from(data).map_err(|_| DecodeError::InvalidUtf8)?,
        )),
        PacketType::Upgrade => Packet::Upgrade,
        PacketType::Noop => Packet::Noop,
    })
}

/// Decoded binary messages up to this size are decoded on the stack first.
const SMALL_BINARY: usize = 64;

fn decode_base64(encoded: &[u8]) -> Result<Bytes, DecodeError> {
    // The output is sized exactly (3 bytes per 4 symbols, padding excluded), so the vector
    // becomes `Bytes` without a second allocation and never holds more than the input justifies.
    let padding = match encoded {
        [.., b'=', b'='] => 2,
        [.., b'='] => 1,
        _ => 0,
    };
    let symbols = encoded.len() - padding;
    let len = symbols / 4 * 3 + (symbols % 4 * 3) / 4;
    if len <= SMALL_BINARY {
        // Small messages decode on the stack and are copied once: cheaper than a zeroed
        // allocation (`calloc`) of the exact size.
        let mut out = [0; SMALL_BINARY];
        let written = LENIENT_BASE64
            .decode_slice(encoded, &mut out[..len])
            .map_err(|_| DecodeError::InvalidBase64)?;
        return Ok(Bytes::copy_from_slice(&out[..written]));
    }
    let mut out = vec![0; len];
    let written = LENIENT_BASE64
        .decode_slice(encoded, &mut out)
        .map_err(|_| DecodeError::InvalidBase64)?;
    out.truncate(written);
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(s: &'static str) -> Result<Packet, DecodeError> {
        Packet::decode(Bytes::from_static(s.as_bytes()))
    }

    #[test]
    fn decodes_every_type() {
        assert_eq!(decode("1"), Ok(Packet::Close));
        assert_eq!(decode("2"), Ok(Packet::Ping));
        assert_eq!(decode("2probe"), Ok(Packet::PingProbe));
        assert_eq!(decode("3"), Ok(Packet::Pong));
        assert_eq!(decode("3probe"), Ok(Packet::PongProbe));
        assert_eq!(decode("4hello"), Ok(Packet::Message("hello".into())));
        assert_eq!(decode("4"), Ok(Packet::Message("".into())));
        assert_eq!(decode("5"), Ok(Packet::Upgrade));
        assert_eq!(decode("6"), Ok(Packet::Noop));
    }

    #[test]
    fn decodes_base64_with_and_without_padding() {
        let expected = Ok(Packet::Message(Message::Binary(Bytes::from_static(&[
            1, 2, 3, 4,
        ]))));
        assert_eq!(decode("bAQIDBA=="), expected);
        assert_eq!(decode("bAQIDBA"), expected);
        assert_eq!(
            decode("b"),
            Ok(Packet::Message(Message::Binary(Bytes::new())))
        );
        assert_eq!(decode("b!!!"), Err(DecodeError::InvalidBase64));
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(decode(""), Err(DecodeError::Empty));
        assert_eq!(decode("abc"), Err(DecodeError::UnknownType(b'a')));
        assert_eq!(decode("7"), Err(DecodeError::UnknownType(b'7')));
        assert_eq!(decode("0{"), Err(DecodeError::InvalidOpen));
        assert_eq!(
            Packet::decode(Bytes::from_static(b"4\xff")),
            Err(DecodeError::InvalidUtf8)
        );
    }

    #[test]
    fn text_shares_the_input_buffer() {
        let input = Bytes::from_static(b"4shared");
        let Ok(Packet::Message(Message::Text(text))) = Packet::decode(input.clone()) else {
            panic!("expected a text message");
        };
        assert_eq!(text.as_bytes().as_ptr(), input[1..].as_ptr());
    }

    #[test]
    fn binary_frames_are_raw() {
        let frame = Frame::Binary(Bytes::from_static(b"4abc"));
        assert_eq!(
            Packet::from_frame(frame),
            Ok(Packet::Message(Message::Binary(Bytes::from_static(
                b"4abc"
            ))))
        );
    }
}
