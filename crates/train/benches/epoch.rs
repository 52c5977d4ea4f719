//! Seconds per training epoch of each seed architecture at the seed's sizes, on data written
//! by `scripts/bench-train` (which times the same models in PyTorch eager on the same data and
//! prints the ratios). One torch thread. Prints one JSON line per model.
//!
//! `cargo bench -p quantsweep-train --bench epoch -- DATA_DIR [--repeat N] [--device cpu|cuda]`

use std::path::Path;

use quantsweep_core::NoopObserver;
use quantsweep_features::Dataset;
use quantsweep_train::{
    Activation, DeviceRequest, Head, InitScheme, Loss, ModelConfig, Optimizer, TrainConfig, fit,
    set_torch_threads,
};
use tch::Tensor;

/// The models, their training settings and epochs per timing, as in `scripts/bench-train`.
fn cases() -> Vec<(&'static str, ModelConfig, TrainConfig, usize)> {
    vec![
        (
            // Blankly: LSTM(4 → 20) → Linear(20 → 3) → 0.5 + sigmoid, Adam 3e-4, full batch.
            "blankly",
            ModelConfig::Blankly { hidden: 20, layers: 1, head: Head::HalfPlusSigmoid },
            TrainConfig { lr: 3e-4, ..TrainConfig::default() },
            400,
        ),
        (
            // freqAI README: 3 layers of 128, dropout 0.4, AdamW 3e-3, batch 32, window 5.
            "freqai",
            ModelConfig::Freqai { hidden: 128, layers: 3, dropout: 0.4, original: false },
            TrainConfig {
                lr: 3e-3,
                optimizer: Optimizer::Adamw,
                batch_size: Some(32),
                drop_last: true,
                ..TrainConfig::default()
            },
            3,
        ),
        (
            // Keras seed: relu LSTM(64), dropout 0.2, RMSprop, BCE, batch 64, window 10.
            "keras",
            ModelConfig::KerasClassifier {
                hidden: 64,
                dropout: 0.2,
                activation: Activation::Relu,
                init: InitScheme::Keras,
            },
            TrainConfig {
                lr: 1e-3,
                optimizer: Optimizer::Rmsprop,
                loss: Loss::Bce,
                batch_size: Some(64),
                ..TrainConfig::default()
            },
            3,
        ),
    ]
}

fn dataset(dir: &Path, name: &str) -> Dataset {
    let arrays: std::collections::HashMap<String, Tensor> =
        Tensor::read_npz(dir.join(format!("{name}.npz")))
            .expect("bench data")
            .into_iter()
            .collect();
    let (x, y) = (&arrays["x"], &arrays["y"]);
    let (n, seq, inputs) = (x.size()[0] as usize, x.size()[1] as usize, x.size()[2] as usize);
    Dataset {
        x: Vec::<f32>::try_from(x.flatten(0, -1)).expect("f32 x"),
        y: Vec::<f32>::try_from(y.flatten(0, -1)).expect("f32 y"),
        decision_row: (0..n).collect(),
        input_bars: seq,
        input_names: (0..inputs).map(|i| format!("x{i}")).collect(),
        n_targets: y.size()[1] as usize,
        train: 0..n,
        val: n..n,
        test: n..n,
        leaks: Vec::new(),
        skipped: 0,
        balanced_out: 0,
        scaler: vec![(0.0, 1.0); inputs],
        asset: Vec::new(),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let dir = Path::new(args.first().expect("usage: epoch DATA_DIR [--repeat N] [--device D]"));
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1));
    let repeat: usize = flag("--repeat").map_or(3, |r| r.parse().expect("--repeat N"));
    let device: DeviceRequest =
        flag("--device").map_or(DeviceRequest::Cpu, |d| d.parse().expect("--device"));
    set_torch_threads(1);
    for (name, model, mut cfg, epochs) in cases() {
        let data = dataset(dir, name);
        cfg.epochs = epochs;
        let mut best = f64::INFINITY;
        for seed in 0..repeat as u64 {
            let start = std::time::Instant::now();
            fit(&model, &cfg, &data, seed, device, &mut NoopObserver).expect("trains");
            best = best.min(start.elapsed().as_secs_f64() / epochs as f64);
        }
        println!(r#"{{"model": "{name}", "epochs": {epochs}, "best_s_per_epoch": {best:.6}}}"#);
    }
}
