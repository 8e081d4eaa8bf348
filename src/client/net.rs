//! What every request of one client shares: the runtime, the server's address, TLS, the
//! application's headers, the cookies the server set, the pool of HTTP connections, and the
//! inbound backlog its readers wait on.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use engineio_core::runtime::{sleep_until, Runtime, Stream};
use futures_util::future::{select, Either};

use super::http::Pool;
use engineio_core::http::backlog::Backlog;
use engineio_core::http::client::{RequestHeaders, TlsOptions};
use engineio_core::http::url::Target;

use super::tls::TlsConnector;
use super::ConnectError;

/// The shared state of one client's network tasks.
#[derive(Debug)]
pub(super) struct Context {
    pub(super) runtime: Arc<dyn Runtime>,
    pub(super) target: Target,
    /// How long the handshake, a POST, or opening a WebSocket may take.
    pub(super) request_timeout: Duration,
    pub(super) pool: Pool,
    tls: Option<TlsConnector>,
    /// The application's headers and the cookies the server set.
    pub(super) headers: RequestHeaders,
    /// The messages read and not yet taken by the application; readers wait while it is full.
    pub(super) backlog: Arc<Backlog>,
}

impl Context {
    /// Prepares the client's network side; builds the TLS configuration if the URL needs it.
    pub(super) fn new(
        runtime: Arc<dyn Runtime>,
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
            runtime,
            target,
            request_timeout,
            pool: Pool::default(),
            tls,
            headers,
            backlog: Arc::new(Backlog::new(max_pending_messages)),
        })
    }

    /// Opens a TCP connection to the server, wrapped in TLS for `https`/`wss`.
    pub(super) async fn open_stream(&self) -> Result<Box<dyn Stream>, ConnectError> {
        let tcp = self
            .runtime
            .connect(self.target.host.clone(), self.target.port)
            .await?;
        match &self.tls {
            Some(tls) => tls.wrap(&self.target.host, tcp).await,
            None => Ok(tcp),
        }
    }

    /// Runs `future`, failing with [`ConnectError::Timeout`] after `timeout` (if any).
    pub(super) async fn with_timeout<T>(
        &self,
        timeout: Option<Duration>,
        future: impl Future<Output = Result<T, ConnectError>>,
    ) -> Result<T, ConnectError> {
        let deadline = timeout.and_then(|timeout| self.runtime.now().checked_add(timeout));
        let Some(deadline) = deadline else {
            return future.await;
        };
        let sleep = sleep_until(&*self.runtime, deadline);
        match select(pin!(future), sleep).await {
            Either::Left((result, _)) => result,
            Either::Right(((), _)) => Err(ConnectError::Timeout),
        }
    }
}
