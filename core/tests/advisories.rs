//! The core-level rows of the security advisory table (user-voice.md): each input that once
//! crashed, hung or exhausted an Engine.IO server, replayed against ours. Every request must
//! get exactly one answer (the harness checks it), with the exact status and error code.

mod support;

use std::time::Duration;

use engineio_core::{
    Authorization, Bytes, DisconnectReason, Event, Frame, Request, ServerConfig, TransportError,
    WsFailure,
};
use support::{error_code, test_config, Raw};

fn raw() -> Raw {
    Raw::new(test_config())
}

// CVE-2020-36048: a 100 MB body is refused as soon as it crosses the limit, without buffering.
#[test]
fn oversized_body_is_refused_at_the_crossing_chunk() {
    let mut raw = raw();
    let sid = raw.handshake();
    let id = raw.request(Request::post(&format!("EIO=4&transport=polling&sid={sid}")));
    assert!(raw.body_wanted.contains(&id));
    let chunk = Bytes::from(vec![b'4'; 64 * 1024]);
    let mut sent = 0usize;
    while !raw.is_answered(id) {
        assert!(
            sent <= 1_000_000 + chunk.len(),
            "kept reading past the limit"
        );
        raw.server.handle_body(raw.now, id, chunk.clone());
        raw.drain();
        sent += chunk.len();
    }
    assert!(sent > 1_000_000 && sent <= 1_000_000 + chunk.len());
    assert_eq!(raw.answer(id).0, 413);
    assert!(raw.take_events().contains(&Event::Disconnected {
        sid,
        reason: DisconnectReason::PayloadTooLarge
    }));
}

#[test]
fn declared_oversized_body_is_refused_before_reading() {
    let mut raw = raw();
    let sid = raw.handshake();
    let id = raw.request(Request {
        content_length: Some(100_000_000),
        ..Request::post(&format!("EIO=4&transport=polling&sid={sid}"))
    });
    assert!(!raw.body_wanted.contains(&id));
    assert_eq!(raw.answer(id).0, 413);
}

// CVE-2020-36048, the packet-count half: many tiny packets hit a cap, not the CPU.
#[test]
fn a_flood_of_tiny_packets_hits_the_packet_cap() {
    let mut raw = raw();
    let sid = raw.handshake();
    let body = "6\x1e".repeat(20_000) + "6";
    let id = raw.post(
        &format!("EIO=4&transport=polling&sid={sid}"),
        body.as_bytes(),
    );
    assert_eq!(raw.answer(id).0, 413);
    assert_eq!(raw.server.session_count(), 0);
}

// CVE-2023-31125 and friends: odd transport and EIO values each get a 400 with a code.
#[test]
fn odd_query_values_get_400_with_a_code() {
    let mut raw = raw();
    let long = "x".repeat(10_000);
    let cases: Vec<(String, u64)> = vec![
        ("EIO=4&transport=__proto__".into(), 0),
        ("EIO=4&transport=constructor".into(), 0),
        ("EIO=4&transport=toString".into(), 0),
        ("EIO=4&transport=".into(), 0),
        ("EIO=4&transport=polling&transport=polling".into(), 0),
        (format!("EIO=4&transport={long}"), 0),
        ("EIO=4&transport=p%C3%B6lling".into(), 0),
        ("transport=polling".into(), 5),
        ("EIO=0&transport=polling".into(), 5),
        ("EIO=5&transport=polling".into(), 5),
        ("EIO=four&transport=polling".into(), 5),
        ("EIO=4&EIO=4&transport=polling".into(), 5),
        ("EIO=4&transport=polling&sid=__proto__".into(), 1),
        ("EIO=4&transport=polling&sid=".into(), 1),
        ("EIO=4&transport=polling&sid=a&sid=b".into(), 1),
        (format!("EIO=4&transport=polling&sid={long}"), 1),
        ("EIO=4&transport=polling&sid=%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC".into(), 1),
    ];
    for (query, code) in cases {
        let id = raw.get(&query);
        let (status, body) = raw.answer(id);
        assert_eq!((status, error_code(&body)), (400, code), "{query:.60}");
    }
    assert_eq!(raw.server.session_count(), 0);
}

