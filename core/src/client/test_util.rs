//! Helpers for the client's unit tests: a clock origin, canned server answers and drains.

use std::time::Instant;

use bytes::Bytes;

pub(super) use super::{Client, ClientConfig, ClientEvent, ClientTransmit};
use crate::packet::Frame;
use crate::types::{BufferLimits, OverflowPolicy, RequestId};

/// An arbitrary origin for simulated time; the client itself never reads the clock.
#[allow(clippy::disallowed_methods)]
pub(super) fn origin() -> Instant {
    Instant::now()
}

/// The body of a `0{…}` packet with sid `abc`, a 25 s interval and a 20 s timeout.
pub(super) fn open_json(upgrades: &[&str], max_payload: u64) -> String {
    let upgrades: Vec<String> = upgrades.iter().map(|name| format!("\"{name}\"")).collect();
    format!(
        r#"0{{"sid":"abc","upgrades":[{}],"pingInterval":25000,"pingTimeout":20000,"maxPayload":{max_payload}}}"#,
        upgrades.join(",")
    )
}

/// A handshake response body.
pub(super) fn open_body(upgrades: &[&str], max_payload: u64) -> Bytes {
    Bytes::from(open_json(upgrades, max_payload))
}

/// A handshake frame.
pub(super) fn open_frame(upgrades: &[&str], max_payload: u64) -> Frame {
    Frame::Text(open_json(upgrades, max_payload).into())
}

/// A text frame.
pub(super) fn text(text: &'static str) -> Frame {
    Frame::Text(text.into())
}

/// Drains every transmit and event, in order.
pub(super) fn drain(client: &mut Client) -> (Vec<ClientTransmit>, Vec<ClientEvent>) {
    let transmits = std::iter::from_fn(|| client.poll_transmit()).collect();
    let events = std::iter::from_fn(|| client.poll_event()).collect();
    (transmits, events)
}

/// A client connected over polling with no upgrade offered; returns the poll GET in flight.
pub(super) fn polling_client(config: ClientConfig) -> (Client, Instant, RequestId) {
    polling_client_with(config, &[], 1_000_000)
}

/// A client connected over polling; returns the poll GET in flight.
pub(super) fn polling_client_with(
    config: ClientConfig,
    upgrades: &[&str],
    max_payload: u64,
) -> (Client, Instant, RequestId) {
    let now = origin();
    let mut client = Client::new(now, config);
    let _ = drain(&mut client);
    client.handle_response(now, RequestId(0), 200, open_body(upgrades, max_payload));
    let (transmits, events) = drain(&mut client);
    assert!(
        matches!(events[..], [ClientEvent::Connected { .. }]),
        "{events:?}"
    );
    let [ClientTransmit::Get { request, .. }] = transmits[..] else {
        panic!("expected one poll GET, got {transmits:?}");
    };
    (client, now, request)
}

/// The bodies of the POSTs among `transmits`, as text.
pub(super) fn post_bodies(transmits: &[ClientTransmit]) -> Vec<String> {
    transmits
        .iter()
        .filter_map(|transmit| match transmit {
            ClientTransmit::Post { body, .. } => Some(String::from_utf8_lossy(body).into_owned()),
            _ => None,
        })
        .collect()
}

/// The id of the last POST among `transmits`.
pub(super) fn last_post(transmits: &[ClientTransmit]) -> RequestId {
    transmits
        .iter()
        .rev()
        .find_map(|transmit| match transmit {
            ClientTransmit::Post { request, .. } => Some(*request),
            _ => None,
        })
        .unwrap_or_else(|| panic!("expected a POST in {transmits:?}"))
}

/// The id of the last GET among `transmits`.
pub(super) fn last_get(transmits: &[ClientTransmit]) -> RequestId {
    transmits
        .iter()
        .rev()
        .find_map(|transmit| match transmit {
            ClientTransmit::Get { request, .. } => Some(*request),
            _ => None,
        })
        .unwrap_or_else(|| panic!("expected a GET in {transmits:?}"))
}

/// How many GETs `transmits` holds.
pub(super) fn get_count(transmits: &[ClientTransmit]) -> usize {
    transmits
        .iter()
        .filter(|transmit| matches!(transmit, ClientTransmit::Get { .. }))
        .count()
}

/// A configuration whose buffer holds a single message.
pub(super) fn one_slot(overflow: OverflowPolicy) -> ClientConfig {
    ClientConfig {
        buffer: BufferLimits {
            max_packets: 1,
            max_bytes: 1000,
            overflow,
        },
        ..ClientConfig::default()
    }
}
