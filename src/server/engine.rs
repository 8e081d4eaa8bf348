//! The shared state behind every [`Server`](super::Server) handle: the protocol core, the
//! table of pending requests and sockets, and the per-session data.
//!
//! Every interaction with the core goes through [`Shared::with_state`]: lock, feed one input,
//! drain every output, unlock, then act. Transmits are routed while the lock is held (into each
//! pending HTTP request's and each WebSocket's mailbox, see [`super::mailbox`]); events become
//! [`Action`]s that run after the lock is released, so application handlers never run under
//! it and may call back into the server. One timer task sleeps until the core's next
//! deadline; any input that moves the deadline earlier wakes it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use engineio_core::id_map::{shrink_when_sparse, IdMap};
use engineio_core::runtime::Runtime;
use engineio_core::{
    DisconnectReason, Event, Message, RequestId, Server as CoreServer, Sid, Transport, WsFailure,
};
use futures_channel::mpsc;
use futures_util::future::{select, Either};
use smallvec::SmallVec;

use super::drain_scope::DrainScope;
use super::handlers::{run_jobs, run_jobs_here, Handlers, Job, Runner};
use super::incoming::{IncomingSender, Socket};
use super::mailbox::{
    route_transmit, take_outcome, Outcome, OutcomeSlot, Pending, SocketMailbox, WsCommand,
};
use super::notify::Notify;
use super::options::ServerOptions;
use super::Server;
use engineio_core::http::{ConnectRequest, StoredRequest};

/// What the server keeps per session beside the core.
pub(crate) struct SessionEntry {
    /// The handshake request, packed (it lives as long as the session).
    pub(crate) info: StoredRequest,
    pub(crate) storage: http::Extensions,
    pub(crate) jobs: VecDeque<Job>,
    pub(crate) running: bool,
    /// The stream face's queue for this session, when sockets are accepted.
    pub(crate) inbox: Option<mpsc::Sender<Message>>,
    /// Where the stream face's socket reads why the session ended (only when sockets are
    /// accepted).
    pub(crate) reason: Option<Arc<Mutex<Option<DisconnectReason>>>>,
}

impl SessionEntry {
    pub(crate) fn set_reason(&self, reason: DisconnectReason) {
        if let Some(slot) = &self.reason {
            *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(reason);
        }
    }
}

/// Where a session's queued handler jobs start running.
#[derive(Debug, Clone, Copy)]
enum JobPlacement {
    /// On a task of their own (the caller may be application code holding its own locks).
    Spawned,
    /// On the calling task, which only does socket I/O, as long as handlers finish at once.
    Here,
}

/// Work that must happen after the lock is released.
pub(crate) enum Action {
    Authorize(RequestId, Arc<ConnectRequest>),
    Connect(Sid, Arc<ConnectRequest>),
    Accept(Socket),
    /// Start a session's job runner with its first job (handed over directly: the queue was
    /// empty and no runner was on it).
    RunJobs(Sid, QueuedJob),
    SpawnJob(Sid, Job),
}

/// The most queued jobs a session's runner takes at once (see [`Shared::take_jobs`]).
const MAX_TAKEN: usize = 64;

/// What one drain of the core leaves to do; usually nothing or one job runner, so kept
/// inline (no allocation per input).
pub(crate) type Actions = SmallVec<[Action; 1]>;

/// A job and, when the stream face is on, the session's inbox to feed first.
pub(crate) type QueuedJob = (Job, Option<mpsc::Sender<Message>>);

pub(crate) struct State {
    pub(crate) core: CoreServer,
    pending: IdMap<RequestId, Pending>,
    sockets: IdMap<RequestId, SocketMailbox>,
    pub(crate) sessions: IdMap<Sid, SessionEntry>,
    /// Sockets whose end the runtime reported during this input; their writers hear of it
    /// after the drain.
    ended_sockets: Vec<RequestId>,
    /// The deadline the timer task sleeps until.
    armed: Option<Instant>,
}

