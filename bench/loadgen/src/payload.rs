//! Message payloads that carry their sequence number.
//!
//! Every echo must come back whole and in order. Each payload starts with its sequence number
//! (16 hex digits, or the low digits when the payload is shorter), followed by a fixed filler;
//! the echo is checked against the payload expected next, byte for byte. Send times stay on
//! the client, in the queue of messages in flight, so no clock value travels through the server.

/// Hex digits of a full sequence number.
const SEQ_DIGITS: usize = 16;
/// Lowercase hex digits.
const HEX: &[u8; 16] = b"0123456789abcdef";

/// Builds and checks payloads of one size and kind.
#[derive(Clone, Debug)]
pub struct PayloadGen {
    /// The payload with its sequence-number slot still blank.
    template: Vec<u8>,
    /// How many leading bytes hold the sequence number.
    seq_len: usize,
}

impl PayloadGen {
    /// Payloads of `size` bytes: ASCII letters, or for `binary` bytes that are not UTF-8.
    pub fn new(size: usize, binary: bool) -> Self {
        let template = (0..size)
            .map(|i| {
                if binary {
                    // High bytes make the payload invalid UTF-8, so it really is binary.
                    0x80 | (i as u8).wrapping_mul(7)
                } else {
                    b'a' + (i % 26) as u8
                }
            })
            .collect();
        Self {
            template,
            seq_len: size.min(SEQ_DIGITS),
        }
    }

    /// The payload size in bytes.
    pub fn size(&self) -> usize {
        self.template.len()
    }

    /// Appends the payload of message `seq` to `out`.
    pub fn write(&self, seq: u64, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&self.template);
        write_seq(seq, &mut out[start..start + self.seq_len]);
    }

    /// The payload of message `seq`, as a new vector.
    pub fn make(&self, seq: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.template.len());
        self.write(seq, &mut out);
        out
    }

    /// Whether `data` is exactly the payload of message `seq`.
    pub fn matches(&self, seq: u64, data: &[u8]) -> bool {
        if data.len() != self.template.len() {
            return false;
        }
        let mut digits = [0u8; SEQ_DIGITS];
        let digits = &mut digits[..self.seq_len];
        write_seq(seq, digits);
        data[..self.seq_len] == *digits && data[self.seq_len..] == self.template[self.seq_len..]
    }
}

/// Writes the low `out.len()` hex digits of `seq` into `out`.
fn write_seq(mut seq: u64, out: &mut [u8]) {
    for slot in out.iter_mut().rev() {
        *slot = HEX[(seq & 0xf) as usize];
        seq >>= 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_carry_their_sequence_number() {
        let gen = PayloadGen::new(32, false);
        let p = gen.make(0x1234);
        assert_eq!(p.len(), 32);
        assert_eq!(&p[..16], b"0000000000001234");
        assert!(p.is_ascii());
        assert!(gen.matches(0x1234, &p));
        assert!(!gen.matches(0x1235, &p));
        assert!(!gen.matches(0x1234, &p[..31]));
        let mut tampered = p.clone();
        tampered[20] ^= 1;
        assert!(!gen.matches(0x1234, &tampered));
    }

    #[test]
    fn short_and_binary_payloads() {
        let gen = PayloadGen::new(3, false);
        assert_eq!(gen.make(0xabcd), b"bcd");
        assert!(gen.matches(0xabcd, b"bcd"));
        let empty = PayloadGen::new(0, true);
        assert!(empty.make(5).is_empty());
        assert!(empty.matches(5, b""));
        let bin = PayloadGen::new(40, true);
        let p = bin.make(7);
        assert!(std::str::from_utf8(&p).is_err());
        assert!(bin.matches(7, &p));
    }
}
