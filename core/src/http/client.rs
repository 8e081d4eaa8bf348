//! What the async and the blocking clients share around the protocol core: the options their
//! builders collect ([`ClientOptions`]), what they turn into at `connect`
//! ([`ConnectPlan`]), and the headers every request carries ([`RequestHeaders`]: the
//! application's own and the cookies the server set).
//!
//! The builders keep their public setters (documented where the application reads them) and
//! store what they are given here, so that both clients validate and default the options the
//! same way.

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue, COOKIE, SET_COOKIE};

use super::backlog::DEFAULT_MAX_PENDING_MESSAGES;
use super::error::ConnectError;
use super::url::{normalize_path, Target};
use crate::client::ClientConfig;
use crate::Transports;

/// The most cookies kept from the server (load balancers set one or two).
const MAX_COOKIES: usize = 32;
/// The largest WebSocket message accepted before the server's `maxPayload` is known
/// (WebSocket-only handshake): the reference servers' default `maxPayload`.
const DEFAULT_MAX_MESSAGE: u64 = 1_000_000;
/// Added to `maxPayload` for the packet type byte and rounding.
const SLACK: u64 = 1024;

/// The largest WebSocket message (and frame) a client accepts: the server's `maxPayload`
/// (1 000 000 bytes until it is known) plus some slack for the packet type.
pub fn websocket_message_limit(max_payload: Option<u64>) -> usize {
    let limit = max_payload
        .unwrap_or(DEFAULT_MAX_MESSAGE)
        .saturating_add(SLACK);
    usize::try_from(limit).unwrap_or(usize::MAX)
}

/// What the application chose about TLS.
#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// Whether to verify the server's certificate (`ssl_verify`; default `true`).
    pub verify: bool,
    /// Roots trusted in addition to the Mozilla roots of webpki-roots.
    #[cfg(feature = "tls")]
    pub roots: Vec<rustls_pki_types::CertificateDer<'static>>,
}

impl Default for TlsOptions {
    fn default() -> Self {
        Self {
            verify: true,
            #[cfg(feature = "tls")]
            roots: Vec::new(),
        }
    }
}

/// The options of one client connection, as its builder collects them.
#[derive(Clone)]
pub struct ClientOptions {
    /// The transports, when the application chose them (overrides `config.transports`).
    pub transports: Option<Transports>,
    /// Whether to upgrade, when the application chose (overrides `config.upgrade`).
    pub upgrade: Option<bool>,
    /// The application's headers, sent with every request and the WebSocket handshake.
    pub headers: HeaderMap,
    /// The first invalid header given, reported by `connect`.
    pub header_error: Option<String>,
    /// The Engine.IO path, with a leading and a trailing slash (default `/engine.io/`).
    pub engineio_path: String,
    /// How long the handshake, a POST or the opening of a WebSocket may take (default 5 s).
    pub request_timeout: Duration,
    /// The TLS choices.
    pub tls: TlsOptions,
    /// The core's settings.
    pub config: ClientConfig,
    /// The most messages read from the server and not yet taken by the application before the
    /// client stops reading (see [`Backlog`](super::backlog::Backlog); default 1024).
    pub max_pending_messages: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            transports: None,
            upgrade: None,
            headers: HeaderMap::new(),
            header_error: None,
            engineio_path: "/engine.io/".to_owned(),
            request_timeout: Duration::from_secs(5),
            tls: TlsOptions::default(),
            config: ClientConfig::default(),
            max_pending_messages: DEFAULT_MAX_PENDING_MESSAGES,
        }
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("ClientOptions");
        self.debug_fields(&mut out);
        out.finish_non_exhaustive()
    }
}

