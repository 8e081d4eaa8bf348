//! Every assertion of the official Engine.IO v4 conformance suite (protocol.md §1.12), run
//! against the server core with simulated time, plus the reference server-test behaviours
//! listed with it.

mod support;

use std::time::Duration;

use engineio_core::{Bytes, DisconnectReason, Event, Frame, Request, ResponseKind, ServerConfig};
use support::{error_code, sid_of, test_config, Raw};

fn raw() -> Raw {
    Raw::new(test_config())
}

// 1. Handshake over polling.
#[test]
fn polling_handshake_has_exactly_the_five_keys() {
    let mut raw = raw();
    let id = raw.get("EIO=4&transport=polling");
    let response = raw.response(id).unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.content_type, Some("text/plain; charset=UTF-8"));
    let body = std::str::from_utf8(&response.body).unwrap();
    assert!(body.starts_with("0{"), "{body}");
    let open: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&body[1..]).unwrap();
    let mut keys: Vec<_> = open.keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "maxPayload",
            "pingInterval",
            "pingTimeout",
            "sid",
            "upgrades"
        ]
    );
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]));
    assert_eq!(open["pingInterval"], 300);
    assert_eq!(open["pingTimeout"], 200);
    assert_eq!(open["maxPayload"], 1_000_000);
    assert!(open["sid"].as_str().unwrap().len() >= 20);
    assert!(matches!(response.kind, ResponseKind::Handshake { .. }));
}

// 2. Bad handshakes.
#[test]
fn bad_handshakes_get_400_with_a_code() {
    let mut raw = raw();
    for (query, code) in [
        ("transport=polling", 5),
        ("EIO=abc&transport=polling", 5),
        ("EIO=3&transport=polling", 5),
        ("EIO=4", 0),
        ("EIO=4&transport=tobi", 0),
    ] {
        let id = raw.get(query);
        let (status, body) = raw.answer(id);
        assert_eq!((status, error_code(&body)), (400, code), "{query}: {body}");
    }
    for method in [engineio_core::Method::Post, engineio_core::Method::Other] {
        let id = raw.request(Request {
            method,
            ..Request::get("EIO=4&transport=polling")
        });
        let (status, body) = raw.answer(id);
        assert_eq!((status, error_code(&body)), (400, 2), "{method:?}");
    }
    assert_eq!(raw.server.session_count(), 0);
}

// 3. WebSocket-only handshake.
#[test]
fn websocket_handshake_sends_open_with_no_upgrades() {
    let mut raw = raw();
    let socket = raw.ws("EIO=4&transport=websocket");
    assert!(raw.accepted.contains(&socket));
    let frames = raw.frames(socket);
    assert_eq!(frames.len(), 1);
    let open: serde_json::Value = serde_json::from_str(&frames[0][1..]).unwrap();
    assert!(frames[0].starts_with('0'));
    assert_eq!(open["upgrades"], serde_json::json!([]));
    for query in ["EIO=3&transport=websocket", "EIO=4&transport=foo"] {
        let id = raw.ws(query);
        assert!(!raw.accepted.contains(&id));
        assert_eq!(raw.answer(id).0, 400, "{query}");
    }
}

// 4. Messages over polling.
#[test]
fn polling_echo_batches_and_binary() {
    let mut raw = raw();
    let sid = raw.handshake();
    let q = format!("EIO=4&transport=polling&sid={sid}");
    let post = raw.post(&q, b"4hello");
    let response = raw.response(post).unwrap();
    assert_eq!((response.status, &response.body[..]), (200, &b"ok"[..]));
    assert_eq!(response.content_type, Some("text/html"));
    let events = raw.take_events();
    assert!(events.contains(&Event::Message {
        sid,
        message: "hello".into()
    }));
    // Echo what arrived, the way an echo server does.
    let post = raw.post(&q, b"4test1\x1e4test2\x1e4test3");
    assert_eq!(raw.answer(post).1, "ok");
    for event in raw.take_events() {
        if let Event::Message { message, .. } = event {
            raw.send(&sid, message);
        }
    }
    let get = raw.get(&q);
    assert_eq!(raw.answer(get), (200, "4test1\x1e4test2\x1e4test3".into()));
    let post = raw.post(&q, b"4hello\x1ebAQIDBA==");
    assert_eq!(raw.answer(post).1, "ok");
    for event in raw.take_events() {
        if let Event::Message { message, .. } = event {
            raw.send(&sid, message);
        }
    }
    let get = raw.get(&q);
    assert_eq!(raw.answer(get).1, "4hello\x1ebAQIDBA==");
}

// 5. Malformed payloads.
#[test]
fn malformed_post_gets_400_and_closes() {
    let mut raw = raw();
    let sid = raw.handshake();
    let q = format!("EIO=4&transport=polling&sid={sid}");
    let post = raw.post(&q, b"abc");
    assert_eq!(raw.answer(post).0, 400);
    let get = raw.get(&q);
    let (status, body) = raw.answer(get);
    assert_eq!((status, error_code(&body)), (400, 1));
    assert!(raw.take_events().contains(&Event::Disconnected {
        sid,
        reason: DisconnectReason::ParseError
    }));
}

