//! Bad input at the HTTP and WebSocket level, against our server on every runtime: the
//! inputs behind the known advisories of Engine.IO servers and their WebSocket libraries
//! (`shared/reference/user-voice.md`, "Known security advisories"), sent as raw bytes over a
//! plain `TcpStream` (no HTTP client, so malformed bytes go out exactly as written).
//!
//! Every case asserts the exact answer (status, Engine.IO error code, close code) and that the
//! server still serves a fresh handshake afterwards. Tests are named
//! `hostile::<runtime>::<case>`.
//!
//! Where each advisory row is covered (the core-level half of each is in
//! `core/tests/advisories.rs`):
//!
//! | Advisory | Cases |
//! |---|---|
//! | CVE-2020-36048 (huge body, tiny packets) | `streamed_post_over_max_payload`, `content_length_over_max_payload`, `too_many_packets`, `million_one_byte_packets` |
//! | CVE-2022-21676 (garbage, reserved bits) | `garbage_after_websocket_upgrade`, `websocket_reserved_bits`, `websocket_failure_on_probe` |
//! | CVE-2022-41940 (invalid upgrade, then RST) | `invalid_upgrade_then_reset`, `reset_*` |
//! | CVE-2023-31125 (`__proto__` transport) | `odd_transport`, `odd_eio`, `odd_sid`, `websocket_upgrade_errors` |
//! | CVE-2026-59725 (response never ended) | `octet_stream_post`, `content_types`, `empty_post`, `post_without_body`, `truncated_post_body` |
//! | GHSA-gr94-w7qr-f4j3 (odd sid on upgrade) | `websocket_upgrade_errors`, `odd_sid` |
//! | engine.io d1f5aa9 (auth skipped) | `authorize_every_transport` |
//! | GHSA-2gc4-cqfq-p2gv (revision mismatch) | `eio_mismatch`, `websocket_upgrade_errors` |
//! | CVE-2026-48802 (pong floods, pre-auth work) | `pong_flood`, `authorize_every_transport` |
//! | CVE-2026-48809 (unbounded reads) | `huge_content_length_unknown_sid`, `websocket_oversized_frame`, `websocket_fragmented_oversized` |
//! | CVE-2019-13611 (CSWSH), python-engineio#131 (no Origin) | `foreign_origins` |
//! | socketioxide PR#739/#741, #357 (v3 lengths, prefixes) | `malformed_payloads` |
//! | socketioxide#320 (unexpected frame types) | `websocket_control_frames`, `websocket_framing_violations` |
//! | socketioxide#731 (abandoned upgrade) | `reset_during_probe`, `reset_after_probe` |
//! | socketioxide PR#762 (WebSocket over the limit) | `websocket_oversized_frame`, `websocket_fragmented_oversized` |
//! | ws CVE-2024-37890 (header floods), GHSA-96hv (fragments) | `header_flood_many`, `header_flood_large`, `slowloris`, `websocket_heavily_fragmented` |
//!
//! The client-side rows (python-engineio dd1db2e, rust-socketio#166/#216, CVE-2021-31597) are
//! the client's: `core/src/client/hostile.rs` and the client TLS tests.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use engineio::core::TransportError;
use engineio::server::StaticFiles;
use engineio::DisconnectReason;
use engineio_tests::{EchoServer, Runtime, Tuning, PING_INTERVAL, PING_TIMEOUT};

/// The longest any single read or write of a test may block.
const IO_TIMEOUT: Duration = Duration::from_secs(4);
/// How long a session may take to end once it should.
const END_TIMEOUT: Duration = Duration::from_secs(5);
/// The server's default `maxPayload`.
const MAX_PAYLOAD: usize = 1_000_000;
const PATH: &str = "/engine.io/";

mod body_cases;
mod frame_cases;
mod http_cases;
mod policy;
mod policy_cases;
mod raw;
mod ws_cases;

use body_cases::*;
use frame_cases::*;
use http_cases::*;
use policy_cases::*;
use raw::*;
use ws_cases::*;

/// One test per runtime and case: `hostile::<runtime>::<case>`, each calling `fn <case>(runtime)`.
macro_rules! hostile_tests {
    ($($case:ident),+ $(,)?) => {
        mod hostile {
            hostile_tests!(@runtime tokio Tokio [$($case),+]);
            hostile_tests!(@runtime smol Smol [$($case),+]);
            hostile_tests!(@runtime async_std AsyncStd [$($case),+]);
            hostile_tests!(@runtime threads Threads [$($case),+]);

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

hostile_tests!(
    odd_transport,
    odd_eio,
    odd_sid,
    huge_content_length_unknown_sid,
    streamed_post_over_max_payload,
    octet_stream_post,
    empty_post,
    garbage_after_websocket_upgrade,
    websocket_invalid_utf8,
    websocket_reserved_bits,
    websocket_oversized_frame,
    header_flood_many,
    header_flood_large,
    slowloris,
    reset_after_upgrade_request,
    reset_during_probe,
    reset_after_probe,
    reset_after_upgrade,
    too_many_packets,
    content_length_over_max_payload,
    oversized_body_sent_before_reading,
    truncated_post_body,
    websocket_fragmented_oversized,
    websocket_upgrade_errors,
    million_one_byte_packets,
    content_types,
    post_without_body,
    malformed_payloads,
    pong_flood,
    eio_mismatch,
    foreign_origins,
    authorize_every_transport,
    websocket_control_frames,
    websocket_framing_violations,
    websocket_heavily_fragmented,
    websocket_failure_on_probe,
    invalid_upgrade_then_reset,
);
