//! Graceful shutdown under load: [`CLIENTS`] sessions (our client on tokio; polling,
//! WebSocket and upgraded ones) receive numbered messages that a sender thread pushes with
//! `Server::send` as fast as they are read, when the server is told to `shutdown(grace)`.
//!
//! Asserted, for every client: its session ends with [`DisconnectReason::ServerDisconnect`]
//! — the close packet (`1`) the server sends on shutdown, which is all the wire says: the
//! protocol has no shutdown reason, and our client reports a server's `1` as a server
//! disconnect on both transports, as python-engineio's client does (the JS client says
//! "transport close" for anything that ends its transport, which would be wrong here: the
//! server did say goodbye); it received a gap-free prefix of its numbers, in order, that
//! contains every number whose `send` returned `Ok` before `shutdown` was called (a send
//! accepted while `shutdown` runs may or may not get out first, but nothing comes after a
//! gap). For the server: every session ends with `ServerShutdown`, `shutdown` returns within
//! its grace with no session left, and a new connection is refused.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use engineio::DisconnectReason;
use engineio_tests::interop::Mode;
use engineio_tests::load::wait_until;
use engineio_tests::raw::{get, RawConn};
use engineio_tests::{Runtime, TestClient};

use super::*;

/// Clients connected when the server shuts down.
const CLIENTS: usize = 20;
/// Messages a client may have outstanding (sent by the server, not read yet): the sender
/// waits for the client beyond it, so that the buffers stay bounded but are never empty.
const WINDOW: usize = 64;
/// Messages every client must have received before the shutdown.
const WARM: usize = 50;
/// The shutdown's grace.
const GRACE: Duration = Duration::from_secs(10);
/// How long a client may take to see its session end.
const END_TIMEOUT: Duration = Duration::from_secs(30);

/// The clients' modes, in turn.
const MODES: [Mode; 3] = [Mode::Polling, Mode::WebSocket, Mode::Upgrade];

/// What one client saw: its sid, the numbers it received, and why its session ended.
type Seen = Result<(String, Vec<usize>, DisconnectReason), String>;

pub(crate) fn shutdown_under_load(runtime: Runtime) {
    let (server, addr) = start(runtime, QUIET);
    let context = format!("our server on {runtime}: shutdown under load");

    // The clients, each read by a thread of its own until its session ends.
    let (sid_tx, sid_rx) = mpsc::channel::<(usize, String)>();
    let received: Vec<Arc<AtomicUsize>> = (0..CLIENTS).map(|_| Arc::default()).collect();
    let readers: Vec<thread::JoinHandle<Seen>> = (0..CLIENTS)
        .map(|i| {
            let mode = MODES[i % 3];
            let (url, sid_tx, count) = (server.url(), sid_tx.clone(), Arc::clone(&received[i]));
            thread::spawn(move || -> Seen {
                let client = TestClient::connect(Runtime::Tokio, &url, mode)
                    .map_err(|e| format!("client {i} ({mode}): connect: {e}"))?;
                let _ = sid_tx.send((i, client.sid()));
                let mut numbers = Vec::new();
                let mut note = |message: engineio::Message| {
                    let number = message.as_text().and_then(|t| t.parse().ok());
                    numbers.push(number.unwrap_or(usize::MAX));
                    count.store(numbers.len(), Ordering::Release);
                };
                let deadline = Instant::now() + END_TIMEOUT * 2;
                let reason = loop {
                    if let Some(message) = client.recv(Duration::from_millis(50)) {
                        note(message);
                    } else if let Some(reason) = client.ended_yet() {
                        // Everything received before the end is queued before it.
                        client.pending().into_iter().for_each(&mut note);
                        break reason;
                    } else if Instant::now() > deadline {
                        return Err(format!("client {i} ({mode}): never ended"));
                    }
                };
                Ok((client.sid(), numbers, reason))
            })
        })
        .collect();
    drop(sid_tx);
    let mut sids = vec![String::new(); CLIENTS];
    for _ in 0..CLIENTS {
        let (i, sid) = sid_rx
            .recv_timeout(END_TIMEOUT)
            .unwrap_or_else(|_| panic!("{context}: not every client connected"));
        sids[i] = sid;
    }

    // The sender: numbers each client's messages 0, 1, … (a refused send takes no number),
    // and notes how many were accepted before `shutdown` was called.
    let shutting_down = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    let handle = server.handle();
    let sender = thread::scope(|scope| {
        let sender = scope.spawn(|| {
            let mut accepted = vec![0usize; CLIENTS];
            let mut before_shutdown = vec![0usize; CLIENTS];
            while !stop.load(Ordering::Acquire) {
                let mut idle = true;
                for i in 0..CLIENTS {
                    if accepted[i] >= received[i].load(Ordering::Acquire) + WINDOW {
                        continue;
                    }
                    idle = false;
                    if handle.send(&sids[i], accepted[i].to_string()).is_ok() {
                        accepted[i] += 1;
                        if !shutting_down.load(Ordering::SeqCst) {
                            before_shutdown[i] = accepted[i];
                        }
                    }
                }
                if idle {
                    thread::yield_now();
                }
            }
            (accepted, before_shutdown)
        });
        let warm = wait_until(END_TIMEOUT, || {
            received.iter().all(|r| r.load(Ordering::Acquire) >= WARM)
        });
        let counts: Vec<usize> = received.iter().map(|r| r.load(Ordering::Acquire)).collect();
        if !warm {
            stop.store(true, Ordering::Release);
            panic!("{context}: the clients did not each receive {WARM} messages: {counts:?}");
        }
        eprintln!("{context}: shutting down with the clients at {counts:?}");
        shutting_down.store(true, Ordering::SeqCst);
        let started = Instant::now();
        handle.shutdown(GRACE);
        let took = started.elapsed();
        stop.store(true, Ordering::Release);
        let sent = sender.join().expect("the sender panicked");
        (sent, took)
    });
    let ((accepted, before_shutdown), took) = sender;
    eprintln!("{context}: shutdown took {took:?}");

    // What every client saw, before any assertion, so that a failure shows them all.
    let seen: Vec<(String, Vec<usize>, DisconnectReason)> = readers
        .into_iter()
        .enumerate()
        .map(|(i, reader)| match reader.join() {
            Ok(Ok(seen)) => seen,
            Ok(Err(error)) => panic!("{context}: {error}"),
            Err(_) => panic!("{context}: client {i}'s reader panicked"),
        })
        .collect();
    let summary: Vec<String> = seen
        .iter()
        .enumerate()
        .map(|(i, (sid, numbers, reason))| {
            let server_reason = server.ended(sid, END_TIMEOUT).reason;
            format!(
                "client {i} ({}): received {} (accepted {} before shutdown, {} in all), \
                 ended with {reason:?}, server: {server_reason:?}",
                MODES[i % 3],
                numbers.len(),
                before_shutdown[i],
                accepted[i]
            )
        })
        .collect();
    let summary = summary.join("\n");
    assert!(
        took < GRACE,
        "{context}: shutdown took {took:?}: the grace ran out before every client was told\n\
         {summary}"
    );
    assert_eq!(
        server.session_count(),
        0,
        "{context}: sessions left after shutdown\n{summary}"
    );
    for (i, (sid, numbers, reason)) in seen.into_iter().enumerate() {
        let client = format!("{context}: client {i} ({})", MODES[i % 3]);
        assert_eq!(
            reason,
            DisconnectReason::ServerDisconnect,
            "{client}: why its session ended\n{summary}"
        );
        let gap = numbers.iter().enumerate().position(|(k, &n)| k != n);
        assert!(
            gap.is_none(),
            "{client}: received {} messages, not in order from 0: at index {gap:?}",
            numbers.len()
        );
        assert!(
            (before_shutdown[i]..=accepted[i]).contains(&numbers.len()),
            "{client}: received {} messages; {} were accepted before shutdown was called and \
             {} in all\n{summary}",
            numbers.len(),
            before_shutdown[i],
            accepted[i]
        );
        let session = server.ended(&sid, END_TIMEOUT);
        assert_eq!(
            session.reason,
            Some(DisconnectReason::ServerShutdown),
            "{client}: the server's reason"
        );
    }

    // A shut-down server takes no new connection (or refuses the request).
    match RawConn::connect(addr, IO_TIMEOUT) {
        Err(_) => {}
        Ok(mut conn) => {
            let answer = conn
                .write(&get("EIO=4&transport=polling"))
                .and_then(|()| conn.read_response());
            assert!(
                answer.as_ref().map_or(true, |r| r.status == 503),
                "{context}: a handshake after shutdown got {answer:?}"
            );
        }
    }
}

