//! Training on real candles (the bundled Binance ETH/USDT daily file) through the public API.

mod common;

use std::ops::ControlFlow;

use quantsweep_core::{EpochMetrics, NoopObserver, Observer, Stop};
use quantsweep_features::{Dataset, TargetConfig};
use quantsweep_train::{
    Activation, DeviceRequest, EarlyStopping, Fitted, Head, InitScheme, Loss, ModelConfig,
    Optimizer, OptimizerDefaults, ReduceLrOnPlateau, TrainConfig, TrainError, fit,
    set_torch_threads,
};

fn dataset() -> Dataset {
    dataset_for(&TargetConfig::NextCloseRatios { horizon_bars: 3 })
}

fn dataset_for(target: &TargetConfig) -> Dataset {
    common::dataset_for(target, 5)
}

/// Up or down after 5 bars (the Keras seed's labels).
fn up_down() -> Dataset {
    dataset_for(&TargetConfig::UpDown { horizon_bars: 5, threshold: 0.0, keep_tail_as_down: false })
}

fn blankly() -> ModelConfig {
    ModelConfig::Blankly { hidden: 8, layers: 1, head: Head::HalfPlusSigmoid }
}

#[test]
fn same_seed_gives_bit_identical_losses_and_predictions() {
    set_torch_threads(1);
    let data = dataset();
    let cfg = TrainConfig { epochs: 30, lr: 0.003, batch_size: Some(64), ..TrainConfig::default() };
    let run = |seed| {
        let f = fit(&blankly(), &cfg, &data, seed, DeviceRequest::Cpu, &mut NoopObserver)
            .expect("fits");
        let losses: Vec<u64> = f.epochs.iter().map(|m| m.train_loss.to_bits()).collect();
        let pred: Vec<u32> = f
            .predict(&data, data.test.clone())
            .expect("predicts")
            .iter()
            .map(|p| p.to_bits())
            .collect();
        (losses, pred)
    };
    let (a, b, c) = (run(7), run(7), run(8));
    assert_eq!(a, b);
    assert_ne!(a.0, c.0);
    assert_eq!(a.1.len(), data.test.len() * 3);
}

#[test]
fn training_lowers_the_loss_and_reports_every_epoch() {
    struct Record(Vec<EpochMetrics>);
    impl Observer for Record {
        fn on_epoch(&mut self, epoch: usize, m: &EpochMetrics) -> ControlFlow<Stop> {
            assert_eq!(epoch, self.0.len());
            self.0.push(m.clone());
            ControlFlow::Continue(())
        }
    }
    let data = dataset();
    let cfg = TrainConfig { epochs: 150, lr: 0.01, ..TrainConfig::default() };
    let mut seen = Record(Vec::new());
    let f = fit(&blankly(), &cfg, &data, 1, DeviceRequest::Cpu, &mut seen).expect("fits");
    assert_eq!(seen.0.len(), 150);
    assert_eq!(f.epochs, seen.0);
    let (first, last) = (&seen.0[0], &seen.0[149]);
    assert!(
        last.train_loss < first.train_loss / 2.0,
        "{} -> {}",
        first.train_loss,
        last.train_loss
    );
    assert!(last.val_loss.is_some_and(f64::is_finite));
    // Predictions stay in the head's range (0.5, 1.5).
    let pred = f.predict(&data, data.test.clone()).expect("predicts");
    assert!(pred.iter().all(|p| *p > 0.5 && *p < 1.5));
}

#[test]
fn an_exploding_loss_stops_the_trial_as_diverged() {
    let data = dataset();
    let model = ModelConfig::Blankly { hidden: 8, layers: 1, head: Head::Identity };
    let cfg =
        TrainConfig { epochs: 200, lr: 1e12, optimizer: Optimizer::Sgd, ..TrainConfig::default() };
    match fit(&model, &cfg, &data, 1, DeviceRequest::Cpu, &mut NoopObserver) {
        Err(e @ TrainError::Diverged { .. }) => {
            assert!(e.to_string().starts_with("loss became NaN at epoch"), "{e}");
        }
        other => panic!("expected divergence, got {other:?}"),
    }
}

