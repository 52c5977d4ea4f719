use serde::{Deserialize, Serialize};

/// The output head on top of the last linear layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Head {
    /// `0.5 + sigmoid(x)`: outputs in (0.5, 1.5), the Blankly seed's head for price ratios.
    #[default]
    HalfPlusSigmoid,
    /// `sigmoid(x)`: probabilities.
    Sigmoid,
    /// No activation.
    Identity,
}

/// The pipeline's `model:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ModelConfig {
    /// LSTM → last hidden state → Linear → head (the Blankly tutorial's model).
    Blankly {
        /// LSTM hidden size. Default: 20.
        #[serde(default = "default_hidden")]
        hidden: usize,
        /// Output head. Default: `half_plus_sigmoid`.
        #[serde(default)]
        head: Head,
    },
}

fn default_hidden() -> usize {
    20
}

/// Optimizer choice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Optimizer {
    /// Adam with PyTorch's defaults (betas 0.9/0.999, eps 1e-8).
    #[default]
    Adam,
    /// AdamW with PyTorch's defaults (weight decay 0.01).
    Adamw,
    /// Plain SGD.
    Sgd,
}

/// Loss function.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Mean squared error.
    #[default]
    Mse,
    /// Mean absolute error.
    Mae,
}

/// The pipeline's `train:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Passes over the training span. Default: 200.
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    /// Learning rate. Default: 0.0003 (the Blankly seed's).
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Optimizer. Default: `adam`.
    #[serde(default)]
    pub optimizer: Optimizer,
    /// Loss. Default: `mse`.
    #[serde(default)]
    pub loss: Loss,
    /// Samples per gradient step; absent means the whole training span at once (full batch,
    /// as the Blankly seed trains). Minibatches are shuffled with the trial's seed.
    #[serde(default)]
    pub batch_size: Option<usize>,
}

fn default_epochs() -> usize {
    200
}
fn default_lr() -> f64 {
    3e-4
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: default_epochs(),
            lr: default_lr(),
            optimizer: Optimizer::default(),
            loss: Loss::default(),
            batch_size: None,
        }
    }
}
