//! Buffered reading of HTTP/1.1 messages: the head through `httparse`, the body by its
//! framing (`Content-Length`, `Transfer-Encoding: chunked` through `httparse::parse_chunk_size`,
//! or until the connection closes).
//!
//! Used by the server for requests and by the client for polling responses. Nothing here
//! parses HTTP by hand: `httparse` finds the head, the request line, the headers and chunk
//! sizes; this module only keeps the buffer, the limits and the deadlines.

use std::io::{self, Read};
use std::time::Instant;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::HeaderMap;

use crate::conn::Conn;

/// The most bytes kept in one body chunk handed on.
pub(crate) const CHUNK: usize = 16 * 1024;
/// The most bytes of chunk-size lines and trailers accepted in one chunked body.
const MAX_CHUNK_OVERHEAD: usize = 16 * 1024;

/// Why a head could not be read.
#[derive(Debug)]
pub(crate) enum HeadError {
    /// The connection closed cleanly before any byte of a new head.
    Closed,
    /// The deadline passed first.
    Timeout,
    /// The head is larger than allowed, or has too many headers (431).
    TooLarge,
    /// The bytes are not HTTP/1.x (400).
    Malformed,
    /// The connection failed.
    Io(io::Error),
}

/// How a message body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body.
    Empty,
    /// Exactly this many bytes remain.
    Length(u64),
    /// Chunked; the state of the decoder.
    Chunked(ChunkState),
    /// Until the connection closes (responses only).
    UntilClose,
}

/// Where a chunked decoder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChunkState {
    /// Expecting a chunk-size line.
    Size,
    /// Inside a chunk, with this many bytes left.
    Data(u64),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: trailer lines until an empty one.
    Trailers,
}

/// The framing from the headers: `None` when they contradict each other or are invalid
/// (both `Transfer-Encoding` and `Content-Length`, a non-chunked transfer coding, a bad length).
pub(crate) fn framing(headers: &HeaderMap, default: Framing) -> Option<Framing> {
    let chunked = match headers.get(TRANSFER_ENCODING) {
        None => false,
        Some(value) => {
            let value = value.to_str().ok()?;
            // Only `chunked` (last, and alone) is understood.
            if !value.trim().eq_ignore_ascii_case("chunked") {
                return None;
            }
            true
        }
    };
    let mut lengths = headers.get_all(CONTENT_LENGTH).iter();
    let length = match lengths.next() {
        None => None,
        Some(value) => {
            let parsed: u64 = value.to_str().ok()?.trim().parse().ok()?;
            if lengths.any(|other| other != value) {
                return None;
            }
            Some(parsed)
        }
    };
    match (chunked, length) {
        (true, Some(_)) => None,
        (true, None) => Some(Framing::Chunked(ChunkState::Size)),
        (false, Some(0)) => Some(Framing::Empty),
        (false, Some(length)) => Some(Framing::Length(length)),
        (false, None) => Some(default),
    }
}

/// Copies `httparse` headers into a `HeaderMap`; `None` if a name or value is invalid.
pub(crate) fn header_map(headers: &[httparse::Header<'_>]) -> Option<HeaderMap> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for header in headers {
        let name = HeaderName::from_bytes(header.name.as_bytes()).ok()?;
        let value = HeaderValue::from_bytes(header.value).ok()?;
        map.append(name, value);
    }
    Some(map)
}

/// A connection's read side with its buffer of bytes read ahead.
#[derive(Debug)]
pub(crate) struct Input {
    pub(crate) conn: Conn,
    buf: Vec<u8>,
    pos: usize,
}

impl Input {
    pub(crate) fn new(conn: Conn) -> Self {
        Self {
            conn,
            buf: Vec::new(),
            pos: 0,
        }
    }

    /// The bytes read ahead and not consumed.
    pub(crate) fn buffered(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Takes the bytes read ahead (for a WebSocket taking over the connection).
    pub(crate) fn take_buffered(&mut self) -> Vec<u8> {
        let rest = self.buf.split_off(self.pos);
        self.buf.clear();
        self.pos = 0;
        rest
    }

    fn consume(&mut self, count: usize) {
        self.pos += count;
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
    }

    /// Reads more bytes, waiting until `deadline` at most (`None`: the socket's own timeout).
    /// Returns 0 at the end of the stream.
    fn fill(&mut self, deadline: Option<Instant>) -> io::Result<usize> {
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            self.conn.set_read_timeout(Some(left));
        }
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        let start = self.buf.len();
        self.buf.resize(start + 4096, 0);
        let read = self.conn.read(&mut self.buf[start..]);
        let read = match read {
            Ok(read) => read,
            Err(error) => {
                self.buf.truncate(start);
                return Err(match error.kind() {
                    io::ErrorKind::WouldBlock => io::ErrorKind::TimedOut.into(),
                    _ => error,
                });
            }
        };
        self.buf.truncate(start + read);
        Ok(read)
    }