#[test]
fn an_observer_can_stop_training() {
    struct PruneAt(usize);
    impl Observer for PruneAt {
        fn on_epoch(&mut self, epoch: usize, _: &EpochMetrics) -> ControlFlow<Stop> {
            if epoch + 1 == self.0 {
                ControlFlow::Break(Stop::Pruned)
            } else {
                ControlFlow::Continue(())
            }
        }
    }
    let data = dataset();
    let cfg = TrainConfig { epochs: 50, ..TrainConfig::default() };
    match fit(&blankly(), &cfg, &data, 1, DeviceRequest::Cpu, &mut PruneAt(4)) {
        Err(TrainError::Stopped { stop: Stop::Pruned, epochs }) => assert_eq!(epochs.len(), 4),
        other => panic!("expected a pruned stop, got {other:?}"),
    }
}

#[test]
fn bad_values_name_their_key() {
    let data = dataset();
    let cfg = TrainConfig { lr: -1.0, ..TrainConfig::default() };
    let err = fit(&blankly(), &cfg, &data, 1, DeviceRequest::Cpu, &mut NoopObserver)
        .expect_err("negative lr");
    assert!(err.to_string().starts_with("train.lr:"), "{err}");
    let cfg = TrainConfig { loss: Loss::Bce, ..TrainConfig::default() };
    let err = fit(&blankly(), &cfg, &data, 1, DeviceRequest::Cpu, &mut NoopObserver)
        .expect_err("bce on a 0.5 + sigmoid head");
    assert!(err.to_string().starts_with("train.loss: bce needs probabilities"), "{err}");
}

fn freqai() -> ModelConfig {
    ModelConfig::Freqai { hidden: 16, layers: 2, dropout: 0.3, original: false }
}

fn keras() -> ModelConfig {
    ModelConfig::KerasClassifier {
        hidden: 16,
        dropout: 0.2,
        activation: Activation::Relu,
        init: InitScheme::Keras,
    }
}

/// Losses and test predictions, as bits.
fn fingerprint(f: &Fitted, data: &Dataset) -> (Vec<u64>, Vec<u32>) {
    let losses = f.epochs.iter().map(|m| m.train_loss.to_bits()).collect();
    let pred = f.predict(data, data.test.clone()).expect("predicts");
    (losses, pred.iter().map(|p| p.to_bits()).collect())
}

