//! What every [`Server`](super::Server) handle, connection thread and handler thread shares:
//! the channel to the engine thread, the per-session data kept beside the core, the table of
//! open connections, and the dispatcher.
//!
//! The core itself is not here: only the engine thread holds it. Everything else reaches it
//! with a [`Command`]: inputs are sent and forgotten, API calls ([`Shared::call`]) wait for the
//! engine's answer. The locks here guard small tables and are never held while user code runs
//! or while waiting for the engine.

use std::collections::{HashMap, VecDeque};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use engineio_core::{DisconnectReason, Message, RequestId, Server as CoreServer, Sid};

use super::dispatch::{Dispatcher, Task};
use super::engine::Command;
use super::handlers::{Handlers, Job};
use super::incoming::IncomingSender;
use super::options::ServerOptions;
use engineio_core::http::StoredRequest;
use engineio_core::id_map::shrink_when_sparse;

/// What the server keeps per session beside the core.
pub(crate) struct SessionEntry {
    /// The handshake request, packed (it lives as long as the session).
    pub(crate) info: StoredRequest,
    pub(crate) storage: http::Extensions,
    pub(crate) jobs: VecDeque<Job>,
    /// A dispatcher thread is working through `jobs`.
    pub(crate) running: bool,
    /// The stream face's queue, when sockets are accepted.
    pub(crate) inbox: Option<SyncSender<Message>>,
    /// Where the stream face's socket reads why the session ended.
    pub(crate) reason: Arc<Mutex<Option<DisconnectReason>>>,
}

/// Open connections: their count (for the cap) and, for idle keep-alive ones, a handle to
/// close them at shutdown.
#[derive(Debug, Default)]
struct Connections {
    next: u64,
    open: HashMap<u64, (TcpStream, bool)>,
}

pub(crate) struct Shared {
    pub(crate) options: ServerOptions,
    pub(crate) handlers: Handlers,
    pub(crate) incoming: Option<IncomingSender>,
    commands: Sender<Command>,
    next_id: AtomicU64,
    sessions: Mutex<HashMap<Sid, SessionEntry>>,
    pub(crate) dispatcher: Arc<Dispatcher>,
    /// Set once a graceful shutdown has finished: no more connections are accepted (during
    /// the grace they still are, so that polling clients can fetch their close packet).
    pub(crate) stopped: AtomicBool,
    /// The core's session count, updated by the engine after every drain.
    live: Mutex<usize>,
    live_changed: Condvar,
    connections: Mutex<Connections>,
    pub(crate) listeners: Mutex<Vec<SocketAddr>>,
    pub(crate) max_payload: usize,
    /// The longest silence a WebSocket may keep before its reader gives up (a safety net: the
    /// heartbeat ends dead sessions long before).
    pub(crate) socket_idle: Duration,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// Builds the shared state and starts the engine thread that owns `core`.
    pub(crate) fn start(
        core: CoreServer,
        options: ServerOptions,
        handlers: Handlers,
        incoming: Option<IncomingSender>,
    ) -> Arc<Self> {
        let (commands, receiver) = mpsc::channel();
        let config = core.config();
        let max_payload = config.max_payload;
        let heartbeat = config.ping_interval + config.ping_interval_grace + config.ping_timeout;
        let socket_idle = (heartbeat * 2 + config.upgrade_timeout).max(Duration::from_secs(1));
        let shared = Arc::new_cyclic(|weak| Self {
            dispatcher: Arc::new(Dispatcher::new(weak.clone(), options.handler_threads)),
            options,
            handlers,
            incoming,
            commands,
            next_id: AtomicU64::new(1),
            sessions: Mutex::default(),
            stopped: AtomicBool::new(false),
            live: Mutex::new(0),
            live_changed: Condvar::new(),
            connections: Mutex::default(),
            listeners: Mutex::default(),
            max_payload,
            socket_idle,
        });
        super::engine::spawn(core, Arc::downgrade(&shared), receiver);
        shared
    }

