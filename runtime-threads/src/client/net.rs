//! What every request of one client shares: the server's address, TLS, the application's
//! headers, the cookies the server set, and the request timeout.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use http::header::{HeaderMap, HeaderValue, COOKIE, SET_COOKIE};

use super::tls::{TlsConnector, TlsOptions};
use super::url::Target;
use super::ConnectError;
use crate::conn::Conn;

/// The most cookies kept from the server (load balancers set one or two).
const MAX_COOKIES: usize = 32;

/// The shared state of one client's network threads.
#[derive(Debug)]
pub(super) struct Context {
    pub(super) target: Target,
    /// How long the handshake, a POST, or opening a WebSocket may take.
    pub(super) request_timeout: Duration,
    tls: Option<TlsConnector>,
    headers: HeaderMap,
    /// `name=value` pairs from `Set-Cookie`, sent back on every request (sticky sessions).
    cookies: Mutex<Vec<(String, String)>>,
}

impl Context {
    /// Prepares the client's network side; builds the TLS configuration if the URL needs it.
    pub(super) fn new(
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
            target,
            request_timeout,
            tls,
            headers,
            cookies: Mutex::new(Vec::new()),
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
}