/// freqAI's model (AdamW, shuffled minibatches without the short last one, dropout,
/// ReduceLROnPlateau) and the Keras classifier (relu cell, RMSprop with Keras' defaults, binary
/// cross-entropy) learn, and the same seed repeats bit for bit — also with two trials training
/// at once on two threads, whose dropout masks would mix if they came from libtorch's one
/// process-wide generator.
#[test]
fn freqai_and_keras_classifier_learn_and_repeat_bit_for_bit() {
    set_torch_threads(1);
    let ratios = dataset();
    let up_down = up_down();
    let freqai_cfg = TrainConfig {
        epochs: 25,
        lr: 3e-3,
        optimizer: Optimizer::Adamw,
        batch_size: Some(32),
        drop_last: true,
        reduce_lr_on_plateau: Some(ReduceLrOnPlateau {
            factor: 0.2,
            patience: 5,
            min_lr: 1e-5,
            threshold: 1e-4,
        }),
        ..TrainConfig::default()
    };
    let keras_cfg = TrainConfig {
        epochs: 25,
        lr: 1e-3,
        optimizer: Optimizer::Rmsprop,
        optimizer_defaults: OptimizerDefaults::Keras,
        loss: Loss::Bce,
        batch_size: Some(64),
        ..TrainConfig::default()
    };
    let runs: [(&str, ModelConfig, &TrainConfig, &Dataset); 2] =
        [("freqai", freqai(), &freqai_cfg, &ratios), ("keras", keras(), &keras_cfg, &up_down)];
    for (name, model, cfg, data) in &runs {
        let run = |seed| {
            let f =
                fit(model, cfg, data, seed, DeviceRequest::Cpu, &mut NoopObserver).expect("fits");
            (fingerprint(&f, data), f.epochs)
        };
        let (a, epochs) = run(3);
        // Up/down of daily closes is close to a coin flip: cross-entropy starts near ln 2
        // and falls slowly.
        let (first, last) = (epochs[0].train_loss, epochs[24].train_loss);
        let factor = if *name == "keras" { 0.98 } else { 0.9 };
        assert!(last < first * factor, "{name}: {first} -> {last}");
        assert_eq!(a, run(3).0, "{name}: same seed");
        assert_ne!(a.0, run(4).0.0, "{name}: another seed");
        let (x, y) = std::thread::scope(|s| {
            let other = s.spawn(|| run(3).0);
            (run(3).0, other.join().expect("thread"))
        });
        assert!(x == a && y == a, "{name}: two at once");
        if *name == "keras" {
            let accuracy = epochs[24].extra["val_accuracy"];
            assert!((0.0..=1.0).contains(&accuracy), "{accuracy}");
            let pred = run(3).0.1;
            assert!(pred.iter().all(|&p| (0.0..=1.0).contains(&f32::from_bits(p))));
        }
    }
}

/// Early stopping ends training `patience` epochs after the best validation loss and leaves
/// the model with that epoch's weights: its validation loss, recomputed from predictions,
/// is the best epoch's.
#[test]
fn early_stopping_restores_the_best_weights() {
    set_torch_threads(1);
    let data = dataset();
    let model = ModelConfig::Blankly { hidden: 32, layers: 1, head: Head::HalfPlusSigmoid };
    let cfg = TrainConfig {
        epochs: 400,
        lr: 0.05,
        early_stopping: Some(EarlyStopping { patience: 5, min_delta: 0.0, restore_best: true }),
        ..TrainConfig::default()
    };
    let f = fit(&model, &cfg, &data, 1, DeviceRequest::Cpu, &mut NoopObserver).expect("fits");
    let val: Vec<f64> = f.epochs.iter().map(|m| m.val_loss.expect("val")).collect();
    assert!(val.len() < 400, "never stopped");
    let best = (0..val.len()).min_by(|&a, &b| val[a].total_cmp(&val[b])).expect("epochs");
    assert_eq!(f.best_epoch, Some(best));
    assert_eq!(val.len(), best + 1 + 5);
    let pred = f.predict(&data, data.val.clone()).expect("predicts");
    let mse = pred
        .iter()
        .zip(data.y_slice(data.val.clone()))
        .map(|(p, y)| (f64::from(*p) - f64::from(*y)).powi(2))
        .sum::<f64>()
        / pred.len() as f64;
    assert!((mse - val[best]).abs() < 1e-6 * val[best], "{mse} vs {}", val[best]);
}

/// ReduceLROnPlateau lowers the rate by `factor` after more than `patience` epochs without a
/// relative improvement, never below `min_lr`: the recorded rates replay PyTorch's rule.
#[test]
fn plateau_lowers_the_learning_rate_as_pytorch_does() {
    set_torch_threads(1);
    let data = dataset();
    let p = ReduceLrOnPlateau { factor: 0.5, patience: 2, min_lr: 0.002, threshold: 1e-4 };
    let cfg = TrainConfig {
        epochs: 120,
        lr: 0.05,
        reduce_lr_on_plateau: Some(p.clone()),
        ..TrainConfig::default()
    };
    let f = fit(&blankly(), &cfg, &data, 2, DeviceRequest::Cpu, &mut NoopObserver).expect("fits");
    let (mut lr, mut best, mut bad) = (0.05, f64::INFINITY, 0);
    for (epoch, m) in f.epochs.iter().enumerate() {
        assert_eq!(m.extra["lr"], lr, "epoch {epoch}");
        let v = m.val_loss.expect("val");
        if v < best * (1.0 - p.threshold) {
            (best, bad) = (v, 0);
        } else {
            bad += 1;
        }
        if bad > p.patience {
            lr = f64::max(lr * p.factor, p.min_lr);
            bad = 0;
        }
    }
    assert!(lr < 0.05, "the rate never went down");
}

