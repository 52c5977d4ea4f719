//! Golden forward passes: each seed architecture, given the weights of the same model in
//! PyTorch, computes PyTorch's outputs (evaluation mode: dropout off, BatchNorm on running
//! statistics). `golden/golden.npz` comes from `golden/make.py` (PyTorch 2.11, the venv that
//! supplies libtorch); the weights load by name, which also pins our variable names to the
//! seeds' PyTorch modules.

use std::collections::HashMap;
use std::path::Path;

use quantsweep_train::{Activation, Head, InitScheme, ModelConfig};
use tch::{Device, Tensor, nn};

fn golden() -> HashMap<String, Tensor> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/golden.npz");
    Tensor::read_npz(path).expect("golden.npz").into_iter().collect()
}

/// Loads `prefix.*` weights into `config`'s model and compares its output on `x` with
/// `expected`.
fn check(config: &ModelConfig, prefix: &str, weights_of: &str, expected: &str, outputs: usize) {
    let g = golden();
    let vs = nn::VarStore::new(Device::Cpu);
    let model = config.init(&vs.root(), 5, 4, outputs);
    let vars = vs.variables();
    let theirs: Vec<&String> = g
        .keys()
        .filter(|k| k.starts_with(&format!("{weights_of}.")) && !k.ends_with(".y"))
        .collect();
    assert_eq!(vars.len(), theirs.len(), "{prefix}: ours {:?}, theirs {theirs:?}", vars.keys());
    tch::no_grad(|| {
        for (name, var) in &vars {
            let src = g
                .get(&format!("{weights_of}.{name}"))
                .unwrap_or_else(|| panic!("{prefix}: PyTorch has no `{name}` (it has {theirs:?})"));
            assert_eq!(var.size(), src.size(), "{prefix}: {name}");
            var.shallow_clone().copy_(src);
        }
    });
    let y = tch::no_grad(|| model.forward(&g["x"]));
    let want = &g[&format!("{expected}.y")];
    assert_eq!(y.size(), want.size(), "{prefix}");
    let diff = (&y - want).abs().max().double_value(&[]);
    assert!(diff < 1e-5, "{prefix}: max |ours - PyTorch| = {diff}\nours {y}\nPyTorch {want}");
}

#[test]
fn blankly_matches_pytorch() {
    let config = ModelConfig::Blankly { hidden: 8, layers: 2, head: Head::HalfPlusSigmoid };
    check(&config, "blankly", "blankly", "blankly", 3);
}

#[test]
fn freqai_matches_pytorch_with_and_without_the_quirk() {
    let config = |original| ModelConfig::Freqai { hidden: 8, layers: 3, dropout: 0.3, original };
    check(&config(false), "freqai", "freqai", "freqai", 2);
    check(&config(true), "freqai original", "freqai", "freqai_original", 2);
}

#[test]
fn keras_classifier_with_the_relu_cell_matches_pytorch() {
    let config = ModelConfig::KerasClassifier {
        hidden: 8,
        dropout: 0.2,
        activation: Activation::Relu,
        init: InitScheme::Keras,
    };
    check(&config, "keras", "keras", "keras", 1);
}

/// freqAI's `nn.BatchNorm1d` starts as PyTorch's: scale 1, shift 0 (tch's default scale was
/// drawn from U(0, 1) until session 16; docs/REPRODUCTION.md's freqAI rows were regenerated).
#[test]
fn freqai_batch_norm_starts_at_scale_one() {
    let vs = nn::VarStore::new(Device::Cpu);
    let config = ModelConfig::Freqai { hidden: 8, layers: 3, dropout: 0.3, original: false };
    let _model = config.init(&vs.root(), 5, 4, 2);
    let vars = vs.variables();
    for i in 0..3 {
        let (w, b) =
            (&vars[&format!("batch_norms.{i}.weight")], &vars[&format!("batch_norms.{i}.bias")]);
        assert!(w.eq(1.0).all().int64_value(&[]) == 1, "batch_norms.{i}.weight: {w}");
        assert!(b.eq(0.0).all().int64_value(&[]) == 1, "batch_norms.{i}.bias: {b}");
    }
}