#[test]
fn malformed_websocket_frame_closes_the_socket() {
    let mut raw = raw();
    let socket = raw.ws("EIO=4&transport=websocket");
    raw.ws_text(socket, "abc");
    assert_eq!(raw.closed.get(&socket), Some(&1002));
    assert_eq!(raw.server.session_count(), 0);
}

// 6. Two concurrent GETs.
#[test]
fn concurrent_polls_close_the_session() {
    let mut raw = raw();
    let sid = raw.handshake();
    let q = format!("EIO=4&transport=polling&sid={sid}");
    let first = raw.get(&q);
    assert!(!raw.is_answered(first), "nothing to send: the GET is held");
    let second = raw.get(&q);
    assert_eq!(raw.answer(first), (200, "1".into()));
    assert_eq!(raw.answer(second).0, 400);
    let third = raw.get(&q);
    assert_eq!(raw.answer(third).0, 400);
}

// 7. Messages over WebSocket, in kind.
#[test]
fn websocket_echo_in_kind() {
    let mut raw = raw();
    let socket = raw.ws("EIO=4&transport=websocket");
    let sid = sid_of(&raw.frames(socket)[0]);
    raw.ws_text(socket, "4hello");
    raw.ws_send(socket, Frame::Binary(Bytes::from_static(&[1, 2, 3, 4])));
    for event in raw.take_events() {
        if let Event::Message { message, .. } = event {
            raw.send(&sid, message);
        }
    }
    let frames = raw.frames(socket);
    assert_eq!(frames, ["4hello", "bin:b\"\\x01\\x02\\x03\\x04\""]);
}

// 8. Heartbeat.
#[test]
fn polling_heartbeat_three_times_then_timeout() {
    let mut raw = raw();
    let sid = raw.handshake();
    let q = format!("EIO=4&transport=polling&sid={sid}");
    for _ in 0..3 {
        let get = raw.get(&q);
        assert!(!raw.is_answered(get));
        raw.advance(Duration::from_millis(300));
        assert_eq!(raw.answer(get), (200, "2".into()));
        let post = raw.post(&q, b"3");
        assert_eq!(raw.answer(post), (200, "ok".into()));
    }
    // No poll for interval + timeout: the session is gone.
    raw.advance(Duration::from_millis(500));
    let get = raw.get(&q);
    assert_eq!(raw.answer(get).0, 400);
    assert!(raw.take_events().contains(&Event::Disconnected {
        sid,
        reason: DisconnectReason::PingTimeout
    }));
}

#[test]
fn websocket_heartbeat_then_timeout_closes() {
    let mut raw = raw();
    let socket = raw.ws("EIO=4&transport=websocket");
    raw.frames(socket);
    for _ in 0..3 {
        raw.advance(Duration::from_millis(300));
        assert_eq!(raw.frames(socket), ["2"]);
        raw.ws_text(socket, "3");
    }
    raw.advance(Duration::from_millis(300));
    assert_eq!(raw.frames(socket), ["2"]);
    raw.advance(Duration::from_millis(199));
    assert!(
        !raw.closed.contains_key(&socket),
        "timeout starts when the ping is queued"
    );
    raw.advance(Duration::from_millis(1));
    assert!(raw.closed.contains_key(&socket));
    assert_eq!(raw.server.session_count(), 0);
}

// 9. Close.
#[test]
fn client_close_over_polling() {
    let mut raw = raw();
    let sid = raw.handshake();
    let q = format!("EIO=4&transport=polling&sid={sid}");
    let get = raw.get(&q);
    let post = raw.post(&q, b"1");
    assert_eq!(raw.answer(post), (200, "ok".into()));
    assert_eq!(raw.answer(get), (200, "6".into()));
    let later = raw.get(&q);
    assert_eq!(error_code(&raw.answer(later).1), 1);
    let events = raw.take_events();
    let disconnects: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, Event::Disconnected { .. }))
        .collect();
    assert_eq!(
        disconnects,
        [&Event::Disconnected {
            sid,
            reason: DisconnectReason::ClientDisconnect
        }]
    );
}

#[test]
fn client_close_over_websocket() {
    let mut raw = raw();
    let socket = raw.ws("EIO=4&transport=websocket");
    raw.ws_text(socket, "1");
    assert_eq!(raw.closed.get(&socket), Some(&1000));
    assert_eq!(raw.server.session_count(), 0);
}

