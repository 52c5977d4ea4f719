use std::ops::{ControlFlow, Range};
use std::path::Path;
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use quantsweep_core::{EpochMetrics, Observer};
use quantsweep_features::Dataset;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Reduction, Tensor};

use crate::TrainError;
use crate::config::{Head, Loss, ModelConfig, Optimizer, OptimizerDefaults, TrainConfig};
use crate::layers::{DenseActivation, Ends, Layer, Shape, check_stack};
use crate::model::Model;
use crate::noise::{self, Mode};

/// libtorch's CPU random generator is one per process: seeding it and drawing the initial
/// weights must happen as one step, or parallel trials would interleave their draws.
static INIT_LOCK: Mutex<()> = Mutex::new(());

/// Where a trial trains: `auto` (CUDA when available), `cpu`, `cuda` or `cuda:N`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DeviceRequest {
    /// A CUDA device when libtorch sees one (spread over workers by
    /// [`DeviceRequest::for_worker`]), else the CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// Some CUDA device (`cuda`): spread over workers by [`DeviceRequest::for_worker`], the
    /// first one otherwise.
    AnyCuda,
    /// This CUDA device (`cuda:N`).
    Cuda(usize),
}

impl FromStr for DeviceRequest {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::AnyCuda),
            _ => {
                s.strip_prefix("cuda:").and_then(|i| i.parse().ok()).map(Self::Cuda).ok_or_else(
                    || format!("unknown device {s:?}: expected auto, cpu, cuda or cuda:N"),
                )
            }
        }
    }
}

impl DeviceRequest {
    /// The device of the worker in `slot` (its index among the workers of this host): with
    /// `auto` or `cuda`, worker `w` of `n` visible GPUs uses `cuda:(w mod n)`; `auto` without
    /// a GPU is the CPU; `cpu` and `cuda:N` stay as they are.
    pub fn for_worker(self, slot: usize) -> DeviceRequest {
        let gpus = match self {
            Self::Auto | Self::AnyCuda => tch::Cuda::device_count().max(0) as usize,
            _ => return self,
        };
        match (self, gpus) {
            (Self::Auto, 0) => Self::Cpu,
            (_, 0) => Self::Cuda(0),
            (_, n) => Self::Cuda(slot % n),
        }
    }

