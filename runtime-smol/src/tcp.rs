//! A TCP connection on the async-io reactor whose `close` shuts the write side down.
//!
//! `Async<TcpStream>`'s `poll_close` only flushes, which for a socket does nothing: the FIN
//! goes out when the descriptor is dropped. The server needs the FIN earlier, to close the
//! lingering way ([`engineio_core::http::linger`]): send its last word (a 413, a close
//! frame), shut the write side down so that the client sees the end, and keep reading what
//! the client still sends until it closes. [`TcpConnection`] is `Async<TcpStream>` with
//! that `close`, as tokio's `poll_shutdown` and `async_net::TcpStream` do it (the latter
//! would cost an `Arc` and two read/write futures per connection).

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Shutdown, TcpStream};
use std::pin::Pin;
use std::task::{Context, Poll};

use async_io::Async;
use smol::io::{AsyncRead, AsyncWrite};

/// A TCP connection on the async-io reactor whose `close` shuts the write side down (a
/// FIN), where `Async<TcpStream>`'s only flushes; reading goes on until the peer closes.
#[derive(Debug)]
pub struct TcpConnection(Async<TcpStream>);

impl TcpConnection {
    /// Wraps a connection registered with the reactor.
    pub fn new(stream: Async<TcpStream>) -> Self {
        Self(stream)
    }
}

impl AsyncRead for TcpConnection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }

    fn poll_read_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read_vectored(cx, bufs)
    }
}

impl AsyncWrite for TcpConnection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    /// Shuts the write side down (a FIN); reading goes on until the peer closes.
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.0.get_ref().shutdown(Shutdown::Write) {
            // Already shut, or the peer is gone: the write side is closed either way.
            Err(error) if error.kind() == io::ErrorKind::NotConnected => Poll::Ready(Ok(())),
            result => Poll::Ready(result),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smol::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn close_sends_a_fin_and_reading_goes_on() {
        smol::block_on(async {
            let listener = Async::<std::net::TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
            let addr = listener.get_ref().local_addr().unwrap();
            let client = Async::<TcpStream>::connect(addr);
            let (accepted, client) = smol::future::zip(listener.accept(), client).await;
            let mut server = TcpConnection::new(accepted.unwrap().0);
            let mut client = client.unwrap();
            server.write_all(b"last word").await.unwrap();
            server.close().await.unwrap();
            // The client sees the last word, then the end, while the server still reads.
            let mut seen = Vec::new();
            client.read_to_end(&mut seen).await.unwrap();
            assert_eq!(seen, b"last word");
            client.write_all(b"late").await.unwrap();
            let mut late = [0u8; 4];
            server.read_exact(&mut late).await.unwrap();
            assert_eq!(&late, b"late");
        });
    }
}