pub(crate) struct Shared {
    pub(crate) runtime: Arc<dyn Runtime>,
    pub(crate) options: ServerOptions,
    pub(crate) handlers: Handlers,
    pub(crate) incoming: Option<IncomingSender>,
    state: Mutex<State>,
    next_id: AtomicU64,
    timer: Arc<Notify>,
    /// Notified whenever the session count drops to zero (graceful shutdown waits on it).
    pub(crate) idle: Notify,
    /// Set once a graceful shutdown has finished: no more connections are accepted (during
    /// the grace they still are, so that polling clients can fetch their close packet).
    pub(crate) stopped: AtomicBool,
    pub(crate) stop_accepting: Notify,
    max_payload: usize,
}

impl Shared {
    pub(crate) fn new(
        runtime: Arc<dyn Runtime>,
        core: CoreServer,
        options: ServerOptions,
        handlers: Handlers,
        incoming: Option<IncomingSender>,
    ) -> Arc<Self> {
        let max_payload = core.config().max_payload;
        let shared = Arc::new(Self {
            max_payload,
            runtime,
            options,
            handlers,
            incoming,
            state: Mutex::new(State {
                core,
                pending: IdMap::default(),
                sockets: IdMap::default(),
                sessions: IdMap::default(),
                ended_sockets: Vec::new(),
                armed: None,
            }),
            next_id: AtomicU64::new(1),
            timer: Arc::new(Notify::default()),
            idle: Notify::default(),
            stopped: AtomicBool::new(false),
            stop_accepting: Notify::default(),
        });
        let timer = timer_task(Arc::downgrade(&shared), Arc::clone(&shared.timer));
        shared.runtime.spawn(Box::pin(timer));
        shared
    }

    /// The largest body, frame or message a client may send.
    pub(crate) fn core_max_payload(&self) -> usize {
        self.max_payload
    }

