//! Why a connection could not be made ([`ConnectError`]) and why `send_json` failed
//! ([`SendJsonError`]): both shared with the async client, in [`engineio_core::http::error`].

pub use engineio_core::http::error::{ConnectError, SendJsonError};
