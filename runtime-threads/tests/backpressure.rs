//! Inbound backpressure of the blocking client: a server floods a client whose handler is
//! slow. The backlog of messages read and not yet handled stays within
//! `max_pending_messages` (the WebSocket reader stops reading at the bound), and every
//! message arrives, in order, on every transport mode.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{channel, next, Mode, TestServer, MODES};
use engineio_runtime_threads::{Client, Message, Server, Sid, Transport};

const LIMIT: usize = 16;
const COUNT: usize = 400;

#[test]
fn a_slow_handler_bounds_the_backlog_and_loses_nothing() {
    for mode in MODES {
        let server = TestServer::start(Server::builder());
        let (log, delivered) = channel::<String>();
        let peak = Arc::new(AtomicUsize::new(0));
        let seen_peak = Arc::clone(&peak);
        let client = mode
            .client()
            .max_pending_messages(LIMIT)
            .on_message(move |client: Client, message: Message| {
                seen_peak.fetch_max(client.pending_messages(), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(1));
                let _ = log.send(message.as_text().unwrap_or_default().to_owned());
            })
            .connect(&server.url)
            .expect("connect");
        if mode == Mode::Upgrade {
            common::eventually("the upgrade", || client.transport() == Some(mode.settled()));
        }
        let sid = client.sid().expect("sid");
        let sid = Sid::parse(&sid).expect("a valid sid");
        for i in 0..COUNT {
            server.server.send(&sid, i.to_string()).expect("queued");
        }
        for i in 0..COUNT {
            assert_eq!(next(&delivered, "a message"), i.to_string(), "{mode:?}");
        }
        let peak = peak.load(Ordering::SeqCst);
        if mode.settled() == Transport::WebSocket {
            // One frame at a time: the bound holds exactly.
            assert!(peak <= LIMIT, "{mode:?}: {peak} pending, bound {LIMIT}");
            assert!(
                peak >= LIMIT / 2,
                "{mode:?}: the flood never filled it ({peak})"
            );
        }
        client.disconnect();
    }
}
