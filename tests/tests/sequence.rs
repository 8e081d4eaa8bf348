//! Sequence counting under load: [`CLIENTS`] clients (our client, on the server's runtime)
//! each send [`MESSAGES`] numbered messages to the echo server, [`WINDOW`] at a time, in a
//! seeded mix of sizes and kinds — ASCII and multi-byte UTF-8 text (`é`, `日`, `🦀`), binary
//! with every byte value (the polling separator `0x1e` included), and now and then a large
//! one (up to 64 KiB). Tests are named `sequence::<runtime>::counted::<mode>`.
//!
//! Asserted, per client: every echo arrives, in order, exactly as sent (kind and bytes), and
//! the server's handler saw exactly the messages the client sent, in order, with no gap and
//! nothing extra; the session ends as the client asked. Per mode: on polling and WebSocket
//! the session stays on its transport; in upgrade mode the clients start sending as soon as
//! the session is open, so messages flow while the upgrade happens (the test asserts that
//! some were sent before the upgrade had completed) and every session ends up upgraded.
//!
//! The mix comes from a fixed seed, printed (`ENGINEIO_TEST_SEED` replays or varies it).

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use engineio::server::StaticFiles;
use engineio::{DisconnectReason, Message, Transport};
use engineio_tests::interop::Mode;
use engineio_tests::load::{seed, wait_until, Rng};
use engineio_tests::{EchoServer, Runtime, TestClient};

/// Clients at once.
const CLIENTS: usize = 20;
/// Messages per client.
const MESSAGES: usize = 500;
/// Messages a client may have sent and not had echoed yet.
const WINDOW: usize = 50;
/// How long one echo may take on a loaded machine.
const ECHO_TIMEOUT: Duration = Duration::from_secs(20);
/// The server's ping timeout (pings every 300 ms): generous, so that a client starved on a
/// loaded machine keeps its session; the heartbeat is not the subject here.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

engineio_tests::scenario_tests!(sequence {
    counted: [polling, websocket, upgrade],
});

/// Message `n` of client `i`: its numbers first, then filler of the drawn kind and size.
fn message(rng: &mut Rng, i: usize, n: usize) -> Message {
    let large = rng.below(25) == 0;
    match rng.below(3) {
        0 | 1 => {
            // Text: ASCII only, or multi-byte UTF-8 of every width.
            let alphabet: &[char] = if rng.below(2) == 0 {
                &['a', 'b', 'z', '0', ' ', '{', '"', '\\']
            } else {
                &['a', 'é', 'ü', '日', '本', '🦀', '𝄞', ' ']
            };
            let chars = if large {
                rng.below(20_000)
            } else {
                rng.below(200)
            };
            let mut text = format!("{i}:{n}:");
            text.extend((0..chars).map(|_| alphabet[rng.below(alphabet.len())]));
            Message::from(text)
        }
        _ => {
            let bytes = if large {
                rng.below(64 * 1024)
            } else {
                rng.below(2_000)
            };
            let mut data = Vec::with_capacity(8 + bytes);
            data.extend_from_slice(&(i as u32).to_be_bytes());
            data.extend_from_slice(&(n as u32).to_be_bytes());
            data.extend((0..bytes).map(|_| rng.below(256) as u8));
            Message::from(data)
        }
    }
}

/// What one client did.
struct Done {
    sid: String,
    /// Messages sent while the client was still on polling (upgrade mode).
    before_upgrade: usize,
    transport: Option<Transport>,
}

