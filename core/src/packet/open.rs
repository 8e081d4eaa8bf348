//! The handshake (`open`) packet's JSON body.

use serde::{Deserialize, Serialize};

use super::DecodeError;
use crate::sid::Sid;

/// The JSON body of the `0` packet that opens every session.
///
/// The server writes exactly these five keys (the official test suite checks them); a client
/// reading one ignores any extra keys and assumes the reference `maxPayload` when it is missing
/// (python-engineio 4.0 did not send it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenPacket {
    /// The session id the client must send back as `sid`.
    pub sid: String,
    /// Transports the client may upgrade to (`["websocket"]` on polling, `[]` otherwise).
    pub upgrades: Vec<String>,
    /// Milliseconds between server pings.
    pub ping_interval: u64,
    /// Milliseconds the server waits for a pong (and the client adds to the interval).
    pub ping_timeout: u64,
    /// The largest polling body or WebSocket message, in bytes, the server accepts.
    #[serde(default = "default_max_payload")]
    pub max_payload: u64,
}

fn default_max_payload() -> u64 {
    1_000_000
}

impl OpenPacket {
    /// Parses the JSON body of an open packet.
    pub fn parse(json: &[u8]) -> Result<Self, DecodeError> {
        serde_json::from_slice(json).map_err(|_| DecodeError::InvalidOpen)
    }

    /// Serializes the body as compact JSON (keys in the reference order).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("OpenPacket always serializes")
    }

    /// Appends [`to_json`](Self::to_json)'s text to `out` without the intermediate string.
    pub(crate) fn write_json(&self, out: &mut bytes::BytesMut) {
        use bytes::BufMut;
        serde_json::to_writer(out.writer(), self).expect("OpenPacket always serializes");
    }
}

/// The server's open packet, `0` and its JSON, written from its parts: the same text as
/// `0` + [`OpenPacket::to_json`] for the same values (a test holds it to that).
///
/// The server writes one per session. Building an [`OpenPacket`] for it (the sid and the
/// upgrade's name as owned strings, a vector) and running the serializer was a tenth of a
/// polling handshake. Nothing here needs escaping: a sid is URL-safe base64 and the only
/// upgrade is `websocket`.
pub(crate) fn open_text(
    sid: &Sid,
    upgrade_to_websocket: bool,
    ping_interval: u64,
    ping_timeout: u64,
    max_payload: u64,
) -> String {
    const SID: &str = r#"0{"sid":""#;
    const TIMEOUT: &str = r#","pingTimeout":"#;
    const MAX_PAYLOAD: &str = r#","maxPayload":"#;
    let upgrades = if upgrade_to_websocket {
        r#"","upgrades":["websocket"],"pingInterval":"#
    } else {
        r#"","upgrades":[],"pingInterval":"#
    };
    // Exact, so that the text becomes the response body without a copy or a header
    // allocation (`Bytes` takes a `String` whose length is its capacity as it is).
    let len = SID.len()
        + sid.as_str().len()
        + upgrades.len()
        + digits(ping_interval)
        + TIMEOUT.len()
        + digits(ping_timeout)
        + MAX_PAYLOAD.len()
        + digits(max_payload)
        + 1;
    let mut text = String::with_capacity(len);
    text.push_str(SID);
    text.push_str(sid.as_str());
    text.push_str(upgrades);
    push_number(&mut text, ping_interval);
    text.push_str(TIMEOUT);
    push_number(&mut text, ping_timeout);
    text.push_str(MAX_PAYLOAD);
    push_number(&mut text, max_payload);
    text.push('}');
    debug_assert_eq!(text.len(), len);
    text
}

/// The number of decimal digits of `n`.
fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |log| log as usize + 1)
}

/// Appends `n` in decimal.
fn push_number(text: &mut String, n: u64) {
    text.push_str(itoa::Buffer::new().format(n));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_text_is_what_the_serializer_writes() {
        let sid = Sid::parse("AbCdEfGhIjKlMnOp-_01").unwrap();
        for upgrade in [false, true] {
            for (interval, timeout, max) in [
                (25_000, 20_000, 1_000_000),
                (0, 0, 0),
                (u64::MAX, 1, 7),
                (9, 10, 99),
            ] {
                let open = OpenPacket {
                    sid: sid.to_string(),
                    upgrades: if upgrade {
                        vec!["websocket".into()]
                    } else {
                        Vec::new()
                    },
                    ping_interval: interval,
                    ping_timeout: timeout,
                    max_payload: max,
                };
                let text = open_text(&sid, upgrade, interval, timeout, max);
                assert_eq!(text, format!("0{}", open.to_json()));
                assert_eq!(text.capacity(), text.len(), "{text}");
            }
        }
    }

    #[test]
    fn has_exactly_the_reference_keys() {
        let open = OpenPacket {
            sid: "abc".into(),
            upgrades: vec!["websocket".into()],
            ping_interval: 25_000,
            ping_timeout: 20_000,
            max_payload: 1_000_000,
        };
        assert_eq!(
            open.to_json(),
            r#"{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
        );
    }

    #[test]
    fn tolerates_extra_keys_and_rejects_odd_numbers() {
        let parsed = OpenPacket::parse(
            br#"{"sid":"s","upgrades":[],"pingInterval":1,"pingTimeout":2,"extra":{"a":[1,2]}}"#,
        )
        .unwrap();
        assert_eq!(parsed.max_payload, 1_000_000);
        let huge = format!(
            r#"{{"sid":"s","upgrades":[],"pingInterval":{},"pingTimeout":2}}"#,
            "9".repeat(400)
        );
        assert_eq!(
            OpenPacket::parse(huge.as_bytes()),
            Err(DecodeError::InvalidOpen)
        );
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(
            OpenPacket::parse(deep.as_bytes()),
            Err(DecodeError::InvalidOpen)
        );
        assert_eq!(
            OpenPacket::parse(br#"{"sid":"s","upgrades":[],"pingInterval":-1,"pingTimeout":2}"#),
            Err(DecodeError::InvalidOpen)
        );
    }
}
