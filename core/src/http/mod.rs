//! HTTP-level policies every runtime applies around the protocol: CORS, the session cookie,
//! response compression and static files, and the runtime-neutral parts of the server and
//! client front ends (feature `http`; the client's rustls configuration with feature `tls`).
//!
//! They are not Engine.IO (the protocol state machines never call them), but every server
//! front end needs the same decisions made the same way: the async server in `engineio` and
//! the blocking one in `engineio-runtime-threads` both use this module, so a CORS refusal or a
//! compressed poll looks identical whichever runtime serves it. The functions work on the
//! `http` crate's types and return complete `http::Response<Bytes>` values where they answer
//! on their own (preflight, refusal, static file).

pub mod backlog;
pub mod client;
pub mod compression;
pub mod cookie;
pub mod cors;
pub mod error;
pub mod linger;
pub mod options;
pub mod refusal;
pub mod request;
pub mod response;
pub mod static_files;
pub mod storage;
#[cfg(feature = "tls")]
pub mod tls;
pub mod url;
pub mod ws_error;
pub mod ws_message;

pub use cookie::{Cookie, SameSite};
pub use cors::{CorsDecision, CorsOrigins};
pub use options::HttpOptions;
pub use refusal::{Forbidden, Rejection};
pub use request::{ConnectRequest, StoredRequest};
pub use static_files::{ResolvedFile, StaticFiles};
