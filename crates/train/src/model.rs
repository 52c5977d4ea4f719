use tch::Tensor;
use tch::nn::{self, Module, RNN};

use crate::config::{Head, ModelConfig};

/// A model built from a [`ModelConfig`], its variables living in the `VarStore` it was
/// initialised under.
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
}

impl ModelConfig {
    /// Creates the model's variables under `path` (`path / "lstm"`, `path / "head"`).
    pub fn init(&self, path: &nn::Path, n_inputs: usize, n_outputs: usize) -> Model {
        match self {
            ModelConfig::Blankly { hidden, head } => {
                let cfg = nn::RNNConfig { batch_first: true, ..Default::default() };
                let lstm = nn::lstm(path / "lstm", n_inputs as i64, *hidden as i64, cfg);
                let linear =
                    nn::linear(path / "head", *hidden as i64, n_outputs as i64, Default::default());
                Model::Blankly { lstm, linear, head: *head }
            }
        }
    }
}

impl Model {
    /// # Shapes
    /// `x`: `[batch, seq, features]` → `[batch, outputs]`.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        match self {
            Model::Blankly { lstm, linear, head } => {
                let (_, state) = lstm.seq(x);
                // state.h(): [layers, batch, hidden]; the last layer's final hidden state.
                let last = state.h().get(-1); // [batch, hidden]
                let out = linear.forward(&last); // [batch, outputs]
                match head {
                    Head::HalfPlusSigmoid => out.sigmoid() + 0.5,
                    Head::Sigmoid => out.sigmoid(),
                    Head::Identity => out,
                }
            }
        }
    }
}
