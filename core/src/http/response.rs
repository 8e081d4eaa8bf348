//! The core's [`Response`] turned into HTTP the same way by both servers: status and content
//! type, `Cache-Control: no-store` on payloads, compression above the threshold, the cookie on
//! the polling handshake, and CORS. Each server then maps the `Bytes` body to its own type.
//!
//! A refused WebSocket upgrade is answered the reference's way (its `abortUpgrade`,
//! protocol.md §1.9): the plain message as a `text/html` body and `Connection: close`, not the
//! `{"code":…,"message":…}` JSON of polling errors, since WebSocket clients show the body, if
//! anything, as text. The status stays the core's (400 for the protocol errors; 403, or the
//! status the `authorize` hook chose, for a refusal), where the reference sends 400 for
//! everything: a client or a proxy can then tell "not allowed" from "malformed".

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};

use super::cors::{self, CorsDecision};
use super::options::HttpOptions;
use super::request::is_upgrade_request;
use super::{compression, cookie};
use crate::{Response, ResponseKind};

/// The content type of a refused upgrade's body (the reference's).
const UPGRADE_REFUSAL_TYPE: &str = "text/html";

/// Turns the core's response into HTTP, adding CORS, the cookie and compression. `request` is
/// the request's headers (for `Accept-Encoding`); `cors` the decision made on its origin.
pub fn decorate(
    response: Response,
    request: &HeaderMap,
    cors: &CorsDecision,
    options: &HttpOptions,
) -> http::Response<Bytes> {
    if let ResponseKind::Error(code) = response.kind {
        if is_upgrade_request(request) {
            let message = error_message(&response.body).unwrap_or_else(|| code.message().into());
            let mut refused = upgrade_refusal(response.status, message);
            cors::apply(cors, options.cors_credentials, refused.headers_mut());
            return refused;
        }
    }
    let mut body = response.body;
    // Filled in place: a map built apart and moved into the response cost a copy of the map
    // and the drop of the response's empty one, per response.
    let mut out = http::Response::new(Bytes::new());
    let headers = out.headers_mut();
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
    cors::apply(cors, options.cors_credentials, headers);
    *out.body_mut() = body;
    *out.status_mut() = http::StatusCode::from_u16(response.status)
        .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    out
}

/// The answer to a request whose `Origin` the CORS policy refuses: [`cors::rejected`] (403,
/// `{"code":4,…}`), or for a WebSocket upgrade the same 403 as a refused upgrade (plain
/// message, `Connection: close`).
pub fn origin_refused(request: &HeaderMap) -> http::Response<Bytes> {
    if is_upgrade_request(request) {
        upgrade_refusal(403, "Not an accepted origin".into())
    } else {
        cors::rejected()
    }
}

/// A refused WebSocket upgrade: `status`, the plain `message` as a `text/html` body, and
/// `Connection: close` (the connection was about to become a socket; nothing follows).
fn upgrade_refusal(status: u16, message: String) -> http::Response<Bytes> {
    let mut response = http::Response::new(Bytes::from(message));
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(UPGRADE_REFUSAL_TYPE),
    );
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// The `message` of a core error body (`{"code":…,"message":…}`).
fn error_message(body: &[u8]) -> Option<String> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    json.get("message")?.as_str().map(str::to_owned)
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

    fn upgrade_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        headers.insert(
            header::SEC_WEBSOCKET_KEY,
            HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="),
        );
        headers.insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        headers
    }

    fn error(status: u16, body: &'static str, code: crate::ErrorCode) -> Response {
        Response {
            status,
            content_type: Some("application/json"),
            body: Bytes::from_static(body.as_bytes()),
            kind: ResponseKind::Error(code),
        }
    }

    #[test]
    fn refused_upgrades_get_the_plain_message() {
        let options = HttpOptions::default();
        let unknown = error(
            400,
            r#"{"code":1,"message":"Session ID unknown"}"#,
            crate::ErrorCode::UnknownSid,
        );
        let polling = decorate(
            unknown.clone(),
            &HeaderMap::new(),
            &CorsDecision::NoOrigin,
            &options,
        );
        assert_eq!(polling.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(polling.body(), &unknown.body);

        let upgrade = decorate(
            unknown,
            &upgrade_headers(),
            &CorsDecision::NoOrigin,
            &options,
        );
        assert_eq!(upgrade.status(), 400);
        assert_eq!(upgrade.headers()[header::CONTENT_TYPE], "text/html");
        assert_eq!(upgrade.headers()[header::CONNECTION], "close");
        assert_eq!(upgrade.body().as_ref(), b"Session ID unknown");

        let forbidden = error(
            429,
            r#"{"code":4,"message":"slow down"}"#,
            crate::ErrorCode::Forbidden,
        );
        let upgrade = decorate(
            forbidden,
            &upgrade_headers(),
            &CorsDecision::NoOrigin,
            &options,
        );
        assert_eq!(upgrade.status(), 429);
        assert_eq!(upgrade.body().as_ref(), b"slow down");

        let origin = origin_refused(&upgrade_headers());
        assert_eq!(origin.status(), 403);
        assert_eq!(origin.body().as_ref(), b"Not an accepted origin");
        let polling = origin_refused(&HeaderMap::new());
        assert_eq!(polling.status(), 403);
        assert_eq!(polling.body(), cors::rejected().body());
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
