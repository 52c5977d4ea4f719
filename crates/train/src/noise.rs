//! The trial's own random numbers for minibatch order and dropout masks.
//!
//! libtorch's CPU generator is one per process: trials training in parallel on worker
//! threads would interleave their draws from it, and the same seed would no longer give the
//! same model. Dropout therefore draws its masks here, from a generator each trial owns.

use quantsweep_core::SplitMix64;
use tch::Tensor;

/// 1.0 with probability `1 - p`, else 0.0, shaped like `like`, from the trial's generator.
fn keep_mask(rng: &mut SplitMix64, like: &Tensor, p: f64) -> Tensor {
    let n = like.numel();
    let keep: Vec<f32> = (0..n).map(|_| f32::from(u8::from(rng.uniform() >= p))).collect();
    Tensor::from_slice(&keep)
        .view(like.size().as_slice())
        .to_kind(like.kind())
        .to_device(like.device())
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
                x * keep_mask(rng, x, p) / (1.0 - p)
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
                let keep = keep_mask(rng, x, p);
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