    pub(crate) fn next_request_id(&self) -> RequestId {
        RequestId(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Locks the state, runs `act` at the current time, drains the core, unlocks, and performs
    /// the resulting actions.
    pub(crate) fn with_state<R>(self: &Arc<Self>, act: impl FnOnce(&mut State, Instant) -> R) -> R {
        self.with_state_on(JobPlacement::Spawned, act)
    }

    fn with_state_on<R>(
        self: &Arc<Self>,
        placement: JobPlacement,
        act: impl FnOnce(&mut State, Instant) -> R,
    ) -> R {
        self.with_state_then(placement, act, |_, result| result)
    }

    /// [`with_state_on`](Self::with_state_on), then `then` on what the drain left, still
    /// under the same lock (what the core handed a socket's mailbox, say).
    fn with_state_then<R, T>(
        self: &Arc<Self>,
        placement: JobPlacement,
        act: impl FnOnce(&mut State, Instant) -> R,
        then: impl FnOnce(&mut State, R) -> T,
    ) -> T {
        let now = self.runtime.now();
        if DrainScope::defers(self) {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let result = act(&mut state, now);
            return then(&mut state, result);
        }
        // Filled in place and drained in place: an action is large enough that moving the
        // list around shows in a profile.
        let mut actions = Actions::new();
        let result = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let result = act(&mut state, now);
            self.drain(&mut state, &mut actions);
            then(&mut state, result)
        };
        self.perform(&mut actions, placement);
        result
    }

    /// [`with_state`](Self::with_state) for an action on the core alone.
    pub(crate) fn with_core<R>(
        self: &Arc<Self>,
        act: impl FnOnce(&mut CoreServer, Instant) -> R,
    ) -> R {
        self.with_state(|state, now| act(&mut state.core, now))
    }

    /// [`with_core`](Self::with_core) for input read from a socket, by the task that read it.
    ///
    /// No application code is on that task's stack, so message and disconnect handlers that
    /// finish at their first poll run right here, in order, instead of on a task spawned per
    /// message: an echo costs no task switch. The first handler that waits moves, with the
    /// rest of its session's queue, to a task of its own.
    pub(crate) fn with_core_on_io_task<R>(
        self: &Arc<Self>,
        act: impl FnOnce(&mut CoreServer, Instant) -> R,
    ) -> R {
        self.with_state_on(JobPlacement::Here, |state, now| act(&mut state.core, now))
    }

    /// [`with_core_on_io_task`](Self::with_core_on_io_task) for frames read from WebSocket
    /// `id`, by the socket's own task.
    ///
    /// That task polls the socket's writer right after its reader (see `SocketIo`), so what
    /// the input hands the writer (an echo its handler sent at once) needs no wake-up: the
    /// writer's waker is set aside before the input and the writer leaves it again when it
    /// next finds its mailbox empty. A wake-up here would make the executor poll the task
    /// once more, for nothing, after the poll that writes the echo.
    pub(crate) fn with_socket_input<R>(
        self: &Arc<Self>,
        id: RequestId,
        act: impl FnOnce(&mut CoreServer, Instant) -> R,
    ) -> R {
        self.with_state_on(JobPlacement::Here, |state, now| {
            if let Some(mailbox) = state.sockets.get_mut(&id) {
                mailbox.forget_waker();
            }
            act(&mut state.core, now)
        })
    }

    /// Registers a new request and hands it to the core; returns what the core decided at
    /// once, if anything (then [`poll_outcome`](Self::poll_outcome) has nothing to wait for).
    ///
    /// `pack` keeps the request's details for the application, and runs only for a request
    /// the core takes as a handshake, under the lock, before anything asks for them.
    pub(crate) fn start_request(
        self: &Arc<Self>,
        id: RequestId,
        head: engineio_core::Request<'_>,
        pack: impl FnOnce(Transport) -> StoredRequest,
    ) -> Option<Outcome> {
        let pending = Pending {
            outcome: OutcomeSlot::default(),
            info: None,
        };
        // What the core decided at once is routed by the drain: taken under the same lock.
        self.with_state_then(
            JobPlacement::Spawned,
            |state, now| {
                let pending = state.pending.entry(id).insert_entry(pending).into_mut();
                if let Some(transport) = state.core.handle_request(now, id, head) {
                    pending.info = Some(pack(transport));
                }
            },
            |state, ()| take_outcome(&mut state.pending, id, None),
        )
    }

    /// Hands the core a request body's `last` chunk, if any, and its end, in one crossing
    /// (the common body is one chunk); returns the core's answer if it gave one at once.
    ///
    /// Message handlers the body set off run on this task, as with
    /// [`with_core_on_io_task`](Self::with_core_on_io_task).
    pub(crate) fn end_body(
        self: &Arc<Self>,
        id: RequestId,
        last: Option<bytes::Bytes>,
    ) -> Option<Outcome> {
        self.with_state_then(
            JobPlacement::Here,
            |state, now| {
                if let Some(chunk) = last {
                    state.core.handle_body(now, id, chunk);
                }
                state.core.handle_body_end(now, id);
            },
            |state, ()| take_outcome(&mut state.pending, id, None),
        )
    }

    /// The core's next decision about request `id`, once there is one.
    pub(crate) fn poll_outcome(&self, id: RequestId, cx: &mut Context<'_>) -> Poll<Outcome> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match take_outcome(&mut state.pending, id, Some(cx.waker())) {
            Some(outcome) => Poll::Ready(outcome),
            None => Poll::Pending,
        }
    }

    /// The peer abandoned a request before its future took the core's answer.
    pub(crate) fn abandon_request(self: &Arc<Self>, id: RequestId) {
        self.with_state(|state, now| {
            let Some(pending) = state.pending.remove(&id) else {
                return;
            };
            if pending.outcome.holds_accept() {
                // An accepted socket that will never run: closed as soon as it opened, and
                // nothing is routed to it any more.
                state.core.handle_ws_closed(now, id);
                state.sockets.remove(&id);
            } else if !pending.outcome.holds_final() {
                state.core.handle_request_closed(now, id);
            }
            // A response the core gave goes unwritten, as when hyper drops one it was writing.
        });
    }

