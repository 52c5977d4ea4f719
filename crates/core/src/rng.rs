//! SplitMix64 (Steele, Lea & Flood 2014): a small, fast, seedable generator, the same on
//! every platform. Trials draw their minibatch order and dropout masks from it, samplers their
//! points, splits their permutations.

/// The generator's state; `SplitMix64(seed)` starts a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Shuffles `v` uniformly (Fisher–Yates, from the end).
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffles_are_seeded_permutations() {
        let mut a: Vec<i64> = (0..50).collect();
        SplitMix64(7).shuffle(&mut a);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<i64>>());
        let mut b: Vec<i64> = (0..50).collect();
        SplitMix64(7).shuffle(&mut b);
        assert_eq!(a, b);
        let mut c: Vec<i64> = (0..50).collect();
        SplitMix64(8).shuffle(&mut c);
        assert_ne!(a, c);
        // The reference sequence of SplitMix64 seeded with 0.
        assert_eq!(SplitMix64(0).next_u64(), 0xE220_A839_7B1D_CDAF);
    }
}