// CVE-2026-59725: every error path ends the response (octet-stream, wrong type, empty body).
#[test]
fn every_bad_post_is_answered() {
    for (content_type, body, status) in [
        (Some("application/octet-stream"), &b"4hi"[..], 400),
        (
            Some("application/octet-stream; charset=binary"),
            b"4hi",
            400,
        ),
        (Some("text/plain;charset=UTF-8"), b"", 400),
        (None, b"", 400),
        (Some("application/json"), b"4fine", 200),
    ] {
        let mut raw = raw();
        let sid = raw.handshake();
        let query = format!("EIO=4&transport=polling&sid={sid}");
        let id = raw.post_with(
            Request {
                content_type,
                ..Request::post(&query)
            },
            body,
        );
        assert_eq!(raw.answer(id).0, status, "{content_type:?} {body:?}");
        let expected_sessions = usize::from(status == 200);
        assert_eq!(raw.server.session_count(), expected_sessions);
    }
}

#[test]
fn octet_stream_closes_with_a_typed_reason() {
    let mut raw = raw();
    let sid = raw.handshake();
    raw.post_with(
        Request {
            content_type: Some("application/octet-stream"),
            ..Request::post(&format!("EIO=4&transport=polling&sid={sid}"))
        },
        b"4x",
    );
    assert!(raw.take_events().contains(&Event::Disconnected {
        sid,
        reason: DisconnectReason::TransportError(TransportError::InvalidContentType)
    }));
}

// GHSA-gr94-w7qr-f4j3: an unknown or odd sid on every upgrade path.
#[test]
fn odd_sids_on_upgrade_requests() {
    let mut raw = raw();
    for sid in [
        "__proto__",
        "",
        "AAAAAAAAAAAAAAAAAAAA",
        "constructor",
        "%00",
    ] {
        let id = raw.ws(&format!("EIO=4&transport=websocket&sid={sid}"));
        assert!(!raw.accepted.contains(&id));
        let (status, body) = raw.answer(id);
        assert_eq!((status, error_code(&body)), (400, 1), "{sid:?}");
    }
}

// GHSA-2gc4-cqfq-p2gv: a protocol revision that changes mid-session.
#[test]
fn eio_mismatch_after_the_handshake() {
    let mut raw = raw();
    let sid = raw.handshake();
    for query in [
        format!("EIO=3&transport=polling&sid={sid}"),
        format!("transport=polling&sid={sid}"),
    ] {
        let id = raw.get(&query);
        assert_eq!(error_code(&raw.answer(id).1), 5);
    }
    let id = raw.ws(&format!("EIO=3&transport=websocket&sid={sid}"));
    assert_eq!(error_code(&raw.answer(id).1), 5);
    assert_eq!(raw.server.session_count(), 1, "the session survives");
}

// CVE-2026-48802: pong floods and unauthenticated connects allocate no timers.
#[test]
fn pong_floods_do_not_move_the_heartbeat() {
    let mut raw = raw();
    let socket = raw.ws("EIO=4&transport=websocket");
    let deadline = raw.server.poll_timeout();
    for _ in 0..10_000 {
        raw.ws_text(socket, "3");
    }
    assert_eq!(raw.server.poll_timeout(), deadline);
    raw.advance(Duration::from_millis(300));
    assert_eq!(raw.frames(socket).last().map(String::as_str), Some("2"));
}

#[test]
fn unauthorized_handshakes_hold_no_session() {
    let mut raw = Raw::new(ServerConfig {
        authorize: true,
        ..test_config()
    });
    let ids: Vec<_> = (0..100)
        .map(|_| raw.get("EIO=4&transport=polling"))
        .collect();
    assert_eq!(raw.server.session_count(), 0);
    raw.advance(Duration::from_secs(10));
    for id in ids {
        assert_eq!(raw.answer(id).0, 503, "the authorization deadline answers");
    }
    assert_eq!(raw.server.poll_timeout(), None);
}

