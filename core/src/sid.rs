//! Session ids: 20 URL-safe characters drawn from a seeded ChaCha20 CSPRNG.
//!
//! The generator is seeded by the caller (the runtimes seed it from the operating system, tests
//! with a constant), so the core reads no global randomness, yet ids are unguessable: 15 random
//! bytes (120 bits) per id, never a counter.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

/// Length of a server session id in characters.
pub const SID_LEN: usize = 20;

/// A server session id: 20 characters of the URL-safe base64 alphabet.
///
/// `Sid` is `Copy` and compares in constant size; clients must treat it as opaque text.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sid([u8; SID_LEN]);

impl std::hash::Hash for Sid {
    /// Hashes the first 16 characters (96 random bits) as two words: equal ids hash alike, and
    /// the sessions map is looked up several times per message, where hashing 20 bytes with
    /// a length prefix cost several times more.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let [head, tail] = [&self.0[..8], &self.0[8..16]]
            .map(|word| u64::from_le_bytes(word.try_into().unwrap_or_default()));
        state.write_u64(head);
        state.write_u64(tail);
    }
}

impl Sid {
    /// Parses a `sid` query value; anything that is not 20 URL-safe characters is no session.
    pub fn parse(value: &str) -> Option<Self> {
        let bytes: [u8; SID_LEN] = value.as_bytes().try_into().ok()?;
        bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
            .then_some(Self(bytes))
    }

    /// Returns the id as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("a Sid is always ASCII")
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sid({})", self.as_str())
    }
}

/// Draws session ids from a ChaCha20 stream seeded by the caller.
pub(crate) struct SidGenerator {
    rng: ChaCha20Rng,
}

impl SidGenerator {
    pub(crate) fn new(seed: [u8; 32]) -> Self {
        Self {
            rng: ChaCha20Rng::from_seed(seed),
        }
    }

    pub(crate) fn next_sid(&mut self) -> Sid {
        let mut raw = [0u8; 15];
        self.rng.fill_bytes(&mut raw);
        let mut text = [0u8; SID_LEN];
        let written = URL_SAFE_NO_PAD
            .encode_slice(raw, &mut text)
            .expect("15 bytes encode to exactly 20 characters");
        debug_assert_eq!(written, SID_LEN);
        Sid(text)
    }
}

impl fmt::Debug for SidGenerator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SidGenerator { .. }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_urlsafe_and_parse_back() {
        let mut generator = SidGenerator::new([7; 32]);
        let a = generator.next_sid();
        let b = generator.next_sid();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), SID_LEN);
        assert_eq!(Sid::parse(a.as_str()), Some(a));
        assert_eq!(Sid::parse("short"), None);
        assert_eq!(
            Sid::parse("__proto__constructor"),
            Some(Sid(*b"__proto__constructor"))
        );
        assert_eq!(Sid::parse("aaaaaaaaaaaaaaaaaaa="), None);
        assert_eq!(Sid::parse("éééééééééé"), None);
    }

    #[test]
    fn seeds_decide_the_sequence() {
        let mut first = SidGenerator::new([1; 32]);
        let mut second = SidGenerator::new([1; 32]);
        let mut other = SidGenerator::new([2; 32]);
        let a = first.next_sid();
        assert_eq!(a, second.next_sid());
        assert_ne!(a, other.next_sid());
    }
}
