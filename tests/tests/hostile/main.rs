//! Bad input at the HTTP and WebSocket level, against our server on every runtime: the
//! inputs behind the known advisories of Engine.IO servers and their WebSocket libraries
//! (`shared/reference/user-voice.md`, "Known security advisories"), sent as raw bytes over a
//! plain `TcpStream` (no HTTP client, so malformed bytes go out exactly as written).
//!
//! Every case asserts the exact answer (status, Engine.IO error code, close) and that the
//! server still serves a fresh handshake afterwards. Tests are named
//! `hostile::<runtime>::<case>`.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use engineio::core::TransportError;
use engineio::server::StaticFiles;
use engineio::DisconnectReason;
use engineio_tests::{EchoServer, Runtime, Tuning, PING_TIMEOUT};

/// The longest any single read or write of a test may block.
const IO_TIMEOUT: Duration = Duration::from_secs(4);
/// How long a session may take to end once it should.
const END_TIMEOUT: Duration = Duration::from_secs(5);
/// The server's default `maxPayload`.
const MAX_PAYLOAD: usize = 1_000_000;
const PATH: &str = "/engine.io/";

mod http_cases;
mod raw;
mod ws_cases;

use http_cases::*;
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
    truncated_post_body,
    websocket_fragmented_oversized,
    websocket_upgrade_errors,
);
