//! Serving one HTTP request to the Engine.IO path: CORS, handing the request to the core,
//! feeding it the body when it asks, and turning its answer into an `http::Response`.
//!
//! The request future keeps a guard: if hyper drops it because the client went away (a held
//! GET the browser abandoned), the core hears `handle_request_closed`, so that every request is
//! accounted for and the session reacts as the reference server does.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use engineio_core::{Method, Request, RequestId, Response, ResponseKind};
use futures_util::future::{select, Either};
use http::header::{self, HeaderValue};
use http_body_util::{BodyExt, Full};

use super::engine::Shared;
use super::mailbox::Outcome;
use super::websocket;
use engineio_core::http::cors::{self, CorsDecision};
use engineio_core::http::StoredRequest;
use engineio_core::http::{request, response};

/// The response type of everything the server answers itself.
pub(crate) type HttpResponse = http::Response<Full<Bytes>>;

/// Serves a request whose path is the Engine.IO path.
pub(crate) async fn handle<B>(
    shared: Arc<Shared>,
    request: http::Request<B>,
    remote_addr: Option<SocketAddr>,
    secure: bool,
) -> HttpResponse
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: std::fmt::Display + Send,
{
    let (mut parts, body) = request.into_parts();
    let options = &shared.options;
    let cors = cors::check(&options.http.cors, &parts.headers, secure);
    if matches!(cors, CorsDecision::Rejected) {
        tracing::debug!(origin = ?parts.headers.get(header::ORIGIN), "refused origin");
        return response::origin_refused(&parts.headers).map(Full::new);
    }
    if parts.method == http::Method::OPTIONS {
        return cors::preflight(&cors, options.http.cors_credentials, &parts.headers)
            .map(Full::new);
    }
    let query = parts.uri.query().unwrap_or("");
    let id = shared.next_request_id();
    let info = StoredRequest::for_handshake(
        &parts.method,
        &parts.uri,
        &parts.headers,
        remote_addr,
        query,
    );
    let head = Request {
        method: Method::from_name(parts.method.as_str()),
        query,
        websocket: request::is_upgrade_request(&parts.headers),
        content_type: header_str(&parts.headers, header::CONTENT_TYPE),
        content_length: header_str(&parts.headers, header::CONTENT_LENGTH)
            .and_then(|value| value.trim().parse().ok()),
        origin: parts.headers.get(header::ORIGIN).map(HeaderValue::as_bytes),
    };
    let mut decided = shared.start_request(id, info, head);
    let mut guard = AbandonGuard {
        shared: Arc::clone(&shared),
        id,
        armed: true,
    };
    let mut body = std::pin::pin!(body);
    let mut body_read = false;
    loop {
        let outcome = match decided.take() {
            Some(outcome) => outcome,
            None => poll_fn(|cx| shared.poll_outcome(id, cx)).await,
        };
        match outcome {
            Outcome::Respond(response) => {
                guard.armed = false;
                return finish(&shared, response, &parts.headers, &cors);
            }
            Outcome::ReadBody => {
                if !body_read {
                    body_read = true;
                    decided = Some(feed_body(&shared, id, body.as_mut()).await);
                }
            }
            Outcome::Accept => {
                guard.armed = false;
                return websocket::accept(&shared, id, &mut parts, &cors);
            }
            Outcome::Lost => {
                guard.armed = false;
                return plain(500, "request lost");
            }
        }
    }
}

/// Streams the body into the core and returns the core's answer, early if it comes first (a
/// body over `maxPayload` is refused at the chunk that crosses it).
async fn feed_body<B>(
    shared: &Arc<Shared>,
    id: RequestId,
    mut body: std::pin::Pin<&mut B>,
) -> Outcome
where
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Display + Send,
{
    loop {
        let answer = std::pin::pin!(poll_fn(|cx| shared.poll_outcome(id, cx)));
        let frame = match select(body.frame(), answer).await {
            Either::Left((frame, _)) => frame,
            Either::Right((outcome, _)) => return outcome,
        };
        match frame {
            Some(Ok(frame)) => {
                if let Ok(chunk) = frame.into_data() {
                    if body.is_end_stream() {
                        // The last chunk (a length-delimited body, as a client's POST nearly
                        // always is): it and the end go in together.
                        return settle(shared, id, shared.end_body(id, Some(chunk))).await;
                    }
                    shared.with_core_on_io_task(|core, now| core.handle_body(now, id, chunk));
                }
            }
            Some(Err(error)) => {
                tracing::debug!(%error, "request body failed");
                shared.abandon_request(id);
                return Outcome::Respond(Response {
                    status: 400,
                    content_type: None,
                    body: Bytes::new(),
                    kind: ResponseKind::Refused,
                });
            }
            None => return settle(shared, id, shared.end_body(id, None)).await,
        }
    }
}

/// `decided`, or the core's answer about request `id` once it gives one.
async fn settle(shared: &Shared, id: RequestId, decided: Option<Outcome>) -> Outcome {
    match decided {
        Some(outcome) => outcome,
        None => poll_fn(|cx| shared.poll_outcome(id, cx)).await,
    }
}

/// Turns the core's response into HTTP with the decoration both servers share (CORS, the
/// cookie, compression; see [`response::decorate`]).
fn finish(
    shared: &Shared,
    response: Response,
    request: &http::HeaderMap,
    cors: &CorsDecision,
) -> HttpResponse {
    response::decorate(response, request, cors, &shared.options.http).map(Full::new)
}

/// A plain-text response.
pub(crate) fn plain(status: u16, text: &'static str) -> HttpResponse {
    response::plain(status, text).map(Full::new)
}

fn header_str(headers: &http::HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// Tells the core about a request hyper dropped before it was answered.
struct AbandonGuard {
    shared: Arc<Shared>,
    id: RequestId,
    armed: bool,
}

impl Drop for AbandonGuard {
    fn drop(&mut self) {
        if self.armed {
            self.shared.abandon_request(self.id);
        }
    }
}
