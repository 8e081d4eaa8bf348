//! Polling payloads: packets joined by the record separator `0x1e`.
//!
//! There is no escaping and no trailing separator, so a payload of `n` packets has `n - 1`
//! separators. Decoding stops at the first bad record: the packets before it are good and are
//! delivered; the error then closes the session (the reference's "parse error").
//!
//! [`decode`] walks a complete body; [`PayloadDecoder`] takes the body in chunks as it streams in
//! and yields the same packets whatever the chunk boundaries are.

use bytes::{Bytes, BytesMut};

use super::{DecodeError, Packet};

/// The record separator between packets of a polling payload.
pub const SEPARATOR: u8 = 0x1e;

/// Appends `packets` to `out` as one payload.
pub fn encode<'a>(packets: impl IntoIterator<Item = &'a Packet>, out: &mut BytesMut) {
    for (index, packet) in packets.into_iter().enumerate() {
        if index > 0 {
            out.extend_from_slice(&[SEPARATOR]);
        }
        packet.encode_polling(out);
    }
}

/// Returns the exact length [`encode`] writes for `packets`.
pub fn encoded_len<'a>(packets: impl IntoIterator<Item = &'a Packet>) -> usize {
    packets
        .into_iter()
        .enumerate()
        .map(|(index, packet)| usize::from(index > 0) + packet.polling_len())
        .sum()
}

/// Decodes a complete payload, yielding packets until the end or the first error.
///
/// At most `max_packets` records are decoded; one more yields [`DecodeError::TooManyPackets`].
/// An empty body yields [`DecodeError::Empty`], as in the reference parser.
pub fn decode(body: Bytes, max_packets: usize) -> PayloadIter {
    PayloadIter {
        rest: Some(body),
        remaining: max_packets,
    }
}

/// The iterator returned by [`decode`]; it ends after the first error.
#[derive(Debug)]
pub struct PayloadIter {
    rest: Option<Bytes>,
    remaining: usize,
}

impl Iterator for PayloadIter {
    type Item = Result<Packet, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut rest = self.rest.take()?;
        if self.remaining == 0 {
            return Some(Err(DecodeError::TooManyPackets));
        }
        self.remaining -= 1;
        let record = match memchr::memchr(SEPARATOR, &rest) {
            Some(at) => {
                let record = rest.split_to(at);
                bytes::Buf::advance(&mut rest, 1);
                self.rest = Some(rest);
                record
            }
            None => rest,
        };
        let packet = Packet::decode(record);
        if packet.is_err() {
            self.rest = None;
        }
        Some(packet)
    }
}

/// Decodes a payload that arrives in chunks (a streamed POST body).
///
/// Records that lie inside one chunk are decoded without copying, the last one included (the
/// uncut tail of a chunk is kept as a slice of it). Only a record cut by a chunk boundary is
/// copied into an internal buffer, which therefore never holds more than the longest record.
/// The caller bounds the total body size (`maxPayload`); the decoder bounds the packet count.
#[derive(Debug)]
pub struct PayloadDecoder {
    /// The uncut end of the last chunk, not copied yet.
    tail: Bytes,
    /// A record that spans chunks, copied together.
    partial: BytesMut,
    remaining: usize,
    failed: Option<DecodeError>,
}

impl PayloadDecoder {
    /// Creates a decoder that accepts at most `max_packets` packets.
    pub fn new(max_packets: usize) -> Self {
        Self {
            tail: Bytes::new(),
            partial: BytesMut::new(),
            remaining: max_packets,
            failed: None,
        }
    }

