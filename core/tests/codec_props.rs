//! Property tests for the packet and payload codecs.
//!
//! They prove what the unit tests in `src/packet` only sample: every packet survives both wire
//! encodings (polling record and WebSocket frame); a polling payload survives encode → decode and
//! its length is predicted exactly; the streaming [`PayloadDecoder`] gives the same packets and
//! the same first error as the whole-body decoder wherever the chunk boundaries fall (h11's
//! "same events byte by byte" check); no input makes a decoder panic; the packet cap holds; and
//! decoded text borrows the input buffer instead of copying it.
//!
//! Each property runs proptest's default 256 cases; set `PROPTEST_CASES` for a longer run.
//! Failing seeds go to `proptest-regressions/`, which is committed so that they replay forever.

use bytes::BytesMut;
use engineio_core::packet::payload::{self, PayloadDecoder, SEPARATOR};
use engineio_core::{ByteString, Bytes, DecodeError, Frame, Message, OpenPacket, Packet};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

fn open_packet() -> impl Strategy<Value = OpenPacket> {
    (
        any::<String>(),
        vec(any::<String>(), 0..4),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(
            |(sid, upgrades, ping_interval, ping_timeout, max_payload)| OpenPacket {
                sid,
                upgrades,
                ping_interval,
                ping_timeout,
                max_payload,
            },
        )
}

fn binary() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..96).prop_map(Bytes::from)
}

/// Any packet whose message texts come from `text`.
fn packet_with(text: impl Strategy<Value = String> + 'static) -> BoxedStrategy<Packet> {
    prop_oneof![
        1 => open_packet().prop_map(Packet::Open),
        1 => Just(Packet::Close),
        1 => Just(Packet::Ping),
        1 => Just(Packet::PingProbe),
        1 => Just(Packet::Pong),
        1 => Just(Packet::PongProbe),
        1 => Just(Packet::Upgrade),
        1 => Just(Packet::Noop),
        3 => text.prop_map(|text| Packet::Message(Message::Text(text.into()))),
        3 => binary().prop_map(|bytes| Packet::Message(Message::Binary(bytes))),
    ]
    .boxed()
}

/// Any packet at all: message text may contain the record separator.
fn packet() -> BoxedStrategy<Packet> {
    packet_with(any::<String>())
}

/// Text without the record separator, the only text a polling payload can carry intact.
fn payload_text() -> impl Strategy<Value = String> {
    "[^\x1e]{0,40}"
}

/// A packet that survives a polling payload.
fn payload_packet() -> BoxedStrategy<Packet> {
    packet_with(payload_text())
}