    /// The writer of WebSocket `id`: its next command, `None` once the socket has ended.
    pub(crate) fn poll_ws_command(
        &self,
        id: RequestId,
        cx: &mut Context<'_>,
    ) -> Poll<Option<WsCommand>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match state.sockets.get_mut(&id) {
            Some(mailbox) => mailbox.poll_take(Some(cx.waker())),
            None => Poll::Ready(None),
        }
    }

    /// Reports WebSocket `id`'s batch written, then polls for the writer's next command as
    /// [`poll_ws_command`](Self::poll_ws_command) does, under the same lock: what queued while
    /// the batch was being written comes back at once, and `Pending` leaves `waker` to be
    /// woken.
    pub(crate) fn ws_written(
        self: &Arc<Self>,
        id: RequestId,
        waker: &Waker,
    ) -> Poll<Option<WsCommand>> {
        self.with_state_then(
            JobPlacement::Spawned,
            |state, now| state.core.handle_ws_written(now, id),
            |state, ()| match state.sockets.get_mut(&id) {
                Some(mailbox) => mailbox.poll_take(Some(waker)),
                None => Poll::Ready(None),
            },
        )
    }

    /// Forgets WebSocket `id`'s mailbox: its task has ended.
    pub(crate) fn forget_socket(&self, id: RequestId) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.sockets.remove(&id);
        shrink_when_sparse(&mut state.sockets);
    }

    /// Routes every output of the core; adds to `actions` what must happen once the lock is
    /// released.
    fn drain(&self, state: &mut State, actions: &mut Actions) {
        loop {
            // Routing an event may feed the core (a session whose handlers fell behind is
            // closed), which leaves more outputs; routing a transmit never does.
            let mut fed = false;
            while let Some(event) = state.core.poll_event() {
                fed = true;
                self.route_event(state, event, actions);
            }
            while let Some(transmit) = state.core.poll_transmit() {
                route_transmit(&mut state.pending, &mut state.sockets, transmit);
            }
            if !fed {
                break;
            }
        }
        // After the routing, so that the close the core answers a failure with (1002, 1007,
        // 1009) reaches the writer before the end does.
        for socket in state.ended_sockets.drain(..) {
            if let Some(mailbox) = state.sockets.get_mut(&socket) {
                mailbox.end();
            }
        }
        shrink_when_sparse(&mut state.sockets);
        shrink_when_sparse(&mut state.pending);
        let deadline = state.core.poll_timeout();
        if deadline.is_some_and(|d| state.armed.is_none_or(|armed| d < armed)) {
            state.armed = deadline;
            self.timer.notify();
        }
        if state.core.session_count() == 0 {
            self.idle.notify();
        }
    }

    fn route_event(&self, state: &mut State, event: Event, actions: &mut Actions) {
        match event {
            Event::Authorize { request, .. } => {
                let info = state.pending.get(&request).and_then(|p| p.info.as_ref());
                match info {
                    Some(info) => {
                        actions.push(Action::Authorize(request, Arc::new(info.to_request())));
                    }
                    None => tracing::warn!(%request, "authorization asked for an unknown request"),
                }
            }
            Event::Connecting { sid, request, .. } => {
                if let Some(info) = self.open_session(state, sid, request) {
                    actions.push(Action::Connect(sid, Arc::new(info.to_request())));
                }
            }
            Event::Connected { sid, request, .. } => {
                if !state.sessions.contains_key(&sid) {
                    self.open_session(state, sid, request);
                }
                if let (Some(incoming), Some(entry)) =
                    (&self.incoming, state.sessions.get_mut(&sid))
                {
                    let (inbox, messages) = mpsc::channel(incoming.capacity);
                    entry.inbox = Some(inbox);
                    let reason = Arc::new(Mutex::new(None));
                    entry.reason = Some(Arc::clone(&reason));
                    actions.push(Action::Accept(Socket::new(sid, messages, reason)));
                }
            }
            Event::Message { sid, message } => {
                self.queue_job(state, sid, Job::Message(message), actions)
            }
            Event::Upgraded { sid } => tracing::debug!(%sid, "upgraded"),
            Event::Disconnected { sid, reason } => {
                self.queue_job(state, sid, Job::Disconnect(reason), actions);
            }
            other => tracing::debug!(?other, "unhandled event"),
        }
    }

    fn open_session<'s>(
        &self,
        state: &'s mut State,
        sid: Sid,
        request: RequestId,
    ) -> Option<&'s StoredRequest> {
        // The session takes the request over: nothing asks the pending entry for it again.
        let info = state
            .pending
            .get_mut(&request)
            .and_then(|p| p.info.take())?;
        let entry = state.sessions.entry(sid).insert_entry(SessionEntry {
            info,
            storage: http::Extensions::new(),
            jobs: VecDeque::new(),
            running: false,
            inbox: None,
            reason: None,
        });
        Some(&entry.into_mut().info)
    }

    fn queue_job(&self, state: &mut State, sid: Sid, job: Job, actions: &mut Actions) {
        let Some(entry) = state.sessions.get_mut(&sid) else {
            return;
        };
        let is_message = matches!(job, Job::Message(_));
        if self.options.async_handlers && is_message && entry.inbox.is_none() {
            actions.push(Action::SpawnJob(sid, job));
            return;
        }
        if is_message && entry.jobs.len() >= self.options.max_pending_messages {
            tracing::warn!(%sid, "message handlers fell too far behind; closing the session");
            let _ = state.core.close(self.runtime.now(), &sid);
            return;
        }
        if entry.running {
            if entry.jobs.capacity() == 0 {
                // A burst is coming (see `ws_io::SocketIo::poll_read`): room for it at once.
                entry.jobs.reserve(16);
            }
            entry.jobs.push_back(job);
        } else {
            // No runner means an empty queue: the new runner gets the job directly.
            debug_assert!(entry.jobs.is_empty());
            entry.running = true;
            actions.push(Action::RunJobs(sid, (job, entry.inbox.clone())));
        }
    }

    fn perform(self: &Arc<Self>, actions: &mut Actions, placement: JobPlacement) {
        for action in actions.drain(..) {
            let server = Server {
                shared: Arc::clone(self),
            };
            match action {
                Action::Authorize(request, info) => {
                    self.runtime
                        .spawn(Box::pin(super::handlers::authorize(server, request, info)));
                }
                Action::Connect(sid, info) => {
                    self.runtime
                        .spawn(Box::pin(super::handlers::connect(server, sid, info)));
                }
                Action::Accept(socket) => {
                    if let Some(incoming) = &self.incoming {
                        incoming.push(socket.bind(server));
                    }
                }
                Action::RunJobs(sid, first) => {
                    let runner = Runner::new(sid, first);
                    match placement {
                        JobPlacement::Here => run_jobs_here(server, runner),
                        JobPlacement::Spawned => {
                            self.runtime.spawn(Box::pin(run_jobs(server, runner)))
                        }
                    }
                }
                Action::SpawnJob(sid, job) => {
                    self.runtime
                        .spawn(Box::pin(super::handlers::run_job(server, sid, job)));
                }
            }
        }
    }

    /// Moves up to [`MAX_TAKEN`] jobs queued for a session into `jobs` (empty on entry) and
    /// refreshes `inbox`; returns false, and marks the session's runner stopped, when there is
    /// none.
    ///
    /// One lock for the jobs that queued up while the runner was busy (a burst read in one go
    /// queues one per message), instead of one per job. The cap keeps `max_pending_messages`
    /// meaningful: jobs a runner holds are no longer counted in the queue, so a runner stuck
    /// in a handler holds at most this many beyond the bound.
    pub(crate) fn take_jobs(
        &self,
        sid: &Sid,
        jobs: &mut VecDeque<Job>,
        inbox: &mut Option<mpsc::Sender<Message>>,
    ) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        take_jobs_locked(&mut state, sid, jobs, inbox)
    }

    /// [`take_jobs`](Self::take_jobs) for the runner on a socket's task: when there is no job
    /// left, `scope` ends too (it is taken), and what its handlers left in the core is drained
    /// under the same lock: one lock where taking the jobs and then dropping the scope took
    /// two.
    pub(crate) fn take_jobs_or_end(
        self: &Arc<Self>,
        sid: &Sid,
        jobs: &mut VecDeque<Job>,
        inbox: &mut Option<mpsc::Sender<Message>>,
        scope: &mut Option<DrainScope>,
    ) -> bool {
        let mut actions = Actions::new();
        {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if take_jobs_locked(&mut state, sid, jobs, inbox) {
                return true;
            }
            if scope.take().is_some_and(DrainScope::end) {
                self.drain(&mut state, &mut actions);
            }
        }
        self.perform(&mut actions, JobPlacement::Spawned);
        false
    }

    /// Forgets a session once its disconnect handler has run (or its connection was
    /// refused); returns its entry, dropped outside the lock.
    pub(crate) fn remove_session(&self, sid: &Sid) -> Option<SessionEntry> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = state.sessions.remove(sid);
        shrink_when_sparse(&mut state.sessions);
        entry
    }

    /// Runs `act` on the session's entry, if it exists.
    pub(crate) fn with_entry<R>(
        &self,
        sid: &Sid,
        act: impl FnOnce(&mut SessionEntry) -> R,
    ) -> Option<R> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.sessions.get_mut(sid).map(act)
    }

    /// The core's next deadline, remembered as the one the timer sleeps until.
    fn arm(&self) -> Option<Instant> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.armed = state.core.poll_timeout();
        state.armed
    }
}