    /// Feeds the next chunk, appending every packet it completes to `out`.
    ///
    /// After an error every later call returns the same error and decodes nothing more.
    pub fn push(&mut self, mut chunk: Bytes, out: &mut Vec<Packet>) -> Result<(), DecodeError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        if chunk.is_empty() {
            return Ok(());
        }
        if !self.tail.is_empty() {
            // The previous chunk's tail continues in this chunk: the record spans chunks.
            let tail = std::mem::take(&mut self.tail);
            self.partial.extend_from_slice(&tail);
        }
        while let Some(at) = memchr::memchr(SEPARATOR, &chunk) {
            let head = chunk.split_to(at);
            bytes::Buf::advance(&mut chunk, 1);
            let record = if self.partial.is_empty() {
                head
            } else {
                self.partial.extend_from_slice(&head);
                self.partial.split().freeze()
            };
            self.decode_record(record, out)?;
        }
        if self.partial.is_empty() {
            self.tail = chunk;
        } else {
            self.partial.extend_from_slice(&chunk);
        }
        Ok(())
    }

    /// Ends the payload, decoding the last record into `out`.
    pub fn finish(&mut self, out: &mut Vec<Packet>) -> Result<(), DecodeError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        let record = if self.partial.is_empty() {
            std::mem::take(&mut self.tail)
        } else {
            self.partial.split().freeze()
        };
        // An empty body is one empty record, as in `decode`: the packet cap is checked first.
        self.decode_record(record, out)?;
        // Poison the decoder so that a second `finish` cannot decode an empty record.
        self.failed = Some(DecodeError::Empty);
        Ok(())
    }

    fn decode_record(&mut self, record: Bytes, out: &mut Vec<Packet>) -> Result<(), DecodeError> {
        if self.remaining == 0 {
            return self.fail(DecodeError::TooManyPackets);
        }
        self.remaining -= 1;
        match Packet::decode(record) {
            Ok(packet) => {
                out.push(packet);
                Ok(())
            }
            Err(error) => self.fail(error),
        }
    }

    fn fail(&mut self, error: DecodeError) -> Result<(), DecodeError> {
        self.failed = Some(error);
        self.tail = Bytes::new();
        self.partial = BytesMut::new();
        Err(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::Message;

    fn all(body: &'static [u8]) -> Vec<Result<Packet, DecodeError>> {
        decode(Bytes::from_static(body), 100).collect()
    }

    #[test]
    fn decodes_the_reference_batches() {
        assert_eq!(
            all(b"4test1\x1e4test2\x1e4test3"),
            vec![
                Ok(Packet::Message("test1".into())),
                Ok(Packet::Message("test2".into())),
                Ok(Packet::Message("test3".into())),
            ]
        );
        assert_eq!(
            all(b"4hello\x1ebAQIDBA=="),
            vec![
                Ok(Packet::Message("hello".into())),
                Ok(Packet::Message(Message::Binary(Bytes::from_static(&[
                    1, 2, 3, 4
                ])))),
            ]
        );
    }

    #[test]
    fn stops_at_the_first_error() {
        assert_eq!(
            all(b"4a\x1ex\x1e4b"),
            vec![
                Ok(Packet::Message("a".into())),
                Err(DecodeError::UnknownType(b'x'))
            ]
        );
        assert_eq!(all(b""), vec![Err(DecodeError::Empty)]);
        assert_eq!(
            all(b"4a\x1e"),
            vec![Ok(Packet::Message("a".into())), Err(DecodeError::Empty)]
        );
    }

    #[test]
    fn caps_the_packet_count() {
        let got: Vec<_> = decode(Bytes::from_static(b"6\x1e6\x1e6"), 2).collect();
        assert_eq!(
            got,
            vec![
                Ok(Packet::Noop),
                Ok(Packet::Noop),
                Err(DecodeError::TooManyPackets)
            ]
        );
        let mut decoder = PayloadDecoder::new(2);
        let mut out = Vec::new();
        assert_eq!(
            decoder.push(Bytes::from_static(b"6\x1e6\x1e6"), &mut out),
            Ok(())
        );
        assert_eq!(decoder.finish(&mut out), Err(DecodeError::TooManyPackets));
        assert_eq!(out, vec![Packet::Noop, Packet::Noop]);
    }

    #[test]
    fn streaming_matches_whole_decoding() {
        let body = b"4hello\x1ebAQIDBA==\x1e4w\xc3\xb6rld\x1e2";
        for split in 0..=body.len() {
            let mut decoder = PayloadDecoder::new(100);
            let mut out = Vec::new();
            decoder
                .push(Bytes::copy_from_slice(&body[..split]), &mut out)
                .unwrap();
            decoder
                .push(Bytes::copy_from_slice(&body[split..]), &mut out)
                .unwrap();
            decoder.finish(&mut out).unwrap();
            let whole: Vec<_> = decode(Bytes::from_static(body), 100)
                .map(Result::unwrap)
                .collect();
            assert_eq!(out, whole, "split at {split}");
        }
    }

    #[test]
    fn encodes_with_separators_only_between() {
        let packets = [Packet::Message("a".into()), Packet::Ping, Packet::Close];
        let mut out = BytesMut::new();
        encode(&packets, &mut out);
        assert_eq!(&out[..], b"4a\x1e2\x1e1");
        assert_eq!(encoded_len(&packets), out.len());
    }
}