// 10. Upgrade.
#[test]
fn upgrade_probe_noop_and_switch() {
    let mut raw = raw();
    let sid = raw.handshake();
    let q = format!("EIO=4&transport=polling&sid={sid}");
    let socket = raw.ws(&format!("EIO=4&transport=websocket&sid={sid}"));
    assert!(raw.accepted.contains(&socket));
    let held = raw.get(&q);
    assert!(!raw.is_answered(held));
    raw.ws_text(socket, "2probe");
    assert_eq!(raw.frames(socket), ["3probe"]);
    assert_eq!(raw.answer(held), (200, "6".into()));
    // Every later GET during the upgrade gets `6` at once; messages wait for the WebSocket.
    raw.send(&sid, "during");
    let again = raw.get(&q);
    assert_eq!(raw.answer(again), (200, "6".into()));
    raw.ws_text(socket, "5");
    assert!(raw.take_events().contains(&Event::Upgraded { sid }));
    assert_eq!(raw.frames(socket), ["4during"]);
    raw.ws_text(socket, "4hello");
    assert!(raw.take_events().contains(&Event::Message {
        sid,
        message: "hello".into()
    }));
    // After the upgrade: polling gets 400 code 3, a second WebSocket is refused, the first works.
    let get = raw.get(&q);
    let (status, body) = raw.answer(get);
    assert_eq!((status, error_code(&body)), (400, 3));
    let second = raw.ws(&format!("EIO=4&transport=websocket&sid={sid}"));
    assert!(!raw.accepted.contains(&second));
    assert_eq!(raw.answer(second).0, 400);
    raw.send(&sid, "still");
    assert_eq!(raw.frames(socket), ["4still"]);
}

#[test]
fn messages_sent_before_the_probe_arrive_over_polling() {
    let mut raw = raw();
    let sid = raw.handshake();
    let q = format!("EIO=4&transport=polling&sid={sid}");
    let socket = raw.ws(&format!("EIO=4&transport=websocket&sid={sid}"));
    raw.send(&sid, "early");
    let get = raw.get(&q);
    assert_eq!(raw.answer(get).1, "4early");
    raw.ws_text(socket, "2probe");
    raw.ws_text(socket, "5");
    assert_eq!(
        raw.server.transport(&sid),
        Some(engineio_core::Transport::WebSocket)
    );
}

#[test]
fn unfinished_probe_is_dropped_and_polling_goes_on() {
    let mut raw = Raw::new(ServerConfig {
        ping_interval: Duration::from_secs(5),
        ..test_config()
    });
    let sid = raw.handshake();
    let q = format!("EIO=4&transport=polling&sid={sid}");
    let socket = raw.ws(&format!("EIO=4&transport=websocket&sid={sid}"));
    raw.advance(Duration::from_millis(999));
    assert!(raw.server.is_upgrading(&sid));
    raw.advance(Duration::from_millis(1));
    assert!(!raw.server.is_upgrading(&sid));
    assert_eq!(raw.closed.get(&socket), Some(&1000));
    raw.send(&sid, "after");
    let get = raw.get(&q);
    assert_eq!(
        raw.answer(get),
        (200, "4after".into()),
        "the session lives on over polling"
    );
}

#[test]
fn unexpected_packet_on_the_probe_drops_only_the_probe() {
    let mut raw = raw();
    let sid = raw.handshake();
    let socket = raw.ws(&format!("EIO=4&transport=websocket&sid={sid}"));
    raw.ws_text(socket, "4nope");
    assert!(raw.closed.contains_key(&socket));
    assert_eq!(
        raw.server.transport(&sid),
        Some(engineio_core::Transport::Polling)
    );
    assert_eq!(raw.server.session_count(), 1);
}

#[test]
fn closing_while_upgrading_aborts_the_probe() {
    let mut raw = raw();
    let sid = raw.handshake();
    let socket = raw.ws(&format!("EIO=4&transport=websocket&sid={sid}"));
    raw.server.close(raw.now, &sid).unwrap();
    raw.drain();
    assert!(raw.closed.contains_key(&socket));
}

// Extra reference server-test behaviours.
#[test]
fn transport_names_are_compared_exactly() {
    let mut raw = raw();
    for transport in [
        "constructor",
        "__proto__",
        "toString",
        "",
        "Polling",
        "polling%00",
    ] {
        let id = raw.get(&format!("EIO=4&transport={transport}"));
        let (status, body) = raw.answer(id);
        assert_eq!((status, error_code(&body)), (400, 0), "{transport:?}");
    }
}

#[test]
fn invalid_origin_characters_get_code_3() {
    let mut raw = raw();
    let id = raw.request(Request {
        origin: Some(b"http://evil\r\n.com"),
        ..Request::get("EIO=4&transport=polling")
    });
    let (status, body) = raw.answer(id);
    assert_eq!((status, error_code(&body)), (400, 3));
}

#[test]
fn disabled_transports_and_upgrades() {
    let mut raw = Raw::new(ServerConfig {
        allow_upgrades: false,
        ..test_config()
    });
    let id = raw.get("EIO=4&transport=polling");
    let body = raw.answer(id).1;
    assert!(body.contains(r#""upgrades":[]"#), "{body}");
    let sid = sid_of(&body);
    let ws = raw.ws(&format!("EIO=4&transport=websocket&sid={sid}"));
    assert_eq!(raw.answer(ws).0, 400);

    let mut raw = Raw::new(ServerConfig {
        transports: engineio_core::Transports::POLLING,
        ..test_config()
    });
    let id = raw.get("EIO=4&transport=polling");
    assert!(raw.answer(id).1.contains(r#""upgrades":[]"#));
    let ws = raw.ws("EIO=4&transport=websocket");
    assert_eq!(error_code(&raw.answer(ws).1), 0);
}
