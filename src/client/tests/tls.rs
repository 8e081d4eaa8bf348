//! https and wss against the fake server with a certificate from a private CA.

use std::sync::Arc;

use engineio_core::Transport;
use engineio_core::Transports;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::fake::{FakeServer, Options, Seen};
use super::{close_from_client, round_trip};
use crate::client::{Client, ConnectError};

/// A CA made for these tests, valid 2000–2100.
const CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBaTCCARCgAwIBAgICEAAwCgYIKoZIzj0EAwIwGzEZMBcGA1UEAwwQZW5naW5l
aW8gdGVzdCBDQTAgFw0wMDAxMDEwMDAwMDBaGA8yMTAwMDEwMTAwMDAwMFowGzEZ
MBcGA1UEAwwQZW5naW5laW8gdGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEH
A0IABBK0isWN/7+auSI266ZB4qxCnVRjPskfj6UIRm2jxUG9vXk41zsHTsM1Aocn
/zGYC1v9AtsbWwOeByZN/kU0RsajQjBAMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0P
AQH/BAQDAgEGMB0GA1UdDgQWBBRlMljum29oUrjRaP2IqfY/KAKBtTAKBggqhkjO
PQQDAgNHADBEAiBOXEi399RU7rierWjaKEpsuiOZYQld2p+NTcPo1OfK0AIgThRS
qr46fdI5QX58Esn0OUoW9/zu/PfsmYWEIzHn3jQ=
-----END CERTIFICATE-----
";

/// `localhost` and `127.0.0.1`, signed by [`CA_PEM`], valid 2000–2100.
const LEAF_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBsDCCAVegAwIBAgICEAEwCgYIKoZIzj0EAwIwGzEZMBcGA1UEAwwQZW5naW5l
aW8gdGVzdCBDQTAgFw0wMDAxMDEwMDAwMDBaGA8yMTAwMDEwMTAwMDAwMFowFDES
MBAGA1UEAwwJbG9jYWxob3N0MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE6XWz
5+uD6Uu74sSfLwmGUvaxUjNhqpgB0GDb7Wbq8w0ZhO6DrA5/NVz4f2MVHnj5ReW5
/Zmf/16VAeDqj9gdhaOBjzCBjDAJBgNVHRMEAjAAMA4GA1UdDwEB/wQEAwIHgDAT
BgNVHSUEDDAKBggrBgEFBQcDATAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEw
HwYDVR0jBBgwFoAUZTJY7ptvaFK40Wj9iKn2PygCgbUwHQYDVR0OBBYEFGBSj/Vz
HSfCXFvdj13Kk6H+b2SxMAoGCCqGSM49BAMCA0cAMEQCIHc6D4U4iwOAKpzmoYyS
8rYC+FAhA9OS6vb9NLG9UJtTAiBf+NaFJlwmcD7Y0L9cUnekOp9zt3jJ+EDt5eu1
wr7FDg==
-----END CERTIFICATE-----
";

/// The key of [`LEAF_PEM`] (a test key, published here on purpose).
const LEAF_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgD0CnaIG1bY8q/Yqb
gEA18W/XI8ghDFbAkT0BGTzjnhWhRANCAATpdbPn64PpS7vixJ8vCYZS9rFSM2Gq
mAHQYNvtZurzDRmE7oOsDn81XPh/YxUeePlF5bn9mZ//XpUB4OqP2B2F
-----END PRIVATE KEY-----
";

/// A fake server on `https://localhost:<port>` that offers the upgrade.
fn tls_server() -> FakeServer {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from_pem_slice(LEAF_PEM.as_bytes()).unwrap()],
            PrivateKeyDer::from_pem_slice(LEAF_KEY.as_bytes()).unwrap(),
        )
        .unwrap();
    FakeServer::start(Options {
        upgrades: true,
        tls: Some(Arc::new(config)),
        ..Options::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_and_wss_with_a_private_root() {
    let mut server = tls_server();
    let ca = CertificateDer::from_pem_slice(CA_PEM.as_bytes()).unwrap();
    let client = Client::builder()
        .add_root_certificate(ca)
        .connect(&server.url)
        .await
        .unwrap();
    server
        .expect(|seen| matches!(seen, Seen::Upgraded).then_some(()))
        .await;
    assert_eq!(client.transport(), Some(Transport::WebSocket));
    round_trip(&client, &mut server).await;
    close_from_client(&client, &mut server).await;
}

#[tokio::test]
async fn untrusted_certificates_fail_unless_verification_is_off() {
    let mut server = tls_server();
    let result = Client::connect(&server.url).await;
    assert!(matches!(result, Err(ConnectError::Tls(_))), "{result:?}");

    let client = Client::builder()
        .ssl_verify(false)
        .transports(Transports::WEBSOCKET)
        .connect(&server.url)
        .await
        .unwrap();
    round_trip(&client, &mut server).await;
}
