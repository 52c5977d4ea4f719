use std::ops::{ControlFlow, Range};
use std::str::FromStr;
use std::sync::Mutex;

use quantsweep_core::{EpochMetrics, Observer};
use quantsweep_features::Dataset;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Reduction, Tensor};

use crate::TrainError;
use crate::config::{Loss, ModelConfig, Optimizer, TrainConfig};
use crate::model::Model;

/// libtorch's CPU random generator is one per process: seeding it and drawing the initial
/// weights must happen as one step, or parallel trials would interleave their draws.
static INIT_LOCK: Mutex<()> = Mutex::new(());

/// Where a trial trains: `auto` (CUDA when available), `cpu`, `cuda` or `cuda:N`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DeviceRequest {
    /// The first CUDA device when libtorch sees one, else the CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// A CUDA device (index 0 when none is given).
    Cuda(usize),
}

impl FromStr for DeviceRequest {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda(0)),
            _ => {
                s.strip_prefix("cuda:").and_then(|i| i.parse().ok()).map(Self::Cuda).ok_or_else(
                    || format!("unknown device {s:?}: expected auto, cpu, cuda or cuda:N"),
                )
            }
        }
    }
}

impl DeviceRequest {
    /// The libtorch device this request means on this machine.
    pub fn resolve(self) -> Result<Device, TrainError> {
        match self {
            Self::Cpu => Ok(Device::Cpu),
            Self::Auto => Ok(Device::cuda_if_available()),
            Self::Cuda(i) => {
                let n = tch::Cuda::device_count() as usize;
                if i < n {
                    Ok(Device::Cuda(i))
                } else {
                    Err(TrainError::Device(format!(
                        "cuda:{i} requested but libtorch sees {n} CUDA device(s)"
                    )))
                }
            }
        }
    }
}

/// The name of a device as tables show it (`cpu`, `cuda:0`).
fn device_name(device: Device) -> String {
    match device {
        Device::Cuda(i) => format!("cuda:{i}"),
        _ => "cpu".into(),
    }
}

/// Sets libtorch's intra-op threads for the whole process. One thread per trial with trials
/// in parallel is faster than several threads per trial on small LSTMs (docs/architecture.md).
pub fn set_torch_threads(n: usize) {
    tch::set_num_threads(n.max(1) as i32);
}

/// A trained model, ready to predict.
#[derive(Debug)]
pub struct Fitted {
    // Owns the variables that `model` refers to.
    _vs: nn::VarStore,
    model: Model,
    device: Device,
    /// One entry per epoch trained.
    pub epochs: Vec<EpochMetrics>,
}

impl Fitted {
    /// Predictions for the samples of `data` in `range`, `[range.len(), n_targets]` row-major.
    pub fn predict(&self, data: &Dataset, range: Range<usize>) -> Result<Vec<f32>, TrainError> {
        let x = inputs(data, range, self.device)?;
        let pred = tch::no_grad(|| self.model.forward(&x)).to_device(Device::Cpu);
        Ok(Vec::<f32>::try_from(pred.flatten(0, -1))?)
    }

    /// The device the model lives on, as tables name it (`cpu`, `cuda:0`).
    pub fn device_name(&self) -> String {
        device_name(self.device)
    }
}

