//! One thread per HTTP connection: read a request head with `httparse` (within the size and
//! time limits), route it (the Engine.IO path, then static files, then 404), hand Engine.IO
//! requests to the engine and wait for its outcome, feed it the body in chunks when it asks,
//! and write the response. Keep-alive connections loop; a WebSocket upgrade turns the thread
//! into the socket's reader (see [`websocket`](super::websocket)).
//!
//! While a request waits for the engine (a held long-poll GET), the thread checks every
//! [`ABANDON_CHECK`] whether the client went away, and tells the core if it did, as the
//! reference server does when a poll request is aborted.

use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use engineio_core::http::cors::{self, CorsDecision};
use engineio_core::http::static_files;
use engineio_core::{Method, Response};
use http::header::{self, HeaderMap, HeaderValue};

use super::engine::{Command, Head, Outcome};
use super::options::MAX_HEADERS;
use super::response::{finish, plain, write_response};
use super::shared::Shared;
use super::websocket;
use crate::conn::Conn;
use crate::input::{self, Framing, HeadError, Input};
use engineio_core::http::{request, response, StoredRequest};

/// How often a thread waiting for the engine checks that its client is still there.
const ABANDON_CHECK: Duration = Duration::from_millis(250);

/// A parsed request head.
#[derive(Debug)]
pub(crate) struct RequestHead {
    pub(crate) method: http::Method,
    pub(crate) target: String,
    pub(crate) version: u8,
    pub(crate) headers: HeaderMap,
}

impl RequestHead {
    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    fn query(&self) -> &str {
        self.target.split_once('?').map_or("", |(_, query)| query)
    }

    fn keep_alive(&self) -> bool {
        let has = |token: &str| {
            self.headers
                .get_all(header::CONNECTION)
                .iter()
                .any(|value| {
                    value
                        .to_str()
                        .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
                })
        };
        if self.version == 0 {
            has("keep-alive")
        } else {
            !has("close")
        }
    }
}

/// What the connection does after a request.
enum Next {
    KeepAlive,
    Close,
    /// Close, with the rest of the request unread (a body refused or ignored, a head cut
    /// short): the lingering way, so that the response is not overtaken by a reset (see
    /// [`Conn::linger_close`]).
    CloseUnread,
}

impl Next {
    /// `self`, for a response given before the request's body was read.
    fn body_unread(self) -> Self {
        match self {
            Self::Close => Self::CloseUnread,
            other => other,
        }
    }
}

/// Serves one accepted connection until it closes; `id` is its entry in the connection table.
pub(crate) fn serve_connection(shared: &Arc<Shared>, tcp: TcpStream, id: u64) {
    let options = &shared.options;
    let peer = tcp.peer_addr().ok();
    let _ = tcp.set_nodelay(true);
    let conn = Conn::plain(tcp);
    conn.set_write_timeout(Some(options.write_timeout));
    let mut input = Input::new(conn.clone());
    let mut first = true;
    let end = loop {
        if !first {
            shared.set_connection_idle(id, true);
            let idle_deadline = Instant::now() + options.keep_alive_timeout;
            if shared.stopped.load(std::sync::atomic::Ordering::Acquire)
                || !input.wait_readable(idle_deadline)
            {
                break Next::Close;
            }
        }
        first = false;
        shared.set_connection_idle(id, false);
        let deadline = Instant::now() + options.header_read_timeout;
        let head = match input.read_head(deadline, options.max_header_bytes, parse_request) {
            Ok(head) => head,
            Err(HeadError::Closed | HeadError::Io(_)) => break Next::Close,
            Err(HeadError::Timeout) => {
                tracing::debug!(?peer, "request head not received in time");
                write_response(&conn, &plain(408, "Request Timeout"), false, false);
                break Next::CloseUnread;
            }
            Err(HeadError::TooLarge) => {
                write_response(
                    &conn,
                    &plain(431, "Request Header Fields Too Large"),
                    false,
                    false,
                );
                break Next::CloseUnread;
            }
            Err(HeadError::Malformed) => {
                write_response(&conn, &plain(400, "Bad Request"), false, false);
                break Next::CloseUnread;
            }
        };
        match handle_request(shared, &mut input, head, peer) {
            Next::KeepAlive => {}
            end => break end,
        }
    };
    match end {
        Next::CloseUnread => conn.linger_close(),
        _ => conn.shutdown(),
    }
}

