//! The client over TLS, on polling and WebSocket alike: a test CA added as a root, the
//! default roots refusing the unknown CA, and `ssl_verify(false)`.
//!
//! The certificates in `tests/data` (a CA and a `localhost` / 127.0.0.1 leaf it signed, valid
//! for a century) were made with openssl. A small TLS-terminating proxy (rustls' server side,
//! test code only) sits in front of the plain blocking server.

#![cfg(feature = "tls")]

mod common;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use common::{Mode, TestServer, MODES, WAIT};
use engineio_runtime_threads::client::CertificateDer;
use engineio_runtime_threads::{ConnectError, Server};
use rustls_pki_types::PrivateKeyDer;

const CA: &[u8] = include_bytes!("data/ca.der");
const LEAF: &[u8] = include_bytes!("data/leaf.der");
const LEAF_KEY: &[u8] = include_bytes!("data/leaf.key.der");

/// Accepts TLS on a free port and forwards the plaintext to `backend`.
fn tls_proxy(backend: SocketAddr) -> SocketAddr {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(LEAF.to_vec())],
            PrivateKeyDer::try_from(LEAF_KEY.to_vec()).unwrap(),
        )
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let config = Arc::clone(&config);
            std::thread::spawn(move || {
                let _ = forward(config, stream, backend);
            });
        }
    });
    addr
}

/// Copies both ways until either side closes, polling each with a short read timeout.
fn forward(
    config: Arc<rustls::ServerConfig>,
    client: TcpStream,
    backend: SocketAddr,
) -> io::Result<()> {
    let mut backend = TcpStream::connect(backend)?;
    let tick = Some(Duration::from_millis(2));
    client.set_read_timeout(tick)?;
    backend.set_read_timeout(tick)?;
    let connection = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(connection, client);
    let mut buf = [0u8; 16 * 1024];
    let idle = |e: &io::Error| {
        matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        )
    };
    loop {
        match tls.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(read) => backend.write_all(&buf[..read])?,
            Err(error) if idle(&error) => {}
            Err(error) => return Err(error),
        }
        match backend.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(read) => {
                tls.write_all(&buf[..read])?;
                tls.flush()?;
            }
            Err(error) if idle(&error) => {}
            Err(error) => return Err(error),
        }
    }
}

fn echo_over_tls() -> (TestServer, String) {
    let server = TestServer::start(Server::builder().on_message(|server, sid, message| {
        let _ = server.send(&sid, message);
    }));
    let proxy = tls_proxy(server.addr);
    (server, format!("https://localhost:{}", proxy.port()))
}

#[test]
fn a_private_root_secures_polling_and_websocket() {
    let (_server, url) = echo_over_tls();
    for mode in MODES {
        let client = mode
            .client()
            .add_root_certificate(CertificateDer::from(CA.to_vec()))
            .connect(&url)
            .unwrap_or_else(|error| panic!("{mode:?}: {error}"));
        client.send("über TLS").unwrap();
        let echo = client.recv_timeout(WAIT).expect("echo over TLS");
        assert_eq!(echo.as_text(), Some("über TLS"), "{mode:?}");
        if mode == Mode::Upgrade {
            common::eventually("the upgrade", || client.transport() == Some(mode.settled()));
        }
        client.disconnect();
    }
}

#[test]
fn an_unknown_ca_is_refused_unless_verification_is_off() {
    let (_server, url) = echo_over_tls();
    for mode in [Mode::Polling, Mode::WebSocket] {
        match mode.client().connect(&url) {
            Err(ConnectError::Tls(detail)) => {
                assert!(
                    detail.to_lowercase().contains("certificate"),
                    "{mode:?}: {detail}"
                );
            }
            other => panic!("{mode:?}: expected a TLS error, got {other:?}"),
        }
        let client = mode
            .client()
            .ssl_verify(false)
            .connect(&url)
            .expect("verification off");
        client.send("insecure").unwrap();
        assert_eq!(
            client.recv_timeout(WAIT).unwrap().as_text(),
            Some("insecure"),
            "{mode:?}"
        );
        client.disconnect();
    }
}
