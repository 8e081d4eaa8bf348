//! The polling transport: the handshake GET, the long-poll loop and POST batching.
//!
//! One GET is in flight at most; the next starts as soon as the previous one is answered. One
//! POST is in flight at most; it carries a batch taken from the buffer that fits in the server's
//! `maxPayload` (control packets first), and the next batch goes when it is answered with 200.

use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::{Client, ClientEvent, ClientTransmit, ConnectError, Phase};
use crate::packet::{payload, DecodeError, Packet};
use crate::types::{DisconnectReason, Transport, TransportError};

impl Client {
    /// Handles the answer to the handshake GET.
    pub(super) fn on_handshake_response(&mut self, now: Instant, status: u16, body: Bytes) {
        if status != 200 {
            self.finish(ClientEvent::ConnectFailed(ConnectError::Rejected {
                status,
                body,
            }));
            return;
        }
        let mut packets = payload::decode(body, self.config.max_packets_per_payload);
        let Some(Ok(Packet::Open(open))) = packets.next() else {
            self.finish(ClientEvent::ConnectFailed(ConnectError::Handshake));
            return;
        };
        self.on_open(now, open);
        // The server's initial packets, if any, follow the open packet in the same body.
        self.on_packets(now, packets);
    }

    /// Handles the answer to a long-poll GET.
    pub(super) fn on_poll_response(&mut self, now: Instant, status: u16, body: Bytes) {
        if !matches!(self.phase, Phase::Open { .. }) {
            return;
        }
        if status != 200 {
            self.finish(http_error());
            return;
        }
        let packets = payload::decode(body, self.config.max_packets_per_payload);
        self.on_packets(now, packets);
    }

    /// Handles the answer to a POST.
    pub(super) fn on_post_response(&mut self, status: u16) {
        match self.phase {
            Phase::Open { .. } if status != 200 => self.finish(http_error()),
            // The final POST was answered, or a POST before it failed: the close is done.
            Phase::Closing { close_sent, .. } if close_sent || status != 200 => {
                self.finish(ClientEvent::Disconnected(
                    DisconnectReason::ClientDisconnect,
                ));
            }
            _ => {}
        }
    }

    /// Handles a GET or POST that failed without a response.
    pub(super) fn on_request_failed(&mut self) {
        match self.phase {
            Phase::Connecting { .. } => {
                self.finish(ClientEvent::ConnectFailed(ConnectError::Transport));
            }
            Phase::Open { .. } => self.finish(http_error()),
            Phase::Closing { .. } => {
                self.finish(ClientEvent::Disconnected(
                    DisconnectReason::ClientDisconnect,
                ));
            }
            Phase::Closed => {}
        }
    }

    /// Handles decoded packets in order, up to the end, the first error or the end of the
    /// connection. The packets before an error are delivered.
    pub(super) fn on_packets(
        &mut self,
        now: Instant,
        packets: impl Iterator<Item = Result<Packet, DecodeError>>,
    ) {
        for packet in packets {
            if !matches!(self.phase, Phase::Open { .. }) {
                return;
            }
            match packet {
                Ok(packet) => self.on_packet(now, packet),
                Err(error) => {
                    self.finish(ClientEvent::Disconnected(decode_reason(error)));
                    return;
                }
            }
        }
    }

    /// Issues a polling GET (the handshake, or the next long-poll).
    pub(super) fn send_get(&mut self) {
        let request = self.next_request();
        let query = self.query(Transport::Polling);
        self.get = Some(request);
        self.transmit(ClientTransmit::Get { request, query });
    }

    /// POSTs the next batch if the buffer holds anything and no POST is in flight.
    pub(super) fn flush_post(&mut self) {
        if self.post.is_some() || self.buffer.is_empty() {
            return;
        }
        let batch = self
            .buffer
            .take_batch(self.max_payload(), self.config.max_packets_per_post);
        self.send_post(&batch);
    }

    /// While closing on polling: POSTs what is buffered, then the final `1` (in the last batch
    /// if it fits there), one POST at a time.
    pub(super) fn flush_closing_post(&mut self, close_sent: bool) {
        if close_sent || self.post.is_some() {
            return;
        }
        let max = self.max_payload();
        let mut batch = self
            .buffer
            .take_batch(max, self.config.max_packets_per_post);
        let fits = batch.is_empty() || payload::encoded_len(&batch) + 2 <= max;
        if self.buffer.is_empty() && fits {
            batch.push(Packet::Close);
            if let Phase::Closing { close_sent, .. } = &mut self.phase {
                *close_sent = true;
            }
        }
        self.send_post(&batch);
    }

