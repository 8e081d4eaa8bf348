//! Faults: peers that vanish in the middle of something, while well-behaved sessions run in
//! the background ([`background`]), and the server's graceful shutdown under load
//! ([`shutdown`]). Tests are named `faults::<runtime>::<case>`, one per server runtime.
//!
//! Each fault is injected at an exact point: the raw client ([`engineio_tests::raw`]) waits
//! until the server has read every byte it sent (the kernel's queues, not a sleep) before it
//! cuts the connection with a FIN or a reset. For each, the test asserts that the faulty
//! session is reaped with the reason it must have, promptly where the server can see the
//! peer go (a reset under a held poll, a body or frame cut short) and by the heartbeat where
//! it cannot (a polling session whose client stopped polling), that no partial message ever
//! reaches the handler, that every request the server had to answer was answered, that the
//! session count returns to the background's, and that the background sessions kept echoing
//! throughout and lost nothing (see [`background`]).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use engineio::server::StaticFiles;
use engineio::DisconnectReason;
use engineio_tests::load::wait_until;
use engineio_tests::{EchoServer, Runtime, SessionLog, Tuning};

mod background;
mod cases;
mod shutdown;

use background::{Background, BACKGROUND};

/// The heartbeat of the server where no session is meant to end by it (a missed fault shows
/// as a session that does not end in time, never as a ping timeout by accident, and a poll
/// the test holds is never answered by a ping first, however loaded the machine).
const QUIET: Heartbeat = Heartbeat {
    interval: Duration::from_secs(20),
    timeout: Duration::from_secs(5),
};
/// The heartbeat of the server where the faulty sessions can only be reaped by it.
const BEATING: Heartbeat = Heartbeat {
    interval: Duration::from_secs(2),
    timeout: Duration::from_secs(2),
};
/// How long a silent session may live on [`BEATING`]: ping interval and timeout, and a
/// margin.
const SILENT_REAP: Duration = Duration::from_secs(2 + 2 + 4);
/// How long the server may take to see a peer that went away while it was reading from it
/// or holding its poll: well under the heartbeat, so that the reason cannot be a ping
/// timeout by accident.
const PROMPT_REAP: Duration = Duration::from_secs(2);
/// The longest any raw read may block.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// One test per runtime and case: `faults::<runtime>::<case>`.
macro_rules! fault_tests {
    ($($case:ident),+ $(,)?) => {
        mod faults {
            fault_tests!(@runtime tokio Tokio [$($case),+]);
            fault_tests!(@runtime smol Smol [$($case),+]);
            fault_tests!(@runtime async_std AsyncStd [$($case),+]);
            fault_tests!(@runtime threads Threads [$($case),+]);

            /// Does not compile unless every runtime has its tests above.
            #[allow(dead_code)]
            fn every_runtime_has_tests(runtime: engineio_tests::Runtime) {
                use engineio_tests::Runtime::*;
                match runtime {
                    Tokio | Smol | AsyncStd | Threads => {}
                }
            }
        }
    };
    (@runtime $module:ident $variant:ident [$($case:ident),+]) => {
        mod $module {
            $(
                #[test]
                fn $case() {
                    super::super::$case(engineio_tests::Runtime::$variant);
                }
            )+
        }
    };
}

fault_tests!(
    mid_poll,
    mid_upgrade,
    mid_message,
    shutdown_under_load,
    shutdown_idle_poller,
);

use cases::{mid_message, mid_poll, mid_upgrade};
use shutdown::{shutdown_idle_poller, shutdown_under_load};

/// A server's ping interval and ping timeout.
#[derive(Debug, Clone, Copy)]
struct Heartbeat {
    interval: Duration,
    timeout: Duration,
}

/// The echo server of the fault tests with `heartbeat`, and its address.
fn start(runtime: Runtime, heartbeat: Heartbeat) -> (EchoServer, SocketAddr) {
    let tuning = Tuning {
        ping_interval: Some(heartbeat.interval),
        ..Tuning::default()
    };
    let server = EchoServer::start_tuned(runtime, StaticFiles::new(), heartbeat.timeout, tuning);
    let addr = server
        .url()
        .trim_start_matches("http://")
        .parse()
        .expect("server address");
    (server, addr)
}

/// Unwraps a raw step, failing with `what`.
fn step<T>(server: &EchoServer, what: &str, result: Result<T, String>) -> T {
    result.unwrap_or_else(|e| panic!("our server on {}: {what}: {e}", server.runtime()))
}

/// One fault: runs `inject` (which returns the faulty session's sid and when it cut the
/// connection) with the background load running, then asserts that the session ended with
/// one of `reasons` within `within` of the cut, that its handler got no message, that the
/// count is back to the background's (sessions a test abandoned and retried are reaped by
/// then too), and that every background client kept echoing.
fn fault(
    server: &EchoServer,
    background: &Background,
    what: &str,
    reasons: &[DisconnectReason],
    within: Duration,
    inject: impl FnOnce() -> (String, Instant),
) -> SessionLog {
    let runtime = server.runtime();
    let before = background.counts();
    let (sid, cut) = inject();
    let session = server.ended(&sid, within + IO_TIMEOUT);
    let took = session
        .ended_at
        .map(|end| end.saturating_duration_since(cut));
    eprintln!(
        "our server on {runtime}: {what}: ended with {:?} {took:?} after the cut",
        session.reason
    );
    assert!(
        session.reason.is_some_and(|r| reasons.contains(&r)),
        "our server on {runtime}: {what}: the session ended with {:?}, expected one of {reasons:?}",
        session.reason
    );
    assert!(
        took.is_some_and(|took| took <= within),
        "our server on {runtime}: {what}: the session ended {took:?} after the cut; it must \
         within {within:?}"
    );
    assert!(
        session.received.is_empty(),
        "our server on {runtime}: {what}: the handler got {:?} from a message cut short",
        session.received
    );
    assert!(
        wait_until(SILENT_REAP, || server.session_count() == BACKGROUND),
        "our server on {runtime}: {what}: {} sessions, expected the {BACKGROUND} of the \
         background",
        server.session_count()
    );
    background.assert_rising(&before, what);
    session
}
