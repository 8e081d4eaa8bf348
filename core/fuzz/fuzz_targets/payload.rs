//! Fuzzes polling payloads: the streaming `PayloadDecoder` must yield the same packets and the
//! same first error as `payload::decode` of the whole body, wherever the chunks are cut, and
//! neither may yield more than `max_packets` packets.
#![no_main]

use arbitrary::Arbitrary;
use engineio_core::packet::payload::{self, PayloadDecoder};
use engineio_core::Bytes;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    max_packets: u8,
    splits: Vec<u16>,
    body: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let (body, max) = (Bytes::from(input.body), usize::from(input.max_packets % 32));
    let mut good = Vec::new();
    let error = payload::decode(body.clone(), max).find_map(|r| r.map(|p| good.push(p)).err());
    let mut cuts: Vec<_> = input
        .splits
        .iter()
        .map(|&s| usize::from(s) % (body.len() + 1))
        .collect();
    cuts.sort_unstable();
    let (mut decoder, mut out, mut start, mut streamed) =
        (PayloadDecoder::new(max), vec![], 0, Ok(()));
    for end in cuts.into_iter().chain([body.len()]) {
        streamed = streamed.and_then(|()| decoder.push(body.slice(start..end), &mut out));
        start = end;
    }
    streamed = streamed.and_then(|()| decoder.finish(&mut out));
    assert!(good.len() <= max);
    assert_eq!((out, streamed.err()), (good, error));
});
