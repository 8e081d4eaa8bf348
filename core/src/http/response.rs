//! The core's [`Response`] turned into HTTP the same way by both servers: status and content
//! type, `Cache-Control: no-store` on payloads, compression above the threshold, the cookie on
//! the polling handshake, and CORS. Each server then maps the `Bytes` body to its own type.

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};

use super::cors::{self, CorsDecision};
use super::options::HttpOptions;
use super::{compression, cookie};
use crate::{Response, ResponseKind};

/// Turns the core's response into HTTP, adding CORS, the cookie and compression. `request` is
/// the request's headers (for `Accept-Encoding`); `cors` the decision made on its origin.
pub fn decorate(
    response: Response,
    request: &HeaderMap,
    cors: &CorsDecision,
    options: &HttpOptions,
) -> http::Response<Bytes> {
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

/// A plain-text response (`text/plain; charset=UTF-8`); an invalid status becomes 500.
pub fn plain(status: u16, text: &'static str) -> http::Response<Bytes> {
    let mut response = http::Response::new(Bytes::from_static(text.as_bytes()));
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(len: usize) -> Response {
        Response {
            status: 200,
            content_type: Some("text/plain; charset=UTF-8"),
            body: Bytes::from(vec![b'a'; len]),
            kind: ResponseKind::Payload,
        }
    }

    #[test]
    fn compresses_payloads_above_the_threshold_only() {
        let options = HttpOptions::default();
        let mut request = HeaderMap::new();
        request.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        let small = decorate(payload(10), &request, &CorsDecision::NoOrigin, &options);
        assert_eq!(small.status(), 200);
        assert_eq!(small.headers()[header::CACHE_CONTROL], "no-store");
        assert!(!small.headers().contains_key(header::CONTENT_ENCODING));
        assert_eq!(small.body().len(), 10);

        let large = decorate(payload(4096), &request, &CorsDecision::NoOrigin, &options);
        assert_eq!(large.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(large.headers()[header::VARY], "Accept-Encoding");
        assert!(large.body().len() < 4096);

        let off = HttpOptions {
            compression: false,
            ..HttpOptions::default()
        };
        let plain_large = decorate(payload(4096), &request, &CorsDecision::NoOrigin, &off);
        assert!(!plain_large.headers().contains_key(header::CONTENT_ENCODING));
    }

    #[test]
    fn plain_text() {
        let response = plain(404, "Not Found");
        assert_eq!(response.status(), 404);
        assert_eq!(response.body().as_ref(), b"Not Found");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/plain; charset=UTF-8"
        );
    }
}