/// Bytes a decoder might see: random, drawn from the wire alphabet, valid payloads, or valid
/// payloads with one byte changed.
fn wire_bytes() -> impl Strategy<Value = Vec<u8>> {
    const ALPHABET: &[u8] =
        b"0123456b7x{}\":,[]sidprobeAQID=+/ \x1e\x1e\x1e\xc3\xa9\xe2\x82\xac\xff\x80";
    prop_oneof![
        vec(any::<u8>(), 0..96),
        vec(select(ALPHABET), 0..96),
        vec(payload_packet(), 0..6).prop_map(|packets| encode_payload(&packets).to_vec()),
        (vec(payload_packet(), 1..6), any::<Index>(), any::<u8>()).prop_map(
            |(packets, at, byte)| {
                let mut body = encode_payload(&packets).to_vec();
                let at = at.index(body.len());
                body[at] = byte;
                body
            }
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn encode_payload(packets: &[Packet]) -> Bytes {
    let mut out = BytesMut::new();
    payload::encode(packets, &mut out);
    out.freeze()
}

/// Decodes a whole body into the good packets and the error that ended it, if any.
fn decode_whole(body: &Bytes, max_packets: usize) -> (Vec<Packet>, Option<DecodeError>) {
    let mut good = Vec::new();
    let mut iter = payload::decode(body.clone(), max_packets);
    while let Some(item) = iter.next() {
        match item {
            Ok(packet) => good.push(packet),
            Err(error) => {
                assert!(iter.next().is_none(), "the iterator ends after an error");
                return (good, Some(error));
            }
        }
    }
    (good, None)
}

/// Feeds `chunks` to a [`PayloadDecoder`] and returns what it decoded and its first error.
fn decode_chunked(
    chunks: impl IntoIterator<Item = Bytes>,
    max_packets: usize,
) -> (Vec<Packet>, Option<DecodeError>) {
    let mut decoder = PayloadDecoder::new(max_packets);
    let mut out = Vec::new();
    for chunk in chunks {
        if let Err(error) = decoder.push(chunk, &mut out) {
            let len = out.len();
            // A failed decoder stays failed and decodes nothing more.
            assert_eq!(decoder.push(Bytes::from_static(b"6"), &mut out), Err(error));
            assert_eq!(decoder.finish(&mut out), Err(error));
            assert_eq!(out.len(), len);
            return (out, Some(error));
        }
    }
    let error = decoder.finish(&mut out).err();
    (out, error)
}

/// Cuts `body` at the (sorted) split points; repeated points give empty chunks.
fn split_at(body: &Bytes, points: &[Index]) -> Vec<Bytes> {
    let mut cuts: Vec<usize> = points.iter().map(|p| p.index(body.len() + 1)).collect();
    cuts.sort_unstable();
    let mut chunks = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for cut in cuts {
        chunks.push(body.slice(start..cut));
        start = cut;
    }
    chunks.push(body.slice(start..));
    chunks
}

fn inside(inner: &[u8], outer: &[u8]) -> bool {
    let outer = outer.as_ptr_range();
    let inner = inner.as_ptr_range();
    outer.start <= inner.start && inner.end <= outer.end
}

// ---------------------------------------------------------------------------------------------
// (a) single packets round-trip through both encodings
// ---------------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn packet_round_trips_as_polling_record(packet in packet()) {
        let mut out = BytesMut::new();
        packet.encode_polling(&mut out);
        prop_assert_eq!(out.len(), packet.polling_len());
        prop_assert_eq!(Packet::decode(out.freeze()), Ok(packet));
    }

    #[test]
    fn packet_round_trips_as_websocket_frame(packet in packet()) {
        let frame = packet.to_frame(false);
        let is_binary = matches!(packet, Packet::Message(Message::Binary(_)));
        prop_assert_eq!(matches!(frame, Frame::Binary(_)), is_binary);
        prop_assert_eq!(Packet::from_frame(frame), Ok(packet.clone()));

        // `b64=1`: everything travels in text frames, binary as `b<base64>`.
        let frame = packet.to_frame(true);
        prop_assert!(matches!(frame, Frame::Text(_)));
        prop_assert_eq!(Packet::from_frame(frame), Ok(packet));
    }

    #[test]
    fn base64_frame_text_equals_polling_record(packet in packet()) {
        let mut record = BytesMut::new();
        packet.encode_polling(&mut record);
        let Frame::Text(text) = packet.to_frame(true) else {
            unreachable!("to_frame(true) is always text");
        };
        prop_assert_eq!(text.as_bytes(), &record[..]);
    }
}

// ---------------------------------------------------------------------------------------------
// (b) payloads round-trip; `encoded_len` is exact; `0x1e` in text splits the payload
// ---------------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn payload_round_trips(packets in vec(payload_packet(), 1..16)) {
        let body = encode_payload(&packets);
        prop_assert_eq!(payload::encoded_len(&packets), body.len());
        let decoded: Result<Vec<_>, _> = payload::decode(body.clone(), packets.len()).collect();
        prop_assert_eq!(decoded, Ok(packets.clone()));
        prop_assert_eq!(decode_chunked([body], packets.len()), (packets, None));
    }

    #[test]
    fn encoded_len_is_exact_for_any_packets(packets in vec(packet(), 0..16)) {
        prop_assert_eq!(payload::encoded_len(&packets), encode_payload(&packets).len());
    }

    /// The reference documents no escaping: `\x1e` inside a text message ends the record, so
    /// `a\x1e4b` arrives as the two messages `a` and `b`.
    #[test]
    fn separator_in_text_splits_the_payload(a in payload_text(), b in payload_text()) {
        let smuggled = Packet::Message(format!("{a}{}4{b}", char::from(SEPARATOR)).into());
        let body = encode_payload(std::slice::from_ref(&smuggled));
        let decoded: Result<Vec<_>, _> = payload::decode(body, 16).collect();
        prop_assert_eq!(
            decoded,
            Ok(vec![Packet::Message(a.into()), Packet::Message(b.into())])
        );
    }
}

