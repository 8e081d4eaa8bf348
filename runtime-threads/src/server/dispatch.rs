//! The dispatcher: a small elastic pool of threads that runs the application's handlers.
//!
//! The engine thread never runs user code. It turns events into [`Task`]s: a session's
//! [`Job`]s go onto that session's queue (kept with the session, see
//! [`SessionEntry`](super::shared::SessionEntry)), and the session is scheduled once; a
//! worker then runs the session's jobs in order until its queue is empty. A session's messages
//! are therefore handled one at a time, in arrival order, its connect handler first and its
//! disconnect handler last, while different sessions run on different workers. With
//! `async_handlers(true)` each message is a task of its own (no order, as python-engineio).
//!
//! Workers are started on demand up to `handler_threads` and exit after a while idle. No lock
//! is held while a handler runs; a panicking handler is logged and the worker goes on.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::time::Duration;

use engineio_core::{Authorization, RequestId, Sid};

use super::handlers::Job;
use super::shared::Shared;
use super::Server;
use engineio_core::http::ConnectRequest;

/// How long an idle worker waits for work before it exits.
const IDLE_EXIT: Duration = Duration::from_secs(10);

/// Work for a dispatcher thread.
#[derive(Debug)]
pub(crate) enum Task {
    /// Run the authorization hook of a pending handshake.
    Authorize(RequestId, Arc<ConnectRequest>),
    /// Run a session's queued jobs in order.
    Session(Sid),
    /// Run one job outside the session's order (`async_handlers`).
    Detached(Sid, Job),
}

#[derive(Debug, Default)]
struct Pool {
    queue: VecDeque<Task>,
    idle: usize,
    threads: usize,
}

/// The handler threads of one server.
#[derive(Debug)]
pub(crate) struct Dispatcher {
    pool: Mutex<Pool>,
    wake: Condvar,
    max_threads: usize,
    server: Weak<Shared>,
}

impl Dispatcher {
    pub(crate) fn new(server: Weak<Shared>, max_threads: usize) -> Self {
        Self {
            pool: Mutex::default(),
            wake: Condvar::new(),
            max_threads: max_threads.max(1),
            server,
        }
    }

    /// Queues a task, starting a worker if none is free and the limit allows.
    pub(crate) fn spawn(self: &Arc<Self>, task: Task) {
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        pool.queue.push_back(task);
        if pool.queue.len() > pool.idle && pool.threads < self.max_threads {
            let worker = Arc::clone(self);
            let started = std::thread::Builder::new()
                .name("engineio-handler".into())
                .spawn(move || worker.work());
            match started {
                Ok(_) => pool.threads += 1,
                Err(error) => tracing::error!(%error, "cannot start a handler thread"),
            }
        }
        drop(pool);
        self.wake.notify_one();
    }

    fn work(&self) {
        loop {
            let task = {
                let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
                loop {
                    if let Some(task) = pool.queue.pop_front() {
                        break task;
                    }
                    pool.idle += 1;
                    let (guard, wait) = self
                        .wake
                        .wait_timeout(pool, IDLE_EXIT)
                        .unwrap_or_else(PoisonError::into_inner);
                    pool = guard;
                    pool.idle -= 1;
                    if wait.timed_out() && pool.queue.is_empty() {
                        pool.threads -= 1;
                        return;
                    }
                }
            };
            let Some(shared) = self.server.upgrade() else {
                continue;
            };
            let server = Server { shared };
            if catch_unwind(AssertUnwindSafe(|| run(server, task))).is_err() {
                tracing::error!("an engine.io handler panicked");
            }
        }
    }
}

fn run(server: Server, task: Task) {
    match task {
        Task::Authorize(request, info) => authorize(&server, request, info),
        Task::Session(sid) => run_session(&server, sid),
        Task::Detached(sid, job) => run_job(&server, sid, job),
    }
}

/// Runs the authorization hook and reports its decision to the core.
fn authorize(server: &Server, request: RequestId, info: Arc<ConnectRequest>) {
    let decision = match &server.shared.handlers.authorize {
        Some(hook) => match hook(info) {
            Ok(()) => Authorization::Accept,
            Err(forbidden) => forbidden.into(),
        },
        None => Authorization::Accept,
    };
    server
        .shared
        .call(move |core, now| core.authorize(now, request, decision).is_ok());
}

/// Works through a session's queue until it is empty (or the session is gone).
fn run_session(server: &Server, sid: Sid) {
    // A job's panic must not leave the session marked running, or it would never run again.
    while let Some(job) = server.shared.next_job(&sid) {
        let last = matches!(job, Job::Disconnect(_));
        let outcome = catch_unwind(AssertUnwindSafe(|| run_job(server, sid, job)));
        if outcome.is_err() {
            tracing::error!(%sid, "an engine.io handler panicked");
        }
        if last {
            return;
        }
    }
}

/// Runs one job's handler.
fn run_job(server: &Server, sid: Sid, job: Job) {
    let shared = &server.shared;
    match job {
        Job::Connect(info) => {
            let verdict = match &shared.handlers.connect {
                Some(handler) => handler(server.clone(), sid, info),
                None => Ok(()),
            };
            let accepted = verdict.is_ok();
            let known = shared
                .call(move |core, now| match verdict {
                    Ok(()) => core.accept_connect(now, &sid).is_ok(),
                    Err(rejection) => {
                        let _ = core.reject_connect(now, &sid, Some(rejection.into_body()));
                        false
                    }
                })
                .unwrap_or(false);
            if !accepted || !known {
                shared.remove_session(&sid);
            }
        }
        Job::Message(message) => {
            if let Some(inbox) = shared.inbox(&sid) {
                // The stream face: wait for room rather than drop (backpressure on this session).
                let _ = inbox.send(message.clone());
            }
            if let Some(handler) = &shared.handlers.message {
                handler(server.clone(), sid, message);
            }
        }
        Job::Disconnect(reason) => {
            if let Some(handler) = &shared.handlers.disconnect {
                handler(server.clone(), sid, reason);
            }
            shared.end_session(&sid, reason);
        }
    }
}
