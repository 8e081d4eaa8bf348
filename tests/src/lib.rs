//! Scenario, interop and browser tests for every runtime. The sans-IO protocol tests live in
//! `core/tests`.
//!
//! This library is the support code of the integration tests in `tests/tests/`:
//!
//! - [`Runtime`] names the runtime a server or client under test runs on; each one runs on a
//!   dedicated thread with that runtime's executor (or, for the blocking `threads`, on the
//!   threads of `engineio::blocking`), so the tests are plain `#[test]` functions and every
//!   scenario is written once, for all runtimes.
//! - [`scenario_tests!`] makes one test per peer, runtime, scenario and mode, named
//!   `<peer>::<runtime>::<scenario>::<mode>` (`js_client::smol::ordering::upgrade`).
//! - [`peers`] finds the reference peers that `scripts/setup` installs (Node with
//!   `engine.io` and `engine.io-client`, python-engineio, Chromium) — a missing peer fails the
//!   test with a message saying so, it never skips — and runs their scripts in
//!   `tests/interop/` under a deadline, returning what they printed as JSON lines.
//! - [`EchoServer`] runs our server on `127.0.0.1:0` on the chosen runtime, echoes every
//!   message, closes a session that asks `"close me"`, and keeps a log of the sessions (what
//!   they sent, how they ended) that tests await with a deadline.
//! - [`interop`] runs one scenario of a peer client script in one mode against a fresh echo
//!   server, and gives the test its result line and the server's log to assert on.
//! - [`raw`] is a bare HTTP/WebSocket client that stops where a test tells it and vanishes
//!   (FIN or reset); [`load`] has the seeded random generator of the load tests' mixes and
//!   waiting on a condition with a deadline; [`proc_stats`] reads the process's memory,
//!   descriptors and threads.
//! - [`TestClient`] is our client on the chosen runtime behind a blocking face, and
//!   [`PeerServer`] a reference server (npm `engine.io`, python-engineio) in a child process,
//!   printing its view of the sessions for the test to assert on.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod client;
pub mod client_case;
pub mod client_scenarios;
mod echo;
pub mod interop;
pub mod load;
mod peer_server;
pub mod peers;
pub mod proc_stats;
pub mod raw;
mod runtime;
mod server_handle;

pub use client::TestClient;
pub use echo::{EchoServer, SessionLog, Tuning, CLOSE_ME, PING_INTERVAL, PING_TIMEOUT};
pub use peer_server::{PeerServer, ServerPeer};
pub use runtime::Runtime;
pub use server_handle::ServerHandle;

/// Makes one `#[test]` per runtime, scenario and mode, named
/// `<peer>::<runtime>::<scenario>::<mode>`, each calling the test file's
/// `fn <scenario>(runtime: Runtime, mode: Mode)`:
///
/// ```text
/// engineio_tests::scenario_tests!(js_client {
///     handshake: [polling, websocket, upgrade],
///     upgrade_messages: [upgrade],
/// });
/// // js_client::tokio::handshake::polling, …, js_client::threads::upgrade_messages::upgrade
/// ```
///
/// The runtimes are listed once, here (module name, then [`Runtime`] variant); the `match`
/// it generates fails to compile when a variant of [`Runtime`] is missing from the list.
#[macro_export]
macro_rules! scenario_tests {
    ($peer:ident $scenarios:tt) => {
        $crate::scenario_tests!(@peer $peer [
            tokio Tokio,
            smol Smol,
            async_std AsyncStd,
            threads Threads,
        ] $scenarios);
    };
    (@peer $peer:ident [$($module:ident $variant:ident),+ $(,)?] $scenarios:tt) => {
        mod $peer {
            $($crate::scenario_tests!(@runtime $module $variant $scenarios);)+

            /// Does not compile unless every runtime has its tests above.
            #[allow(dead_code)]
            fn every_runtime_has_tests(runtime: $crate::Runtime) {
                match runtime {
                    $($crate::Runtime::$variant => {})+
                }
            }
        }
    };
    (@runtime $module:ident $variant:ident
        { $($scenario:ident: [$($mode:ident),+ $(,)?]),+ $(,)? }) => {
        mod $module {
            $(
                mod $scenario {
                    $(
                        #[test]
                        fn $mode() {
                            super::super::super::$scenario(
                                $crate::Runtime::$variant,
                                $crate::interop::Mode::named(stringify!($mode)),
                            );
                        }
                    )+
                }
            )+
        }
    };
}
