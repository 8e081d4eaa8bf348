//! The polling transport: HTTP/1.1 requests over blocking sockets.
//!
//! The core keeps at most one GET (the handshake, then the long-poll) and one POST in flight,
//! so each kind has one [`Worker`] thread with one keep-alive connection: requests of a kind
//! go out one after the other on the same socket. Requests are written in one write; responses
//! are parsed with `httparse` (head, and chunk sizes of a chunked body). A request the core
//! aborts (the held GET after `close`) is cancelled by shutting its socket down, which ends the
//! blocked read at once.

use std::collections::BTreeSet;
use std::io;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use engineio_core::RequestId;
use http::header::{HeaderMap, HeaderValue, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST};

use super::engine::Input;
use super::net::Context;
use super::room;
use super::ConnectError;
use crate::conn::Conn;
use crate::input::{self, Framing, HeadError, Input as Reader};

/// Idle connections older than this are not reused (under common keep-alive timeouts, Node's
/// is 5 s).
const IDLE_TIMEOUT: Duration = Duration::from_secs(4);
/// The largest polling response body read (a server batches everything it has queued into one
/// response, so this is well above any `maxPayload`). A larger one fails the request.
const MAX_RESPONSE_BODY: usize = 64 << 20;
/// The largest response head.
const MAX_HEAD: usize = 64 * 1024;
/// The longest a long-poll GET may be held, as a safety net: the core's heartbeat deadline
/// ends a dead connection long before.
const LONG_POLL_LIMIT: Duration = Duration::from_secs(3600);
/// How often a GET waiting for room in the backlog checks whether it was aborted.
const ROOM_CHECK: Duration = Duration::from_millis(50);

/// One request for a worker.
#[derive(Debug)]
pub(super) struct HttpJob {
    pub(super) request: RequestId,
    pub(super) query: String,
    /// A POST's payload; `None` for a GET.
    pub(super) body: Option<Bytes>,
    /// How long the whole exchange may take; `None` for a long-poll GET.
    pub(super) timeout: Option<Duration>,
    /// Wait for room in the inbound backlog before sending (the long-poll GET): how polling
    /// stops reading while the application is behind.
    pub(super) gated: bool,
}

#[derive(Debug, Default)]
struct Current {
    request: Option<RequestId>,
    conn: Option<Conn>,
    /// Requests aborted before or while they ran.
    aborted: BTreeSet<RequestId>,
}

/// A thread that performs one kind of request, one at a time.
#[derive(Debug)]
pub(super) struct Worker {
    jobs: Sender<HttpJob>,
    current: Arc<Mutex<Current>>,
}

fn lock(current: &Mutex<Current>) -> MutexGuard<'_, Current> {
    current.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Worker {
    /// Starts a worker; it reports every outcome to `inputs` and stops when dropped.
    pub(super) fn spawn(ctx: Arc<Context>, inputs: Sender<Input>) -> io::Result<Self> {
        let (jobs, receiver) = mpsc::channel();
        let current = Arc::new(Mutex::new(Current::default()));
        let shared = Arc::clone(&current);
        std::thread::Builder::new()
            .name("engineio-polling".into())
            .spawn(move || run(&ctx, &receiver, &shared, &inputs))?;
        Ok(Self { jobs, current })
    }

    pub(super) fn submit(&self, job: HttpJob) -> Result<(), HttpJob> {
        self.jobs.send(job).map_err(|error| error.0)
    }

    /// Cancels `request`: skipped if still queued, its socket shut down if running.
    pub(super) fn abort(&self, request: RequestId) {
        let mut current = lock(&self.current);
        current.aborted.insert(request);
        if current.request == Some(request) {
            if let Some(conn) = &current.conn {
                conn.shutdown();
            }
        }
    }

    /// Cancels whatever runs now.
    pub(super) fn abort_current(&self) {
        let request = lock(&self.current).request;
        if let Some(request) = request {
            self.abort(request);
        }
    }
}

fn run(ctx: &Context, jobs: &Receiver<HttpJob>, current: &Mutex<Current>, inputs: &Sender<Input>) {
    let mut idle: Option<(Conn, Instant)> = None;
    while let Ok(job) = jobs.recv() {
        {
            let mut current = lock(current);
            // Ids grow: older aborts can no longer match anything.
            current.aborted = current.aborted.split_off(&job.request);
            if current.aborted.contains(&job.request) {
                continue;
            }
            current.request = Some(job.request);
        }
        if job.gated && !wait_for_room(ctx, current, job.request) {
            lock(current).request = None;
            continue;
        }
        let outcome = perform(ctx, &mut idle, &job, current);
        let aborted = {
            let mut current = lock(current);
            current.request = None;
            current.conn = None;
            current.aborted.contains(&job.request)
        };
        if aborted {
            idle = None;
            continue;
        }
        let input = match outcome {
            Ok((status, body)) => Input::Response {
                request: job.request,
                status,
                body,
            },
            Err(error) => Input::Failed {
                request: job.request,
                error,
            },
        };
        if inputs.send(input).is_err() {
            return;
        }
    }
}

/// Waits until the inbound backlog has room; false if `request` was aborted meanwhile.
fn wait_for_room(ctx: &Context, current: &Mutex<Current>, request: RequestId) -> bool {
    while !room::wait(&ctx.backlog, ROOM_CHECK) {
        if lock(current).aborted.contains(&request) {
            return false;
        }
    }
    !lock(current).aborted.contains(&request)
}

/// Why reading a response failed.
enum Failure {
    /// The connection closed before any byte of a response (a reused socket the server had
    /// closed): safe to retry a GET on a new one.
    NothingRead(ConnectError),
    Other(ConnectError),
}