/// [`Shared::take_jobs`] under a lock the caller holds.
fn take_jobs_locked(
    state: &mut State,
    sid: &Sid,
    jobs: &mut VecDeque<Job>,
    inbox: &mut Option<mpsc::Sender<Message>>,
) -> bool {
    let Some(entry) = state.sessions.get_mut(sid) else {
        return false;
    };
    if entry.jobs.is_empty() {
        entry.running = false;
        // An idle session keeps no queue memory from its last burst.
        entry.jobs = VecDeque::new();
        return false;
    }
    let taken = entry.jobs.len().min(MAX_TAKEN);
    jobs.extend(entry.jobs.drain(..taken));
    inbox.clone_from(&entry.inbox);
    true
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Let the timer task see that the server is gone.
        self.timer.notify();
    }
}

/// Sleeps until the core's next deadline (or a wake-up), then runs its timeouts. Ends when the
/// server is dropped.
async fn timer_task(shared: Weak<Shared>, wake: Arc<Notify>) {
    loop {
        let (runtime, deadline) = {
            let Some(shared) = shared.upgrade() else {
                return;
            };
            (Arc::clone(&shared.runtime), shared.arm())
        };
        match deadline {
            Some(deadline) => {
                let sleep = engineio_core::runtime::sleep_until(&*runtime, deadline);
                let woken = std::pin::pin!(wake.notified());
                if let Either::Left(_) = select(sleep, woken).await {
                    let Some(shared) = shared.upgrade() else {
                        return;
                    };
                    shared.with_core(|core, now| core.handle_timeout(now));
                }
            }
            None => wake.notified().await,
        }
    }
}

/// Why a WebSocket ended, as the core wants to hear it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SocketEnd {
    /// A close frame, or the connection ended.
    Closed,
    /// The WebSocket library refused what the client sent.
    Failed(WsFailure),
}

impl Shared {
    /// Reports the end of a WebSocket to the core.
    pub(crate) fn socket_ended(self: &Arc<Self>, socket: RequestId, end: SocketEnd) {
        self.with_state(|state, now| {
            match end {
                SocketEnd::Closed => state.core.handle_ws_closed(now, socket),
                SocketEnd::Failed(failure) => state.core.handle_ws_error(now, socket, failure),
            }
            state.ended_sockets.push(socket);
        });
    }

    /// The number of live sessions in the core.
    pub(crate) fn session_count(&self) -> usize {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.core.session_count()
    }

    /// Forces every remaining session closed now (the end of a graceful shutdown).
    pub(crate) fn abort_all(self: &Arc<Self>, reason: DisconnectReason) {
        self.with_core(|core, now| {
            let sids: Vec<Sid> = core.sids().collect();
            for sid in sids {
                let _ = core.abort(now, &sid, reason);
            }
        });
    }
}
