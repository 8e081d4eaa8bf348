//! The lingering close of a connection the server gives up on while the client is still
//! sending: how long, and how much, the server keeps reading (and discarding) after its last
//! word, so that the last word reaches the client.
//!
//! A server that closes a TCP connection with unread bytes in its receive queue makes the
//! kernel answer with a reset (RST) instead of a FIN. The reset can overtake what the server
//! wrote just before it: a client (or a proxy between) that gets the RST first discards its
//! receive buffer, and never sees the WebSocket close frame (1009 for a frame over
//! `maxPayload`, whose payload the server does not read) or the HTTP 413 that explains why it
//! was cut off. This happens precisely on the hostile paths, where the server stopped reading
//! in the middle of something.
//!
//! The answer, as in nginx's `lingering_close`: after the last frame or response, shut the
//! write side down (FIN), then read and drop what the client still sends until it closes its
//! side, [`LINGER_BYTES`] were dropped or [`LINGER_TIME`] passed, whichever comes first, and
//! only then close. Both bounds keep a client that never stops sending from holding the
//! connection: past them, the connection is closed anyway.

use std::time::Duration;

/// The longest a lingering close keeps reading after the server's last word.
pub const LINGER_TIME: Duration = Duration::from_secs(1);

/// The most bytes a lingering close reads and drops before it closes anyway.
pub const LINGER_BYTES: usize = 4 * 1024 * 1024;