    fn send_post(&mut self, packets: &[Packet]) {
        let mut body = BytesMut::with_capacity(payload::encoded_len(packets));
        payload::encode(packets, &mut body);
        let request = self.next_request();
        let query = self.query(Transport::Polling);
        self.post = Some(request);
        self.transmit(ClientTransmit::Post {
            request,
            query,
            body: body.freeze(),
        });
    }

    /// The server's `maxPayload` in bytes (unbounded before the open packet).
    fn max_payload(&self) -> usize {
        self.open.as_ref().map_or(usize::MAX, |open| {
            usize::try_from(open.max_payload).unwrap_or(usize::MAX)
        })
    }
}

fn http_error() -> ClientEvent {
    ClientEvent::Disconnected(DisconnectReason::TransportError(TransportError::Http))
}

/// The disconnect reason for a payload or frame that does not decode.
pub(super) fn decode_reason(error: DecodeError) -> DisconnectReason {
    match error {
        DecodeError::TooManyPackets => DisconnectReason::PayloadTooLarge,
        _ => DisconnectReason::ParseError,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::test_util::*;
    use super::*;
    use crate::packet::Message;
    use crate::types::RequestId;

    #[test]
    fn polling_handshake() {
        let now = origin();
        let mut client = Client::new(now, ClientConfig::default());
        let (transmits, events) = drain(&mut client);
        assert_eq!(
            transmits,
            vec![ClientTransmit::Get {
                request: RequestId(0),
                query: "EIO=4&transport=polling&t=0".into()
            }]
        );
        assert!(events.is_empty());
        assert_eq!(client.poll_timeout(), Some(now + Duration::from_secs(20)));
        assert_eq!(client.transport(), None);

        // The server's initial packet follows the open packet in the same body.
        let body = [&open_body(&[], 1_000_000)[..], b"\x1e4welcome"].concat();
        client.handle_response(now, RequestId(0), 200, body.into());
        let (transmits, events) = drain(&mut client);
        assert_eq!(
            events,
            vec![
                ClientEvent::Connected {
                    sid: "abc".into(),
                    transport: Transport::Polling
                },
                ClientEvent::Message("welcome".into()),
            ]
        );
        assert_eq!(
            transmits,
            vec![ClientTransmit::Get {
                request: RequestId(1),
                query: "EIO=4&transport=polling&t=1&sid=abc".into()
            }]
        );
        assert_eq!(client.sid(), Some("abc"));
        assert_eq!(client.transport(), Some(Transport::Polling));
        assert_eq!(
            client.open_packet().map(|open| open.ping_interval),
            Some(25_000)
        );
    }

    #[test]
    fn rejected_handshake_keeps_status_and_body() {
        let now = origin();
        let mut client = Client::new(now, ClientConfig::default());
        let _ = drain(&mut client);
        let body = Bytes::from_static(br#"{"code":4,"message":"Thou shall not pass"}"#);
        client.handle_response(now, RequestId(0), 401, body.clone());
        let (transmits, events) = drain(&mut client);
        assert!(transmits.is_empty());
        assert_eq!(
            events,
            vec![ClientEvent::ConnectFailed(ConnectError::Rejected {
                status: 401,
                body
            })]
        );
        assert!(client.is_closed());
        assert_eq!(client.poll_timeout(), None);
    }

    #[test]
    fn malformed_or_failed_handshakes() {
        for body in [&b"4hello"[..], b"0{", b"", b"0{\"sid\":1}", b"\xff"] {
            let now = origin();
            let mut client = Client::new(now, ClientConfig::default());
            let _ = drain(&mut client);
            client.handle_response(now, RequestId(0), 200, Bytes::copy_from_slice(body));
            let (_, events) = drain(&mut client);
            assert_eq!(
                events,
                vec![ClientEvent::ConnectFailed(ConnectError::Handshake)]
            );
        }
        let now = origin();
        let mut client = Client::new(now, ClientConfig::default());
        let _ = drain(&mut client);
        client.handle_request_failed(now, RequestId(0));
        let (_, events) = drain(&mut client);
        assert_eq!(
            events,
            vec![ClientEvent::ConnectFailed(ConnectError::Transport)]
        );
    }

    #[test]
    fn get_loop_keeps_one_get_in_flight() {
        let (mut client, now, mut get) = polling_client(ClientConfig::default());
        for round in 0..3 {
            client.handle_response(now, get, 200, Bytes::from(format!("4m{round}\x1e6")));
            let (transmits, events) = drain(&mut client);
            assert_eq!(
                events,
                vec![ClientEvent::Message(format!("m{round}").into())]
            );
            let [ClientTransmit::Get { request, .. }] = transmits[..] else {
                panic!("expected exactly one new GET, got {transmits:?}");
            };
            assert_ne!(request, get);
            get = request;
        }
        // A stale or duplicate answer is ignored and starts no second GET.
        client.handle_response(now, RequestId(1), 200, Bytes::from_static(b"4late"));
        assert_eq!(drain(&mut client), (vec![], vec![]));
    }

    #[test]
    fn ping_is_answered_with_pong() {
        let (mut client, now, get) = polling_client(ClientConfig::default());
        client.handle_response(now, get, 200, Bytes::from_static(b"2"));
        let (transmits, events) = drain(&mut client);
        assert!(events.is_empty());
        assert_eq!(get_count(&transmits), 1);
        assert_eq!(post_bodies(&transmits), vec!["3".to_owned()]);
        // An unsolicited pong from the server is ignored.
        let get = last_get(&transmits);
        client.handle_response(now, get, 200, Bytes::from_static(b"3"));
        let (transmits, events) = drain(&mut client);
        assert!(events.is_empty());
        assert!(post_bodies(&transmits).is_empty());
    }

    #[test]
    fn posts_are_batched_under_max_payload_one_at_a_time() {
        // maxPayload 20: "4aaaaaaa" is 8 bytes, two plus a separator make 17, three 26.
        let (mut client, now, _get) = polling_client_with(ClientConfig::default(), &[], 20);
        for text in ["aaaaaaa", "bbbbbbb", "ccccccc", "ddddddd", "eeeeeee"] {
            client.send(now, text.into()).unwrap();
        }
        // The first message leaves at once; the rest wait for its answer.
        let (transmits, _) = drain(&mut client);
        assert_eq!(post_bodies(&transmits), vec!["4aaaaaaa".to_owned()]);
        let mut post = last_post(&transmits);
        let mut bodies = Vec::new();
        loop {
            client.handle_response(now, post, 200, Bytes::from_static(b"ok"));
            let (transmits, _) = drain(&mut client);
            let new = post_bodies(&transmits);
            assert!(new.len() <= 1, "one POST in flight at most: {new:?}");
            let Some(body) = new.into_iter().next() else {
                break;
            };
            assert!(body.len() <= 20);
            bodies.push(body);
            post = last_post(&transmits);
        }
        assert_eq!(
            bodies,
            vec![
                "4bbbbbbb\x1e4ccccccc".to_owned(),
                "4ddddddd\x1e4eeeeeee".to_owned()
            ]
        );
    }

    #[test]
    fn send_while_post_in_flight_waits() {
        let (mut client, now, _get) = polling_client(ClientConfig::default());
        client.send(now, "one".into()).unwrap();
        let post = last_post(&drain(&mut client).0);
        client.send(now, "two".into()).unwrap();
        client
            .send(now, Message::Binary(Bytes::from_static(&[1, 2, 3, 4])))
            .unwrap();
        assert_eq!(drain(&mut client), (vec![], vec![]));
        client.handle_response(now, post, 200, Bytes::from_static(b"ok"));
        let (transmits, _) = drain(&mut client);
        assert_eq!(
            post_bodies(&transmits),
            vec!["4two\x1ebAQIDBA==".to_owned()]
        );
    }

    #[test]
    fn polling_failures_end_the_connection() {
        let cases: [(u16, &'static [u8], DisconnectReason); 4] = [
            (500, b"", http_reason()),
            (200, b"4ok\x1exyz", DisconnectReason::ParseError),
            (
                200,
                b"4ok\x1e1\x1e4never",
                DisconnectReason::ServerDisconnect,
            ),
            (
                200,
                b"4ok\x1e6\x1e6\x1e6",
                DisconnectReason::PayloadTooLarge,
            ),
        ];
        for (status, body, reason) in cases {
            let config = ClientConfig {
                max_packets_per_payload: 3,
                ..ClientConfig::default()
            };
            let (mut client, now, get) = polling_client(config);
            client.send(now, "pending".into()).unwrap();
            let post = last_post(&drain(&mut client).0);
            client.handle_response(now, get, status, Bytes::from_static(body));
            let (transmits, events) = drain(&mut client);
            let mut expected = Vec::new();
            if status == 200 {
                expected.push(ClientEvent::Message("ok".into()));
            }
            expected.push(ClientEvent::Disconnected(reason));
            assert_eq!(events, expected);
            assert_eq!(transmits, vec![ClientTransmit::Abort { request: post }]);
            assert_eq!(client.poll_timeout(), None);
        }
        let (mut client, now, get) = polling_client(ClientConfig::default());
        client.handle_request_failed(now, get);
        assert_eq!(
            drain(&mut client).1,
            vec![ClientEvent::Disconnected(http_reason())]
        );
    }

    #[test]
    fn close_on_polling_posts_buffer_then_close() {
        let (mut client, now, get) = polling_client(ClientConfig::default());
        client.send(now, "first".into()).unwrap();
        let post = last_post(&drain(&mut client).0);
        client.send(now, "bye".into()).unwrap();
        client.close(now);
        let (transmits, events) = drain(&mut client);
        // The held GET stays for the server to answer; the final POST waits for the one in
        // flight.
        assert!(transmits.is_empty(), "{transmits:?}");
        assert!(events.is_empty());
        assert_eq!(
            client.send(now, "late".into()),
            Err(crate::SendError::Closed)
        );
        assert_eq!(client.poll_timeout(), Some(now + Duration::from_secs(5)));

        client.handle_response(now, post, 200, Bytes::from_static(b"ok"));
        let (transmits, events) = drain(&mut client);
        assert_eq!(post_bodies(&transmits), vec!["4bye\x1e1".to_owned()]);
        assert!(events.is_empty());
        client.handle_response(now, last_post(&transmits), 200, Bytes::from_static(b"ok"));
        let (transmits, events) = drain(&mut client);
        // The GET the server did not answer yet is cancelled with the end.
        assert_eq!(transmits, vec![ClientTransmit::Abort { request: get }]);
        assert_eq!(
            events,
            vec![ClientEvent::Disconnected(
                DisconnectReason::ClientDisconnect
            )]
        );
        assert!(client.is_closed());
    }

    #[test]
    fn close_on_polling_times_out() {
        let (mut client, now, get) = polling_client(ClientConfig::default());
        client.close(now);
        let (transmits, _) = drain(&mut client);
        assert_eq!(post_bodies(&transmits), vec!["1".to_owned()]);
        let close_post = last_post(&transmits);
        client.handle_timeout(now + Duration::from_millis(4_999));
        assert_eq!(drain(&mut client), (vec![], vec![]));
        client.handle_timeout(now + Duration::from_secs(5));
        let (transmits, events) = drain(&mut client);
        assert_eq!(
            transmits,
            vec![
                ClientTransmit::Abort { request: get },
                ClientTransmit::Abort {
                    request: close_post
                }
            ]
        );
        assert_eq!(
            events,
            vec![ClientEvent::Disconnected(
                DisconnectReason::ClientDisconnect
            )]
        );
    }

    #[test]
    fn close_splits_under_max_payload() {
        let (mut client, now, _get) = polling_client_with(ClientConfig::default(), &[], 10);
        client.send(now, "x".into()).unwrap();
        let post = last_post(&drain(&mut client).0);
        // "4aaaaaaaa" is 9 bytes: the final "1" does not fit beside it under maxPayload 10.
        client.send(now, "aaaaaaaa".into()).unwrap();
        client.close(now);
        let _ = drain(&mut client);
        client.handle_response(now, post, 200, Bytes::from_static(b"ok"));
        let (transmits, _) = drain(&mut client);
        assert_eq!(post_bodies(&transmits), vec!["4aaaaaaaa".to_owned()]);
        client.handle_response(now, last_post(&transmits), 200, Bytes::from_static(b"ok"));
        let (transmits, events) = drain(&mut client);
        assert_eq!(post_bodies(&transmits), vec!["1".to_owned()]);
        assert!(events.is_empty());
    }

    fn http_reason() -> DisconnectReason {
        DisconnectReason::TransportError(TransportError::Http)
    }
}