#[test]
fn separator_in_text_splits_the_payload_example() {
    let body = encode_payload(&[Packet::Message("one\x1etwo".into())]);
    assert_eq!(&body[..], b"4one\x1etwo");
    let decoded: Vec<_> = payload::decode(body, 16).collect();
    assert_eq!(
        decoded,
        vec![
            Ok(Packet::Message("one".into())),
            Err(DecodeError::UnknownType(b't'))
        ]
    );
    // A single packet (one WebSocket frame, one record) may carry it.
    let packet = Packet::Message("one\x1etwo".into());
    assert_eq!(Packet::from_frame(packet.to_frame(false)), Ok(packet));
}

#[test]
fn empty_payload_is_an_error() {
    let body = encode_payload(&[]);
    assert!(body.is_empty());
    assert_eq!(decode_whole(&body, 16), (vec![], Some(DecodeError::Empty)));
    assert_eq!(
        decode_chunked([body], 16),
        (vec![], Some(DecodeError::Empty))
    );
}

// ---------------------------------------------------------------------------------------------
// (c) chunk-split invariance of the streaming decoder
// ---------------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn chunked_decoding_matches_whole_decoding(
        body in wire_bytes(),
        points in vec(any::<Index>(), 0..8),
        max_packets in 0usize..12,
    ) {
        let body = Bytes::from(body);
        let whole = decode_whole(&body, max_packets);
        prop_assert_eq!(&decode_chunked(split_at(&body, &points), max_packets), &whole);
        let bytewise = (0..body.len()).map(|i| body.slice(i..=i));
        prop_assert_eq!(&decode_chunked(bytewise, max_packets), &whole);
    }

    #[test]
    fn chunked_valid_payload_decodes_fully(
        packets in vec(payload_packet(), 1..12),
        points in vec(any::<Index>(), 0..12),
    ) {
        let body = encode_payload(&packets);
        prop_assert_eq!(
            decode_chunked(split_at(&body, &points), packets.len()),
            (packets, None)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// (d) no input panics a decoder
// ---------------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn decoders_never_panic(body in wire_bytes(), max_packets in 0usize..12) {
        let bytes = Bytes::from(body);
        let _ = Packet::decode(bytes.clone());
        let _ = Packet::from_frame(Frame::Binary(bytes.clone()));
        if let Ok(text) = ByteString::try_from(bytes.clone()) {
            let _ = Packet::from_frame(Frame::Text(text));
        }
        let _ = OpenPacket::parse(&bytes);
        let _ = payload::decode(bytes, max_packets).count();
    }

    #[test]
    fn open_parser_never_panics(json in r#"[{}\[\]",:0-9a-zA-Z\\\-.eE ]{0,80}"#) {
        let _ = OpenPacket::parse(json.as_bytes());
        let mut record = b"0".to_vec();
        record.extend_from_slice(json.as_bytes());
        let _ = Packet::decode(record.into());
    }
}

