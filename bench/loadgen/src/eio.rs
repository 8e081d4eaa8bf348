//! Engine.IO v4 framing, just what a load generator needs.
//!
//! Written here rather than taken from `engineio-core` so the load generator is an independent
//! peer: a framing bug shared by client and server would cancel out and go unnoticed. Only the
//! client side of the protocol is covered: parse what a server sends (open, ping, message,
//! noop, close), build what a client sends (message, pong, close).
//!
//! Text packets are one type digit followed by the data (`4hello`); a polling body is several
//! packets joined by the record separator `\x1e`; binary messages are raw WebSocket binary
//! frames, or `b<base64>` records over polling.

use base64::Engine as _;
use serde::Deserialize;

/// The record separator between packets of a polling payload.
pub const SEPARATOR: u8 = 0x1e;
/// The pong packet, the answer to every `2` ping.
pub const PONG: &[u8] = b"3";
/// The close packet.
pub const CLOSE: &[u8] = b"1";
/// The query of a polling handshake.
pub const POLLING_HANDSHAKE_QUERY: &str = "EIO=4&transport=polling";
/// The query of a WebSocket-only session.
pub const WS_QUERY: &str = "EIO=4&transport=websocket";

/// The query of polling requests for an open session.
pub fn polling_query(sid: &str) -> String {
    format!("EIO=4&transport=polling&sid={sid}")
}

/// One packet as sent by a server, borrowing its data from the frame or payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    /// `0{json}`: the handshake.
    Open(&'a [u8]),
    /// `1`: the server closed the session.
    Close,
    /// `2`: a heartbeat ping, to be answered with `3`.
    Ping,
    /// `3`: a pong (unexpected from a v4 server, ignored).
    Pong,
    /// `4<text>`: a text message.
    Message(&'a [u8]),
    /// `b<base64>`: a binary message over polling, still encoded.
    Binary(&'a [u8]),
    /// `5`: upgrade (never sent by a server; ignored).
    Upgrade,
    /// `6`: noop, completes a pending poll.
    Noop,
}

/// A packet the load generator cannot make sense of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadPacket(pub String);

impl std::fmt::Display for BadPacket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses one text packet (a WebSocket text frame or one polling record).
pub fn parse_packet(data: &[u8]) -> Result<Packet<'_>, BadPacket> {
    let Some((&kind, rest)) = data.split_first() else {
        return Err(BadPacket("empty packet".into()));
    };
    Ok(match kind {
        b'0' => Packet::Open(rest),
        b'1' => Packet::Close,
        b'2' => Packet::Ping,
        b'3' => Packet::Pong,
        b'4' => Packet::Message(rest),
        b'5' => Packet::Upgrade,
        b'6' => Packet::Noop,
        b'b' => Packet::Binary(rest),
        other => {
            return Err(BadPacket(format!(
                "unknown packet type {:?}",
                other as char
            )))
        }
    })
}

/// Splits a polling payload into its records. An empty body yields no record.
pub fn split_payload(body: &[u8]) -> impl Iterator<Item = &[u8]> {
    let empty = body.is_empty();
    body.split(|&b| b == SEPARATOR).filter(move |_| !empty)
}

/// The fields of the open packet the load generator uses.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OpenInfo {
    /// The session id.
    pub sid: String,
    /// Milliseconds between the server's pings.
    #[serde(default)]
    pub ping_interval: u64,
    /// Milliseconds the server waits for a pong.
    #[serde(default)]
    pub ping_timeout: u64,
}

/// Parses the JSON of an open packet (the bytes after the `0`).
pub fn parse_open(json: &[u8]) -> Result<OpenInfo, BadPacket> {
    serde_json::from_slice(json).map_err(|e| BadPacket(format!("bad open packet: {e}")))
}

/// Parses a frame or record that must be the open packet.
pub fn expect_open(data: &[u8]) -> Result<OpenInfo, BadPacket> {
    match parse_packet(data)? {
        Packet::Open(json) => parse_open(json),
        other => Err(BadPacket(format!(
            "expected the open packet, got {other:?}"
        ))),
    }
}

/// The polling handshake body: the open packet, possibly followed by more packets.
pub fn parse_polling_handshake(body: &[u8]) -> Result<OpenInfo, BadPacket> {
    let first = split_payload(body)
        .next()
        .ok_or_else(|| BadPacket("empty handshake body".into()))?;
    expect_open(first)
}

/// Appends a text message packet (`4<text>`) to `out`.
pub fn encode_text(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'4');
    out.extend_from_slice(text);
}

/// Appends a binary message as a polling record (`b<base64>`) to `out`.
pub fn encode_binary_polling(out: &mut Vec<u8>, data: &[u8]) {
    out.push(b'b');
    let start = out.len();
    out.resize(
        start + base64::encoded_len(data.len(), true).unwrap_or(0),
        0,
    );
    // The buffer was sized by `encoded_len`, so this cannot fail.
    let written = base64::engine::general_purpose::STANDARD
        .encode_slice(data, &mut out[start..])
        .unwrap_or(0);
    out.truncate(start + written);
}

