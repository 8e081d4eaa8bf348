//! The async-std runtime for Engine.IO: a thin layer over the smol adapters, because async-std is discontinued upstream. Its implementation arrives with the smol/async-std issue.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