impl ClientOptions {
    /// Adds a header for every request; an invalid name or value is kept as the error that
    /// `connect` reports ([`ConnectError::InvalidHeader`]).
    pub fn add_header<K, V>(&mut self, name: K, value: V)
    where
        K: TryInto<HeaderName>,
        K::Error: fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: fmt::Display,
    {
        match (name.try_into(), value.try_into()) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            (Err(error), _) => self.header_error = Some(format!("header name: {error}")),
            (_, Err(error)) => self.header_error = Some(format!("header value: {error}")),
        }
    }

    /// Sets the Engine.IO path, adding a missing leading or trailing slash.
    pub fn set_engineio_path(&mut self, path: &str) {
        self.engineio_path = normalize_path(path);
    }

    /// Adds the options' fields to a builder's `Debug` output (the TLS roots left out).
    pub fn debug_fields(&self, out: &mut fmt::DebugStruct<'_, '_>) {
        out.field("transports", &self.transports)
            .field("upgrade", &self.upgrade)
            .field("headers", &self.headers)
            .field("engineio_path", &self.engineio_path)
            .field("request_timeout", &self.request_timeout)
            .field("max_pending_messages", &self.max_pending_messages)
            .field("ssl_verify", &self.tls.verify)
            .field("config", &self.config);
    }

    /// Checks the options against `url` and resolves them for `connect`: the first invalid
    /// header or an invalid URL fails here, and `transports` / `upgrade` override the core
    /// settings of the same name, whatever the order they were set in.
    pub fn into_plan(self, url: &str) -> Result<ConnectPlan, ConnectError> {
        if let Some(error) = self.header_error {
            return Err(ConnectError::InvalidHeader(error));
        }
        let target = Target::parse(url, &self.engineio_path)?;
        let mut config = self.config;
        if let Some(transports) = self.transports {
            config.transports = transports;
        }
        if let Some(upgrade) = self.upgrade {
            config.upgrade = upgrade;
        }
        Ok(ConnectPlan {
            target,
            config,
            headers: RequestHeaders::new(self.headers),
            request_timeout: self.request_timeout,
            tls: self.tls,
            max_pending_messages: self.max_pending_messages,
        })
    }
}

/// The resolved options of a connection: what a client's network side is built from.
#[derive(Debug)]
pub struct ConnectPlan {
    /// Where the server is.
    pub target: Target,
    /// The core's settings, `transports` and `upgrade` applied.
    pub config: ClientConfig,
    /// The headers of every request.
    pub headers: RequestHeaders,
    /// How long the handshake, a POST or the opening of a WebSocket may take.
    pub request_timeout: Duration,
    /// The TLS choices (used when the target is secure).
    pub tls: TlsOptions,
    /// The bound of the client's inbound backlog.
    pub max_pending_messages: usize,
}

/// The headers every request of one client carries: the application's own, and the cookies
/// the server set (`name=value` pairs from `Set-Cookie`, sent back for sticky sessions).
#[derive(Debug, Default)]
pub struct RequestHeaders {
    headers: HeaderMap,
    cookies: Mutex<Vec<(String, String)>>,
}

impl RequestHeaders {
    /// Starts with the application's headers and no cookie.
    pub fn new(headers: HeaderMap) -> Self {
        Self {
            headers,
            cookies: Mutex::new(Vec::new()),
        }
    }

    /// Adds the application's headers and the cookies to a request.
    pub fn add_to(&self, headers: &mut HeaderMap) {
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
    pub fn store_cookies(&self, headers: &HeaderMap) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_kept_replaced_and_expired() {
        let jar = RequestHeaders::new(HeaderMap::new());
        let mut response = HeaderMap::new();
        response.append(SET_COOKIE, HeaderValue::from_static("io=abc; Path=/"));
        response.append(SET_COOKIE, HeaderValue::from_static("lb=1"));
        jar.store_cookies(&response);
        let mut request = HeaderMap::new();
        request.insert(COOKIE, HeaderValue::from_static("own=x"));
        jar.add_to(&mut request);
        assert_eq!(request[COOKIE], "own=x; io=abc; lb=1");

        let mut response = HeaderMap::new();
        response.append(SET_COOKIE, HeaderValue::from_static("io=; Max-Age=0"));
        jar.store_cookies(&response);
        let mut request = HeaderMap::new();
        jar.add_to(&mut request);
        assert_eq!(request[COOKIE], "lb=1");
    }

    #[test]
    fn websocket_limits() {
        assert_eq!(websocket_message_limit(None), 1_001_024);
        assert_eq!(websocket_message_limit(Some(100)), 1124);
        assert_eq!(websocket_message_limit(Some(u64::MAX)), usize::MAX);
    }

    #[test]
    fn plan_applies_overrides_and_reports_bad_headers() {
        let mut options = ClientOptions {
            transports: Some(Transports::WEBSOCKET),
            upgrade: Some(false),
            ..ClientOptions::default()
        };
        options.set_engineio_path("socket.io");
        let plan = options.clone().into_plan("http://localhost:1").unwrap();
        assert_eq!(plan.config.transports, Transports::WEBSOCKET);
        assert!(!plan.config.upgrade);
        assert_eq!(plan.target.path, "/socket.io/");

        options.add_header("bad name", "x");
        assert!(matches!(
            options.into_plan("http://localhost:1"),
            Err(ConnectError::InvalidHeader(_))
        ));
    }
}
