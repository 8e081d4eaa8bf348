//! Codec benchmarks: single packets and polling payloads, both directions.
//!
//! Targets (release build, one core of an ordinary x86-64 machine):
//!
//! - a 32-byte message packet (`4` + 32 bytes of text, or `b<base64>` of 32 raw bytes) decodes
//!   and encodes in **under 50 ns**;
//! - a polling payload of large messages (4 × 256 KiB text) decodes at **over 1 GB/s**.
//!
//! The codec is the only per-byte work the core does, so these numbers bound what any runtime
//! built on it can reach. Run with `cargo bench -p engineio-core --bench codec`; add
//! `-- --warm-up-time 1 --measurement-time 2` for a quick pass. `cargo test --benches` runs each
//! benchmark once as a smoke test.

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use engineio_core::packet::payload::{self, PayloadDecoder};
use engineio_core::{Bytes, Message, Packet};

/// 32 bytes of ASCII text, the size of a typical small application message.
const TEXT_32: &str = "0123456789abcdef0123456789ABCDEF";

fn single_packets(c: &mut Criterion) {
    let text = Packet::Message(TEXT_32.into());
    let binary = Packet::Message(Message::Binary(Bytes::from(TEXT_32.as_bytes().to_vec())));
    for (name, packet) in [("text_32", text), ("binary_32", binary)] {
        let mut record = BytesMut::new();
        packet.encode_polling(&mut record);
        let record = record.freeze();
        let frame = packet.to_frame(false);

        let mut group = c.benchmark_group(format!("packet/{name}"));
        group.throughput(Throughput::Bytes(record.len() as u64));
        // The record arrives owned (a slice of a body or a frame): handing the decoder a
        // clone is the harness's work, so it happens outside the timed routine.
        group.bench_function("decode", |b| {
            b.iter_batched(
                || record.clone(),
                |record| Packet::decode(black_box(record)),
                BatchSize::SmallInput,
            )
        });
        group.bench_function("encode_polling", |b| {
            let mut out = BytesMut::with_capacity(256);
            b.iter(|| {
                out.clear();
                black_box(&packet).encode_polling(&mut out);
                black_box(out.len())
            })
        });
        group.bench_function("from_frame", |b| {
            b.iter_batched(
                || frame.clone(),
                |frame| Packet::from_frame(black_box(frame)),
                BatchSize::SmallInput,
            )
        });
        group.bench_function("to_frame", |b| {
            b.iter(|| black_box(&packet).to_frame(false))
        });
        group.finish();
    }
}

/// 16 small packets, as a busy session's GET response might carry.
fn small_packets() -> Vec<Packet> {
    (0..16)
        .map(|i| match i % 4 {
            0 => Packet::Message(format!("{{\"event\":\"tick\",\"n\":{i}}}").into()),
            1 => Packet::Message(Message::Binary(Bytes::from(vec![i as u8; 24]))),
            2 => Packet::Message("hello".into()),
            _ => Packet::Noop,
        })
        .collect()
}

/// Four 256 KiB text messages: bulk transfer over polling.
fn large_packets() -> Vec<Packet> {
    let text: String = TEXT_32.repeat(256 * 1024 / TEXT_32.len());
    (0..4)
        .map(|_| Packet::Message(text.clone().into()))
        .collect()
}

fn payloads(c: &mut Criterion) {
    for (name, packets) in [("16_small", small_packets()), ("4x256KiB", large_packets())] {
        let mut body = BytesMut::new();
        payload::encode(&packets, &mut body);
        let body = body.freeze();
        let max = packets.len();

        let mut group = c.benchmark_group(format!("payload/{name}"));
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function("encode", |b| {
            let mut out = BytesMut::with_capacity(body.len());
            b.iter(|| {
                out.clear();
                payload::encode(black_box(&packets), &mut out);
                black_box(out.len())
            })
        });
        group.bench_function("decode", |b| {
            let mut out = Vec::with_capacity(max);
            b.iter(|| {
                out.clear();
                for packet in payload::decode(black_box(body.clone()), max) {
                    out.push(packet.expect("a valid payload"));
                }
                black_box(out.len())
            })
        });
        // The streaming decoder, as a runtime feeds it a POST body: in one chunk, and in 16 KiB
        // chunks (a common HTTP body frame size), where records cut by a boundary are copied.
        let mut chunk_sizes = vec![body.len()];
        if body.len() > 16 * 1024 {
            chunk_sizes.push(16 * 1024);
        }
        for chunk in chunk_sizes {
            let chunks: Vec<Bytes> = (0..body.len())
                .step_by(chunk)
                .map(|start| body.slice(start..body.len().min(start + chunk)))
                .collect();
            let id = BenchmarkId::new("decode_streamed", format!("{}_chunks", chunks.len()));
            group.bench_function(id, |b| {
                let mut out = Vec::with_capacity(max);
                b.iter(|| {
                    out.clear();
                    let mut decoder = PayloadDecoder::new(max);
                    for chunk in &chunks {
                        decoder
                            .push(black_box(chunk.clone()), &mut out)
                            .expect("valid");
                    }
                    decoder.finish(&mut out).expect("a valid payload");
                    black_box(out.len())
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, single_packets, payloads);
criterion_main!(benches);