/// Decodes the base64 of a polling binary record into `out` (cleared first).
pub fn decode_binary_polling(encoded: &[u8], out: &mut Vec<u8>) -> Result<(), BadPacket> {
    out.clear();
    base64::engine::general_purpose::STANDARD
        .decode_vec(encoded, out)
        .map_err(|e| BadPacket(format!("bad base64 in binary record: {e}")))
}

/// What a polling GET response asks of the client, once its messages were handed over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollScan {
    /// Pings received: each must be answered with a POST of `3`.
    pub pings: usize,
    /// The server sent `1`: the session is over.
    pub closed: bool,
}

/// Walks a polling GET body: calls `on_message` for each message (`Packet::Message` or
/// `Packet::Binary`), counts pings, notes a close. A record that does not parse is an error.
pub fn scan_poll<'a>(
    body: &'a [u8],
    mut on_message: impl FnMut(Packet<'a>) -> Result<(), BadPacket>,
) -> Result<PollScan, BadPacket> {
    let mut scan = PollScan::default();
    for record in split_payload(body) {
        match parse_packet(record)? {
            Packet::Ping => scan.pings += 1,
            Packet::Close => scan.closed = true,
            Packet::Noop | Packet::Pong | Packet::Upgrade => {}
            Packet::Open(_) => return Err(BadPacket("open packet in a poll".into())),
            message @ (Packet::Message(_) | Packet::Binary(_)) => on_message(message)?,
        }
    }
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_packet_type() {
        assert_eq!(parse_packet(b"0{}"), Ok(Packet::Open(b"{}")));
        assert_eq!(parse_packet(b"1"), Ok(Packet::Close));
        assert_eq!(parse_packet(b"2"), Ok(Packet::Ping));
        assert_eq!(parse_packet(b"3"), Ok(Packet::Pong));
        assert_eq!(parse_packet(b"4hi"), Ok(Packet::Message(b"hi")));
        assert_eq!(parse_packet(b"4"), Ok(Packet::Message(b"")));
        assert_eq!(parse_packet(b"5"), Ok(Packet::Upgrade));
        assert_eq!(parse_packet(b"6"), Ok(Packet::Noop));
        assert_eq!(parse_packet(b"bAQI="), Ok(Packet::Binary(b"AQI=")));
        assert!(parse_packet(b"").is_err());
        assert!(parse_packet(b"9").is_err());
    }

    #[test]
    fn splits_polling_payloads() {
        let parts: Vec<&[u8]> = split_payload(b"4a\x1e2\x1ebAQ==").collect();
        assert_eq!(parts, vec![&b"4a"[..], b"2", b"bAQ=="]);
        assert_eq!(split_payload(b"").count(), 0);
        assert_eq!(split_payload(b"6").count(), 1);
    }

    #[test]
    fn scan_counts_pings_and_hands_over_messages() {
        let mut got = Vec::new();
        let scan = scan_poll(b"2\x1e4one\x1e6\x1ebAQI=\x1e2", |p| {
            got.push(p);
            Ok(())
        })
        .unwrap();
        assert_eq!(
            scan,
            PollScan {
                pings: 2,
                closed: false
            }
        );
        assert_eq!(got, vec![Packet::Message(b"one"), Packet::Binary(b"AQI=")]);
        let scan = scan_poll(b"1", |_| Ok(())).unwrap();
        assert!(scan.closed);
        assert!(scan_poll(b"4x\x1ezz", |_| Ok(())).is_err());
        assert!(scan_poll(b"0{}", |_| Ok(())).is_err());
    }

    #[test]
    fn a_ping_is_answered_with_a_pong() {
        // Over WebSocket the answer to a `2` frame is a `3` frame; over polling, a POST of `3`.
        let scan = scan_poll(b"2", |_| Ok(())).unwrap();
        assert_eq!(scan.pings, 1);
        assert_eq!(parse_packet(PONG), Ok(Packet::Pong));
        assert_eq!(parse_packet(CLOSE), Ok(Packet::Close));
    }

    #[test]
    fn parses_the_handshake() {
        let body = br#"0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
        let open = parse_polling_handshake(body).unwrap();
        assert_eq!(open.sid, "abc");
        assert_eq!((open.ping_interval, open.ping_timeout), (25000, 20000));
        let with_initial = br#"0{"sid":"x"}"#.iter().chain(b"\x1e4hi").copied().collect::<Vec<_>>();
        assert_eq!(parse_polling_handshake(&with_initial).unwrap().sid, "x");
        assert!(parse_polling_handshake(b"4hi").is_err());
        assert!(parse_polling_handshake(b"0{nope").is_err());
        assert!(parse_polling_handshake(b"").is_err());
    }

    #[test]
    fn binary_round_trips_through_base64() {
        let mut out = Vec::new();
        encode_binary_polling(&mut out, &[1, 2, 3, 4]);
        assert_eq!(out, b"bAQIDBA==");
        let mut back = Vec::new();
        decode_binary_polling(&out[1..], &mut back).unwrap();
        assert_eq!(back, [1, 2, 3, 4]);
        assert!(decode_binary_polling(b"!!", &mut back).is_err());
        let mut text = Vec::new();
        encode_text(&mut text, b"hi");
        assert_eq!(text, b"4hi");
        assert_eq!(polling_query("s"), "EIO=4&transport=polling&sid=s");
    }
}
