//! Layer stacks (`model: {kind: layers}`) against PyTorch itself: each stack is trained here
//! for a few epochs on real candles (so BatchNorm's running statistics are not the initial
//! ones), saved with `train.save_model`'s writer, loaded by the reference module that
//! docs/pipeline.md gives ("Weights that open in PyTorch", run as written there) with
//! `safetensors.torch.load_file` and `load_state_dict(strict=True)`, and its predictions
//! compared with ours. This pins every layer's forward pass, the variable names and the
//! softmax head's signal to PyTorch 2.11 (the venv scripts/setup creates).

mod common;
#[path = "../../../tests/support/loopback.rs"]
#[allow(dead_code)]
mod loopback;

use std::path::{Path, PathBuf};
use std::process::Command;

use quantsweep_core::NoopObserver;
use quantsweep_features::{Dataset, TargetConfig};
use quantsweep_train::{
    DeviceRequest, InitScheme, Layer, Loss, ModelConfig, TrainConfig, fit, set_torch_threads,
};
use tch::{Kind, Tensor};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// 2020–2021 daily ETH/USDT, 6-bar windows of 4 inputs.
fn dataset(target: &TargetConfig) -> Dataset {
    common::dataset_for(target, 6)
}

/// `(name, layers as JSON, init, loss, target)`: between them every layer type, argument and
/// activation.
fn cases() -> Vec<(&'static str, &'static str, InitScheme, Loss, TargetConfig)> {
    let up = TargetConfig::UpDown { horizon_bars: 1, threshold: 0.0, keep_tail_as_down: false };
    let ratios = TargetConfig::NextCloseRatios { horizon_bars: 3 };
    vec![
        (
            "fischer_krauss",
            r#"[{"type": "lstm", "units": 25}, {"type": "dropout", "rate": 0.1},
                {"type": "dense", "units": 2, "activation": "softmax"}]"#,
            InitScheme::Keras,
            Loss::CrossEntropy,
            up.clone(),
        ),
        (
            "stacked_keras_tutorial",
            r#"[{"type": "lstm", "units": 12, "return_sequences": true},
                {"type": "dropout", "rate": 0.2},
                {"type": "lstm", "units": 12, "return_sequences": true},
                {"type": "dropout", "rate": 0.2},
                {"type": "lstm", "units": 12}, {"type": "dropout", "rate": 0.2},
                {"type": "dense", "units": 1, "activation": "sigmoid"}]"#,
            InitScheme::Keras,
            Loss::Bce,
            up.clone(),
        ),
        (
            "bidirectional_gru_batch_norm",
            r#"[{"type": "gru", "units": 6, "bidirectional": true, "return_sequences": true},
                {"type": "attention", "heads": 3}, {"type": "batch_norm", "momentum": 0.3},
                {"type": "gru", "units": 5, "bidirectional": true},
                {"type": "batch_norm"}, {"type": "dense", "units": 3, "activation": "tanh"}]"#,
            InitScheme::Torch,
            Loss::Mse,
            ratios.clone(),
        ),
        (
            "conv_relu_lstm_attention",
            r#"[{"type": "conv1d", "filters": 8, "kernel_size": 3, "dilation_rate": 2,
                 "activation": "relu"},
                {"type": "lstm", "units": 4, "activation": "relu", "bidirectional": true,
                 "return_sequences": true},
                {"type": "layer_norm"}, {"type": "attention", "heads": 2, "residual": true},
                {"type": "mean"}, {"type": "dense", "units": 5, "activation": "elu"},
                {"type": "alpha_dropout", "rate": 0.1},
                {"type": "dense", "units": 3, "activation": "softmax"}]"#,
            InitScheme::Torch,
            Loss::Huber,
            ratios.clone(),
        ),
        (
            "conv_flatten_dense",
            r#"[{"type": "conv1d", "filters": 3, "kernel_size": 2, "activation": "gelu"},
                {"type": "lstm", "units": 3, "activation": "relu", "return_sequences": true},
                {"type": "dense", "units": 4, "activation": "selu"},
                {"type": "batch_norm"}, {"type": "flatten"},
                {"type": "dense", "units": 1, "activation": "sigmoid"}]"#,
            InitScheme::Keras,
            Loss::Mae,
            up,
        ),
        (
            "last_step",
            r#"[{"type": "lstm", "units": 7, "return_sequences": true}, {"type": "last"},
                {"type": "dense", "units": 6}, {"type": "dense", "units": 3, "activation": "relu"}]"#,
            InitScheme::Torch,
            Loss::Mse,
            ratios,
        ),
    ]
}

