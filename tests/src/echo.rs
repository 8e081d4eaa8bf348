//! [`EchoServer`]: our async server, in-process, echoing, with a log of its sessions.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use engineio::server::{CorsOrigins, Server, StaticFiles};
use engineio::{DisconnectReason, Message, Sid, Transport};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The text message that makes the server close the sender's session (`Server::disconnect`)
/// instead of echoing it.
pub const CLOSE_ME: &str = "close me";

/// The server's ping interval: short, so that heartbeats happen during the tests.
pub(crate) const PING_INTERVAL: Duration = Duration::from_millis(300);
/// The server's ping timeout.
pub(crate) const PING_TIMEOUT: Duration = Duration::from_millis(800);

/// What the server saw of one session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionLog {
    /// The session id.
    pub sid: Sid,
    /// The transport of the handshake.
    pub opened_on: Transport,
    /// Every message the client sent, in the order the handler got them.
    pub received: Vec<Message>,
    /// The session's transport when its last message was handled (a message handled after
    /// the session ended, when the client sent it just before leaving, does not count).
    pub last_message_transport: Option<Transport>,
    /// Why the session ended, once it has.
    pub reason: Option<DisconnectReason>,
}

/// Our server on `127.0.0.1:<free port>`: ping 300 ms / timeout 800 ms, CORS open to any
/// origin, every message echoed in kind (text as text, binary as binary) except
/// [`CLOSE_ME`]. Stops when dropped.
#[derive(Debug)]
pub struct EchoServer {
    addr: SocketAddr,
    log: watch::Receiver<Vec<SessionLog>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl EchoServer {
    /// Starts the echo server. Must run inside a tokio runtime.
    pub fn start() -> Self {
        Self::start_with(StaticFiles::new(), PING_TIMEOUT)
    }

    /// Starts the echo server, also serving `files`, with another ping timeout (still pinging
    /// every 300 ms). A peer starving on a loaded machine (a browser starting beside other
    /// tests) can stall for more than the timeout, and then the server rightly ends its session:
    /// scenarios whose subject is not the heartbeat give it room.
    pub fn start_with(files: StaticFiles, ping_timeout: Duration) -> Self {
        let (log_tx, log) = watch::channel(Vec::<SessionLog>::new());
        let log_tx = Arc::new(log_tx);
        let (on_connect, on_message, on_disconnect) =
            (Arc::clone(&log_tx), Arc::clone(&log_tx), log_tx);
        let server = Server::builder()
            .ping_interval(PING_INTERVAL)
            .ping_timeout(ping_timeout)
            .cors_allowed_origins(CorsOrigins::Any)
            .static_files(files)
            .on_connect(move |_server, sid, request| {
                on_connect.send_modify(|log| {
                    log.push(SessionLog {
                        sid,
                        opened_on: request.transport,
                        received: Vec::new(),
                        last_message_transport: None,
                        reason: None,
                    });
                });
                async { Ok(()) }
            })
            .on_message(move |server, sid, message| {
                let transport = server.transport(&sid);
                let close = message.as_text() == Some(CLOSE_ME);
                on_message.send_modify(|log| {
                    if let Some(session) = log.iter_mut().find(|s| s.sid == sid) {
                        session.received.push(message.clone());
                        if transport.is_some() {
                            session.last_message_transport = transport;
                        }
                    }
                });
                async move {
                    let _ = if close {
                        server.disconnect(&sid)
                    } else {
                        server.send(&sid, message)
                    };
                }
            })
            .on_disconnect(move |_server, sid, reason| {
                on_disconnect.send_modify(|log| {
                    if let Some(session) = log.iter_mut().find(|s| s.sid == sid) {
                        session.reason = Some(reason);
                    }
                });
                async {}
            })
            .build();
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(async move { server.serve_listener(listener).await });
        Self { addr, log, task }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every session so far.
    pub fn sessions(&self) -> Vec<SessionLog> {
        self.log.borrow().clone()
    }

    /// Waits up to `timeout` for the session `sid` to end and returns its log.
    pub async fn ended(&self, sid: &str, timeout: Duration) -> SessionLog {
        self.wait_for(sid, timeout, |s| s.reason.is_some(), "end")
            .await
    }

    /// Waits up to `timeout` until the session `sid` exists and `done` holds for it.
    async fn wait_for(
        &self,
        sid: &str,
        timeout: Duration,
        done: impl Fn(&SessionLog) -> bool,
        what: &str,
    ) -> SessionLog {
        let mut log = self.log.clone();
        let found = tokio::time::timeout(
            timeout,
            log.wait_for(|log| log.iter().any(|s| s.sid.as_str() == sid && done(s))),
        )
        .await;
        match found {
            Ok(Ok(log)) => log
                .iter()
                .find(|s| s.sid.as_str() == sid)
                .cloned()
                .expect("found"),
            _ => panic!(
                "server: session {sid} did not {what} within {timeout:?}; sessions: {:#?}",
                self.sessions()
            ),
        }
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
