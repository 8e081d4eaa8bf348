//! A blocking Engine.IO server and client on plain std threads, driving the core directly. Its implementation arrives with the blocking-backend issue.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
