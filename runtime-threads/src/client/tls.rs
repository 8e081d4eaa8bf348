//! TLS for `https` polling and `wss` alike: one rustls configuration per client, built when the
//! URL asks for TLS, and the blocking handshake that turns a TCP stream into a [`Conn`].
//!
//! The trust roots are Mozilla's (webpki-roots) plus the certificates added with
//! [`ClientBuilder::add_root_certificate`](super::ClientBuilder::add_root_certificate).
//! [`ClientBuilder::ssl_verify(false)`](super::ClientBuilder::ssl_verify) swaps the verifier for
//! one that accepts any certificate (handshake signatures are still checked, so the peer must
//! hold the key of the certificate it shows, but anyone can show any certificate).

use std::net::TcpStream;

use super::ConnectError;
use crate::conn::Conn;

/// What the application chose about TLS.
#[derive(Debug, Clone)]
pub(super) struct TlsOptions {
    pub(super) verify: bool,
    #[cfg(feature = "tls")]
    pub(super) roots: Vec<rustls_pki_types::CertificateDer<'static>>,
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
        use std::sync::Arc;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|error| ConnectError::Tls(error.to_string()))?;
        let config = if options.verify {
            let mut roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            for certificate in &options.roots {
                roots.add(certificate.clone()).map_err(|error| {
                    ConnectError::Tls(format!("invalid root certificate: {error}"))
                })?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(danger::AcceptAnyCertificate(provider)))
                .with_no_client_auth()
        };
        Ok(Self {
            config: Arc::new(config),
        })
    }

    /// Runs the TLS handshake over `tcp` (within the socket's timeouts), naming `host`.
    pub(super) fn wrap(&self, host: &str, mut tcp: TcpStream) -> Result<Conn, ConnectError> {
        let name = rustls_pki_types::ServerName::try_from(host.to_owned())
            .map_err(|error| ConnectError::Tls(format!("invalid server name {host:?}: {error}")))?;
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

/// A rustls failure (bad certificate, a peer that does not speak TLS) is a TLS error; anything
/// else (the connection dropped, a timeout) stays an I/O error.
#[cfg(feature = "tls")]
fn tls_error(error: std::io::Error) -> ConnectError {
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => ConnectError::Tls(tls.to_string()),
        None if error.kind() == std::io::ErrorKind::InvalidData => {
            ConnectError::Tls(error.to_string())
        }
        None if matches!(
            error.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ) =>
        {
            ConnectError::Timeout
        }
        None => ConnectError::Io(error),
    }
}

#[cfg(feature = "tls")]
mod danger {
    //! The verifier behind `ssl_verify(false)`.

    use std::sync::Arc;

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
    use rustls::{DigitallySignedStruct, Error, SignatureScheme};
    use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

    /// Accepts every certificate for every name. Only for `ssl_verify(false)`.
    #[derive(Debug)]
    pub(super) struct AcceptAnyCertificate(pub(super) Arc<CryptoProvider>);

    impl ServerCertVerifier for AcceptAnyCertificate {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
}