    /// Waits until at least one byte is buffered; false at a clean end of stream or when
    /// `deadline` passes.
    pub(crate) fn wait_readable(&mut self, deadline: Instant) -> bool {
        if !self.buffered().is_empty() {
            return true;
        }
        matches!(self.fill(Some(deadline)), Ok(read) if read > 0)
    }

    /// Reads one head: parses it with `parse` (a `httparse` request or response) until it is
    /// complete, within `max_bytes` and `deadline`. `parse` returns the head's length and
    /// what it extracted, or `None` while incomplete.
    pub(crate) fn read_head<T>(
        &mut self,
        deadline: Instant,
        max_bytes: usize,
        mut parse: impl FnMut(&[u8]) -> Result<Option<(usize, T)>, HeadError>,
    ) -> Result<T, HeadError> {
        loop {
            if !self.buffered().is_empty() {
                if let Some((length, head)) = parse(self.buffered())? {
                    self.consume(length);
                    return Ok(head);
                }
                if self.buffered().len() >= max_bytes {
                    return Err(HeadError::TooLarge);
                }
            }
            match self.fill(Some(deadline)) {
                Ok(0) if self.buffered().is_empty() => return Err(HeadError::Closed),
                Ok(0) => return Err(HeadError::Malformed),
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::TimedOut => {
                    return Err(HeadError::Timeout)
                }
                Err(error) => return Err(HeadError::Io(error)),
            }
        }
    }