    /// The libtorch device this request means on this machine.
    pub fn resolve(self) -> Result<Device, TrainError> {
        match self {
            Self::Cpu => Ok(Device::Cpu),
            Self::Auto => Ok(Device::cuda_if_available()),
            Self::AnyCuda => Self::Cuda(0).resolve(),
            Self::Cuda(i) => {
                let n = tch::Cuda::device_count() as usize;
                if i < n {
                    Ok(Device::Cuda(i))
                } else {
                    Err(TrainError::Device(format!(
                        "cuda:{i} requested but libtorch sees {n} CUDA device(s) (--device cpu, \
                         or auto for a GPU where there is one)"
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

/// The intra-op thread count every training and prediction call applies on its own thread
/// (0: not set, which means 1).
static TORCH_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Sets libtorch's intra-op threads for every trial of the process. One thread per trial with
/// trials in parallel is faster than several threads per trial on small LSTMs
/// (docs/architecture.md). Default: 1.
///
/// libtorch's count is per thread (OpenMP's and MKL's settings belong to the calling thread),
/// so [`fit`] and [`Fitted::predict`] apply it again on the thread they run
/// on: a trial's numbers then never depend on which thread runs it or what ran there before
/// (issue #23; docs/architecture.md, "History-independent trials").
pub fn set_torch_threads(n: usize) {
    TORCH_THREADS.store(n.max(1), Ordering::Relaxed);
    pin_torch_threads();
}

/// Applies the process's intra-op thread count on the calling thread. A thread that never
/// ran ATen's parallel code runs OpenMP (MKL's GEMM inside the LSTM) on every core until
/// ATen's first `parallel_for` sets the count lazily: a trial that was the first on its
/// thread summed its products in another order than the same trial run later.
fn pin_torch_threads() {
    thread_local! {
        /// Whether MKL has run on this thread.
        static MKL_STARTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if !MKL_STARTED.replace(true) {
        // MKL ignores a thread count set on a thread before its first call there: measured
        // (MKL_VERBOSE), the first LAPACK call of a thread (the QR of an orthogonal
        // initialiser) ran on every core despite an earlier `set_num_threads(1)`, and every
        // later one on one. So MKL runs once here, on a throwaway 2×2 QR, before the count.
        let _ = Tensor::linalg_qr(&Tensor::eye(2, (Kind::Float, Device::Cpu)), "reduced");
    }
    let n = TORCH_THREADS.load(Ordering::Relaxed).max(1);
    tch::set_num_threads(n as i32);
}

/// A trained model, ready to predict.
#[derive(Debug)]
pub struct Fitted {
    vs: nn::VarStore,
    model: Model,
    device: Device,
    /// One entry per epoch trained.
    pub epochs: Vec<EpochMetrics>,
    /// The epoch whose weights the model has, when early stopping restored the best ones.
    pub best_epoch: Option<usize>,
}

impl Fitted {
    /// Predictions for the samples of `data` in `range`, `[range.len(), n_targets]` row-major.
    pub fn predict(&self, data: &Dataset, range: Range<usize>) -> Result<Vec<f32>, TrainError> {
        pin_torch_threads();
        let x = inputs(data, range, self.device)?;
        let pred = guarded(|| tch::no_grad(|| self.model.forward(&x)).to_device(Device::Cpu))?;
        Ok(Vec::<f32>::try_from(pred.flatten(0, -1))?)
    }

    /// The epoch whose weights the model has: the best one when early stopping restored it,
    /// else the last.
    pub fn final_epoch(&self) -> Option<&EpochMetrics> {
        self.best_epoch.map_or(self.epochs.last(), |e| self.epochs.get(e))
    }

    /// The device the model lives on, as tables name it (`cpu`, `cuda:0`).
    pub fn device_name(&self) -> String {
        device_name(self.device)
    }

    /// Writes the weights (BatchNorm statistics included) as safetensors, named as in the
    /// seeds' PyTorch modules.
    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        Ok(self.vs.save(path)?)
    }

    /// A model saved by [`Fitted::save`], for the same configuration and data shape.
    pub fn load(
        model_cfg: &ModelConfig,
        path: &Path,
        input_bars: usize,
        n_inputs: usize,
        n_outputs: usize,
        device: DeviceRequest,
    ) -> Result<Fitted, TrainError> {
        let device = device.resolve()?;
        let mut vs = nn::VarStore::new(device);
        let model = model_cfg.init(&vs.root(), input_bars, n_inputs, n_outputs);
        vs.load(path)?;
        Ok(Fitted { vs, model, device, epochs: Vec::new(), best_epoch: None })
    }
}

/// Runs `f`, turning a libtorch panic (tch panics on C++ errors: CUDA out of memory, a shape
/// mismatch) into an error that fails the trial, not the process.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, TrainError> {
    quantsweep_core::contain::contain(f)
        .map_err(|message| TrainError::Libtorch(crate::error::torch_message(&message)))
}

/// Trains `model` on the training span of `data`, reporting each epoch to `observer`.
///
/// The seed fixes the initial weights, the minibatch order and the dropout masks: on the CPU
/// with a fixed number of torch threads, the same seed gives bit-identical losses and
/// predictions, whatever other trials run beside it.
pub fn fit(
    model_cfg: &ModelConfig,
    cfg: &TrainConfig,
    data: &Dataset,
    seed: u64,
    device: DeviceRequest,
    observer: &mut dyn Observer,
) -> Result<Fitted, TrainError> {
    validate_config(model_cfg, cfg)?;
    validate_shapes(model_cfg, cfg, data.input_bars, Some(data.n_inputs()), data.n_targets)?;
    pin_torch_threads();
    let device = device.resolve()?;
    guarded(|| train(model_cfg, cfg, data, seed, device, observer))?
}

fn train(
    model_cfg: &ModelConfig,
    cfg: &TrainConfig,
    data: &Dataset,
    seed: u64,
    device: Device,
    observer: &mut dyn Observer,
) -> Result<Fitted, TrainError> {
    let mut vs = nn::VarStore::new(device);
    let model = {
        let _guard = INIT_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        tch::manual_seed(seed as i64);
        if device == Device::Cpu {
            model_cfg.init(&vs.root(), data.input_bars, data.n_inputs(), data.n_targets)
        } else {
            // Draw the weights on the CPU and copy them over, so a seed gives the same initial
            // weights on every device (CUDA's generator draws other numbers from a seed). The
            // model is built on its device, not moved there: tch's LSTM keeps the device it
            // was made on for its zero state.
            let cpu = nn::VarStore::new(Device::Cpu);
            model_cfg.init(&cpu.root(), data.input_bars, data.n_inputs(), data.n_targets);
            let model =
                model_cfg.init(&vs.root(), data.input_bars, data.n_inputs(), data.n_targets);
            vs.copy(&cpu)?;
            model
        }
    };
    let mut opt = optimizer(cfg, &vs)?;
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
        Loss::Bce => pred.binary_cross_entropy::<Tensor>(y, None, Reduction::Mean),
        Loss::Huber => pred.huber_loss(y, Reduction::Mean, cfg.huber_delta),
        Loss::CrossEntropy => pred.nll_loss(&y.select(1, 0).to_kind(Kind::Int64)),
    };

    // Up/down labels (what bce trains on, or mse as the Keras seed's grid also does): each
    // epoch then also reports the validation accuracy, as Keras' `metrics=['accuracy']`.
    let labels = |y: &Tensor| y.eq(0.0).logical_or(&y.eq(1.0)).all().int64_value(&[]) != 0;
    if cfg.loss == Loss::CrossEntropy && !labels(&y_train) {
        let message = "cross_entropy needs 0/1 class labels (an up_down target); this target \
                       has other values"
            .into();
        return Err(TrainError::InvalidConfig { key: "train.loss".into(), message });
    }
    let classifier = matches!(cfg.loss, Loss::Bce | Loss::CrossEntropy)
        || val.as_ref().is_some_and(|(_, y)| labels(y));
    let n = data.train.len();
    if n == 0 {
        let message = "the training span has no samples".into();
        return Err(TrainError::InvalidConfig { key: "split".into(), message });
    }
    let batch = cfg.batch_size.unwrap_or(n).clamp(1, n);
    let full = n / batch;
    let batches_per_epoch =
        if cfg.drop_last || n.is_multiple_of(batch) { full } else { full + 1 }.max(1);
    let epochs = cfg.steps.map_or(cfg.epochs, |steps| (steps / batches_per_epoch).max(1));
    let (mut order_rng, mut noise) = noise::streams(seed);
    let mut lr = cfg.lr;
    let mut early = Watch::default();
    let mut plateau = Watch::default();
    let mut best: Option<(usize, Vec<(String, Tensor)>)> = None;
    let mut history = Vec::with_capacity(epochs);
    for epoch in 0..epochs {
        let mut step = |x: &Tensor, y: &Tensor| -> f64 {
            let loss = loss_fn(&model.forward_t(x, &mut Mode::Train(&mut noise)), y);
            opt.zero_grad();
            loss.backward();
            if let Some(max) = cfg.clip_grad_norm {
                opt.clip_grad_norm(max);
            }
            opt.step();
            loss.double_value(&[])
        };
        let train_loss = if batch == n {
            step(&x_train, &y_train)
        } else {
            let mut order: Vec<i64> = (0..n as i64).collect();
            order_rng.shuffle(&mut order);
            let order = Tensor::from_slice(&order).to_device(device);
            let (mut total, mut seen) = (0.0, 0);
            for start in (0..n).step_by(batch) {
                let len = batch.min(n - start);
                if (len < batch && cfg.drop_last && full > 0)
                    || (len == 1 && model.needs_two_samples())
                {
                    continue;
                }
                let idx = order.narrow(0, start as i64, len as i64);
                total += step(&x_train.index_select(0, &idx), &y_train.index_select(0, &idx))
                    * len as f64;
                seen += len;
            }
            total / seen.max(1) as f64
        };
        if !train_loss.is_finite() {
            return Err(TrainError::Diverged { epoch, epochs: history });
        }
        let mut metrics = EpochMetrics::new(train_loss);
        metrics.extra.insert("lr".into(), lr);
        if let Some((x_val, y_val)) = &val {
            let out = tch::no_grad(|| model.forward_t(x_val, &mut Mode::Eval));
            let loss = loss_fn(&out, y_val).double_value(&[]);
            let pred = model.signal(&out);
            if !loss.is_finite() {
                return Err(TrainError::Diverged { epoch, epochs: history });
            }
            metrics.val_loss = Some(loss);
            if classifier {
                let hits = pred.ge(0.5).eq_tensor(&y_val.ge(0.5)).to_kind(Kind::Double);
                metrics
                    .extra
                    .insert("val_accuracy".into(), hits.mean(Kind::Double).double_value(&[]));
            }
        }
        let monitored = metrics.val_loss.unwrap_or(train_loss);
        let mut stop_early = false;
        if let Some(es) = &cfg.early_stopping {
            if early.improved(monitored, |best| monitored < best - es.min_delta) {
                if es.restore_best {
                    best = Some((epoch, snapshot(&vs)));
                }
            } else if early.bad >= es.patience {
                stop_early = true;
            }
        }
        if let Some(p) = &cfg.reduce_lr_on_plateau
            && !plateau.improved(monitored, |best| monitored < best * (1.0 - p.threshold))
            && plateau.bad > p.patience
        {
            let reduced = (lr * p.factor).max(p.min_lr);
            // PyTorch ignores changes smaller than its eps (1e-8).
            if lr - reduced > 1e-8 {
                lr = reduced;
                opt.set_lr(lr);
            }
            plateau.bad = 0;
        }
        let flow = observer.on_epoch(epoch, &metrics);
        history.push(metrics);
        if let ControlFlow::Break(stop) = flow {
            return Err(TrainError::Stopped { stop, epochs: history });
        }
        if stop_early {
            break;
        }
    }
    let best_epoch = match best {
        Some((epoch, weights)) if epoch + 1 < history.len() => {
            restore(&vs, &weights);
            Some(epoch)
        }
        Some((epoch, _)) => Some(epoch),
        None => None,
    };
    Ok(Fitted { vs, model, device, epochs: history, best_epoch })
}

/// The best monitored value so far and the epochs since it improved.
#[derive(Default)]
struct Watch {
    best: Option<f64>,
    bad: usize,
}

impl Watch {
    /// Records `value`; true when `better(best)` holds (always for the first value).
    fn improved(&mut self, value: f64, better: impl Fn(f64) -> bool) -> bool {
        if self.best.is_none_or(better) {
            self.best = Some(value);
            self.bad = 0;
            true
        } else {
            self.bad += 1;
            false
        }
    }
}

/// A copy of every variable (BatchNorm statistics included).
fn snapshot(vs: &nn::VarStore) -> Vec<(String, Tensor)> {
    vs.variables().into_iter().map(|(name, t)| (name, t.detach().copy())).collect()
}

fn restore(vs: &nn::VarStore, weights: &[(String, Tensor)]) {
    let vars = vs.variables();
    tch::no_grad(|| {
        for (name, saved) in weights {
            if let Some(var) = vars.get(name) {
                var.shallow_clone().copy_(saved);
            }
        }
    });
}

/// The configured optimizer over `vs`'s trainable variables.
fn optimizer(cfg: &TrainConfig, vs: &nn::VarStore) -> Result<nn::Optimizer, TrainError> {
    let keras = cfg.optimizer_defaults == OptimizerDefaults::Keras;
    let eps = cfg.eps.unwrap_or(if keras { 1e-7 } else { 1e-8 });
    let wd = cfg.weight_decay;
    Ok(match cfg.optimizer {
        Optimizer::Adam => {
            nn::Adam { eps, wd: wd.unwrap_or(0.0), ..Default::default() }.build(vs, cfg.lr)?
        }
        Optimizer::Adamw => {
            nn::AdamW { eps, wd: wd.unwrap_or(0.01), ..Default::default() }.build(vs, cfg.lr)?
        }
        Optimizer::Rmsprop => nn::RmsProp {
            alpha: cfg.rho.unwrap_or(if keras { 0.9 } else { 0.99 }),
            eps,
            wd: wd.unwrap_or(0.0),
            momentum: cfg.momentum,
            centered: false,
        }
        .build(vs, cfg.lr)?,
        Optimizer::Sgd => {
            nn::Sgd { momentum: cfg.momentum, wd: wd.unwrap_or(0.0), ..Default::default() }
                .build(vs, cfg.lr)?
        }
    })
}

/// Checks a model and training configuration before anything is built: every error names its
/// key (`train.lr: must be a positive number, got -0.1`).
pub fn validate_config(model: &ModelConfig, cfg: &TrainConfig) -> Result<(), TrainError> {
    let bad =
        |key: &str, message: String| Err(TrainError::InvalidConfig { key: key.into(), message });
    let rate = |key: &str, p: f64| {
        if (0.0..1.0).contains(&p) {
            Ok(())
        } else {
            bad(key, format!("must be in [0, 1), got {p}"))
        }
    };
    let positive = |key: &str, v: f64| {
        if v.is_finite() && v > 0.0 {
            Ok(())
        } else {
            bad(key, format!("must be a positive number, got {v}"))
        }
    };
    let at_least_one = |key: &str, v: usize| {
        if v >= 1 { Ok(()) } else { bad(key, "must be at least 1".into()) }
    };
    match model {
        ModelConfig::Blankly { hidden, layers, .. } => {
            at_least_one("model.hidden", *hidden)?;
            at_least_one("model.layers", *layers)?;
        }
        ModelConfig::Freqai { hidden, layers, dropout, .. } => {
            at_least_one("model.hidden", *hidden)?;
            at_least_one("model.layers", *layers)?;
            rate("model.dropout", *dropout)?;
        }
        ModelConfig::KerasClassifier { hidden, dropout, .. } => {
            at_least_one("model.hidden", *hidden)?;
            rate("model.dropout", *dropout)?;
        }
        ModelConfig::Layers { layers, .. } => {
            let ends = Ends { targets: None, cross_entropy: cfg.loss == Loss::CrossEntropy };
            check_stack(layers, Shape::Seq(None, None), ends)?;
        }
    }
    let probabilities = match model {
        ModelConfig::KerasClassifier { .. } | ModelConfig::Blankly { head: Head::Sigmoid, .. } => {
            true
        }
        ModelConfig::Layers { layers, .. } => {
            matches!(layers.last(), Some(Layer::Dense { activation: DenseActivation::Sigmoid, .. }))
        }
        _ => false,
    };
    if cfg.loss == Loss::Bce && !probabilities {
        let message = "bce needs probabilities: model.kind keras_classifier, blankly with \
                       head: sigmoid, or layers ending in a dense layer with activation: sigmoid";
        return bad("train.loss", message.into());
    }
    if cfg.loss == Loss::CrossEntropy && !matches!(model, ModelConfig::Layers { .. }) {
        let message = "cross_entropy trains a two-class softmax head: model.kind layers, \
                       ending in {type: dense, units: 2, activation: softmax}";
        return bad("train.loss", message.into());
    }
    at_least_one("train.epochs", cfg.epochs)?;
    if let Some(steps) = cfg.steps {
        at_least_one("train.steps", steps)?;
    }
    positive("train.lr", cfg.lr)?;
    if let Some(b) = cfg.batch_size {
        at_least_one("train.batch_size", b)?;
    }
    positive("train.huber_delta", cfg.huber_delta)?;
    if let Some(eps) = cfg.eps {
        positive("train.eps", eps)?;
    }
    if let Some(rho) = cfg.rho {
        rate("train.rho", rho)?;
    }
    rate("train.momentum", cfg.momentum)?;
    if let Some(wd) = cfg.weight_decay
        && !(wd.is_finite() && wd >= 0.0)
    {
        return bad("train.weight_decay", format!("must be a non-negative number, got {wd}"));
    }
    if let Some(max) = cfg.clip_grad_norm {
        positive("train.clip_grad_norm", max)?;
    }
    if let Some(es) = &cfg.early_stopping
        && !(es.min_delta.is_finite() && es.min_delta >= 0.0)
    {
        let message = format!("must be non-negative, got {}", es.min_delta);
        return bad("train.early_stopping.min_delta", message);
    }
    if let Some(p) = &cfg.reduce_lr_on_plateau {
        if !(p.factor > 0.0 && p.factor < 1.0) {
            return bad(
                "train.reduce_lr_on_plateau.factor",
                format!("must be in (0, 1), got {}", p.factor),
            );
        }
        if !(p.min_lr.is_finite() && p.min_lr >= 0.0) {
            return bad(
                "train.reduce_lr_on_plateau.min_lr",
                format!("must be non-negative, got {}", p.min_lr),
            );
        }
        rate("train.reduce_lr_on_plateau.threshold", p.threshold)?;
    }
    Ok(())
}

/// Checks that the model takes windows of `input_bars` steps and `inputs` columns (when
/// known) and ends as wide as the `targets` columns: the error names the layer
/// (`model.layers[3].units`), what reached it and what it expected.
pub fn validate_shapes(
    model: &ModelConfig,
    cfg: &TrainConfig,
    input_bars: usize,
    inputs: Option<usize>,
    targets: usize,
) -> Result<(), TrainError> {
    let ModelConfig::Layers { layers, .. } = model else { return Ok(()) };
    let ends = Ends { targets: Some(targets), cross_entropy: cfg.loss == Loss::CrossEntropy };
    check_stack(layers, Shape::Seq(Some(input_bars), inputs), ends)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_requests_parse() {
        assert_eq!("cpu".parse::<DeviceRequest>(), Ok(DeviceRequest::Cpu));
        assert_eq!("cuda:1".parse::<DeviceRequest>(), Ok(DeviceRequest::Cuda(1)));
        assert_eq!("cuda".parse::<DeviceRequest>(), Ok(DeviceRequest::AnyCuda));
        assert_eq!(DeviceRequest::Cuda(1).for_worker(5), DeviceRequest::Cuda(1));
        assert_eq!(DeviceRequest::Cpu.for_worker(5), DeviceRequest::Cpu);
        let gpus = tch::Cuda::device_count() as usize;
        let spread = DeviceRequest::Auto.for_worker(5);
        if gpus == 0 {
            assert_eq!(spread, DeviceRequest::Cpu);
            assert_eq!(DeviceRequest::AnyCuda.for_worker(5), DeviceRequest::Cuda(0));
        } else {
            assert_eq!(spread, DeviceRequest::Cuda(5 % gpus));
        }
        assert!("gpu".parse::<DeviceRequest>().is_err());
        assert_eq!(DeviceRequest::Cpu.resolve().map(device_name).ok().as_deref(), Some("cpu"));
    }

    /// A libtorch error that tch reports by panicking (here a shape mismatch; on a GPU, out of
    /// memory) becomes an error naming it, not a crash.
    #[test]
    fn libtorch_panics_become_errors() {
        let a = Tensor::zeros([2, 3], (Kind::Float, Device::Cpu));
        let b = Tensor::zeros([4, 5], (Kind::Float, Device::Cpu));
        match guarded(|| a.matmul(&b)) {
            Err(e @ TrainError::Libtorch(_)) => {
                let message = e.to_string();
                assert!(message.starts_with("libtorch: ") && !message.contains('\n'), "{message}");
                assert!(message.contains("cannot be multiplied"), "{message}");
            }
            other => panic!("expected a libtorch error, got {other:?}"),
        }
        assert_eq!(guarded(|| 7).ok(), Some(7));
    }

    /// Out of memory, for real: a tensor far larger than the machine. tch panics with the
    /// C++ backtrace inside a Debug-quoted string; the error is the one line that matters.
    #[test]
    fn out_of_memory_is_one_line_naming_the_allocation() {
        let e = guarded(|| Tensor::zeros([1 << 22, 1 << 22], (Kind::Float, Device::Cpu)))
            .expect_err("64 TiB cannot be allocated");
        let message = e.to_string();
        assert!(
            message.starts_with("libtorch: DefaultCPUAllocator: can't allocate memory"),
            "{message}"
        );
        assert!(
            message.contains("70368744177664 bytes") && !message.contains("frame #"),
            "{message}"
        );
    }
}
