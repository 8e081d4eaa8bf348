//! What every request of one client shares: the runtime, the server's address, TLS, the
//! application's headers, the cookies the server set, and the pool of HTTP connections.

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use engineio_core::runtime::{sleep_until, Runtime, Stream};
use futures_util::future::{select, Either};
use http::header::{HeaderMap, HeaderValue, COOKIE, SET_COOKIE};

use super::http::Pool;
use super::tls::{TlsConnector, TlsOptions};
use super::url::Target;
use super::ConnectError;

/// The most cookies kept from the server (load balancers set one or two).
const MAX_COOKIES: usize = 32;

/// The shared state of one client's network tasks.
#[derive(Debug)]
pub(super) struct Context {
    pub(super) runtime: Arc<dyn Runtime>,
    pub(super) target: Target,
    /// How long the handshake, a POST, or opening a WebSocket may take.
    pub(super) request_timeout: Duration,
    pub(super) pool: Pool,
    tls: Option<TlsConnector>,
    headers: HeaderMap,
    /// `name=value` pairs from `Set-Cookie`, sent back on every request (sticky sessions).
    cookies: Mutex<Vec<(String, String)>>,
}

impl Context {
    /// Prepares the client's network side; builds the TLS configuration if the URL needs it.
    pub(super) fn new(
        runtime: Arc<dyn Runtime>,
        target: Target,
        tls: &TlsOptions,
        headers: HeaderMap,
        request_timeout: Duration,
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
            cookies: Mutex::new(Vec::new()),
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

    /// Adds the application's headers and the cookies to a request.
    pub(super) fn add_headers(&self, headers: &mut HeaderMap) {
        for (name, value) in &self.headers {
            headers.append(name, value.clone());
        }
        let jar = self.cookies.lock().unwrap_or_else(PoisonError::into_inner);
        if jar.is_empty() {
            return;
        }
        let mut line = headers
            .get(COOKIE)
            .and_then(|value| value.to_str().ok())
            .map(|own| format!("{own}; "))
            .unwrap_or_default();
        let pairs: Vec<String> = jar
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        line.push_str(&pairs.join("; "));
        if let Ok(value) = HeaderValue::try_from(line) {
            headers.insert(COOKIE, value);
        }
    }

    /// Keeps the cookies a response sets (name and value only; `Max-Age=0` removes one).
    pub(super) fn store_cookies(&self, headers: &HeaderMap) {
        let mut jar = self.cookies.lock().unwrap_or_else(PoisonError::into_inner);
        for value in headers.get_all(SET_COOKIE) {
            let Ok(value) = value.to_str() else {
                continue;
            };
            let mut attributes = value.split(';');
            let Some((name, value)) = attributes.next().and_then(|pair| pair.split_once('='))
            else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            if name.is_empty() {
                continue;
            }
            let expired = attributes.any(|attribute| {
                attribute.split_once('=').is_some_and(|(key, age)| {
                    key.trim().eq_ignore_ascii_case("max-age")
                        && age.trim().parse::<i64>().is_ok_and(|age| age <= 0)
                })
            });
            jar.retain(|(old, _)| old != name);
            if !expired && jar.len() < MAX_COOKIES {
                jar.push((name.to_owned(), value.to_owned()));
            }
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