    /// The next piece of a body (at most [`CHUNK`] bytes), `None` at its end. Each read waits
    /// until `deadline` at most (`None`: the socket's timeout).
    pub(crate) fn next_chunk(
        &mut self,
        framing: &mut Framing,
        overhead: &mut usize,
        deadline: Option<Instant>,
    ) -> io::Result<Option<Bytes>> {
        loop {
            match *framing {
                Framing::Empty => return Ok(None),
                Framing::Length(0) => {
                    *framing = Framing::Empty;
                    return Ok(None);
                }
                Framing::Length(left) => {
                    let data = self.take_data(left, deadline)?;
                    *framing = Framing::Length(left - data.len() as u64);
                    return Ok(Some(data));
                }
                Framing::UntilClose => {
                    if self.buffered().is_empty() && self.fill(deadline)? == 0 {
                        *framing = Framing::Empty;
                        return Ok(None);
                    }
                    let data = self.take(self.buffered().len().min(CHUNK));
                    return Ok(Some(data));
                }
                Framing::Chunked(state) => {
                    if let Some(data) = self.chunked(framing, state, overhead, deadline)? {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }

    /// One step of the chunked decoder; data when a step yields some.
    fn chunked(
        &mut self,
        framing: &mut Framing,
        state: ChunkState,
        overhead: &mut usize,
        deadline: Option<Instant>,
    ) -> io::Result<Option<Bytes>> {
        let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
        match state {
            ChunkState::Size => match httparse::parse_chunk_size(self.buffered()) {
                Ok(httparse::Status::Complete((used, size))) => {
                    self.count_overhead(overhead, used)?;
                    self.consume(used);
                    *framing = Framing::Chunked(if size == 0 {
                        ChunkState::Trailers
                    } else {
                        ChunkState::Data(size)
                    });
                }
                Ok(httparse::Status::Partial) => self.fill_more(deadline, overhead)?,
                Err(_) => return Err(invalid("invalid chunk size")),
            },
            ChunkState::Data(left) => {
                let data = self.take_data(left, deadline)?;
                let left = left - data.len() as u64;
                *framing = Framing::Chunked(if left == 0 {
                    ChunkState::DataEnd
                } else {
                    ChunkState::Data(left)
                });
                return Ok(Some(data));
            }
            ChunkState::DataEnd => {
                if self.buffered().len() < 2 {
                    self.fill_more(deadline, overhead)?;
                } else if self.buffered().starts_with(b"\r\n") {
                    self.count_overhead(overhead, 2)?;
                    self.consume(2);
                    *framing = Framing::Chunked(ChunkState::Size);
                } else {
                    return Err(invalid("missing CRLF after chunk"));
                }
            }
            ChunkState::Trailers => match self.buffered().windows(2).position(|w| w == b"\r\n") {
                Some(0) => {
                    self.count_overhead(overhead, 2)?;
                    self.consume(2);
                    *framing = Framing::Empty;
                }
                Some(end) => {
                    self.count_overhead(overhead, end + 2)?;
                    self.consume(end + 2);
                }
                None => self.fill_more(deadline, overhead)?,
            },
        }
        Ok(None)
    }

    fn count_overhead(&self, overhead: &mut usize, bytes: usize) -> io::Result<()> {
        *overhead += bytes;
        if *overhead > MAX_CHUNK_OVERHEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "chunked framing too large",
            ));
        }
        Ok(())
    }

    fn fill_more(&mut self, deadline: Option<Instant>, overhead: &mut usize) -> io::Result<()> {
        if self.buffered().len() > MAX_CHUNK_OVERHEAD.saturating_sub(*overhead) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "chunked framing too large",
            ));
        }
        match self.fill(deadline)? {
            0 => Err(io::ErrorKind::UnexpectedEof.into()),
            _ => Ok(()),
        }
    }

    /// Up to `left` (and [`CHUNK`]) bytes of data, reading if nothing is buffered.
    fn take_data(&mut self, left: u64, deadline: Option<Instant>) -> io::Result<Bytes> {
        if self.buffered().is_empty() && self.fill(deadline)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let wanted = usize::try_from(left).unwrap_or(usize::MAX).min(CHUNK);
        Ok(self.take(self.buffered().len().min(wanted)))
    }

    fn take(&mut self, count: usize) -> Bytes {
        let data = Bytes::copy_from_slice(&self.buffered()[..count]);
        self.consume(count);
        data
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    use super::*;

    /// An `Input` reading what `bytes` wrote on the other end of a loopback connection.
    fn input_of(bytes: &'static [u8]) -> Input {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut writer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (reader, _) = listener.accept().unwrap();
        std::thread::spawn(move || {
            // Byte by byte, so that every state of the decoder meets a partial buffer.
            for byte in bytes {
                let _ = writer.write_all(std::slice::from_ref(byte));
            }
        });
        Input::new(Conn::plain(reader))
    }

    fn read_all(input: &mut Input, mut framing: Framing) -> io::Result<Vec<u8>> {
        let deadline = Some(Instant::now() + Duration::from_secs(5));
        let mut body = Vec::new();
        let mut overhead = 0;
        while let Some(chunk) = input.next_chunk(&mut framing, &mut overhead, deadline)? {
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    #[test]
    fn decodes_chunked_bodies_with_extensions_and_trailers() {
        let mut input =
            input_of(b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: y\r\n\r\nNEXT");
        let body = read_all(&mut input, Framing::Chunked(ChunkState::Size)).unwrap();
        assert_eq!(body, b"hello world");
        let deadline = Instant::now() + Duration::from_secs(5);
        while input.buffered().len() < 4 && input.wait_readable(deadline) {
            if input.fill(Some(deadline)).unwrap() == 0 {
                break;
            }
        }
        assert_eq!(input.buffered(), b"NEXT", "the next message is left alone");
    }

    #[test]
    fn refuses_broken_chunked_framing() {
        let mut input = input_of(b"zz\r\nhello\r\n");
        assert!(read_all(&mut input, Framing::Chunked(ChunkState::Size)).is_err());
        let mut input = input_of(b"5\r\nhelloXX0\r\n\r\n");
        assert!(read_all(&mut input, Framing::Chunked(ChunkState::Size)).is_err());
    }

    #[test]
    fn reads_lengths_and_heads() {
        let mut input = input_of(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
        let deadline = Instant::now() + Duration::from_secs(5);
        let length = input
            .read_head(deadline, 1024, |bytes| {
                let mut headers = [httparse::EMPTY_HEADER; 8];
                let mut response = httparse::Response::new(&mut headers);
                match response.parse(bytes) {
                    Ok(httparse::Status::Complete(used)) => {
                        let map = header_map(response.headers).unwrap();
                        Ok(Some((used, framing(&map, Framing::UntilClose).unwrap())))
                    }
                    Ok(httparse::Status::Partial) => Ok(None),
                    Err(_) => Err(HeadError::Malformed),
                }
            })
            .unwrap();
        assert_eq!(length, Framing::Length(3));
        assert_eq!(read_all(&mut input, length).unwrap(), b"abc");
    }

    #[test]
    fn framing_rules() {
        let mut headers = HeaderMap::new();
        assert_eq!(framing(&headers, Framing::Empty), Some(Framing::Empty));
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("12"));
        assert_eq!(framing(&headers, Framing::Empty), Some(Framing::Length(12)));
        headers.insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        assert_eq!(framing(&headers, Framing::Empty), None, "both is smuggling");
        headers.remove(CONTENT_LENGTH);
        assert_eq!(
            framing(&headers, Framing::Empty),
            Some(Framing::Chunked(ChunkState::Size))
        );
        headers.insert(TRANSFER_ENCODING, HeaderValue::from_static("gzip, chunked"));
        assert_eq!(framing(&headers, Framing::Empty), None);
    }
}
