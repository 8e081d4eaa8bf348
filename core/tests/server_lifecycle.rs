//! Server behaviour beyond the conformance suite: connect confirmation, server-side close on
//! each transport, bounded buffers, WebSocket write batching, shutdown, and the rule that every
//! connected session ends with exactly one `Disconnected`.

mod support;

use std::time::Duration;

use bytes::Bytes;
use engineio_core::{
    BufferLimits, DisconnectReason, Event, Message, OverflowPolicy, SendError, ServerConfig,
};
use support::{error_code, sid_of, test_config, Raw};

fn disconnects(events: &[Event]) -> Vec<DisconnectReason> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::Disconnected { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect()
}

#[test]
fn confirm_connect_holds_the_handshake_until_accepted() {
    let mut raw = Raw::new(ServerConfig {
        confirm_connect: true,
        ..test_config()
    });
    let id = raw.get("EIO=4&transport=polling");
    assert!(!raw.is_answered(id));
    let events = raw.take_events();
    let Some(Event::Connecting { sid, .. }) = events.first().cloned() else {
        panic!("expected Connecting, got {events:?}");
    };
    // Messages sent while connecting follow the open packet in the handshake response.
    raw.send(&sid, "welcome");
    raw.server.accept_connect(raw.now, &sid).unwrap();
    raw.drain();
    let body = raw.answer(id).1;
    assert_eq!(sid_of(&body), sid);
    assert!(body.ends_with("\u{1e}4welcome"), "{body}");
    assert!(matches!(raw.take_events()[..], [Event::Connected { .. }]));
}

/// `handle_request` names the handshakes (the requests a runtime keeps the details of), and
/// only them: each one it names then shows up in an event, and nothing else does.
#[test]
fn handle_request_names_handshakes_and_only_them() {
    use engineio_core::{Request, Transport};

    // The request an event names, for the events that carry a handshake's.
    fn handshake_request(event: &Event) -> Option<engineio_core::RequestId> {
        match *event {
            Event::Authorize { request, .. }
            | Event::Connecting { request, .. }
            | Event::Connected { request, .. } => Some(request),
            _ => None,
        }
    }

    for (authorize, confirm_connect) in [(false, false), (true, false), (false, true)] {
        let mut raw = Raw::new(ServerConfig {
            authorize,
            confirm_connect,
            ..test_config()
        });
        let sid = if authorize || confirm_connect {
            None
        } else {
            Some(raw.handshake())
        };
        raw.take_events();
        let sid_query = sid.map(|sid| format!("EIO=4&transport=polling&sid={sid}"));
        let cases: Vec<(Request<'_>, Option<Transport>)> = vec![
            (
                Request::get("EIO=4&transport=polling"),
                Some(Transport::Polling),
            ),
            (
                Request::get("transport=polling&EIO=4&t=x&b64=1"),
                Some(Transport::Polling),
            ),
            (
                Request::websocket("EIO=4&transport=websocket"),
                Some(Transport::WebSocket),
            ),
            // Refused before a session exists: a wrong protocol revision (when no
            // authorization comes first), an unknown transport, a POST, a WebSocket request
            // without the upgrade.
            (
                Request::get("EIO=3&transport=polling"),
                authorize.then_some(Transport::Polling),
            ),
            (Request::get("EIO=4&transport=carrier-pigeon"), None),
            (Request::post("EIO=4&transport=polling"), None),
            (Request::get("EIO=4&transport=websocket"), None),
            (Request::get("EIO=4&transport=polling&sid=unknown"), None),
        ];
        for (head, expected) in cases {
            let query = head.query.to_owned();
            let id = raw.next_id();
            let named = raw.server.handle_request(raw.now, id, head);
            raw.drain();
            assert_eq!(named, expected, "{query} (authorize {authorize})");
            let in_events = raw
                .take_events()
                .iter()
                .any(|e| handshake_request(e) == Some(id));
            assert_eq!(
                in_events,
                named.is_some(),
                "{query} (authorize {authorize})"
            );
        }
        if let Some(query) = sid_query {
            let id = raw.next_id();
            assert_eq!(
                raw.server.handle_request(raw.now, id, Request::get(&query)),
                None
            );
        }
    }
}

