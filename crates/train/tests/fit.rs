//! Training on real candles (the bundled Binance ETH/USDT daily file) through the public API.

use std::ops::ControlFlow;
use std::path::Path;

use quantsweep_core::{EpochMetrics, NoopObserver, Observer, Stop};
use quantsweep_features::{
    Dataset, FeatureConfig, FeatureTable, Scale, SplitConfig, TargetConfig, WindowConfig,
};
use quantsweep_train::{
    DeviceRequest, Head, ModelConfig, Optimizer, TrainConfig, TrainError, fit, set_torch_threads,
};

fn dataset() -> Dataset {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/eth-usdt-1d.csv");
    let (candles, _) =
        quantsweep_ingest::load(path, &Default::default()).expect("bundled data loads");
    // 2020-01-01 .. 2021-12-31: a short span keeps the test quick.
    let candles = candles.between(Some(1_577_836_800_000), Some(1_640_995_200_000));
    let features = [
        FeatureConfig::new("close_ratio"),
        FeatureConfig::new("rsi").with("period", 14.0),
        FeatureConfig::new("macd").named("macd"),
    ];
    let table = FeatureTable::build(&candles, &features).expect("features");
    let window = WindowConfig {
        input_bars: 5,
        inputs: Some(vec![
            "close_ratio".into(),
            "rsi_14".into(),
            "macd.macd".into(),
            "macd.signal".into(),
        ]),
        scale: Scale::Standard,
    };
    Dataset::build(
        &candles,
        &table,
        &window,
        &TargetConfig::NextCloseRatios { horizon_bars: 3 },
        &SplitConfig::default(),
    )
    .expect("dataset")
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
}