// ---------------------------------------------------------------------------------------------
// (e) the packet cap
// ---------------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn decoding_never_exceeds_the_cap(
        body in wire_bytes(),
        points in vec(any::<Index>(), 0..8),
        max_packets in 0usize..6,
    ) {
        let body = Bytes::from(body);
        let (good, _) = decode_whole(&body, max_packets);
        prop_assert!(good.len() <= max_packets);
        let (good, _) = decode_chunked(split_at(&body, &points), max_packets);
        prop_assert!(good.len() <= max_packets);
    }

    #[test]
    fn cap_cuts_a_valid_payload_exactly(
        packets in vec(payload_packet(), 1..12),
        max_packets in 0usize..12,
    ) {
        let body = encode_payload(&packets);
        let expected = if packets.len() <= max_packets {
            (packets.clone(), None)
        } else {
            (packets[..max_packets].to_vec(), Some(DecodeError::TooManyPackets))
        };
        prop_assert_eq!(&decode_whole(&body, max_packets), &expected);
        prop_assert_eq!(&decode_chunked([body], max_packets), &expected);
    }
}

// ---------------------------------------------------------------------------------------------
// (f) decoded text borrows the input
// ---------------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn payload_text_shares_the_body(packets in vec(payload_packet(), 1..12)) {
        let body = encode_payload(&packets);
        let decoded: Vec<_> = payload::decode(body.clone(), packets.len())
            .collect::<Result<_, _>>()
            .expect("a valid payload");
        let mut offset = 0;
        for (sent, got) in packets.iter().zip(&decoded) {
            if let Packet::Message(Message::Text(text)) = got {
                if !text.is_empty() {
                    // The text starts right after the record's `4`.
                    prop_assert_eq!(text.as_bytes().as_ptr(), body[offset + 1..].as_ptr());
                }
            }
            offset += sent.polling_len() + 1;
        }
    }

    /// One chunk through the streaming decoder: every record but the last is followed by a
    /// separator inside the chunk and must borrow it.
    #[test]
    fn streamed_text_shares_the_chunk(packets in vec(payload_packet(), 1..12)) {
        let body = encode_payload(&packets);
        let mut decoder = PayloadDecoder::new(packets.len());
        let mut out = Vec::new();
        decoder.push(body.clone(), &mut out).expect("a valid payload");
        prop_assert_eq!(out.len(), packets.len() - 1);
        for packet in &out {
            if let Packet::Message(Message::Text(text)) = packet {
                prop_assert!(text.is_empty() || inside(text.as_bytes(), &body));
            }
        }
    }

    #[test]
    fn frame_text_shares_the_frame(text in any::<String>()) {
        let frame: ByteString = format!("4{text}").into();
        let Ok(Packet::Message(Message::Text(got))) = Packet::from_frame(Frame::Text(frame.clone()))
        else {
            panic!("a text message");
        };
        prop_assert!(got.is_empty() || inside(got.as_bytes(), frame.as_bytes()));
    }
}

// Regressions: two disagreements between the code and its documentation, found while writing
// the properties above and fixed since.

/// With `max_packets == 0` an empty body gives the same error whole and streamed.
#[test]
fn empty_body_with_zero_cap_gives_one_error() {
    assert_eq!(
        decode_whole(&Bytes::new(), 0),
        decode_chunked([Bytes::new()], 0)
    );
}

/// The last record of a body that arrives in one chunk is not copied.
#[test]
fn streamed_last_record_shares_the_chunk() {
    let body = Bytes::from_static(b"4hello\x1e4world");
    let mut decoder = PayloadDecoder::new(8);
    let mut out = Vec::new();
    decoder
        .push(body.clone(), &mut out)
        .expect("a valid payload");
    decoder.finish(&mut out).expect("a valid payload");
    let Packet::Message(Message::Text(text)) = &out[1] else {
        panic!("a text message");
    };
    assert!(inside(text.as_bytes(), &body), "the last record was copied");
}
