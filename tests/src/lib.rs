//! Scenario, interop and browser tests for every runtime. The sans-IO protocol tests live in
//! `core/tests`.
//!
//! This library is the support code of the integration tests in `tests/tests/`:
//!
//! - [`peers`] finds the reference peers that `scripts/setup` installs (Node with
//!   `engine.io-client`, python-engineio, Chromium) — a missing peer fails the test with a
//!   message saying so, it never skips — and runs their scripts in `tests/interop/` under a
//!   deadline, returning what they printed as JSON lines.
//! - [`EchoServer`] runs our async server in the test's tokio runtime on `127.0.0.1:0`,
//!   echoes every message, closes a session that asks `"close me"`, and keeps a log of the
//!   sessions (what they sent, how they ended) that tests await with a deadline.
//! - [`interop`] runs one scenario of a peer client script in one mode against a fresh echo
//!   server, and gives the test its result line and the server's log to assert on.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod echo;
pub mod interop;
pub mod peers;

pub use echo::{EchoServer, SessionLog, CLOSE_ME};
