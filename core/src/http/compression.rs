//! HTTP compression of polling response bodies.
//!
//! Long-polling responses can batch many packets, and users want gzip for them
//! (engine.io#138); both reference servers offer gzip and deflate above a size threshold. This
//! module holds only the pure parts: choosing an encoding from `Accept-Encoding` and compressing a
//! body in memory. The threshold and the decision to compress live with the caller.
//!
//! Unlike python-engineio, which takes the first of gzip/deflate in header order and ignores
//! q-values, [`negotiate`] honours q-values (so `gzip;q=0` really refuses gzip), as the JS
//! server's `accepts` does. WebSocket permessage-deflate is a different mechanism and is not
//! handled here (it is a known memory hazard, user-voice item 8).

use std::io::Write;

use bytes::Bytes;
use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;
use http::HeaderValue;

/// A content coding the server can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `gzip` (RFC 1952).
    Gzip,
    /// `deflate`, which HTTP defines as the zlib format (RFC 1950), not raw deflate.
    Deflate,
}

impl Encoding {
    /// The `Content-Encoding` value: "gzip" / "deflate".
    pub fn header_value(self) -> HeaderValue {
        match self {
            Self::Gzip => HeaderValue::from_static("gzip"),
            Self::Deflate => HeaderValue::from_static("deflate"),
        }
    }
}

/// Picks gzip or deflate from an Accept-Encoding header, honouring q-values (q=0 refuses; higher
/// q wins; on a tie gzip before deflate; `*` counts for both; identity-only or absent → None).
///
/// `x-gzip` counts as `gzip` (RFC 9110 §8.4.1.3). Items that cannot be parsed (a bad q-value, a
/// non-UTF-8 header) are ignored, so garbage yields `None` and the body goes out uncompressed.
pub fn negotiate(accept_encoding: Option<&HeaderValue>) -> Option<Encoding> {
    let header = accept_encoding?.to_str().ok()?;
    // The highest q (in thousandths) given explicitly to each coding, and to `*`.
    let mut gzip: Option<u16> = None;
    let mut deflate: Option<u16> = None;
    let mut star: Option<u16> = None;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        let Some(q) = parse_params(parts) else {
            continue;
        };
        let slot = if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            &mut gzip
        } else if coding.eq_ignore_ascii_case("deflate") {
            &mut deflate
        } else if coding == "*" {
            &mut star
        } else {
            continue;
        };
        *slot = Some(slot.map_or(q, |old| old.max(q)));
    }
    let gzip = gzip.or(star).unwrap_or(0);
    let deflate = deflate.or(star).unwrap_or(0);
    match (gzip, deflate) {
        (0, 0) => None,
        (g, d) if g >= d => Some(Encoding::Gzip),
        _ => Some(Encoding::Deflate),
    }
}

/// Reads the parameters after a coding and returns its q-value in thousandths (1000 when absent);
/// `None` when a q parameter is malformed.
fn parse_params<'a>(params: impl Iterator<Item = &'a str>) -> Option<u16> {
    let mut q = 1000;
    for param in params {
        let param = param.trim();
        if param.is_empty() {
            continue;
        }
        let (name, value) = param.split_once('=')?;
        if name.trim().eq_ignore_ascii_case("q") {
            q = parse_qvalue(value.trim())?;
        }
    }
    Some(q)
}

