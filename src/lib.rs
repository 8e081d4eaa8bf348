//! Engine.IO v4 server and client.
//!
//! This crate will hold the async `Server` and `Client`, written once against the runtime
//! traits of [`engineio_core`]. For now it re-exports the sans-IO core.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use engineio_core as core;
