//! The tokio runtime for Engine.IO (sockets, timers, spawning). Its implementation arrives with the tokio issue; the crate exists so that the workspace has its final shape.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
