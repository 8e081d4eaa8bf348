//! Lifecycle tests of the whole client: sending, the terminal event, and hostile input.

use std::time::Duration;

use bytes::Bytes;

use super::test_util::*;
use super::ConnectError;
use crate::packet::Message;
use crate::types::{DisconnectReason, OverflowPolicy, RequestId, SendError, Transport, Transports};

#[test]
fn send_before_connect_goes_after_the_open() {
    let now = origin();
    let mut client = Client::new(now, ClientConfig::default());
    client.send(now, "early".into()).unwrap();
    let (transmits, _) = drain(&mut client);
    assert_eq!(transmits.len(), 1, "only the handshake GET: {transmits:?}");
    client.handle_response(now, RequestId(0), 200, open_body(&[], 1_000_000));
    let (transmits, events) = drain(&mut client);
    assert_eq!(get_count(&transmits), 1);
    assert_eq!(post_bodies(&transmits), vec!["4early".to_owned()]);
    assert_eq!(events.len(), 1);
}

#[test]
fn send_rejects_oversize_messages_for_polling() {
    // maxPayload 10: "4" + 9 bytes fits; 10 bytes do not; 7 binary bytes are 1 + 12 in base64.
    let (mut client, now, _) = polling_client_with(ClientConfig::default(), &[], 10);
    assert_eq!(
        client.send(now, "x".repeat(10).into()),
        Err(SendError::PayloadTooLarge)
    );
    assert_eq!(
        client.send(now, Message::Binary(vec![0; 7].into())),
        Err(SendError::PayloadTooLarge)
    );
    assert_eq!(client.send(now, "x".repeat(9).into()), Ok(()));
    assert_eq!(
        post_bodies(&drain(&mut client).0),
        vec![format!("4{}", "x".repeat(9))]
    );
}

#[test]
fn buffer_overflow_policies() {
    // Reject: the caller is told, nothing queued is lost.
    let (mut client, now, _) = polling_client(one_slot(OverflowPolicy::Reject));
    client.send(now, "a".into()).unwrap();
    let post = last_post(&drain(&mut client).0);
    client.send(now, "b".into()).unwrap();
    assert_eq!(client.send(now, "c".into()), Err(SendError::BufferFull));
    client.handle_response(now, post, 200, Bytes::from_static(b"ok"));
    assert_eq!(post_bodies(&drain(&mut client).0), vec!["4b".to_owned()]);

    // DropOldest: the newest message wins.
    let (mut client, now, _) = polling_client(one_slot(OverflowPolicy::DropOldest));
    client.send(now, "a".into()).unwrap();
    let post = last_post(&drain(&mut client).0);
    client.send(now, "b".into()).unwrap();
    client.send(now, "c".into()).unwrap();
    client.handle_response(now, post, 200, Bytes::from_static(b"ok"));
    assert_eq!(post_bodies(&drain(&mut client).0), vec!["4c".to_owned()]);

    // Close: the connection ends.
    let (mut client, now, get) = polling_client(one_slot(OverflowPolicy::Close));
    client.send(now, "a".into()).unwrap();
    let post = last_post(&drain(&mut client).0);
    client.send(now, "b".into()).unwrap();
    assert_eq!(client.send(now, "c".into()), Err(SendError::BufferFull));
    let (transmits, events) = drain(&mut client);
    assert_eq!(
        transmits,
        vec![
            ClientTransmit::Abort { request: get },
            ClientTransmit::Abort { request: post }
        ]
    );
    assert_eq!(
        events,
        vec![ClientEvent::Disconnected(DisconnectReason::BufferOverflow)]
    );
    assert_eq!(client.send(now, "d".into()), Err(SendError::Closed));
}

#[test]
fn no_transport_fails_at_once() {
    let config = ClientConfig {
        transports: Transports {
            polling: false,
            websocket: false,
        },
        ..ClientConfig::default()
    };
    let mut client = Client::new(origin(), config);
    let (transmits, events) = drain(&mut client);
    assert!(transmits.is_empty());
    assert_eq!(
        events,
        vec![ClientEvent::ConnectFailed(ConnectError::NoTransport)]
    );
    assert_eq!(client.poll_timeout(), None);
    assert_eq!(
        ConnectError::NoTransport.to_string(),
        "no transport enabled"
    );
}

#[test]
fn client_can_move_between_threads() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Client>();
    assert_send_sync::<ClientTransmit>();
    assert_send_sync::<ClientEvent>();
    // The error type works with `?` into boxed errors.
    let error: Box<dyn std::error::Error + Send + Sync> = Box::new(ConnectError::Timeout);
    assert_eq!(error.to_string(), "handshake timed out");
}

