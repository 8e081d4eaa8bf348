//! The smol (async-io) runtime for Engine.IO. Its implementation arrives with the smol/async-std issue.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
