//! Turning answers into bytes: the core's [`Response`] decorated exactly as the async server
//! does (CORS, the cookie on the polling handshake, compression of payloads above the
//! threshold, `Cache-Control: no-store`), and any `http::Response` serialised as HTTP/1.1.

use bytes::Bytes;
use engineio_core::http::cors::{self, CorsDecision};
use engineio_core::http::{compression, cookie};
use engineio_core::{Response, ResponseKind};
use http::header::{self, HeaderMap, HeaderValue};

use super::shared::Shared;
use crate::conn::Conn;

/// Turns the core's response into HTTP, adding CORS, the cookie and compression (exactly as
/// the async server does).
pub(crate) fn finish(
    shared: &Shared,
    response: Response,
    request: &HeaderMap,
    cors: &CorsDecision,
) -> http::Response<Bytes> {
    let options = &shared.options;
    let mut body = response.body;
    let mut headers = HeaderMap::new();
    if let Some(content_type) = response.content_type {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    if matches!(
        response.kind,
        ResponseKind::Payload | ResponseKind::Handshake { .. }
    ) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if options.compression && body.len() >= options.compression_threshold {
            if let Some(encoding) = compression::negotiate(request.get(header::ACCEPT_ENCODING)) {
                body = compression::compress(encoding, &body);
                headers.insert(header::CONTENT_ENCODING, encoding.header_value());
                headers.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
            }
        }
    }
    if let (ResponseKind::Handshake { sid }, Some(cookie)) = (response.kind, &options.cookie) {
        headers.insert(header::SET_COOKIE, cookie::set_cookie(cookie, sid.as_str()));
    }
    cors::apply(cors, options.cors_credentials, &mut headers);
    let mut out = http::Response::new(body);
    *out.status_mut() = http::StatusCode::from_u16(response.status)
        .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    *out.headers_mut() = headers;
    out
}

/// A plain-text response.
pub(crate) fn plain(status: u16, text: &'static str) -> http::Response<Bytes> {
    let mut response = http::Response::new(Bytes::from_static(text.as_bytes()));
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    response
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
    if !keep_alive {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !head_only && !bodiless {
        out.extend_from_slice(body);
    }
    conn.send(&out, false).is_ok()
}
