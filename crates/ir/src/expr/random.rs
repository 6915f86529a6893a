//! Reproducible randomness for the expression languages: every "random" value is a function
//! of a seed the caller supplies and of how many values were drawn before it, so replaying an
//! execution draws the same values. Not for secrets.

use std::cell::Cell;

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The `n`-th (from 0) pseudo-random 64-bit value of the stream seeded with `seed`
/// (splitmix64 over the seed and the draw counter).
pub(super) fn draw(seed: u64, n: u64) -> u64 {
    splitmix64(seed.wrapping_add(n.wrapping_add(1).wrapping_mul(GOLDEN_GAMMA)))
}

/// The output function of splitmix64: a bijective mix with good avalanche, enough for
/// reproducible (not secure) random values.
fn splitmix64(state: u64) -> u64 {
    let mut z = state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A stream of draws from one seed. The engine hands one to each evaluation (seeded per
/// execution and step), so `States.MathRandom`, `States.UUID`, `$random()` and `$uuid()` are
/// reproducible.
#[derive(Debug)]
pub struct Entropy {
    seed: u64,
    drawn: Cell<u64>,
}

impl Entropy {
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            drawn: Cell::new(0),
        }
    }

    /// The next value of the stream.
    pub fn next_u64(&self) -> u64 {
        let n = self.drawn.get();
        self.drawn.set(n.wrapping_add(1));
        draw(self.seed, n)
    }
}

/// Maps a 64-bit draw into `[min, max)` by widening multiplication: no modulo bias worth the
/// name, and no overflow since the span is at most 2^64. `max` must exceed `min`.
pub(super) fn in_range(draw: u64, min: i64, max: i64) -> i64 {
    let span = (i128::from(max) - i128::from(min)) as u128;
    let offset = (u128::from(draw) * span) >> 64;
    // The offset is below the span, so the sum lies in [min, max) and fits an i64.
    (i128::from(min) + offset as i128) as i64
}

/// A draw as a float in `[0, 1)`: the top 53 bits, the precision of an f64.
pub(super) fn unit_interval(draw: u64) -> f64 {
    (draw >> 11) as f64 / (1u64 << 53) as f64
}

/// A version-4-format UUID (hyphenated, lowercase) made of two draws.
pub(super) fn uuid_v4(high: u64, low: u64) -> String {
    let mut bytes = [0u8; 16];
    let (first, second) = bytes.split_at_mut(8);
    first.copy_from_slice(&high.to_le_bytes());
    second.copy_from_slice(&low.to_le_bytes());
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_is_reproducible_and_seeds_differ() {
        let (a, b, c) = (Entropy::new(7), Entropy::new(7), Entropy::new(8));
        let first = a.next_u64();
        assert_eq!(first, b.next_u64());
        assert_ne!(first, a.next_u64());
        assert_ne!(first, c.next_u64());
        assert_eq!(draw(7, 0), first);
    }

    #[test]
    fn ranges_hold_their_bounds() {
        for n in 0..500 {
            let v = in_range(draw(1, n), -3, 4);
            assert!((-3..4).contains(&v), "{v}");
        }
        assert_eq!(in_range(u64::MAX, i64::MIN, i64::MAX), i64::MAX - 1);
        assert_eq!(in_range(0, i64::MIN, i64::MAX), i64::MIN);
        for n in 0..500 {
            let f = unit_interval(draw(2, n));
            assert!((0.0..1.0).contains(&f), "{f}");
        }
        assert!(unit_interval(u64::MAX) < 1.0);
    }

    #[test]
    fn uuids_are_version_4() {
        let text = uuid_v4(draw(3, 0), draw(3, 1));
        let parsed = uuid::Uuid::parse_str(&text).map(|u| u.get_version_num());
        assert_eq!(parsed.ok(), Some(4));
        assert_eq!(text.len(), 36);
    }
}
