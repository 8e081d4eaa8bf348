//! What every request of one client shares: the server's address, TLS, the application's
//! headers, the cookies the server set, the request timeout, and the inbound backlog its
//! readers wait on.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use engineio_core::http::backlog::Backlog;
use engineio_core::http::client::{RequestHeaders, TlsOptions};
use engineio_core::http::url::Target;

use super::tls::TlsConnector;
use super::ConnectError;
use crate::conn::Conn;

/// The shared state of one client's network threads.
#[derive(Debug)]
pub(super) struct Context {
    pub(super) target: Target,
    /// How long the handshake, a POST, or opening a WebSocket may take.
    pub(super) request_timeout: Duration,
    tls: Option<TlsConnector>,
    /// The application's headers and the cookies the server set.
    pub(super) headers: RequestHeaders,
    /// The messages read and not yet taken by the application; readers wait while it is full.
    pub(super) backlog: Arc<Backlog>,
}

impl Context {
    /// Prepares the client's network side; builds the TLS configuration if the URL needs it.
    pub(super) fn new(
        target: Target,
        tls: &TlsOptions,
        headers: RequestHeaders,
        request_timeout: Duration,
        max_pending_messages: usize,
    ) -> Result<Self, ConnectError> {
        let tls = if target.secure {
            Some(TlsConnector::new(tls)?)
        } else {
            None
        };
        Ok(Self {
            target,
            request_timeout,
            tls,
            headers,
            backlog: Arc::new(Backlog::new(max_pending_messages)),
        })
    }

    /// Opens a TCP connection to the server (each resolved address in turn, each within
    /// `timeout`), wrapped in TLS for `https`/`wss`. The socket keeps `timeout` as its read
    /// and write timeout; callers change it as they need.
    pub(super) fn open(&self, timeout: Duration) -> Result<Conn, ConnectError> {
        let addresses = (self.target.host.as_str(), self.target.port).to_socket_addrs()?;
        let mut last = None;
        for address in addresses {
            match TcpStream::connect_timeout(&address, timeout) {
                Ok(tcp) => {
                    let _ = tcp.set_nodelay(true);
                    tcp.set_read_timeout(Some(timeout))?;
                    tcp.set_write_timeout(Some(timeout))?;
                    return match &self.tls {
                        Some(tls) => tls.wrap(&self.target.host, tcp),
                        None => Ok(Conn::plain(tcp)),
                    };
                }
                Err(error) => last = Some(error),
            }
        }
        Err(match last {
            Some(error) if error.kind() == std::io::ErrorKind::TimedOut => ConnectError::Timeout,
            Some(error) => ConnectError::Io(error),
            None => ConnectError::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} resolves to no address", self.target.host),
            )),
        })
    }
}
