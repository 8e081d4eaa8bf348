//! Support for the load tests (`churn`, `faults`, `sequence`): a seeded random generator so
//! that every mix is reproducible, and waiting on a condition with a deadline.

use std::time::{Duration, Instant};

/// The environment variable that replaces a test's fixed seed (to replay or vary a mix).
pub const SEED_VAR: &str = "ENGINEIO_TEST_SEED";

/// The seed of a test's random mix: `default`, or the value of `ENGINEIO_TEST_SEED` (decimal
/// or `0x` hex). Printed, so that a failing run can be replayed.
pub fn seed(test: &str, default: u64) -> u64 {
    let seed = std::env::var(SEED_VAR)
        .ok()
        .and_then(|v| match v.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => v.parse().ok(),
        })
        .unwrap_or(default);
    eprintln!("{test}: seed {seed:#x} (replay with {SEED_VAR}={seed:#x})");
    seed
}

/// xorshift64*: tiny, fast, and the same sequence for the same seed on every platform.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`, stream `stream` (one per worker or client, say); never stuck
    /// at zero.
    pub fn new(seed: u64, stream: u64) -> Self {
        // splitmix64 of the pair, so that nearby seeds and streams give unrelated sequences.
        let mut z = seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        Self(z | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// An index into `weights`, each chosen in proportion to its weight.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut roll = self.below(total as usize) as u32;
        for (i, &w) in weights.iter().enumerate() {
            if roll < w {
                return i;
            }
            roll -= w;
        }
        weights.len() - 1
    }
}

/// Checks `condition` every 10 ms until it holds (`true`) or `timeout` passes (`false`).
/// For states nothing notifies (a server's session count); waits on a condition, never for
/// a fixed time.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