#[test]
fn rejected_connection_gets_401_and_no_disconnect() {
    let mut raw = Raw::new(ServerConfig {
        confirm_connect: true,
        ..test_config()
    });
    let id = raw.ws("EIO=4&transport=websocket");
    let Some(Event::Connecting { sid, .. }) = raw.take_events().first().cloned() else {
        panic!("expected Connecting");
    };
    let body = Bytes::from_static(br#"{"message":"no token"}"#);
    raw.server
        .reject_connect(raw.now, &sid, Some(body))
        .unwrap();
    raw.drain();
    assert!(!raw.accepted.contains(&id), "refused before the 101");
    assert_eq!(raw.answer(id), (401, r#"{"message":"no token"}"#.into()));
    assert!(raw.take_events().is_empty());
    assert_eq!(raw.server.session_count(), 0);
    // The half-made session is not addressable meanwhile, and times out if nobody decides.
    let id = raw.get("EIO=4&transport=polling");
    let Some(Event::Connecting { sid, .. }) = raw.take_events().first().cloned() else {
        panic!("expected Connecting");
    };
    let poll = raw.get(&format!("EIO=4&transport=polling&sid={sid}"));
    assert_eq!(error_code(&raw.answer(poll).1), 1);
    raw.advance(Duration::from_secs(10));
    assert_eq!(raw.answer(id).0, 503);
    assert_eq!(raw.server.session_count(), 0);
}

#[test]
fn server_close_reaches_a_polling_client_on_its_next_get() {
    let mut raw = Raw::new(test_config());
    let sid = raw.handshake();
    let q = format!("EIO=4&transport=polling&sid={sid}");
    raw.send(&sid, "last words");
    raw.server.close(raw.now, &sid).unwrap();
    raw.drain();
    assert_eq!(
        raw.server.send(raw.now, &sid, "too late"),
        Err(SendError::Closed)
    );
    assert!(disconnects(&raw.take_events()).is_empty(), "not yet told");
    let get = raw.get(&q);
    assert_eq!(raw.answer(get).1, "4last words\u{1e}1");
    assert_eq!(
        disconnects(&raw.take_events()),
        [DisconnectReason::ServerDisconnect]
    );
    assert_eq!(raw.server.session_count(), 0);
}

#[test]
fn server_close_without_a_poll_has_a_deadline() {
    let mut raw = Raw::new(test_config());
    let sid = raw.handshake();
    raw.server.close(raw.now, &sid).unwrap();
    raw.advance(Duration::from_secs(29));
    assert_eq!(raw.server.session_count(), 1);
    raw.advance(Duration::from_secs(1));
    assert_eq!(raw.server.session_count(), 0);
    assert_eq!(
        disconnects(&raw.take_events()),
        [DisconnectReason::ServerDisconnect]
    );
}

#[test]
fn server_close_on_websocket_sends_buffer_then_close() {
    let mut raw = Raw::new(test_config());
    let socket = raw.ws("EIO=4&transport=websocket");
    let sid = sid_of(&raw.frames(socket)[0]);
    raw.auto_written = false;
    raw.send(&sid, "a");
    raw.send(&sid, "b");
    raw.server.close(raw.now, &sid).unwrap();
    raw.drain();
    assert_eq!(raw.frames(socket), ["4a", "4b", "1"]);
    assert_eq!(raw.closed.get(&socket), Some(&1000));
    assert_eq!(
        disconnects(&raw.take_events()),
        [DisconnectReason::ServerDisconnect]
    );
}

/// `handle_ws_frames` does what one `handle_ws_frame` per frame does, frame for frame, on
/// each kind of socket: the session's own (a close in mid-run drops what follows it), a
/// probe that becomes the socket mid-run, a WebSocket-only session, and an unknown socket.
#[test]
fn frames_read_together_are_handled_as_one_by_one() {
    type Scenario = fn(&mut Raw, bool) -> Vec<String>;
    fn run(raw: &mut Raw, batched: bool, socket: engineio_core::RequestId, texts: &[&'static str]) {
        if batched {
            raw.ws_send_all(socket, texts);
        } else {
            for text in texts {
                raw.ws_text(socket, text);
            }
        }
    }
    // The label, the scenario, and how many messages it delivers.
    let scenarios: [(&str, Scenario, usize); 4] = [
        (
            "upgraded socket",
            |raw, batched| {
                let (_, socket) = raw.upgraded();
                raw.frames(socket);
                run(raw, batched, socket, &["4a", "4b", "3", "1", "4c"]);
                raw.frames(socket)
            },
            2,
        ),
        (
            "probe",
            |raw, batched| {
                let sid = raw.handshake();
                let socket = raw.ws(&format!("EIO=4&transport=websocket&sid={sid}"));
                run(raw, batched, socket, &["2probe", "5", "4x", "4y"]);
                raw.frames(socket)
            },
            2,
        ),
        (
            "websocket only",
            |raw, batched| {
                let socket = raw.ws("EIO=4&transport=websocket");
                run(raw, batched, socket, &["4a", "4b", "4c"]);
                raw.frames(socket)
            },
            3,
        ),
        (
            "unknown socket",
            |raw, batched| {
                run(raw, batched, engineio_core::RequestId(999), &["4a", "4b"]);
                Vec::new()
            },
            0,
        ),
    ];
    for (label, scenario, expected_messages) in scenarios {
        let mut outcomes = Vec::new();
        for batched in [false, true] {
            let mut raw = Raw::new(test_config());
            let frames = scenario(&mut raw, batched);
            let events: Vec<String> = raw
                .take_events()
                .iter()
                .map(|event| format!("{event:?}"))
                .collect();
            let mut closed: Vec<_> = raw.closed.iter().map(|(k, v)| (*k, *v)).collect();
            closed.sort();
            outcomes.push((frames, events, closed, raw.server.session_count()));
        }
        assert_eq!(outcomes[0], outcomes[1], "{label}");
        let delivered: Vec<&String> = outcomes[1]
            .1
            .iter()
            .filter(|event| event.starts_with("Message"))
            .collect();
        assert_eq!(delivered.len(), expected_messages, "{label}: {delivered:?}");
    }
}

#[test]
fn websocket_writes_are_batched_while_a_write_is_in_flight() {
    let mut raw = Raw::new(test_config());
    let socket = raw.ws("EIO=4&transport=websocket");
    let sid = sid_of(&raw.frames(socket)[0]);
    raw.auto_written = false;
    raw.send(&sid, "1st");
    for i in 0..16 {
        raw.send(&sid, format!("burst {i}"));
    }
    assert_eq!(raw.frames(socket), ["41st"], "the rest waits for the write");
    raw.server.handle_ws_written(raw.now, socket);
    raw.drain();
    assert_eq!(raw.frames(socket).len(), 16, "one batch for the burst");
    assert_eq!(raw.server.queued_messages(&sid), Some(0));
}

#[test]
fn overflow_policies() {
    let limits = |overflow| BufferLimits {
        max_packets: 2,
        max_bytes: 1024,
        overflow,
    };
    let mut raw = Raw::new(ServerConfig {
        buffer: limits(OverflowPolicy::Reject),
        ..test_config()
    });
    let sid = raw.handshake();
    raw.send(&sid, "a");
    raw.send(&sid, "b");
    assert_eq!(
        raw.server.send(raw.now, &sid, "c"),
        Err(SendError::BufferFull)
    );
    // Control packets are never refused: the ping still goes out, ahead of the data.
    raw.advance(Duration::from_millis(300));
    let get = raw.get(&format!("EIO=4&transport=polling&sid={sid}"));
    assert_eq!(raw.answer(get).1, "2\u{1e}4a\u{1e}4b");

    let mut raw = Raw::new(ServerConfig {
        buffer: limits(OverflowPolicy::DropOldest),
        ..test_config()
    });
    let sid = raw.handshake();
    for text in ["a", "b", "c"] {
        raw.send(&sid, text);
    }
    let get = raw.get(&format!("EIO=4&transport=polling&sid={sid}"));
    assert_eq!(raw.answer(get).1, "4b\u{1e}4c");

    let mut raw = Raw::new(ServerConfig {
        buffer: limits(OverflowPolicy::Close),
        ..test_config()
    });
    let sid = raw.handshake();
    raw.send(&sid, "a");
    raw.send(&sid, "b");
    assert_eq!(raw.server.send(raw.now, &sid, "c"), Err(SendError::Closed));
    raw.drain();
    assert_eq!(
        disconnects(&raw.take_events()),
        [DisconnectReason::BufferOverflow]
    );
}

#[test]
fn an_idle_websocket_keeps_the_buffer_limits() {
    // A message to an idle WebSocket goes out at once, without a trip through the buffer;
    // the limits must answer exactly as the buffer would.
    for (overflow, refused) in [
        (OverflowPolicy::Reject, Err(SendError::BufferFull)),
        (OverflowPolicy::DropOldest, Err(SendError::BufferFull)),
        (OverflowPolicy::Close, Err(SendError::Closed)),
    ] {
        let mut raw = Raw::new(ServerConfig {
            buffer: BufferLimits {
                max_packets: 4,
                max_bytes: 4,
                overflow,
            },
            ..test_config()
        });
        let socket = raw.ws("EIO=4&transport=websocket");
        let sid = sid_of(&raw.frames(socket)[0]);
        // `4abc` is 4 bytes: it fits the bound exactly and leaves at once.
        assert_eq!(
            raw.server.send(raw.now, &sid, "abc"),
            Ok(()),
            "{overflow:?}"
        );
        raw.drain();
        assert_eq!(raw.frames(socket), ["4abc"], "{overflow:?}");
        // `4abcd` is over the bound, on an idle socket as in a queue.
        assert_eq!(
            raw.server.send(raw.now, &sid, "abcd"),
            refused,
            "{overflow:?}"
        );
        raw.drain();
        assert!(raw.frames(socket).is_empty(), "{overflow:?}");
    }
    let mut raw = Raw::new(ServerConfig {
        buffer: BufferLimits {
            max_packets: 0,
            max_bytes: 1024,
            overflow: OverflowPolicy::Reject,
        },
        ..test_config()
    });
    let socket = raw.ws("EIO=4&transport=websocket");
    let sid = sid_of(&raw.frames(socket)[0]);
    assert_eq!(
        raw.server.send(raw.now, &sid, "a"),
        Err(SendError::BufferFull),
        "a buffer of no packets refuses every message"
    );
}

#[test]
fn abandoned_poll_closes_the_session() {
    let mut raw = Raw::new(test_config());
    let sid = raw.handshake();
    let get = raw.get(&format!("EIO=4&transport=polling&sid={sid}"));
    raw.server.handle_request_closed(raw.now, get);
    raw.drain();
    assert_eq!(
        disconnects(&raw.take_events()),
        [DisconnectReason::TransportClose]
    );
    assert!(
        !raw.is_answered(get),
        "a request the peer dropped needs no answer"
    );
}

#[test]
fn websocket_closed_by_the_peer() {
    let mut raw = Raw::new(test_config());
    let (sid, socket) = raw.upgraded();
    raw.take_events();
    raw.server.handle_ws_closed(raw.now, socket);
    raw.drain();
    assert_eq!(
        disconnects(&raw.take_events()),
        [DisconnectReason::TransportClose]
    );
    assert_eq!(raw.server.transport(&sid), None);
    assert!(!raw.closed.contains_key(&socket));
}

#[test]
fn initial_message_grace_and_b64() {
    let mut raw = Raw::new(ServerConfig {
        initial_message: Some(Message::from("hi")),
        ping_interval_grace: Duration::from_millis(50),
        ..test_config()
    });
    let id = raw.get("EIO=4&transport=polling");
    let body = raw.answer(id).1;
    assert!(body.contains(r#""pingInterval":350"#), "{body}");
    assert!(body.ends_with("\u{1e}4hi"), "{body}");
    // The server still pings every 300 ms.
    let sid = sid_of(&body);
    let get = raw.get(&format!("EIO=4&transport=polling&sid={sid}"));
    raw.advance(Duration::from_millis(300));
    assert_eq!(raw.answer(get).1, "2");

    let socket = raw.ws("EIO=4&transport=websocket&b64=1");
    let sid = sid_of(&raw.frames(socket)[0]);
    raw.send(&sid, Bytes::from_static(&[1, 2, 3, 4]));
    assert_eq!(raw.frames(socket), ["bAQIDBA=="]);
}

#[test]
fn shutdown_closes_everything_and_refuses_handshakes() {
    let mut raw = Raw::new(test_config());
    let polling = raw.handshake();
    let socket = raw.ws("EIO=4&transport=websocket");
    raw.frames(socket);
    let get = raw.get(&format!("EIO=4&transport=polling&sid={polling}"));
    raw.server.shutdown(raw.now);
    raw.drain();
    assert_eq!(raw.answer(get).1, "1");
    assert_eq!(raw.frames(socket), ["1"]);
    assert_eq!(
        disconnects(&raw.take_events()),
        [DisconnectReason::ServerShutdown; 2]
    );
    let id = raw.get("EIO=4&transport=polling");
    assert_eq!(raw.answer(id).0, 503);
    assert_eq!(raw.server.session_count(), 0);
    assert_eq!(raw.server.poll_timeout(), None);
}

#[test]
fn commands_on_unknown_sessions_are_local_errors() {
    let mut raw = Raw::new(test_config());
    let sid = raw.handshake();
    raw.server.close(raw.now, &sid).unwrap();
    raw.advance(Duration::from_secs(31));
    assert_eq!(
        raw.server.send(raw.now, &sid, "x"),
        Err(SendError::UnknownSession)
    );
    assert_eq!(
        raw.server.close(raw.now, &sid),
        Err(SendError::UnknownSession)
    );
}

#[test]
fn heartbeat_runs_for_simulated_hours_with_the_default_config() {
    let mut raw = Raw::new(ServerConfig::default());
    let socket = raw.ws("EIO=4&transport=websocket");
    raw.frames(socket);
    for _ in 0..(3 * 3600 / 25) {
        raw.advance(Duration::from_secs(25));
        assert_eq!(raw.frames(socket), ["2"]);
        raw.advance(Duration::from_secs(1));
        raw.ws_text(socket, "3");
    }
    assert_eq!(raw.server.session_count(), 1);
}

#[test]
fn server_close_after_the_probe_answer_finishes_over_the_websocket() {
    // The client has seen `3probe` and paused polling: it will send `5`, not poll again, so
    // the rest of the buffer and the close must travel over the new WebSocket.
    let mut raw = Raw::new(test_config());
    let sid = raw.handshake();
    let socket = raw.ws(&format!("EIO=4&transport=websocket&sid={sid}"));
    raw.ws_text(socket, "2probe");
    assert_eq!(raw.frames(socket), ["3probe"]);
    for i in 0..3 {
        raw.send(&sid, format!("tail {i}"));
    }
    raw.server.close(raw.now, &sid).unwrap();
    raw.drain();
    assert!(!raw.closed.contains_key(&socket), "the probe stays open");
    raw.ws_text(socket, "5");
    assert_eq!(raw.frames(socket), ["4tail 0", "4tail 1", "4tail 2", "1"]);
    assert_eq!(raw.closed.get(&socket), Some(&1000));
    assert_eq!(
        disconnects(&raw.take_events()),
        [DisconnectReason::ServerDisconnect]
    );
}

#[test]
fn server_close_after_the_probe_answer_reaches_a_client_that_polls_again() {
    let mut raw = Raw::new(test_config());
    let sid = raw.handshake();
    let socket = raw.ws(&format!("EIO=4&transport=websocket&sid={sid}"));
    raw.ws_text(socket, "2probe");
    raw.send(&sid, "tail");
    raw.server.close(raw.now, &sid).unwrap();
    raw.drain();
    let get = raw.get(&format!("EIO=4&transport=polling&sid={sid}"));
    assert_eq!(raw.answer(get).1, "4tail\u{1e}1");
    assert!(
        raw.closed.contains_key(&socket),
        "the probe is closed with the session"
    );
    assert_eq!(
        disconnects(&raw.take_events()),
        [DisconnectReason::ServerDisconnect]
    );
}

#[test]
fn poll_responses_can_be_capped_in_packets() {
    let mut raw = Raw::new(ServerConfig {
        max_packets_per_poll: Some(2),
        ..test_config()
    });
    let sid = raw.handshake();
    let q = format!("EIO=4&transport=polling&sid={sid}");
    for text in ["a", "b", "c"] {
        raw.send(&sid, text);
    }
    raw.server.close(raw.now, &sid).unwrap();
    raw.drain();
    let first = raw.get(&q);
    assert_eq!(raw.answer(first).1, "4a\u{1e}4b");
    assert_eq!(
        raw.server.session_count(),
        1,
        "still closing: one message left"
    );
    let second = raw.get(&q);
    assert_eq!(raw.answer(second).1, "4c\u{1e}1");
    assert_eq!(raw.server.session_count(), 0);
}
