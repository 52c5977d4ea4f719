use tch::Tensor;
use tch::nn::{self, Module, ModuleT, RNN};

use crate::cell::StackedLstm;
use crate::config::{Head, ModelConfig};
use crate::layers::{LayerStack, batch_norm1d};
use crate::noise::Mode;

/// A model built from a [`ModelConfig`], its variables living in the `VarStore` it was
/// initialised under. Variable names follow the PyTorch modules of the seeds
/// (`lstm.weight_ih_l0`, `batch_norms.0.running_mean`, `fc1.weight`...), so a PyTorch
/// `state_dict` of the same architecture loads by name (the golden tests do).
#[derive(Debug)]
pub enum Model {
    /// See [`ModelConfig::Blankly`].
    Blankly {
        /// Under `lstm/`.
        lstm: nn::LSTM,
        /// Under `head/`.
        linear: nn::Linear,
        /// Output activation.
        head: Head,
    },
    /// See [`ModelConfig::Freqai`].
    Freqai {
        /// Under `lstm_layers/<i>/`.
        lstms: Vec<nn::LSTM>,
        /// Under `batch_norms/<i>/`.
        norms: Vec<nn::BatchNorm>,
        /// Under `fc1/`: hidden → 36.
        fc1: nn::Linear,
        /// Under `fc2/`: 36 → outputs.
        fc2: nn::Linear,
        /// After each layer's BatchNorm.
        dropout: f64,
        /// Reproduce the original's 2-D input to later layers.
        original: bool,
    },
    /// See [`ModelConfig::KerasClassifier`].
    KerasClassifier {
        /// Under `lstm/`: one model of the stacked cell.
        lstm: StackedLstm,
        /// Under `dense/`: hidden → hidden, relu.
        dense: nn::Linear,
        /// Under `out/`: hidden → outputs, sigmoid.
        out: nn::Linear,
        /// Rate of both Dropout layers.
        dropout: f64,
    },
    /// See [`ModelConfig::Layers`]: variables under `layers/<i>/`, named as PyTorch's.
    Layers(LayerStack),
}

/// Width of freqAI's first fully connected layer.
const FREQAI_FC: i64 = 36;

impl ModelConfig {
    /// Creates the model's variables under `path`, drawing initial values from libtorch's
    /// generator (seed it first).
    /// `input_bars` and `n_inputs` are the window's steps and columns.
    pub fn init(
        &self,
        path: &nn::Path,
        input_bars: usize,
        n_inputs: usize,
        n_outputs: usize,
    ) -> Model {
        let (n_in, n_out) = (n_inputs as i64, n_outputs as i64);
        match self {
            ModelConfig::Blankly { hidden, layers, head } => {
                let cfg = nn::RNNConfig {
                    batch_first: true,
                    num_layers: *layers as i64,
                    ..Default::default()
                };
                let lstm = nn::lstm(path / "lstm", n_in, *hidden as i64, cfg);
                let linear = nn::linear(path / "head", *hidden as i64, n_out, Default::default());
                Model::Blankly { lstm, linear, head: *head }
            }
            ModelConfig::Freqai { hidden, layers, dropout, original } => {
                let h = *hidden as i64;
                let cfg = nn::RNNConfig { batch_first: true, ..Default::default() };
                let lstms = (0..*layers)
                    .map(|i| {
                        let inputs = if i == 0 { n_in } else { h };
                        nn::lstm(path / "lstm_layers" / i, inputs, h, cfg)
                    })
                    .collect();
                let norms = (0..*layers)
                    .map(|i| batch_norm1d(&(path / "batch_norms" / i), h, 0.1, 1e-5))
                    .collect();
                Model::Freqai {
                    lstms,
                    norms,
                    fc1: nn::linear(path / "fc1", h, FREQAI_FC, Default::default()),
                    fc2: nn::linear(path / "fc2", FREQAI_FC, n_out, Default::default()),
                    dropout: *dropout,
                    original: *original,
                }
            }
            ModelConfig::KerasClassifier { hidden, dropout, activation, init } => {
                let h = *hidden as i64;
                let lstm = StackedLstm::new(&(path / "lstm"), 1, n_in, h, *activation, *init);
                let dense_cfg = |fan_in: i64, fan_out: i64| match init {
                    crate::config::InitScheme::Torch => nn::LinearConfig::default(),
                    crate::config::InitScheme::Keras => {
                        let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
                        nn::LinearConfig {
                            ws_init: nn::Init::Uniform { lo: -limit, up: limit },
                            bs_init: Some(nn::Init::Const(0.0)),
                            bias: true,
                        }
                    }
                };
                Model::KerasClassifier {
                    lstm,
                    dense: nn::linear(path / "dense", h, h, dense_cfg(h, h)),
                    out: nn::linear(path / "out", h, n_out, dense_cfg(h, n_out)),
                    dropout: *dropout,
                }
            }
            ModelConfig::Layers { layers, init } => {
                Model::Layers(LayerStack::new(path, layers, input_bars, n_inputs, *init))
            }
        }
    }
}

