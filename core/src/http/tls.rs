//! The client's rustls configuration, shared by the async and the blocking clients (feature
//! `tls`): each wraps its own streams (futures-rustls, or rustls' blocking connection) with
//! the configuration built here.
//!
//! The trust roots are Mozilla's (webpki-roots) plus the certificates of
//! [`TlsOptions::roots`]. [`TlsOptions::verify`] `false` swaps the verifier for one that
//! accepts any certificate (handshake signatures are still checked, so the peer must hold the
//! key of the certificate it shows, but anyone can show any certificate).

use std::io;
use std::sync::Arc;

pub use rustls_pki_types::{CertificateDer, ServerName};

use super::client::TlsOptions;
use super::error::ConnectError;

/// Builds the rustls client configuration (ring provider, safe default protocol versions)
/// from the options.
pub fn client_config(options: &TlsOptions) -> Result<Arc<rustls::ClientConfig>, ConnectError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|error| ConnectError::Tls(error.to_string()))?;
    let config = if options.verify {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for certificate in &options.roots {
            roots
                .add(certificate.clone())
                .map_err(|error| ConnectError::Tls(format!("invalid root certificate: {error}")))?;
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(danger::AcceptAnyCertificate(provider)))
            .with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// The name to present (SNI) and check the certificate against.
pub fn server_name(host: &str) -> Result<ServerName<'static>, ConnectError> {
    ServerName::try_from(host.to_owned())
        .map_err(|error| ConnectError::Tls(format!("invalid server name {host:?}: {error}")))
}

/// A rustls failure (bad certificate, a peer that does not speak TLS) is a TLS error; anything
/// else (the connection dropped) stays an I/O error.
pub fn tls_error(error: io::Error) -> ConnectError {
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => ConnectError::Tls(tls.to_string()),
        None if error.kind() == io::ErrorKind::InvalidData => ConnectError::Tls(error.to_string()),
        None => ConnectError::Io(error),
    }
}

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