/// One client: sends its messages `WINDOW` at a time, checks every echo, disconnects.
fn run_client(
    runtime: Runtime,
    url: &str,
    mode: Mode,
    messages: &[Message],
) -> Result<Done, String> {
    let client = TestClient::connect(runtime, url, mode).map_err(|e| format!("connect: {e}"))?;
    let mut before_upgrade = 0;
    let (mut sent, mut echoed) = (0, 0);
    while echoed < messages.len() {
        while sent < messages.len() && sent - echoed < WINDOW {
            if client.transport() == Some(Transport::Polling) {
                before_upgrade += 1;
            }
            client
                .try_send(messages[sent].clone())
                .map_err(|e| format!("send {sent}: {e}"))?;
            sent += 1;
        }
        match client.recv(ECHO_TIMEOUT) {
            Some(echo) if echo == messages[echoed] => echoed += 1,
            other => {
                return Err(format!(
                    "echo {echoed}: {}, expected {} (ended: {:?})",
                    describe(other.as_ref()),
                    describe(Some(&messages[echoed])),
                    client.ended_yet()
                ))
            }
        }
    }
    if mode == Mode::Upgrade {
        wait_until(ECHO_TIMEOUT, || {
            client.transport() == Some(Transport::WebSocket)
        });
    }
    let transport = client.transport();
    let sid = client.sid();
    client.disconnect();
    let reason = client.reason(ECHO_TIMEOUT);
    if reason != DisconnectReason::ClientDisconnect {
        return Err(format!("ended with {reason:?}"));
    }
    Ok(Done {
        sid,
        before_upgrade,
        transport,
    })
}

/// A message in a failure: its kind, length and first bytes.
fn describe(message: Option<&Message>) -> String {
    match message {
        None => "nothing".to_owned(),
        Some(Message::Text(text)) => {
            format!(
                "text of {} bytes {:?}…",
                text.len(),
                text.chars().take(16).collect::<String>()
            )
        }
        Some(Message::Binary(bytes)) => {
            format!(
                "binary of {} bytes {:?}…",
                bytes.len(),
                &bytes[..bytes.len().min(8)]
            )
        }
    }
}

fn counted(runtime: Runtime, mode: Mode) {
    let seed = seed(
        &format!("sequence::{runtime}::counted::{mode}"),
        0x5e90_e4ce,
    );
    let context = format!("our server and client on {runtime}, {mode} mode, seed {seed:#x}");
    let server = EchoServer::start_with(runtime, StaticFiles::new(), PING_TIMEOUT);
    let plans: Vec<Vec<Message>> = (0..CLIENTS)
        .map(|i| {
            let mut rng = Rng::new(seed, i as u64);
            (0..MESSAGES).map(|n| message(&mut rng, i, n)).collect()
        })
        .collect();

    let (done_tx, done_rx) = mpsc::channel();
    thread::scope(|scope| {
        for (i, plan) in plans.iter().enumerate() {
            let (url, done_tx) = (server.url(), done_tx.clone());
            scope.spawn(move || {
                let _ = done_tx.send((i, run_client(runtime, &url, mode, plan)));
            });
        }
    });
    drop(done_tx);
    let mut results: Vec<(usize, Result<Done, String>)> = done_rx.iter().collect();
    results.sort_by_key(|(i, _)| *i);
    let failed: Vec<String> = results
        .iter()
        .filter_map(|(i, r)| r.as_ref().err().map(|e| format!("client {i}: {e}")))
        .collect();
    assert!(failed.is_empty(), "{context}: {failed:#?}");

    let mut before_upgrade = 0;
    for (i, result) in results {
        let done = result.expect("checked above");
        let session = server.ended(&done.sid, ECHO_TIMEOUT);
        let plan = &plans[i];
        let first_difference = session
            .received
            .iter()
            .zip(plan)
            .position(|(got, sent)| got != sent);
        assert!(
            session.received.len() == plan.len() && first_difference.is_none(),
            "{context}: client {i}: the server's handler saw {} messages of {}; the first that \
             differs is #{first_difference:?}: {} for {}",
            session.received.len(),
            plan.len(),
            describe(first_difference.and_then(|k| session.received.get(k))),
            describe(first_difference.and_then(|k| plan.get(k))),
        );
        assert_eq!(
            session.reason,
            Some(DisconnectReason::ClientDisconnect),
            "{context}: client {i}: the server's reason"
        );
        assert_eq!(
            done.transport,
            Some(mode.settles_on()),
            "{context}: client {i}: the transport at the end"
        );
        assert_eq!(
            session.opened_on,
            mode.opens_on(),
            "{context}: client {i}: the transport the session opened on"
        );
        before_upgrade += done.before_upgrade;
    }
    if mode == Mode::Upgrade {
        eprintln!("{context}: {before_upgrade} messages sent before the upgrade completed");
        assert!(
            before_upgrade > 0,
            "{context}: every message went after the upgrade: none crossed it"
        );
    }
}