fn parse_request(bytes: &[u8]) -> Result<Option<(usize, RequestHead)>, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(bytes) {
        Ok(httparse::Status::Complete(length)) => {
            let method = request
                .method
                .and_then(|m| http::Method::from_bytes(m.as_bytes()).ok())
                .ok_or(HeadError::Malformed)?;
            let target = request.path.ok_or(HeadError::Malformed)?.to_owned();
            let version = request.version.ok_or(HeadError::Malformed)?;
            let headers = input::header_map(request.headers).ok_or(HeadError::Malformed)?;
            Ok(Some((
                length,
                RequestHead {
                    method,
                    target,
                    version,
                    headers,
                },
            )))
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(httparse::Error::TooManyHeaders) => Err(HeadError::TooLarge),
        Err(_) => Err(HeadError::Malformed),
    }
}

fn handle_request(
    shared: &Arc<Shared>,
    input: &mut Input,
    head: RequestHead,
    peer: Option<SocketAddr>,
) -> Next {
    let keep_alive =
        head.keep_alive() && !shared.stopped.load(std::sync::atomic::Ordering::Acquire);
    let Some(framing) = input::framing(&head.headers, Framing::Empty) else {
        write_response(&input.conn, &plain(400, "Bad Request"), false, false);
        return Next::CloseUnread;
    };
    if shared.options.http.is_engine_path(head.path()) {
        return engine_request(shared, input, &head, framing, peer, keep_alive);
    }
    let is_read = matches!(head.method, http::Method::GET | http::Method::HEAD);
    let file = is_read
        .then(|| static_files::resolve(&shared.options.http.static_files, head.path()))
        .flatten();
    let response = match file {
        Some(file) => static_files::respond(&file),
        None => plain(404, "Not Found"),
    };
    // A body we did not read would be taken for the next request.
    let keep = keep_alive && framing == Framing::Empty;
    let head_only = head.method == http::Method::HEAD;
    let next = finish_with(&input.conn, &response, head_only, keep);
    if framing == Framing::Empty {
        next
    } else {
        next.body_unread()
    }
}

fn finish_with(conn: &Conn, response: &http::Response<Bytes>, head_only: bool, keep: bool) -> Next {
    // A refused upgrade says `Connection: close` itself.
    let keep = keep && !response.headers().contains_key(header::CONNECTION);
    if write_response(conn, response, head_only, keep) && keep {
        Next::KeepAlive
    } else {
        Next::Close
    }
}

