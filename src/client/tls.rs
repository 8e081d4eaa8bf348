//! TLS for `https` polling and `wss` alike: one rustls configuration per client, built when the
//! URL asks for TLS by [`engineio_core::http::tls`] (shared with the blocking client); this
//! module only runs the handshake over the runtime's streams (futures-rustls).

use engineio_core::http::client::TlsOptions;
use engineio_core::runtime::Stream;

use super::ConnectError;

/// Wraps TCP streams in TLS (when compiled with the `tls` feature).
#[derive(Clone)]
pub(super) struct TlsConnector {
    #[cfg(feature = "tls")]
    inner: futures_rustls::TlsConnector,
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
        let config = engineio_core::http::tls::client_config(options)?;
        Ok(Self {
            inner: futures_rustls::TlsConnector::from(config),
        })
    }

    /// Runs the TLS handshake over `stream`, naming `host` (SNI and certificate check).
    pub(super) async fn wrap(
        &self,
        host: &str,
        stream: Box<dyn Stream>,
    ) -> Result<Box<dyn Stream>, ConnectError> {
        let name = engineio_core::http::tls::server_name(host)?;
        match self.inner.connect(name, stream).await {
            Ok(tls) => Ok(Box::new(tls)),
            Err(error) => Err(engineio_core::http::tls::tls_error(error)),
        }
    }
}

#[cfg(not(feature = "tls"))]
const NO_TLS: &str = "https and wss need the `tls` feature of the engineio crate";

#[cfg(not(feature = "tls"))]
impl TlsConnector {
    /// Fails: TLS needs the `tls` feature.
    pub(super) fn new(_options: &TlsOptions) -> Result<Self, ConnectError> {
        Err(ConnectError::Tls(NO_TLS.to_owned()))
    }

    /// Fails: TLS needs the `tls` feature (never called, as [`new`](Self::new) fails).
    pub(super) async fn wrap(
        &self,
        _host: &str,
        _stream: Box<dyn Stream>,
    ) -> Result<Box<dyn Stream>, ConnectError> {
        Err(ConnectError::Tls(NO_TLS.to_owned()))
    }
}