impl Model {
    /// Evaluation: dropout off, BatchNorm on its running statistics.
    ///
    /// # Shapes
    /// `x`: `[batch, seq, features]` → `[batch, outputs]`.
    /// A two-class softmax head predicts the probability of its second class ("up"),
    /// `[batch, 1]`.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        self.signal(&self.forward_t(x, &mut Mode::Eval))
    }

    /// The prediction in what [`Model::forward_t`] gives: the same, but for a two-class
    /// softmax head, whose log-probabilities `[batch, 2]` become the probability of the
    /// second class `[batch, 1]`.
    pub(crate) fn signal(&self, out: &Tensor) -> Tensor {
        match self {
            Model::Layers(stack) if stack.classes => out.narrow(1, 1, 1).exp(),
            _ => out.shallow_clone(),
        }
    }

    /// Whether a minibatch of one sample cannot train it (BatchNorm needs two).
    pub(crate) fn needs_two_samples(&self) -> bool {
        match self {
            Model::Freqai { .. } => true,
            Model::Layers(stack) => stack.batch_norm,
            _ => false,
        }
    }

    /// A forward pass in `mode` (training draws dropout masks from the trial's generator):
    /// what the loss reads (log-probabilities for a two-class softmax head).
    pub(crate) fn forward_t(&self, x: &Tensor, mode: &mut Mode) -> Tensor {
        match self {
            Model::Blankly { lstm, linear, head } => {
                let (_, state) = lstm.seq(x);
                // state.h(): [layers, batch, hidden]; the last layer's final hidden state.
                let out = linear.forward(&state.h().get(-1)); // [batch, outputs]
                match head {
                    Head::HalfPlusSigmoid => out.sigmoid() + 0.5,
                    Head::Sigmoid => out.sigmoid(),
                    Head::Identity => out,
                }
            }
            Model::Freqai { lstms, norms, fc1, fc2, dropout, original } => {
                let mut x = x.shallow_clone(); // [batch, seq, features]
                for (i, (lstm, norm)) in lstms.iter().zip(norms).enumerate() {
                    let last = if i == 0 {
                        lstm.seq(&x).0.select(1, -1)
                    } else if *original {
                        // [batch, hidden] read as ONE sequence of `batch` steps.
                        lstm.seq(&x.unsqueeze(0)).0.squeeze_dim(0)
                    } else {
                        // Each sample's previous output as a sequence of one step.
                        lstm.seq(&x.unsqueeze(1)).0.select(1, -1)
                    };
                    let y = mode.dropout(&norm.forward_t(&last, mode.train()), *dropout);
                    x = if i == 0 { y } else { y + x };
                }
                let h = fc1.forward(&x).relu();
                fc2.forward(&mode.alpha_dropout(&h, 0.5))
            }
            Model::KerasClassifier { lstm, dense, out, dropout } => {
                let h = lstm.last_hidden(&x.unsqueeze(0)).squeeze_dim(0); // [batch, hidden]
                let h = dense.forward(&mode.dropout(&h, *dropout)).relu();
                out.forward(&mode.dropout(&h, *dropout)).sigmoid()
            }
            Model::Layers(stack) => stack.forward_t(x, mode),
        }
    }
}