#[test]
fn close_before_the_handshake() {
    let now = origin();
    let mut client = Client::new(now, ClientConfig::default());
    let _ = drain(&mut client);
    client.close(now);
    let (transmits, events) = drain(&mut client);
    assert_eq!(
        transmits,
        vec![ClientTransmit::Abort {
            request: RequestId(0)
        }]
    );
    assert_eq!(
        events,
        vec![ClientEvent::Disconnected(
            DisconnectReason::ClientDisconnect
        )]
    );
    // The late answer to the cancelled handshake changes nothing.
    client.handle_response(now, RequestId(0), 200, open_body(&[], 100));
    assert_eq!(drain(&mut client), (vec![], vec![]));
    assert_eq!(client.sid(), None);

    let config = ClientConfig {
        transports: Transports::WEBSOCKET,
        ..ClientConfig::default()
    };
    let mut client = Client::new(now, config);
    let _ = drain(&mut client);
    client.close(now);
    let (transmits, events) = drain(&mut client);
    assert_eq!(
        transmits,
        vec![ClientTransmit::WsClose {
            socket: RequestId(0)
        }]
    );
    assert_eq!(
        events,
        vec![ClientEvent::Disconnected(
            DisconnectReason::ClientDisconnect
        )]
    );
}

/// Throws every kind of input at a client and checks that nothing more comes out.
fn assert_inert(client: &mut Client) {
    let now = origin() + Duration::from_secs(3600);
    for id in 0..6 {
        let id = RequestId(id);
        client.handle_response(now, id, 200, Bytes::from_static(b"4zombie\x1e2"));
        client.handle_request_failed(now, id);
        client.handle_ws_open(now, id);
        client.handle_ws_frame(now, id, text("3probe"));
        client.handle_ws_frame(now, id, text("4zombie"));
        client.handle_ws_written(now, id);
        client.handle_ws_closed(now, id);
    }
    client.handle_timeout(now);
    client.close(now);
    assert_eq!(client.send(now, "x".into()), Err(SendError::Closed));
    assert_eq!(drain(client), (vec![], vec![]));
    assert_eq!(client.poll_timeout(), None);
    assert!(client.is_closed());
}

#[test]
fn exactly_one_terminal_event() {
    // Server close over polling, after which the client is inert.
    let (mut client, now, get) = polling_client(ClientConfig::default());
    client.handle_response(now, get, 200, Bytes::from_static(b"1"));
    assert_eq!(
        drain(&mut client).1,
        vec![ClientEvent::Disconnected(
            DisconnectReason::ServerDisconnect
        )]
    );
    assert_inert(&mut client);

    // A ping timeout racing a close: one terminal event.
    let (mut client, now, _) = polling_client(ClientConfig::default());
    client.close(now);
    client.handle_timeout(now + Duration::from_secs(60));
    client.close(now + Duration::from_secs(61));
    let events = drain(&mut client).1;
    assert_eq!(
        events,
        vec![ClientEvent::Disconnected(
            DisconnectReason::ClientDisconnect
        )]
    );
    assert_inert(&mut client);

    // A rejected handshake.
    let mut client = Client::new(now, ClientConfig::default());
    client.handle_response(now, RequestId(0), 503, Bytes::new());
    let events = drain(&mut client).1;
    assert!(matches!(
        events[..],
        [ClientEvent::ConnectFailed(ConnectError::Rejected {
            status: 503,
            ..
        })]
    ));
    assert_inert(&mut client);
}

#[test]
fn queries_escape_the_sid_and_can_skip_the_token() {
    let config = ClientConfig {
        timestamp_requests: false,
        ..ClientConfig::default()
    };
    let now = origin();
    let mut client = Client::new(now, config);
    let (transmits, _) = drain(&mut client);
    assert_eq!(
        transmits,
        vec![ClientTransmit::Get {
            request: RequestId(0),
            query: "EIO=4&transport=polling".into()
        }]
    );
    let open = r#"0{"sid":"a+b/c=","upgrades":[],"pingInterval":1,"pingTimeout":1}"#;
    client.handle_response(now, RequestId(0), 200, Bytes::from_static(open.as_bytes()));
    let (transmits, events) = drain(&mut client);
    assert_eq!(
        transmits,
        vec![ClientTransmit::Get {
            request: RequestId(1),
            query: "EIO=4&transport=polling&sid=a%2Bb%2Fc%3D".into()
        }]
    );
    assert_eq!(
        events,
        vec![ClientEvent::Connected {
            sid: "a+b/c=".into(),
            transport: Transport::Polling
        }]
    );
}