fn engine_request(
    shared: &Arc<Shared>,
    input: &mut Input,
    head: &RequestHead,
    mut framing: Framing,
    peer: Option<SocketAddr>,
    keep_alive: bool,
) -> Next {
    let options = &shared.options;
    let keep = keep_alive && framing == Framing::Empty;
    let cors = cors::check(&options.http.cors, &head.headers, false);
    if cors == CorsDecision::Rejected {
        tracing::debug!(origin = ?head.headers.get(header::ORIGIN), "refused origin");
        return finish_with(
            &input.conn,
            &response::origin_refused(&head.headers),
            false,
            keep,
        );
    }
    if head.method == http::Method::OPTIONS {
        let response = cors::preflight(&cors, options.http.cors_credentials, &head.headers);
        return finish_with(&input.conn, &response, false, keep);
    }
    let query = head.query();
    let id = shared.next_request_id();
    let uri = head.target.parse().unwrap_or_default();
    let info =
        StoredRequest::for_handshake(&head.method, &uri, &head.headers, peer, query).map(Box::new);
    let text = |name| {
        head.headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let core_head = Head {
        method: Method::from_name(head.method.as_str()),
        query: query.to_owned(),
        websocket: request::is_upgrade_request(&head.headers),
        content_type: text(header::CONTENT_TYPE).map(str::to_owned),
        content_length: text(header::CONTENT_LENGTH).and_then(|v| v.trim().parse().ok()),
        origin: head
            .headers
            .get(header::ORIGIN)
            .map(|v| v.as_bytes().to_vec()),
    };
    let (outcome, outcomes) = mpsc::channel();
    shared.input(Command::Request {
        id,
        head: core_head,
        info,
        outcome,
    });
    let conn = input.conn.clone();
    loop {
        let outcome = match wait_outcome(&outcomes, &conn) {
            Ok(outcome) => outcome,
            Err(abandoned) => {
                if abandoned {
                    shared.input(Command::RequestClosed(id));
                }
                return Next::Close;
            }
        };
        match outcome {
            Outcome::Respond(response) => {
                // Answered before any body was read (a declared length over the limit, an
                // unknown sid, a refusal).
                let response = finish(shared, response, &head.headers, &cors);
                let next = finish_with(&conn, &response, false, keep);
                return if framing == Framing::Empty {
                    next
                } else {
                    next.body_unread()
                };
            }
            Outcome::ReadBody => {
                if expects_continue(&head.headers)
                    && conn.send(b"HTTP/1.1 100 Continue\r\n\r\n", false).is_err()
                {
                    shared.input(Command::RequestClosed(id));
                    return Next::Close;
                }
                let Some((response, complete)) =
                    feed_body(shared, id, input, &mut framing, &outcomes)
                else {
                    shared.input(Command::RequestClosed(id));
                    return Next::Close;
                };
                let response = finish(shared, response, &head.headers, &cors);
                let next = finish_with(&conn, &response, false, keep_alive && complete);
                return if complete { next } else { next.body_unread() };
            }
            Outcome::Accept(commands) => {
                websocket::serve(shared, id, input, head, commands, &cors);
                return Next::Close;
            }
            Outcome::BodyTaken => {}
        }
    }
}

/// Waits for the engine's outcome; `Err(true)` if the client went away first, `Err(false)`
/// if the engine dropped the request.
fn wait_outcome(outcomes: &Receiver<Outcome>, conn: &Conn) -> Result<Outcome, bool> {
    loop {
        match outcomes.recv_timeout(ABANDON_CHECK) {
            Ok(outcome) => return Ok(outcome),
            Err(RecvTimeoutError::Timeout) => {
                if conn.peer_closed() {
                    return Err(true);
                }
            }
            Err(RecvTimeoutError::Disconnected) => return Err(false),
        }
    }
}

/// Streams the body into the core chunk by chunk, each chunk acknowledged before the next is
/// read, and stops as soon as the core answers (a body over `maxPayload` gets 413 at the chunk
/// that crosses it, and the rest is never read). Returns the answer and whether the body was
/// read to its end; `None` if the body could not be read.
fn feed_body(
    shared: &Shared,
    id: engineio_core::RequestId,
    input: &mut Input,
    framing: &mut Framing,
    outcomes: &Receiver<Outcome>,
) -> Option<(Response, bool)> {
    let timeout = shared.options.header_read_timeout;
    let mut overhead = 0;
    loop {
        match input.next_chunk(framing, &mut overhead, Some(Instant::now() + timeout)) {
            Ok(Some(chunk)) => shared.input(Command::Body(id, chunk)),
            Ok(None) => {
                shared.input(Command::BodyEnd(id));
                return match wait_outcome(outcomes, &input.conn) {
                    Ok(Outcome::Respond(response)) => Some((response, true)),
                    _ => None,
                };
            }
            Err(error) => {
                tracing::debug!(%error, "request body failed");
                return None;
            }
        }
        match wait_outcome(outcomes, &input.conn) {
            Ok(Outcome::BodyTaken) => {}
            Ok(Outcome::Respond(response)) => return Some((response, *framing == Framing::Empty)),
            _ => return None,
        }
    }
}

fn expects_continue(headers: &HeaderMap) -> bool {
    headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}