/// Parses an RFC 9110 qvalue (`0[.ddd]` or `1[.000]`) into thousandths.
fn parse_qvalue(value: &str) -> Option<u16> {
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, digit) in frac.bytes().enumerate() {
        thousandths += u16::from(digit - b'0') * [100, 10, 1][i];
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// Compresses a body (gzip via flate2 GzEncoder; "deflate" is the zlib format, ZlibEncoder, as in
/// the JS and Python servers), default compression level.
///
/// The work is done synchronously in memory; callers compress only bodies above their threshold,
/// and polling bodies are bounded by the payload limit.
pub fn compress(encoding: Encoding, body: &[u8]) -> Bytes {
    // Compressed output is usually much smaller; start modest and let the Vec grow.
    let out = Vec::with_capacity(body.len() / 2 + 64);
    let result = match encoding {
        Encoding::Gzip => {
            let mut encoder = GzEncoder::new(out, Compression::default());
            encoder.write_all(body).and_then(|()| encoder.finish())
        }
        Encoding::Deflate => {
            let mut encoder = ZlibEncoder::new(out, Compression::default());
            encoder.write_all(body).and_then(|()| encoder.finish())
        }
    };
    // The sink is a Vec, whose writes cannot fail.
    Bytes::from(result.expect("compressing into a Vec cannot fail"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::{GzDecoder, ZlibDecoder};
    use std::io::Read;

    fn neg(header: &str) -> Option<Encoding> {
        negotiate(Some(&HeaderValue::from_str(header).unwrap()))
    }

    #[test]
    fn header_values() {
        assert_eq!(Encoding::Gzip.header_value(), "gzip");
        assert_eq!(Encoding::Deflate.header_value(), "deflate");
    }

    #[test]
    fn negotiation_table() {
        use Encoding::{Deflate, Gzip};
        let table: &[(&str, Option<Encoding>)] = &[
            ("gzip", Some(Gzip)),
            ("deflate", Some(Deflate)),
            ("gzip, deflate", Some(Gzip)),
            ("deflate, gzip", Some(Gzip)),
            ("gzip, deflate, br", Some(Gzip)),
            ("br", None),
            ("gzip;q=0, deflate", Some(Deflate)),
            ("deflate, gzip;q=0.5", Some(Deflate)),
            ("gzip;q=0.5, deflate;q=0.5", Some(Gzip)),
            ("gzip;q=0.4, deflate;q=0.401", Some(Deflate)),
            ("gzip;q=0, deflate;q=0", None),
            ("*", Some(Gzip)),
            ("*;q=0", None),
            ("gzip;q=0, *", Some(Deflate)),
            ("deflate;q=0.2, *;q=0.5", Some(Gzip)),
            ("*;q=0.1, deflate", Some(Deflate)),
            ("identity", None),
            ("identity;q=1, *;q=0", None),
            ("", None),
            ("garbage", None),
            (";;;,,,", None),
            ("gzip;q=abc", None),
            ("gzip;q=2", None),
            ("gzip;q=1.5", None),
            ("gzip;q=0.1234", None),
            ("gzip;q=abc, deflate", Some(Deflate)),
            ("gzip;level", None),
            ("  GZIP ; Q=0.8 ,  Deflate ;q=0.9 ", Some(Deflate)),
            ("x-gzip", Some(Gzip)),
            ("gzip;q=1.000", Some(Gzip)),
            ("gzip;q=0.000", None),
            ("gzip;q=0, gzip;q=0.5", Some(Gzip)),
            ("gzip;foo=bar;q=0.3, deflate;q=0.2", Some(Gzip)),
        ];
        for (header, expected) in table {
            assert_eq!(neg(header), *expected, "{header:?}");
        }
    }

    #[test]
    fn absent_or_non_utf8_header() {
        assert_eq!(negotiate(None), None);
        let value = HeaderValue::from_bytes(b"gzip\xff").unwrap();
        assert_eq!(negotiate(Some(&value)), None);
    }

    #[test]
    fn gzip_round_trip() {
        let body = "4hello\x1e".repeat(500);
        let compressed = compress(Encoding::Gzip, body.as_bytes());
        assert!(compressed.len() < body.len());
        assert_eq!(&compressed[..2], &[0x1f, 0x8b], "gzip magic");
        let mut out = String::new();
        GzDecoder::new(&compressed[..])
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, body);
    }

    #[test]
    fn deflate_is_zlib_and_round_trips() {
        let body: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let compressed = compress(Encoding::Deflate, &body);
        // zlib header: CM=8, and the first two bytes form a multiple of 31.
        assert_eq!(compressed[0] & 0x0f, 8);
        assert_eq!(u16::from_be_bytes([compressed[0], compressed[1]]) % 31, 0);
        let mut out = Vec::new();
        ZlibDecoder::new(&compressed[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, body);
    }

    #[test]
    fn empty_body_round_trips() {
        for encoding in [Encoding::Gzip, Encoding::Deflate] {
            let compressed = compress(encoding, b"");
            assert!(!compressed.is_empty());
            let mut out = Vec::new();
            match encoding {
                Encoding::Gzip => GzDecoder::new(&compressed[..]).read_to_end(&mut out),
                Encoding::Deflate => ZlibDecoder::new(&compressed[..]).read_to_end(&mut out),
            }
            .unwrap();
            assert!(out.is_empty());
        }
    }
}
