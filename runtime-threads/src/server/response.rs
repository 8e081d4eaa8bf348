//! Turning answers into bytes: the core's [`Response`] decorated as the async server does it
//! (shared, in [`engineio_core::http::response`]: CORS, the cookie on the polling handshake,
//! compression of payloads above the threshold, `Cache-Control: no-store`), and any
//! `http::Response` serialised as HTTP/1.1.

use bytes::Bytes;
use engineio_core::http::cors::CorsDecision;
use engineio_core::http::response;
pub(crate) use engineio_core::http::response::plain;
use engineio_core::Response;
use http::header::{self, HeaderMap};

use super::shared::Shared;
use crate::conn::Conn;

/// Turns the core's response into HTTP with the decoration both servers share (CORS, the
/// cookie, compression; see [`response::decorate`]).
pub(crate) fn finish(
    shared: &Shared,
    response: Response,
    request: &HeaderMap,
    cors: &CorsDecision,
) -> http::Response<Bytes> {
    response::decorate(response, request, cors, &shared.options.http)
}

/// Serialises and writes a response in one write; false if the write failed.
pub(crate) fn write_response(
    conn: &Conn,
    response: &http::Response<Bytes>,
    head_only: bool,
    keep_alive: bool,
) -> bool {
    let status = response.status();
    let body = response.body();
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("Unknown").as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in response.headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let bodiless = status.is_informational() || status.as_u16() == 204 || status.as_u16() == 304;
    if !bodiless && !response.headers().contains_key(header::CONTENT_LENGTH) {
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    if !keep_alive && !response.headers().contains_key(header::CONNECTION) {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !head_only && !bodiless {
        out.extend_from_slice(body);
    }
    conn.send(&out, false).is_ok()
}
