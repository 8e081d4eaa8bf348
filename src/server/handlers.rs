//! Application handlers and how events reach them.
//!
//! Handlers are async closures. The connect and authorization handlers run once per handshake
//! while the core holds the request. Message and disconnect handlers run as *jobs*: by default
//! each session has a queue that one task works through in order, so a session's messages are
//! handled in arrival order and its disconnect handler runs after its last message, while
//! sessions run concurrently. With `async_handlers(true)` every message handler is spawned on
//! its own (python-engineio's default), which gives up that order. No lock is held while a
//! handler runs, so handlers may call back into the [`Server`].

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Context;

use engineio_core::{Authorization, DisconnectReason, Message, RequestId, Sid};

use super::drain_scope::DrainScope;
use super::engine::QueuedJob;
use super::Server;
use engineio_core::http::{ConnectRequest, Forbidden, Rejection};

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
pub(crate) type AuthorizeFn =
    Arc<dyn Fn(Arc<ConnectRequest>) -> BoxFuture<Result<(), Forbidden>> + Send + Sync>;
pub(crate) type ConnectFn =
    Arc<dyn Fn(Server, Sid, Arc<ConnectRequest>) -> BoxFuture<Result<(), Rejection>> + Send + Sync>;
pub(crate) type MessageFn = Arc<dyn Fn(Server, Sid, Message) -> BoxFuture<()> + Send + Sync>;
pub(crate) type SyncMessageFn = Arc<dyn Fn(Server, Sid, Message) + Send + Sync>;
pub(crate) type DisconnectFn =
    Arc<dyn Fn(Server, Sid, DisconnectReason) -> BoxFuture<()> + Send + Sync>;

#[derive(Clone, Default)]
pub(crate) struct Handlers {
    pub(crate) authorize: Option<AuthorizeFn>,
    pub(crate) connect: Option<ConnectFn>,
    pub(crate) message: Option<MessageHandler>,
    pub(crate) disconnect: Option<DisconnectFn>,
}

impl std::fmt::Debug for Handlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handlers")
            .field("authorize", &self.authorize.is_some())
            .field("connect", &self.connect.is_some())
            .field("message", &self.message.is_some())
            .field("disconnect", &self.disconnect.is_some())
            .finish()
    }
}

/// The message handler, in one of its two forms.
#[derive(Clone)]
pub(crate) enum MessageHandler {
    /// `on_message`: returns a future, boxed per message.
    Async(MessageFn),
    /// `on_message_sync`: runs to completion when called; no future, no allocation.
    Sync(SyncMessageFn),
}

/// One thing a session's handlers must do.
#[derive(Debug)]
pub(crate) enum Job {
    Message(Message),
    Disconnect(DisconnectReason),
}

/// Runs the authorization hook for a pending handshake and reports its decision.
pub(crate) async fn authorize(server: Server, request: RequestId, info: Arc<ConnectRequest>) {
    let decision = match &server.shared.handlers.authorize {
        Some(hook) => match hook(info).await {
            Ok(()) => Authorization::Accept,
            Err(forbidden) => forbidden.into(),
        },
        None => Authorization::Accept,
    };
    server
        .shared
        .with_core(|core, now| core.authorize(now, request, decision).ok());
}

/// Runs the connect handler for a new session and accepts or rejects it.
pub(crate) async fn connect(server: Server, sid: Sid, info: Arc<ConnectRequest>) {
    let verdict = match &server.shared.handlers.connect {
        Some(handler) => handler(server.clone(), sid, info).await,
        None => Ok(()),
    };
    let rejected = verdict.is_err();
    server.shared.with_core(|core, now| match verdict {
        Ok(()) => core.accept_connect(now, &sid).ok(),
        Err(rejection) => core
            .reject_connect(now, &sid, Some(rejection.into_body()))
            .ok(),
    });
    if rejected {
        server.shared.remove_session(&sid);
    }
}

/// A session's job runner: the jobs it has taken off the session's queue, in order. At most
/// one runner exists per session, so its jobs run in arrival order.
pub(crate) struct Runner {
    sid: Sid,
    /// The job the runner was started with (handed over without queueing).
    first: Option<Job>,
    /// Jobs taken off the queue in one go, still to run.
    taken: VecDeque<Job>,
    /// The stream face's inbox, when sockets are accepted.
    inbox: Option<futures_channel::mpsc::Sender<Message>>,
}

impl Runner {
    /// A runner for `sid`, starting with `first`.
    pub(crate) fn new(sid: Sid, (first, inbox): QueuedJob) -> Self {
        Self {
            sid,
            first: Some(first),
            taken: VecDeque::new(),
            inbox,
        }
    }

