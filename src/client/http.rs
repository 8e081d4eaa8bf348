//! The polling transport's HTTP/1.1 requests, over hyper's client connections, and the small
//! pool of idle connections that lets the long-poll GET and the POSTs reuse sockets.
//!
//! A request takes an idle connection (or opens one), sends, reads the whole body, and puts the
//! connection back. A connection the server closed while it sat idle is noticed before use, or
//! hyper hands the unsent request back and it goes out on a fresh connection; a request that
//! may have reached the server is never sent twice. Idle connections are dropped after a few
//! seconds, under common keep-alive timeouts (Node's is 5 s), so a reused socket is seldom one
//! the server is closing.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE, HOST};
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;

use super::net::Context;
use super::ConnectError;
use crate::io::HyperIo;

type Sender = SendRequest<Full<Bytes>>;

/// The most idle connections kept (the long-poll GET and the POST need two).
const MAX_IDLE: usize = 4;
/// Idle connections older than this are not reused.
const IDLE_TIMEOUT: Duration = Duration::from_secs(4);
/// The largest polling response body read (a server batches everything it has queued into one
/// response, so this is well above any `maxPayload`). A larger one fails the request.
pub(super) const MAX_RESPONSE_BODY: usize = 64 << 20;

/// Idle HTTP/1.1 connections to the server.
#[derive(Debug, Default)]
pub(super) struct Pool {
    idle: Mutex<Vec<(Sender, Instant)>>,
}

impl Pool {
    fn take(&self, now: Instant) -> Option<Sender> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some((sender, since)) = idle.pop() {
            if !sender.is_closed() && now.saturating_duration_since(since) < IDLE_TIMEOUT {
                return Some(sender);
            }
        }
        None
    }

    fn put(&self, sender: Sender, now: Instant) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if !sender.is_closed() && idle.len() < MAX_IDLE {
            idle.push((sender, now));
        }
    }
}

/// Sends one polling request (a GET, or a POST of `body`) to `<path>?<query>` and reads the
/// whole response: its status and body.
pub(super) async fn request(
    ctx: &Context,
    query: &str,
    body: Option<Bytes>,
) -> Result<(u16, Bytes), ConnectError> {
    let request = build(ctx, query, body)?;
    let (sender, response) = send(ctx, request).await?;
    ctx.headers.store_cookies(response.headers());
    let status = response.status().as_u16();
    let body = Limited::new(response.into_body(), MAX_RESPONSE_BODY)
        .collect()
        .await
        .map_err(body_error)?
        .to_bytes();
    ctx.pool.put(sender, ctx.runtime.now());
    Ok((status, body))
}

fn build(
    ctx: &Context,
    query: &str,
    body: Option<Bytes>,
) -> Result<Request<Full<Bytes>>, ConnectError> {
    let post = body.is_some();
    let mut request = Request::new(Full::new(body.unwrap_or_default()));
    if post {
        *request.method_mut() = Method::POST;
    }
    *request.uri_mut() = ctx
        .target
        .request_target(query)
        .parse()
        .map_err(|error| ConnectError::InvalidUrl(format!("request target: {error}")))?;
    let headers = request.headers_mut();
    ctx.headers.add_to(headers);
    if !headers.contains_key(HOST) {
        let host = HeaderValue::try_from(ctx.target.authority.as_str())
            .map_err(|error| ConnectError::InvalidUrl(format!("host: {error}")))?;
        headers.insert(HOST, host);
    }
    if post {
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain;charset=UTF-8"),
        );
    }
    Ok(request)
}

/// Sends `request` on an idle connection, or a new one; returns the connection with the
/// response head.
async fn send(
    ctx: &Context,
    mut request: Request<Full<Bytes>>,
) -> Result<(Sender, Response<Incoming>), ConnectError> {
    loop {
        let (mut sender, pooled) = match ctx.pool.take(ctx.runtime.now()) {
            Some(sender) => (sender, true),
            None => (connect(ctx).await?, false),
        };
        if let Err(error) = sender.ready().await {
            if pooled {
                continue;
            }
            return Err(super::error::from_hyper(error));
        }
        match sender.try_send_request(request).await {
            Ok(response) => return Ok((sender, response)),
            Err(mut error) => match error.take_message() {
                // Never written: safe to send on another connection.
                Some(unsent) if pooled => request = unsent,
                _ => return Err(super::error::from_hyper(error.into_error())),
            },
        }
    }
}

/// Opens a new HTTP/1.1 connection; its I/O runs as a task on the runtime.
async fn connect(ctx: &Context) -> Result<Sender, ConnectError> {
    let stream = ctx.open_stream().await?;
    let (sender, connection) = hyper::client::conn::http1::handshake(HyperIo::new(stream))
        .await
        .map_err(super::error::from_hyper)?;
    ctx.runtime.spawn(Box::pin(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "engine.io polling connection failed");
        }
    }));
    Ok(sender)
}

fn body_error(error: Box<dyn std::error::Error + Send + Sync>) -> ConnectError {
    if error.is::<LengthLimitError>() {
        return ConnectError::Protocol(format!(
            "polling response larger than {MAX_RESPONSE_BODY} bytes"
        ));
    }
    match error.downcast::<hyper::Error>() {
        Ok(error) => super::error::from_hyper(*error),
        Err(other) => ConnectError::Protocol(other.to_string()),
    }
}