#[test]
fn rejected_authorization_gets_403_with_the_message() {
    let mut raw = Raw::new(ServerConfig {
        authorize: true,
        ..test_config()
    });
    let id = raw.get("EIO=4&transport=polling");
    assert!(raw.take_events().contains(&Event::Authorize {
        request: id,
        transport: engineio_core::Transport::Polling
    }));
    raw.server
        .authorize(
            raw.now,
            id,
            Authorization::Reject {
                status: 403,
                message: "Thou shall not pass".into(),
            },
        )
        .unwrap();
    raw.drain();
    assert_eq!(
        raw.answer(id),
        (403, r#"{"code":4,"message":"Thou shall not pass"}"#.into())
    );
    let id = raw.ws("EIO=4&transport=websocket");
    raw.server
        .authorize(raw.now, id, Authorization::Accept)
        .unwrap();
    raw.drain();
    assert!(
        raw.accepted.contains(&id),
        "authorization runs for WebSocket handshakes too"
    );
}

// CVE-2026-48809: a huge POST with an unknown sid, and a huge WebSocket message.
#[test]
fn huge_post_to_an_unknown_sid_is_never_read() {
    let mut raw = raw();
    let id = raw.request(Request {
        content_length: Some(1 << 40),
        ..Request::post("EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA")
    });
    assert!(!raw.body_wanted.contains(&id));
    assert_eq!(error_code(&raw.answer(id).1), 1);
}

#[test]
fn oversized_websocket_message_closes_with_1009() {
    let mut raw = raw();
    let socket = raw.ws("EIO=4&transport=websocket");
    raw.ws_send(socket, Frame::Binary(Bytes::from(vec![0; 1_000_001])));
    assert_eq!(raw.closed.get(&socket), Some(&1009));
    assert!(raw.take_events().iter().any(|e| matches!(
        e,
        Event::Disconnected {
            reason: DisconnectReason::PayloadTooLarge,
            ..
        }
    )));
    // The library's own limit reports the same way.
    let socket = raw.ws("EIO=4&transport=websocket");
    raw.server
        .handle_ws_error(raw.now, socket, WsFailure::TooLarge);
    raw.drain();
    assert_eq!(raw.closed.get(&socket), Some(&1009));
}

// socketioxide#731: an upgrade opened and never finished is reaped.
#[test]
fn abandoned_upgrade_is_reaped() {
    let mut raw = Raw::new(ServerConfig {
        ping_interval: Duration::from_secs(60),
        ..test_config()
    });
    let sid = raw.handshake();
    let socket = raw.ws(&format!("EIO=4&transport=websocket&sid={sid}"));
    raw.advance(Duration::from_secs(1));
    assert!(!raw.server.is_upgrading(&sid));
    assert!(raw.closed.contains_key(&socket));
    // The session itself still ends on its heartbeat when the client is gone too.
    raw.advance(Duration::from_secs(80));
    assert_eq!(raw.server.session_count(), 0);
}

// socketioxide#320: frames of an unexpected kind where text is expected.
#[test]
fn unexpected_frames_never_panic() {
    let mut raw = raw();
    let socket = raw.ws("EIO=4&transport=websocket");
    for frame in [
        "", "b", "b!!", "0{}", "2", "2probe", "3probe", "5", "6", "9",
    ] {
        raw.ws_send(socket, Frame::Text(frame.into()));
    }
    // "" is a parse error, so the session ended there, and later frames went nowhere.
    assert_eq!(raw.server.session_count(), 0);
    assert_eq!(raw.closed.get(&socket), Some(&1002));
}

// RFC 6455 §7.4.1: each failure the WebSocket library reports is answered with its own close
// code on the socket that failed (CVE-2022-21676: reserved bits; invalid UTF-8; too large).
#[test]
fn websocket_failures_close_with_their_code() {
    for (failure, code, reason) in [
        (
            WsFailure::Protocol,
            1002,
            DisconnectReason::TransportError(TransportError::WebSocket),
        ),
        (
            WsFailure::InvalidUtf8,
            1007,
            DisconnectReason::TransportError(TransportError::WebSocket),
        ),
        (WsFailure::TooLarge, 1009, DisconnectReason::PayloadTooLarge),
    ] {
        let mut raw = raw();
        let socket = raw.ws("EIO=4&transport=websocket");
        raw.take_events();
        raw.server.handle_ws_error(raw.now, socket, failure);
        raw.drain();
        assert_eq!(raw.closed.get(&socket), Some(&code), "{failure:?}");
        assert!(
            raw.take_events()
                .iter()
                .any(|e| matches!(e, Event::Disconnected { reason: r, .. } if *r == reason)),
            "{failure:?}"
        );
        assert_eq!(raw.server.session_count(), 0, "{failure:?}");
    }
}

// A failure on an upgrade probe closes the probe with its code; the session stays on polling.
#[test]
fn websocket_failure_on_a_probe_keeps_the_polling_session() {
    let mut raw = raw();
    let sid = raw.handshake();
    let socket = raw.ws(&format!("EIO=4&transport=websocket&sid={sid}"));
    assert!(raw.server.is_upgrading(&sid));
    raw.server
        .handle_ws_error(raw.now, socket, WsFailure::InvalidUtf8);
    raw.drain();
    assert_eq!(raw.closed.get(&socket), Some(&1007));
    assert!(!raw.server.is_upgrading(&sid));
    assert_eq!(raw.server.session_count(), 1);
    let post = raw.post(&format!("EIO=4&transport=polling&sid={sid}"), b"4still");
    assert_eq!(raw.answer(post), (200, "ok".to_owned()));
}
