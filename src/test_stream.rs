//! A stream for unit tests of the I/O layers: reads find nothing, writes are recorded call by
//! call, and each write takes at most `limit` bytes (a short write on demand).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_util::io::{AsyncRead, AsyncWrite};

/// Records every write call; clones share the record.
#[derive(Clone)]
pub(crate) struct Recorder {
    writes: Arc<Mutex<Vec<Vec<u8>>>>,
    limit: usize,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::taking_at_most(usize::MAX)
    }
}

impl Recorder {
    /// A recorder whose writes take at most `limit` bytes each.
    pub(crate) fn taking_at_most(limit: usize) -> Self {
        Self {
            writes: Arc::default(),
            limit,
        }
    }

    /// What each write call took, in order.
    pub(crate) fn writes(&self) -> Vec<Vec<u8>> {
        self.writes.lock().unwrap().clone()
    }

    /// Everything written, in order.
    pub(crate) fn written(&self) -> Vec<u8> {
        self.writes().concat()
    }
}

impl AsyncRead for Recorder {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(0))
    }
}

impl AsyncWrite for Recorder {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let accepted = buf.len().min(self.limit);
        self.writes.lock().unwrap().push(buf[..accepted].to_vec());
        Poll::Ready(Ok(accepted))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