/// Graceful shutdown reaches a polling client that holds no GET when it starts, and polls
/// again afterwards on a new connection (as a client without keep-alive does for every
/// request, e.g. engine.io-client on Node's default agent): that poll must get the messages
/// queued for it and the close packet, and the session end with `ServerShutdown` well within
/// the grace.
pub(crate) fn shutdown_idle_poller(runtime: Runtime) {
    use engineio::SendError;
    use engineio_tests::raw::{exchange, handshake, polling_query};

    let (server, addr) = start(runtime, QUIET);
    let context = format!("our server on {runtime}: shutdown with an idle polling client");
    let sid = step(&server, "handshake", handshake(addr, IO_TIMEOUT));
    let handle = server.handle();
    let grace = Duration::from_secs(5);
    // A message queued before the shutdown, waiting for the client's next poll.
    assert_eq!(
        handle.send(&sid, "message 0"),
        Ok(()),
        "{context}: send before the shutdown"
    );
    let mut accepted = vec!["4message 0".to_owned()];
    let shutdown = thread::spawn({
        let handle = handle.clone();
        move || {
            let started = Instant::now();
            handle.shutdown(grace);
            started.elapsed()
        }
    });
    // More messages until the server refuses them: the session is closing.
    let refused = wait_until(IO_TIMEOUT, || {
        match handle.send(&sid, format!("message {}", accepted.len())) {
            Ok(()) => {
                accepted.push(format!("4message {}", accepted.len()));
                false
            }
            Err(SendError::BufferFull) => false,
            Err(_) => true,
        }
    });
    assert!(refused, "{context}: the session still takes messages");
    let poll = exchange(addr, IO_TIMEOUT, &get(&polling_query(&sid)));
    let took = shutdown.join().expect("shutdown panicked");
    let session = server.ended(&sid, IO_TIMEOUT);
    let mut expected = accepted.clone();
    expected.push("1".to_owned());
    let answer = poll.map(|r| (r.status, r.text()));
    assert!(
        matches!(&answer, Ok((200, body)) if *body == expected.join("\u{1e}")),
        "{context}: the poll after the shutdown began got {:?}; expected the {} messages \
         accepted (the first before shutdown was called), then `1` (shutdown took {took:?}, \
         the session ended with {:?})",
        answer
            .as_ref()
            .map(|(s, b)| (s, b.chars().take(200).collect::<String>())),
        accepted.len(),
        session.reason
    );
    assert_eq!(
        session.reason,
        Some(DisconnectReason::ServerShutdown),
        "{context}: the server's reason"
    );
    assert!(
        took < grace,
        "{context}: shutdown took {took:?}, the whole grace"
    );
}