/// `save` writes safetensors that `load` reads back into the same predictions (BatchNorm
/// statistics included).
#[test]
fn a_saved_model_predicts_the_same() {
    let data = dataset();
    let cfg = TrainConfig { epochs: 5, batch_size: Some(32), ..TrainConfig::default() };
    let f = fit(&freqai(), &cfg, &data, 1, DeviceRequest::Cpu, &mut NoopObserver).expect("fits");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("model.safetensors");
    f.save(&path).expect("saves");
    let loaded = Fitted::load(
        &freqai(),
        &path,
        data.input_bars,
        data.n_inputs(),
        data.n_targets,
        DeviceRequest::Cpu,
    )
    .expect("loads");
    let a = f.predict(&data, data.test.clone()).expect("predicts");
    let b = loaded.predict(&data, data.test.clone()).expect("predicts");
    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
}

/// On a GPU: each model trains on `cuda:0` from the same initial weights as on the CPU (drawn
/// on the CPU, then moved), with the same minibatches and dropout masks, so the first epoch's
/// loss agrees to float rounding and the whole curve stays close. Without a GPU (CI) there is
/// nothing to compare and the test says so; run it on a GPU machine with
/// `cargo test -p quantsweep-train --test fit cuda`.
#[test]
fn cuda_trains_from_the_cpu_weights() {
    if !tch::Cuda::is_available() {
        eprintln!(
            "cuda_trains_from_the_cpu_weights: libtorch sees no CUDA device; nothing checked"
        );
        return;
    }
    set_torch_threads(1);
    let ratios = dataset();
    let up_down = up_down();
    let plain = TrainConfig { epochs: 20, lr: 3e-3, ..TrainConfig::default() };
    let minibatch = TrainConfig { batch_size: Some(32), drop_last: true, ..plain.clone() };
    let bce = TrainConfig { loss: Loss::Bce, batch_size: Some(64), ..plain.clone() };
    let runs: [(&str, ModelConfig, &TrainConfig, &Dataset); 3] = [
        ("blankly", blankly(), &plain, &ratios),
        ("freqai", freqai(), &minibatch, &ratios),
        ("keras", keras(), &bce, &up_down),
    ];
    for (name, model, cfg, data) in &runs {
        let run = |device| fit(model, cfg, data, 5, device, &mut NoopObserver).expect("fits");
        let (cpu, gpu) = (run(DeviceRequest::Cpu), run(DeviceRequest::AnyCuda));
        assert_eq!(gpu.device_name(), "cuda:0", "{name}");
        let rel = |a: f64, b: f64| (a - b).abs() / b.abs().max(1e-12);
        let first = rel(gpu.epochs[0].train_loss, cpu.epochs[0].train_loss);
        assert!(first < 1e-4, "{name}: first epoch's loss differs by {first:e} (relative)");
        let last = rel(gpu.epochs[19].train_loss, cpu.epochs[19].train_loss);
        assert!(last < 1e-2, "{name}: 20th epoch's loss differs by {last:e} (relative)");
        let (p, q) = (cpu.predict(data, data.test.clone()), gpu.predict(data, data.test.clone()));
        let (p, q) = (p.expect("cpu predicts"), q.expect("gpu predicts"));
        let worst = p.iter().zip(&q).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        eprintln!("{name}: first epoch {first:e}, 20th {last:e}, predictions within {worst:e}");
        assert!(worst < 1e-2, "{name}: predictions differ by up to {worst}");
    }
}
