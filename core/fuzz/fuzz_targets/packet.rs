//! Fuzzes single-packet decoding: no bytes make `Packet::decode` or `Packet::from_frame` panic,
//! and whatever decodes re-encodes (polling record, raw and `b64` frames) to the same packet, so
//! the decoder accepts nothing the encoder cannot reproduce.
#![no_main]

use bytes::BytesMut;
use engineio_core::{ByteString, Bytes, Frame, Packet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    if let Ok(packet) = Packet::decode(bytes.clone()) {
        round_trip(&packet);
    }
    if let Ok(text) = ByteString::try_from(bytes) {
        if let Ok(packet) = Packet::from_frame(Frame::Text(text)) {
            round_trip(&packet);
        }
    }
});

fn round_trip(packet: &Packet) {
    let mut record = BytesMut::new();
    packet.encode_polling(&mut record);
    assert_eq!(
        record.len(),
        packet.polling_len(),
        "polling_len of {packet:?}"
    );
    assert_eq!(Packet::decode(record.freeze()).as_ref(), Ok(packet));
    for base64 in [false, true] {
        let frame = packet.to_frame(base64);
        assert_eq!(Packet::from_frame(frame).as_ref(), Ok(packet));
    }
}