/// Trains `model` on the training span of `data`, reporting each epoch to `observer`.
///
/// The seed fixes the initial weights and the minibatch order: on the CPU with a fixed
/// number of torch threads, the same seed gives bit-identical losses and predictions.
pub fn fit(
    model_cfg: &ModelConfig,
    cfg: &TrainConfig,
    data: &Dataset,
    seed: u64,
    device: DeviceRequest,
    observer: &mut dyn Observer,
) -> Result<Fitted, TrainError> {
    validate(cfg)?;
    let device = device.resolve()?;
    let vs = nn::VarStore::new(device);
    let model = {
        let _guard = INIT_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        tch::manual_seed(seed as i64);
        model_cfg.init(&vs.root(), data.n_inputs(), data.n_targets)
    };
    let mut opt = match cfg.optimizer {
        Optimizer::Adam => nn::Adam::default().build(&vs, cfg.lr)?,
        Optimizer::Adamw => nn::AdamW::default().build(&vs, cfg.lr)?,
        Optimizer::Sgd => nn::Sgd::default().build(&vs, cfg.lr)?,
    };
    let x_train = inputs(data, data.train.clone(), device)?; // [n, seq, feat]
    let y_train = targets(data, data.train.clone(), device)?; // [n, targets]
    let val = if data.val.is_empty() {
        None
    } else {
        Some((inputs(data, data.val.clone(), device)?, targets(data, data.val.clone(), device)?))
    };
    let loss_fn = |pred: &Tensor, y: &Tensor| match cfg.loss {
        Loss::Mse => pred.mse_loss(y, Reduction::Mean),
        Loss::Mae => pred.l1_loss(y, Reduction::Mean),
    };

    let n = data.train.len();
    let batch = cfg.batch_size.unwrap_or(n).clamp(1, n);
    let mut rng = SplitMix64(seed);
    let mut epochs = Vec::with_capacity(cfg.epochs);
    for epoch in 0..cfg.epochs {
        let train_loss = if batch == n {
            let loss = loss_fn(&model.forward(&x_train), &y_train);
            opt.backward_step(&loss);
            loss.double_value(&[])
        } else {
            let order = Tensor::from_slice(&rng.permutation(n)).to_device(device);
            let mut total = 0.0;
            for start in (0..n).step_by(batch) {
                let len = batch.min(n - start) as i64;
                let idx = order.narrow(0, start as i64, len);
                let loss = loss_fn(
                    &model.forward(&x_train.index_select(0, &idx)),
                    &y_train.index_select(0, &idx),
                );
                opt.backward_step(&loss);
                total += loss.double_value(&[]) * len as f64;
            }
            total / n as f64
        };
        if !train_loss.is_finite() {
            return Err(TrainError::Diverged { epoch, epochs });
        }
        let mut metrics = EpochMetrics::new(train_loss);
        if let Some((x_val, y_val)) = &val {
            let loss = tch::no_grad(|| loss_fn(&model.forward(x_val), y_val));
            metrics.val_loss = Some(loss.double_value(&[]));
        }
        let flow = observer.on_epoch(epoch, &metrics);
        epochs.push(metrics);
        if let ControlFlow::Break(stop) = flow {
            return Err(TrainError::Stopped { stop, epochs });
        }
    }
    Ok(Fitted { _vs: vs, model, device, epochs })
}

fn validate(cfg: &TrainConfig) -> Result<(), TrainError> {
    let bad =
        |key: &str, message: String| Err(TrainError::InvalidConfig { key: key.into(), message });
    if cfg.epochs == 0 {
        return bad("train.epochs", "must be at least 1".into());
    }
    if !(cfg.lr.is_finite() && cfg.lr > 0.0) {
        return bad("train.lr", format!("must be a positive number, got {}", cfg.lr));
    }
    if cfg.batch_size == Some(0) {
        return bad("train.batch_size", "must be at least 1".into());
    }
    Ok(())
}

/// `[samples, seq, features]` on `device`.
fn inputs(data: &Dataset, range: Range<usize>, device: Device) -> Result<Tensor, TrainError> {
    let n = range.len() as i64;
    let x = Tensor::from_slice(data.x_slice(range)).to_kind(Kind::Float);
    Ok(x.f_view([n, data.input_bars as i64, data.n_inputs() as i64])?.to_device(device))
}

/// `[samples, targets]` on `device`.
fn targets(data: &Dataset, range: Range<usize>, device: Device) -> Result<Tensor, TrainError> {
    let n = range.len() as i64;
    let y = Tensor::from_slice(data.y_slice(range));
    Ok(y.f_view([n, data.n_targets as i64])?.to_device(device))
}

/// A small, fast, seedable generator for minibatch order (Steele, Lea & Flood 2014).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniformly shuffled `0..n` (Fisher–Yates).
    fn permutation(&mut self, n: usize) -> Vec<i64> {
        let mut v: Vec<i64> = (0..n as i64).collect();
        for i in (1..n).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_requests_parse() {
        assert_eq!("cpu".parse::<DeviceRequest>(), Ok(DeviceRequest::Cpu));
        assert_eq!("cuda:1".parse::<DeviceRequest>(), Ok(DeviceRequest::Cuda(1)));
        assert!("gpu".parse::<DeviceRequest>().is_err());
        assert_eq!(DeviceRequest::Cpu.resolve().map(device_name).ok().as_deref(), Some("cpu"));
    }

    #[test]
    fn permutation_is_a_seeded_shuffle() {
        let a = SplitMix64(7).permutation(50);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<i64>>());
        assert_eq!(a, SplitMix64(7).permutation(50));
        assert_ne!(a, SplitMix64(8).permutation(50));
    }
}