    /// The next job: those already taken first, then everything queued meanwhile; `None`
    /// (and the session's runner marked stopped) once the queue is empty.
    fn next(&mut self, server: &Server) -> Option<Job> {
        self.next_with(|sid, taken, inbox| server.shared.take_jobs(sid, taken, inbox))
    }

    /// [`next`](Self::next), with `take` fetching what queued meanwhile (see
    /// [`Shared::take_jobs`](super::engine::Shared::take_jobs)).
    fn next_with(
        &mut self,
        take: impl FnOnce(
            &Sid,
            &mut VecDeque<Job>,
            &mut Option<futures_channel::mpsc::Sender<Message>>,
        ) -> bool,
    ) -> Option<Job> {
        if let Some(job) = self.first.take().or_else(|| self.taken.pop_front()) {
            return Some(job);
        }
        if take(&self.sid, &mut self.taken, &mut self.inbox) {
            self.taken.pop_front()
        } else {
            None
        }
    }
}

/// Works through a session's jobs in order until its queue is empty.
pub(crate) async fn run_jobs(server: Server, mut runner: Runner) {
    while let Some(job) = runner.next(&server) {
        let last = matches!(job, Job::Disconnect(_));
        run_queued_job(server.clone(), runner.sid, job, runner.inbox.clone()).await;
        if last {
            return;
        }
    }
}

/// Works through a session's jobs on the calling task while each job finishes at its first
/// poll; the first job that waits is moved, with the rest of the jobs, to a spawned task
/// (which polls it again with its own waker, as the `Future` contract allows).
pub(crate) fn run_jobs_here(server: Server, mut runner: Runner) {
    let sid = runner.sid;
    // What the handlers send is drained once: with the last look at the queue, or when the
    // scope drops if this returns earlier.
    let mut scope = Some(DrainScope::enter(&server.shared));
    while let Some(job) = runner.next_with(|sid, taken, inbox| {
        server
            .shared
            .take_jobs_or_end(sid, taken, inbox, &mut scope)
    }) {
        let last = matches!(job, Job::Disconnect(_));
        let mut job: BoxFuture<()> = match (job, &runner.inbox) {
            // The common case: the message handler's own (already boxed) future.
            (Job::Message(message), None) => match &server.shared.handlers.message {
                Some(MessageHandler::Async(handler)) => handler(server.clone(), sid, message),
                Some(MessageHandler::Sync(handler)) => {
                    handler(server.clone(), sid, message);
                    continue;
                }
                None => continue,
            },
            // A session's end with no handler to run: only the bookkeeping, no future.
            (Job::Disconnect(reason), _) if server.shared.handlers.disconnect.is_none() => {
                forget_session(&server, sid, reason);
                return;
            }
            (job, inbox) => Box::pin(run_queued_job(server.clone(), sid, job, inbox.clone())),
        };
        let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
        if job.as_mut().poll(&mut cx).is_pending() {
            let runtime = Arc::clone(&server.shared.runtime);
            runtime.spawn(Box::pin(async move {
                job.await;
                if !last {
                    run_jobs(server, runner).await;
                }
            }));
            return;
        }
        if last {
            return;
        }
    }
}

/// Runs one job taken from a session's queue, first handing a message to the stream face's
/// inbox when there is one.
async fn run_queued_job(
    server: Server,
    sid: Sid,
    job: Job,
    inbox: Option<futures_channel::mpsc::Sender<Message>>,
) {
    if let (Job::Message(message), Some(mut inbox)) = (&job, inbox) {
        // The stream face: wait for room rather than drop (backpressure on this session).
        let _ = futures_util::SinkExt::send(&mut inbox, message.clone()).await;
    }
    run_job(server, sid, job).await;
}

/// Runs one job's handler.
pub(crate) async fn run_job(server: Server, sid: Sid, job: Job) {
    match job {
        Job::Message(message) => match server.shared.handlers.message.clone() {
            Some(MessageHandler::Async(handler)) => handler(server, sid, message).await,
            Some(MessageHandler::Sync(handler)) => handler(server, sid, message),
            None => {}
        },
        Job::Disconnect(reason) => {
            if let Some(handler) = server.shared.handlers.disconnect.clone() {
                handler(server.clone(), sid, reason).await;
            }
            forget_session(&server, sid, reason);
        }
    }
}

/// The last step of a session, after its disconnect handler: the stream face learns why it
/// ended, and the server forgets it.
fn forget_session(server: &Server, sid: Sid, reason: DisconnectReason) {
    if let Some(entry) = server.shared.remove_session(&sid) {
        entry.set_reason(reason);
    }
}
