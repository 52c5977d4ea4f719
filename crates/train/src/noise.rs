//! The trial's own random numbers for minibatch order and dropout masks.
//!
//! libtorch's CPU generator is one per process: trials training in parallel on worker
//! threads would interleave their draws from it, and the same seed would no longer give the
//! same model. Dropout therefore draws its masks here, from a generator each trial owns.

use tch::Tensor;

/// A small, fast, seedable generator (SplitMix64: Steele, Lea & Flood 2014).
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniformly shuffled `0..n` (Fisher–Yates).
    pub fn permutation(&mut self, n: usize) -> Vec<i64> {
        let mut v: Vec<i64> = (0..n as i64).collect();
        for i in (1..n).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
        v
    }

    /// 1.0 with probability `1 - p`, else 0.0, shaped like `like`.
    fn keep_mask(&mut self, like: &Tensor, p: f64) -> Tensor {
        let n = like.numel();
        let keep: Vec<f32> = (0..n).map(|_| f32::from(u8::from(self.uniform() >= p))).collect();
        Tensor::from_slice(&keep)
            .view(like.size().as_slice())
            .to_kind(like.kind())
            .to_device(like.device())
    }
}

/// Whether a forward pass trains (dropout on, batch statistics) or evaluates.
pub enum Mode<'a> {
    /// Training: dropout masks from the trial's generator.
    Train(&'a mut SplitMix64),
    /// Evaluation: dropout off, BatchNorm with its running statistics.
    Eval,
}

impl Mode<'_> {
    pub fn train(&self) -> bool {
        matches!(self, Mode::Train(_))
    }

    /// Inverted dropout, as `torch.nn.Dropout`: zeroes with probability `p`, scales the rest
    /// by `1 / (1 - p)`.
    pub fn dropout(&mut self, x: &Tensor, p: f64) -> Tensor {
        match self {
            Mode::Train(rng) if p > 0.0 => {
                if p >= 1.0 {
                    return x.zeros_like();
                }
                x * rng.keep_mask(x, p) / (1.0 - p)
            }
            _ => x.shallow_clone(),
        }
    }

    /// Alpha dropout, as `torch.nn.AlphaDropout` (ATen's formula): dropped units take SELU's
    /// negative saturation value and an affine map keeps mean and variance.
    pub fn alpha_dropout(&mut self, x: &Tensor, p: f64) -> Tensor {
        match self {
            Mode::Train(rng) if p > 0.0 => {
                if p >= 1.0 {
                    return x.zeros_like();
                }
                const ALPHA: f64 = 1.758_099_340_847_376_6;
                let a = 1.0 / ((ALPHA * ALPHA * p + 1.0) * (1.0 - p)).sqrt();
                let keep = rng.keep_mask(x, p);
                let b = (&keep - 1.0) * (ALPHA * a) + ALPHA * a * p;
                x * (keep * a) + b
            }
            _ => x.shallow_clone(),
        }
    }
}

/// Seeds for the two uses of a trial's seed, so that changing the batch size does not change
/// the dropout masks' stream and vice versa.
pub(crate) fn streams(seed: u64) -> (SplitMix64, SplitMix64) {
    (SplitMix64(seed), SplitMix64(seed ^ 0xD1B5_4A32_D192_ED03))
}

#[cfg(test)]
mod tests {
    use tch::Kind;

    use super::*;

    #[test]
    fn permutation_is_a_seeded_shuffle() {
        let a = SplitMix64(7).permutation(50);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<i64>>());
        assert_eq!(a, SplitMix64(7).permutation(50));
        assert_ne!(a, SplitMix64(8).permutation(50));
    }

    /// Dropout keeps about 1 - p of the units, scaled so that the mean is kept; alpha dropout
    /// keeps mean 0 and variance 1 of a standard normal input, as PyTorch's does.
    #[test]
    fn dropouts_keep_their_moments_and_are_off_in_evaluation() {
        let x = Tensor::ones([200, 500], (Kind::Float, tch::Device::Cpu));
        let mut rng = SplitMix64(3);
        let d = Mode::Train(&mut rng).dropout(&x, 0.3);
        let kept = d.ne(0.0).to_kind(Kind::Double).mean(Kind::Double).double_value(&[]);
        assert!((kept - 0.7).abs() < 0.01, "{kept}");
        let mean = d.mean(Kind::Double).double_value(&[]);
        assert!((mean - 1.0).abs() < 0.02, "{mean}");
        assert!(Mode::Eval.dropout(&x, 0.3).equal(&x));

        tch::manual_seed(1);
        let z = Tensor::randn([400, 500], (Kind::Float, tch::Device::Cpu));
        let a = Mode::Train(&mut rng).alpha_dropout(&z, 0.5);
        let (m, v) = (a.mean(Kind::Double).double_value(&[]), a.var(true).double_value(&[]));
        assert!(m.abs() < 0.02 && (v - 1.0).abs() < 0.03, "mean {m} variance {v}");
        assert!(Mode::Eval.alpha_dropout(&z, 0.5).equal(&z));
    }
}
