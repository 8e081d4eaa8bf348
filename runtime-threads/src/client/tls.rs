//! TLS for `https` polling and `wss` alike: one rustls configuration per client, built when the
//! URL asks for TLS by [`engineio_core::http::tls`] (shared with the async client); this
//! module only runs the blocking handshake that turns a TCP stream into a [`Conn`].

use std::net::TcpStream;

use engineio_core::http::client::TlsOptions;

use super::ConnectError;
use crate::conn::Conn;

/// Wraps TCP streams in TLS (with the `tls` feature).
#[derive(Clone)]
pub(super) struct TlsConnector {
    #[cfg(feature = "tls")]
    config: std::sync::Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsConnector")
    }
}

#[cfg(feature = "tls")]
impl TlsConnector {
    /// Builds the rustls configuration from the options.
    pub(super) fn new(options: &TlsOptions) -> Result<Self, ConnectError> {
        Ok(Self {
            config: engineio_core::http::tls::client_config(options)?,
        })
    }

    /// Runs the TLS handshake over `tcp` (within the socket's timeouts), naming `host`.
    pub(super) fn wrap(&self, host: &str, mut tcp: TcpStream) -> Result<Conn, ConnectError> {
        let name = engineio_core::http::tls::server_name(host)?;
        let mut connection =
            rustls::ClientConnection::new(std::sync::Arc::clone(&self.config), name)
                .map_err(|error| ConnectError::Tls(error.to_string()))?;
        while connection.is_handshaking() {
            if let Err(error) = connection.complete_io(&mut tcp) {
                return Err(tls_error(error));
            }
        }
        Ok(Conn::tls(tcp, connection))
    }
}

#[cfg(not(feature = "tls"))]
const NO_TLS: &str = "https and wss need the `tls` feature of engineio-runtime-threads";

#[cfg(not(feature = "tls"))]
impl TlsConnector {
    /// Fails: TLS needs the `tls` feature.
    pub(super) fn new(_options: &TlsOptions) -> Result<Self, ConnectError> {
        Err(ConnectError::Tls(NO_TLS.to_owned()))
    }

    /// Fails: TLS needs the `tls` feature (never called, as [`new`](Self::new) fails).
    pub(super) fn wrap(&self, _host: &str, _tcp: TcpStream) -> Result<Conn, ConnectError> {
        Err(ConnectError::Tls(NO_TLS.to_owned()))
    }
}

/// The shared classification ([`engineio_core::http::tls::tls_error`]), plus: a socket timeout
/// during the blocking handshake is the handshake timing out.
#[cfg(feature = "tls")]
fn tls_error(error: std::io::Error) -> ConnectError {
    match engineio_core::http::tls::tls_error(error) {
        ConnectError::Io(error)
            if matches!(
                error.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            ConnectError::Timeout
        }
        other => other,
    }
}