/// Sends the request and reads the whole response: its status and body.
fn perform(
    ctx: &Context,
    idle: &mut Option<(Conn, Instant)>,
    job: &HttpJob,
    current: &Mutex<Current>,
) -> Result<(u16, Bytes), ConnectError> {
    let bytes = build(ctx, job)?;
    let deadline = Instant::now() + job.timeout.unwrap_or(LONG_POLL_LIMIT);
    let mut retried = false;
    loop {
        let (conn, reused) = match idle.take() {
            Some((conn, since)) if since.elapsed() < IDLE_TIMEOUT && !conn.peer_closed() => {
                (conn, true)
            }
            _ => (ctx.open(ctx.request_timeout)?, false),
        };
        {
            let mut current = lock(current);
            if current.aborted.contains(&job.request) {
                return Err(ConnectError::Io(io::ErrorKind::Interrupted.into()));
            }
            current.conn = Some(conn.clone());
        }
        conn.set_write_timeout(Some(ctx.request_timeout));
        let retry = reused && !retried && job.body.is_none();
        if let Err(error) = conn.send(&bytes, false) {
            if retry {
                retried = true;
                continue;
            }
            return Err(ConnectError::Io(error));
        }
        let mut reader = Reader::new(conn.clone());
        match read_response(ctx, &mut reader, deadline) {
            Ok((status, body, keep_alive)) => {
                if keep_alive && reader.buffered().is_empty() {
                    *idle = Some((conn, Instant::now()));
                }
                return Ok((status, body));
            }
            Err(Failure::NothingRead(_)) if retry => retried = true,
            Err(Failure::NothingRead(error) | Failure::Other(error)) => return Err(error),
        }
    }
}

/// The request, serialised: request line, `Host`, the application's headers and cookies,
/// and for a POST the payload.
fn build(ctx: &Context, job: &HttpJob) -> Result<Vec<u8>, ConnectError> {
    let target = ctx.target.request_target(&job.query);
    let mut headers = HeaderMap::new();
    ctx.headers.add_to(&mut headers);
    if !headers.contains_key(HOST) {
        let host = HeaderValue::try_from(ctx.target.authority.as_str())
            .map_err(|error| ConnectError::InvalidUrl(format!("host: {error}")))?;
        headers.insert(HOST, host);
    }
    let body = job.body.as_deref().unwrap_or_default();
    if job.body.is_some() {
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain;charset=UTF-8"),
        );
        headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    let method = if job.body.is_some() { "POST" } else { "GET" };
    let mut out = Vec::with_capacity(256 + target.len() + body.len());
    out.extend_from_slice(format!("{method} {target} HTTP/1.1\r\n").as_bytes());
    for (name, value) in &headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Ok(out)
}

/// A response head: status, version (0 or 1) and headers.
struct ResponseHead {
    status: u16,
    version: u8,
    headers: HeaderMap,
}

fn parse_response(bytes: &[u8]) -> Result<Option<(usize, ResponseHead)>, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(bytes) {
        Ok(httparse::Status::Complete(length)) => {
            let status = response.code.ok_or(HeadError::Malformed)?;
            let version = response.version.ok_or(HeadError::Malformed)?;
            let headers = input::header_map(response.headers).ok_or(HeadError::Malformed)?;
            Ok(Some((
                length,
                ResponseHead {
                    status,
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

/// Reads a response (skipping `1xx` interim answers); returns the status, the body and
/// whether the connection may be reused.
fn read_response(
    ctx: &Context,
    reader: &mut Reader,
    deadline: Instant,
) -> Result<(u16, Bytes, bool), Failure> {
    let head = loop {
        let head = reader
            .read_head(deadline, MAX_HEAD, parse_response)
            .map_err(|error| match error {
                HeadError::Closed => {
                    Failure::NothingRead(ConnectError::Io(io::ErrorKind::UnexpectedEof.into()))
                }
                HeadError::Timeout => Failure::Other(ConnectError::Timeout),
                HeadError::Io(error) if reader.buffered().is_empty() => {
                    Failure::NothingRead(ConnectError::Io(error))
                }
                HeadError::Io(error) => Failure::Other(ConnectError::Io(error)),
                HeadError::TooLarge | HeadError::Malformed => {
                    Failure::Other(ConnectError::Protocol("invalid HTTP response".to_owned()))
                }
            })?;
        if !(100..200).contains(&head.status) {
            break head;
        }
    };
    ctx.headers.store_cookies(&head.headers);
    let bodiless = head.status == 204 || head.status == 304;
    let framing = if bodiless {
        Some(Framing::Empty)
    } else {
        input::framing(&head.headers, Framing::UntilClose)
    };
    let Some(mut framing) = framing else {
        return Err(Failure::Other(ConnectError::Protocol(
            "invalid response framing".to_owned(),
        )));
    };
    let closes = head.headers.get_all(CONNECTION).iter().any(|value| {
        value
            .to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")))
    });
    let keep_alive = head.version == 1 && !closes && framing != Framing::UntilClose;
    let mut body = BytesMut::new();
    let mut overhead = 0;
    loop {
        match reader.next_chunk(&mut framing, &mut overhead, Some(deadline)) {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_RESPONSE_BODY {
                    return Err(Failure::Other(ConnectError::Protocol(format!(
                        "polling response larger than {MAX_RESPONSE_BODY} bytes"
                    ))));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(error) if error.kind() == io::ErrorKind::TimedOut => {
                return Err(Failure::Other(ConnectError::Timeout))
            }
            Err(error) => return Err(Failure::Other(ConnectError::Io(error))),
        }
    }
    Ok((head.status, body.freeze(), keep_alive))
}