    pub(crate) fn next_request_id(&self) -> RequestId {
        RequestId(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Sends an input to the engine (ignored once the engine has stopped).
    pub(crate) fn input(&self, command: Command) {
        let _ = self.commands.send(command);
    }

    /// Runs `act` on the engine thread with the core and the current time, and waits for its
    /// result; `None` if the engine has stopped. Never call it from the engine thread.
    pub(crate) fn call<R: Send + 'static>(
        &self,
        act: impl FnOnce(&mut CoreServer, Instant) -> R + Send + 'static,
    ) -> Option<R> {
        let (reply, result) = mpsc::sync_channel(1);
        let command = Command::Call(Box::new(move |core, now| {
            let _ = reply.send(act(core, now));
        }));
        self.commands.send(command).ok()?;
        result.recv().ok()
    }

    // ---- sessions ----

    /// Runs `act` on the session's entry, if it exists.
    pub(crate) fn with_entry<R>(
        &self,
        sid: &Sid,
        act: impl FnOnce(&mut SessionEntry) -> R,
    ) -> Option<R> {
        lock(&self.sessions).get_mut(sid).map(act)
    }

    /// Creates the entry of a new session (idempotent).
    pub(crate) fn open_session(&self, sid: Sid, info: StoredRequest) {
        lock(&self.sessions)
            .entry(sid)
            .or_insert_with(|| SessionEntry {
                info,
                storage: http::Extensions::new(),
                jobs: VecDeque::new(),
                running: false,
                inbox: None,
                reason: Arc::default(),
            });
    }

    pub(crate) fn has_session(&self, sid: &Sid) -> bool {
        lock(&self.sessions).contains_key(sid)
    }

    /// Queues a job for a session and schedules the session if no worker is on it. Returns
    /// false when the session has too many messages waiting (the caller closes it).
    pub(crate) fn queue_job(&self, sid: Sid, job: Job) -> bool {
        let mut sessions = lock(&self.sessions);
        let Some(entry) = sessions.get_mut(&sid) else {
            return true;
        };
        let is_message = matches!(job, Job::Message(_));
        if self.options.async_handlers && is_message && entry.inbox.is_none() {
            drop(sessions);
            self.dispatcher.spawn(Task::Detached(sid, job));
            return true;
        }
        if is_message && entry.jobs.len() >= self.options.max_pending_messages {
            return false;
        }
        entry.jobs.push_back(job);
        if !entry.running {
            entry.running = true;
            drop(sessions);
            self.dispatcher.spawn(Task::Session(sid));
        }
        true
    }

    /// The session's next job, or `None` (and the session marked idle) when there is none.
    pub(crate) fn next_job(&self, sid: &Sid) -> Option<Job> {
        let mut sessions = lock(&self.sessions);
        let entry = sessions.get_mut(sid)?;
        let job = entry.jobs.pop_front();
        if job.is_none() {
            entry.running = false;
        }
        job
    }

    pub(crate) fn inbox(&self, sid: &Sid) -> Option<SyncSender<Message>> {
        self.with_entry(sid, |entry| entry.inbox.clone()).flatten()
    }

    /// The session's disconnect handler ran: record the reason for the stream face and forget it.
    pub(crate) fn end_session(&self, sid: &Sid, reason: DisconnectReason) {
        let mut sessions = lock(&self.sessions);
        if let Some(entry) = sessions.remove(sid) {
            *lock(&entry.reason) = Some(reason);
        }
        shrink_when_sparse(&mut sessions);
    }

    pub(crate) fn remove_session(&self, sid: &Sid) {
        let mut sessions = lock(&self.sessions);
        sessions.remove(sid);
        shrink_when_sparse(&mut sessions);
    }

    // ---- live session count ----

    pub(crate) fn set_live(&self, count: usize) {
        let mut live = lock(&self.live);
        if *live != count {
            *live = count;
            self.live_changed.notify_all();
        }
    }

    pub(crate) fn live(&self) -> usize {
        *lock(&self.live)
    }

    /// Waits until no session is left, or `deadline`; true if none is left.
    pub(crate) fn wait_idle(&self, deadline: Instant) -> bool {
        let mut live = lock(&self.live);
        while *live > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            live = self
                .live_changed
                .wait_timeout(live, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    // ---- connections ----

    /// Registers a new connection; `None` when the cap is reached.
    pub(crate) fn register_connection(&self, tcp: &TcpStream) -> Option<u64> {
        let mut connections = lock(&self.connections);
        if connections.open.len() >= self.options.max_connections {
            return None;
        }
        let handle = tcp.try_clone().ok()?;
        connections.next += 1;
        let id = connections.next;
        connections.open.insert(id, (handle, true));
        Some(id)
    }

    /// Marks a connection idle (between requests) or busy.
    pub(crate) fn set_connection_idle(&self, id: u64, idle: bool) {
        if let Some(entry) = lock(&self.connections).open.get_mut(&id) {
            entry.1 = idle;
        }
    }

    pub(crate) fn unregister_connection(&self, id: u64) {
        lock(&self.connections).open.remove(&id);
    }

    /// Closes the connections that wait for a next request (at shutdown).
    pub(crate) fn close_idle_connections(&self) {
        for (tcp, idle) in lock(&self.connections).open.values() {
            if *idle {
                let _ = tcp.shutdown(std::net::Shutdown::Both);
            }
        }
    }

    /// Wakes the accept loops (blocked in `accept`) so that they see the shutdown flag.
    pub(crate) fn wake_listeners(&self) {
        let addresses: Vec<SocketAddr> = lock(&self.listeners).clone();
        for mut address in addresses {
            if address.ip().is_unspecified() {
                address.set_ip(match address {
                    SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                    SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
                });
            }
            let _ = TcpStream::connect_timeout(&address, Duration::from_secs(1));
        }
    }
}
