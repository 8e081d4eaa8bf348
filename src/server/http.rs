//! Serving one HTTP request to the Engine.IO path: CORS, handing the request to the core,
//! feeding it the body when it asks, and turning its answer into an `http::Response`.
//!
//! The request future keeps a guard: if hyper drops it because the client went away (a held
//! GET the browser abandoned), the core hears `handle_request_closed`, so that every request is
//! accounted for and the session reacts as the reference server does.

use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use engineio_core::{Method, Request, RequestId, Response, ResponseKind};
use http::header::{self, HeaderValue};
use http_body_util::Full;

use super::engine::Shared;
use super::mailbox::Outcome;
use super::websocket;
use engineio_core::http::cors::{self, CorsDecision};
use engineio_core::http::StoredRequest;
use engineio_core::http::{request, response};

/// The response type of everything the server answers itself.
pub(crate) type HttpResponse = http::Response<Full<Bytes>>;

pin_project_lite::pin_project! {
    /// The future of a request to the Engine.IO path (see [`handle`]): most requests are
    /// answered while it is made (a handshake, a poll with something queued, every refusal);
    /// the rest wait on the core (a held poll, a body to read, an upgrade the authorization
    /// handler has yet to allow).
    ///
    /// The waiting part is its own, smaller future, and the answered part holds only the
    /// response: hyper keeps this future for each request and moves it on the way, and a
    /// single `async fn` doing both measured 1.7 KB, copied several times per request.
    #[project = HandlingProj]
    pub(crate) enum Handling<F> {
        Answered { response: Option<HttpResponse> },
        Waiting { #[pin] future: F },
    }
}

impl<F> Handling<F> {
    /// A request answered at once with `response`.
    pub(crate) fn answered(response: HttpResponse) -> Self {
        Self::Answered {
            response: Some(response),
        }
    }
}

/// Never fails (hyper's services return a `Result`; every failure here is an HTTP answer).
impl<F: Future<Output = HttpResponse>> Future for Handling<F> {
    type Output = Result<HttpResponse, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            HandlingProj::Answered { response } => Poll::Ready(Ok(response
                .take()
                .expect("Handling polled after it answered"))),
            HandlingProj::Waiting { future } => future.poll(cx).map(Ok),
        }
    }
}

/// Serves a request whose path is the Engine.IO path: CORS, the request handed to the core,
/// and the core's answer if it gives one at once, all before the returned future is polled.
pub(crate) fn handle<B>(
    shared: Arc<Shared>,
    request: http::Request<B>,
    remote_addr: Option<SocketAddr>,
    secure: bool,
) -> Handling<impl Future<Output = HttpResponse> + Send>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: std::fmt::Display + Send,
{
    let (mut parts, body) = request.into_parts();
    let options = &shared.options;
    let cors = cors::check(&options.http.cors, &parts.headers, secure);
    if matches!(cors, CorsDecision::Rejected) {
        tracing::debug!(origin = ?parts.headers.get(header::ORIGIN), "refused origin");
        return Handling::answered(response::origin_refused(&parts.headers).map(Full::new));
    }
    if parts.method == http::Method::OPTIONS {
        let preflight = cors::preflight(&cors, options.http.cors_credentials, &parts.headers);
        return Handling::answered(preflight.map(Full::new));
    }
    let query = parts.uri.query().unwrap_or("");
    let id = shared.next_request_id();
    let head = Request {
        method: Method::from_name(parts.method.as_str()),
        query,
        websocket: request::is_upgrade_request(&parts.headers),
        content_type: header_str(&parts.headers, header::CONTENT_TYPE),
        content_length: header_str(&parts.headers, header::CONTENT_LENGTH)
            .and_then(|value| value.trim().parse().ok()),
        origin: parts.headers.get(header::ORIGIN).map(HeaderValue::as_bytes),
    };
    let pack = |transport| {
        StoredRequest::for_transport(
            &parts.method,
            &parts.uri,
            &parts.headers,
            remote_addr,
            transport,
        )
    };
    let read_body = match shared.start_request(id, head, pack) {
        None => false,
        Some(Outcome::ReadBody) => true,
        Some(outcome) => {
            return Handling::answered(conclude(&shared, id, outcome, &mut parts, &cors));
        }
    };
    let guard = AbandonGuard {
        shared: Arc::clone(&shared),
        id,
        armed: true,
    };
    Handling::Waiting {
        future: wait(shared, id, parts, body, cors, guard, read_body),
    }
}

/// The answer to a request the core has decided about (anything but reading its body).
fn conclude(
    shared: &Arc<Shared>,
    id: RequestId,
    outcome: Outcome,
    parts: &mut http::request::Parts,
    cors: &CorsDecision,
) -> HttpResponse {
    match outcome {
        Outcome::Respond(response) => finish(shared, response, &parts.headers, cors),
        Outcome::Accept => websocket::accept(shared, id, parts, cors),
        Outcome::Lost | Outcome::ReadBody => plain(500, "request lost"),
    }
}

/// The rest of a request the core did not answer at once: feeds it the body when it asks,
/// and waits for its answer.
async fn wait<B>(
    shared: Arc<Shared>,
    id: RequestId,
    mut parts: http::request::Parts,
    body: B,
    cors: CorsDecision,
    mut guard: AbandonGuard,
    read_body: bool,
) -> HttpResponse
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: std::fmt::Display + Send,
{
    let mut body = std::pin::pin!(body);
    let mut body_read = false;
    let mut decided = read_body.then_some(Outcome::ReadBody);
    loop {
        let outcome = match decided.take() {
            Some(outcome) => outcome,
            None => poll_fn(|cx| shared.poll_outcome(id, cx)).await,
        };
        if let Outcome::ReadBody = outcome {
            if !body_read {
                body_read = true;
                decided = Some(feed_body(&shared, id, body.as_mut()).await);
            }
            continue;
        }
        guard.armed = false;
        return conclude(&shared, id, outcome, &mut parts, &cors);
    }
}

/// Streams the body into the core and returns the core's answer, early if it comes first (a
/// body over `maxPayload` is refused at the chunk that crosses it).
///
/// One `poll_fn` rather than a `select` per chunk: the request's future keeps this state while
/// it waits, and the smaller it is, the less hyper copies when it takes the future.
async fn feed_body<B>(shared: &Arc<Shared>, id: RequestId, mut body: Pin<&mut B>) -> Outcome
where
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Display + Send,
{
    let mut ended = false;
    poll_fn(|cx| {
        while !ended {
            match body.as_mut().poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    let Ok(chunk) = frame.into_data() else {
                        continue;
                    };
                    if !body.is_end_stream() {
                        shared.with_core_on_io_task(|core, now| core.handle_body(now, id, chunk));
                        continue;
                    }
                    // The last chunk (a length-delimited body, as a client's POST nearly
                    // always is): it and the end go in together.
                    ended = true;
                    if let Some(outcome) = shared.end_body(id, Some(chunk)) {
                        return Poll::Ready(outcome);
                    }
                }
                Poll::Ready(Some(Err(error))) => {
                    tracing::debug!(%error, "request body failed");
                    shared.abandon_request(id);
                    return Poll::Ready(Outcome::Respond(Response {
                        status: 400,
                        content_type: None,
                        body: Bytes::new(),
                        kind: ResponseKind::Refused,
                    }));
                }
                Poll::Ready(None) => {
                    ended = true;
                    if let Some(outcome) = shared.end_body(id, None) {
                        return Poll::Ready(outcome);
                    }
                }
                // Nothing to read yet: the core may still answer first.
                Poll::Pending => break,
            }
        }
        shared.poll_outcome(id, cx)
    })
    .await
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