/// The reference module, as docs/pipeline.md prints it.
fn reference_module() -> String {
    let page = std::fs::read_to_string(repo().join("docs/pipeline.md")).expect("pipeline.md");
    let marker = "```python\n# quantsweep `model: {kind: layers}` as a PyTorch module";
    let start = page.find(marker).expect("docs/pipeline.md has the reference module") + 10;
    page[start..].split("```").next().expect("a closed block").to_owned()
}

#[test]
fn saved_weights_load_into_the_documented_pytorch_module_and_predict_the_same() {
    let Some(python) = loopback::venv_tool(&repo(), "python") else { return };
    set_torch_threads(1);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut script = reference_module();
    script.push_str(
        r#"
import json, sys
import numpy as np
from safetensors.torch import load_file
torch.manual_seed(0)
for name, layers in json.loads(open(sys.argv[1]).read()).items():
    x = torch.from_numpy(np.load(f"{sys.argv[2]}/{name}.npz")["x"])
    model = Stack(layers, inputs=x.shape[2], input_bars=x.shape[1])
    model.load_state_dict(load_file(f"{sys.argv[2]}/{name}.safetensors"), strict=True)
    model.eval()
    with torch.no_grad():
        y = model(x)
    if layers[-1].get("activation") == "softmax" and layers[-1]["units"] == 2:
        y = y[:, 1:]
    np.savez(f"{sys.argv[2]}/{name}.torch.npz", y=y.numpy())
"#,
    );
    let mut specs = serde_json::Map::new();
    let mut ours = Vec::new();
    for (name, json, init, loss, target) in cases() {
        let layers: Vec<Layer> = serde_json::from_str(json).expect(name);
        let model = ModelConfig::Layers { layers, init };
        let data = dataset(&target);
        let cfg =
            TrainConfig { epochs: 3, lr: 0.01, batch_size: Some(64), loss, ..Default::default() };
        let fitted = fit(&model, &cfg, &data, 7, DeviceRequest::Cpu, &mut NoopObserver)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        fitted.save(&dir.path().join(format!("{name}.safetensors"))).expect("save");
        let test = data.test.clone();
        let n = test.len() as i64;
        let x = Tensor::from_slice(data.x_slice(test.clone())).view([
            n,
            data.input_bars as i64,
            data.n_inputs() as i64,
        ]);
        Tensor::write_npz(&[("x", &x)], dir.path().join(format!("{name}.npz"))).expect("npz");
        let predicted = fitted.predict(&data, test).expect("predict");
        let width = predicted.len() as i64 / n;
        ours.push((name, Tensor::from_slice(&predicted).view([n, width])));
        specs.insert(name.into(), serde_json::from_str(json).expect(name));
    }
    let spec_path = dir.path().join("specs.json");
    std::fs::write(&spec_path, serde_json::Value::Object(specs).to_string()).expect("specs");
    let out = Command::new(python)
        .arg("-c")
        .arg(&script)
        .arg(&spec_path)
        .arg(dir.path())
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "the reference module failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for (name, y) in ours {
        let theirs = Tensor::read_npz(dir.path().join(format!("{name}.torch.npz")))
            .expect("their predictions");
        let theirs = &theirs[0].1;
        assert_eq!(y.size(), theirs.size(), "{name}");
        let diff = (&y - theirs).abs().max().double_value(&[]);
        let spread = y.std(true).double_value(&[]);
        assert!(diff < 1e-5, "{name}: max |ours - PyTorch| = {diff}");
        // The predictions vary: a constant output would hide a wrong layer.
        assert!(spread > 1e-4 || y.kind() != Kind::Float, "{name}: constant predictions");
    }
}
