//! Deadlines: the handshake, the heartbeat, the upgrade probe and the close.
//!
//! In v4 the server pings and the client only answers, so the client's heartbeat is a single
//! deadline: `pingInterval + pingTimeout` after the open packet or the last ping. Every other
//! phase has its own deadline from [`ClientConfig`](super::ClientConfig).

use std::time::{Duration, Instant};

use super::{Client, ClientEvent, ConnectError, Phase};
use crate::packet::OpenPacket;
use crate::types::DisconnectReason;

/// Deadlines are capped this far ahead when `now + duration` does not fit in an [`Instant`].
const FAR_FUTURE: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// `now + duration`, capped instead of overflowing.
pub(super) fn after(now: Instant, duration: Duration) -> Instant {
    now.checked_add(duration)
        .or_else(|| now.checked_add(FAR_FUTURE))
        .unwrap_or(now)
}

/// When the connection dies unless a ping arrives: `pingInterval + pingTimeout` from `now`.
pub(super) fn heartbeat_deadline(now: Instant, open: &OpenPacket) -> Instant {
    let interval = Duration::from_millis(open.ping_interval);
    after(
        now,
        interval.saturating_add(Duration::from_millis(open.ping_timeout)),
    )
}

impl Client {
    /// A ping arrived: the heartbeat deadline moves to `now + pingInterval + pingTimeout`.
    pub(super) fn reset_heartbeat(&mut self, now: Instant) {
        if let (Phase::Open { heartbeat }, Some(open)) = (&mut self.phase, &self.open) {
            *heartbeat = heartbeat_deadline(now, open);
        }
    }

    /// Runs every deadline that has passed at `now`.
    pub(super) fn on_timeout(&mut self, now: Instant) {
        match self.phase {
            Phase::Connecting { deadline } if now >= deadline => {
                self.finish(ClientEvent::ConnectFailed(ConnectError::Timeout));
            }
            Phase::Open { heartbeat } if now >= heartbeat => {
                self.finish(ClientEvent::Disconnected(DisconnectReason::PingTimeout));
            }
            Phase::Open { .. } => {
                if self.probe.is_some_and(|probe| now >= probe.deadline) {
                    self.abandon_probe();
                }
            }
            Phase::Closing { deadline, .. } if now >= deadline => {
                self.finish(ClientEvent::Disconnected(
                    DisconnectReason::ClientDisconnect,
                ));
            }
            Phase::Connecting { .. } | Phase::Closing { .. } | Phase::Closed => {}
        }
    }

    /// The earliest pending deadline; `None` once closed.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Connecting { deadline } | Phase::Closing { deadline, .. } => Some(deadline),
            Phase::Open { heartbeat } => Some(
                self.probe
                    .map_or(heartbeat, |probe| probe.deadline.min(heartbeat)),
            ),
            Phase::Closed => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::super::test_util::*;
    use super::*;
    use crate::types::{RequestId, Transports};

    #[test]
    fn handshake_timeout() {
        let now = origin();
        let mut client = Client::new(now, ClientConfig::default());
        let _ = drain(&mut client);
        assert_eq!(client.poll_timeout(), Some(now + Duration::from_secs(20)));
        client.handle_timeout(now + Duration::from_secs(19));
        assert_eq!(
            drain(&mut client),
            (vec![], vec![]),
            "early timeouts are harmless"
        );
        client.handle_timeout(now + Duration::from_secs(20));
        let (transmits, events) = drain(&mut client);
        assert_eq!(
            transmits,
            vec![ClientTransmit::Abort {
                request: RequestId(0)
            }]
        );
        assert_eq!(
            events,
            vec![ClientEvent::ConnectFailed(ConnectError::Timeout)]
        );
        assert_eq!(client.poll_timeout(), None);

        let ws_only = ClientConfig {
            transports: Transports::WEBSOCKET,
            connect_timeout: Duration::from_secs(1),
            ..ClientConfig::default()
        };
        let mut client = Client::new(now, ws_only);
        let _ = drain(&mut client);
        client.handle_timeout(now + Duration::from_secs(1));
        let (transmits, events) = drain(&mut client);
        assert_eq!(
            transmits,
            vec![ClientTransmit::WsClose {
                socket: RequestId(0)
            }]
        );
        assert_eq!(
            events,
            vec![ClientEvent::ConnectFailed(ConnectError::Timeout)]
        );
    }

    #[test]
    fn ping_timeout_after_interval_plus_timeout() {
        let (mut client, start, get) = polling_client(ClientConfig::default());
        // Pings keep the connection alive for simulated minutes.
        let mut now = start;
        let mut get = get;
        for _ in 0..10 {
            now += Duration::from_secs(25);
            client.handle_timeout(now);
            client.handle_response(now, get, 200, Bytes::from_static(b"2"));
            let (transmits, events) = drain(&mut client);
            assert!(events.is_empty());
            get = last_get(&transmits);
            let post = last_post(&transmits);
            client.handle_response(now, post, 200, Bytes::from_static(b"ok"));
            assert_eq!(client.poll_timeout(), Some(now + Duration::from_secs(45)));
        }
        // Messages do not reset the deadline; only pings do.
        client.handle_response(
            now + Duration::from_secs(44),
            get,
            200,
            Bytes::from_static(b"4x"),
        );
        let _ = drain(&mut client);
        client.handle_timeout(now + Duration::from_millis(44_999));
        assert_eq!(drain(&mut client), (vec![], vec![]));
        client.handle_timeout(now + Duration::from_secs(45));
        let (transmits, events) = drain(&mut client);
        assert!(
            matches!(transmits[..], [ClientTransmit::Abort { .. }]),
            "{transmits:?}"
        );
        assert_eq!(
            events,
            vec![ClientEvent::Disconnected(DisconnectReason::PingTimeout)]
        );
        assert_eq!(client.poll_timeout(), None);
    }

    #[test]
    fn huge_durations_do_not_overflow() {
        let now = origin();
        let config = ClientConfig {
            connect_timeout: Duration::MAX,
            ..ClientConfig::default()
        };
        let mut client = Client::new(now, config);
        let _ = drain(&mut client);
        assert!(client.poll_timeout().is_some_and(|deadline| deadline > now));
        let open = format!(
            r#"0{{"sid":"s","upgrades":[],"pingInterval":{max},"pingTimeout":{max}}}"#,
            max = u64::MAX
        );
        client.handle_response(now, RequestId(0), 200, Bytes::from(open));
        let (_, events) = drain(&mut client);
        assert!(matches!(events[..], [ClientEvent::Connected { .. }]));
        assert!(client.poll_timeout().is_some_and(|deadline| deadline > now));
    }
}
