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
        /// Stacked LSTM layers (libtorch's multi-layer LSTM). Default: 1.
        #[serde(default = "one")]
        layers: usize,
        /// Output head. Default: `half_plus_sigmoid`.
        #[serde(default)]
        head: Head,
    },
    /// freqAI-LSTM's `PyTorchLSTMModel`: per layer LSTM → last step → BatchNorm1d → Dropout,
    /// adding the previous layer's output from the second layer on; then Linear(hidden → 36)
    /// → ReLU → AlphaDropout(0.5) → Linear(36 → outputs).
    Freqai {
        /// Hidden size of every LSTM layer. Default: 100.
        #[serde(default = "default_freqai_hidden")]
        hidden: usize,
        /// LSTM layers (`num_lstm_layers`). Default: 1.
        #[serde(default = "one")]
        layers: usize,
        /// Dropout after each layer's BatchNorm (`dropout_percent`). Default: 0.3.
        #[serde(default = "default_freqai_dropout")]
        dropout: f64,
        /// The original's quirk: layers after the first receive a 2-D `[batch, hidden]` tensor,
        /// which PyTorch reads as one unbatched sequence running across the batch (samples see
        /// the samples before them in the batch). Default `false`: each sample's previous
        /// output is a length-1 sequence.
        #[serde(default)]
        original: bool,
    },
    /// The Keras Binance tutorial's classifier: LSTM (hand-written cell, selectable
    /// activation) → last hidden state → Dropout → Dense(hidden, relu) → Dropout → Dense(1,
    /// sigmoid).
    KerasClassifier {
        /// LSTM units and Dense width. Default: 32.
        #[serde(default = "default_keras_hidden")]
        hidden: usize,
        /// Rate of both Dropout layers. Default: 0.2.
        #[serde(default = "default_keras_dropout")]
        dropout: f64,
        /// The cell's activation (candidate and output). Default: `tanh`; the seed uses `relu`.
        #[serde(default)]
        activation: Activation,
        /// Weight initialisation. Default: `keras`.
        #[serde(default)]
        init: InitScheme,
    },
    /// A stack of Keras-named layers applied in order to the window (see
    /// [`Layer`](crate::Layer)).
    Layers {
        /// The stack, first layer first.
        layers: Vec<crate::Layer>,
        /// Weight initialisation. Default: `torch` (PyTorch's layer defaults).
        #[serde(default = "torch_init")]
        init: InitScheme,
    },
}

fn torch_init() -> InitScheme {
    InitScheme::Torch
}

impl Default for ModelConfig {
    /// `blankly` with its defaults.
    fn default() -> Self {
        ModelConfig::Blankly { hidden: default_hidden(), layers: 1, head: Head::default() }
    }
}

/// The LSTM cell activation of [`ModelConfig::KerasClassifier`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// The usual LSTM.
    #[default]
    Tanh,
    /// `activation='relu'`, as the Keras seed sets it.
    Relu,
}

/// How [`ModelConfig::KerasClassifier`] draws its initial weights.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitScheme {
    /// Keras' layer defaults: glorot-uniform kernels, orthogonal recurrent kernel, zero biases
    /// but the forget gate's at 1 (`unit_forget_bias`).
    #[default]
    Keras,
    /// PyTorch's: U(±1/√hidden) for the LSTM, U(±1/√fan_in) for Dense layers.
    Torch,
}

fn default_hidden() -> usize {
    20
}
fn one() -> usize {
    1
}
fn default_freqai_hidden() -> usize {
    100
}
fn default_freqai_dropout() -> f64 {
    0.3
}
fn default_keras_hidden() -> usize {
    32
}
fn default_keras_dropout() -> f64 {
    0.2
}

/// Optimizer choice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Optimizer {
    /// Adam (betas 0.9/0.999, eps 1e-8; Keras: eps 1e-7).
    #[default]
    Adam,
    /// AdamW (weight decay 0.01).
    Adamw,
    /// RMSprop (PyTorch: alpha 0.99, eps 1e-8; Keras: rho 0.9, eps 1e-7).
    Rmsprop,
    /// SGD, with `momentum` when set.
    Sgd,
}

/// Whose optimizer defaults apply where `eps`, `rho` are not given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerDefaults {
    /// PyTorch's.
    #[default]
    Torch,
    /// Keras': eps 1e-7 for Adam and RMSprop, RMSprop's rho 0.9.
    Keras,
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
    /// Binary cross-entropy of probabilities (a sigmoid head) against 0/1 targets.
    Bce,
    /// Huber loss with `huber_delta`.
    Huber,
    /// Cross-entropy of a two-unit softmax head against 0/1 class labels (PyTorch's
    /// `CrossEntropyLoss` on the head's logits).
    CrossEntropy,
}

/// Early stopping on the monitored loss (validation loss, or training loss without a
/// validation span), as Keras' `EarlyStopping`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyStopping {
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// Smallest decrease that counts as an improvement. Default: 0.
    #[serde(default)]
    pub min_delta: f64,
    /// End with the weights of the best epoch. Default: true.
    #[serde(default = "yes")]
    pub restore_best: bool,
}

/// Multiplies the learning rate by `factor` when the monitored loss stops improving, as
/// PyTorch's `ReduceLROnPlateau` (mode min, relative threshold, no cooldown); its defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReduceLrOnPlateau {
    /// Default: 0.1 (freqAI's trainer: 0.2).
    #[serde(default = "default_factor")]
    pub factor: f64,
    /// Epochs without improvement tolerated before a reduction. Default: 10 (freqAI: 5).
    #[serde(default = "default_plateau_patience")]
    pub patience: usize,
    /// The learning rate never goes below this. Default: 0 (freqAI: 1e-5).
    #[serde(default)]
    pub min_lr: f64,
    /// Relative improvement needed to reset the count. Default: 1e-4.
    #[serde(default = "default_threshold")]
    pub threshold: f64,
}

fn yes() -> bool {
    true
}
fn default_factor() -> f64 {
    0.1
}
fn default_plateau_patience() -> usize {
    10
}
fn default_threshold() -> f64 {
    1e-4
}

/// The pipeline's `train:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Passes over the training span. Default: 200.
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    /// Gradient steps instead of epochs: `max(steps / batches per epoch, 1)` epochs, as
    /// freqAI's `n_steps`.
    #[serde(default)]
    pub steps: Option<usize>,
    /// Learning rate. Default: 0.0003 (the Blankly seed's).
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Optimizer. Default: `adam`.
    #[serde(default)]
    pub optimizer: Optimizer,
    /// `torch` or `keras` defaults for `eps` and `rho`. Default: `torch`.
    #[serde(default)]
    pub optimizer_defaults: OptimizerDefaults,
    /// Momentum (SGD, RMSprop). Default: 0.
    #[serde(default)]
    pub momentum: f64,
    /// Weight decay. Default: 0.01 for AdamW, 0 otherwise.
    #[serde(default)]
    pub weight_decay: Option<f64>,
    /// Denominator epsilon of Adam, AdamW and RMSprop.
    #[serde(default)]
    pub eps: Option<f64>,
    /// RMSprop's decay of the squared-gradient average (PyTorch's `alpha`, Keras' `rho`).
    #[serde(default)]
    pub rho: Option<f64>,
    /// Loss. Default: `mse`.
    #[serde(default)]
    pub loss: Loss,
    /// Huber's switch point between quadratic and linear. Default: 1.
    #[serde(default = "default_delta")]
    pub huber_delta: f64,
    /// Samples per gradient step; absent means the whole training span at once (full batch,
    /// as the Blankly seed trains). Minibatches are shuffled with the trial's seed.
    #[serde(default)]
    pub batch_size: Option<usize>,
    /// Drop the last, smaller minibatch of each epoch (freqAI's loader). Default: false.
    #[serde(default)]
    pub drop_last: bool,
    /// Rescale gradients whose global L2 norm exceeds this.
    #[serde(default)]
    pub clip_grad_norm: Option<f64>,
    /// Stop when the monitored loss stops improving.
    #[serde(default)]
    pub early_stopping: Option<EarlyStopping>,
    /// Lower the learning rate when the monitored loss stops improving.
    #[serde(default)]
    pub reduce_lr_on_plateau: Option<ReduceLrOnPlateau>,
    /// Save the final (or restored best) weights as safetensors with the trial's results.
    #[serde(default)]
    pub save_model: bool,
}

fn default_epochs() -> usize {
    200
}
fn default_lr() -> f64 {
    3e-4
}
fn default_delta() -> f64 {
    1.0
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: default_epochs(),
            steps: None,
            lr: default_lr(),
            optimizer: Optimizer::default(),
            optimizer_defaults: OptimizerDefaults::default(),
            momentum: 0.0,
            weight_decay: None,
            eps: None,
            rho: None,
            loss: Loss::default(),
            huber_delta: default_delta(),
            batch_size: None,
            drop_last: false,
            clip_grad_norm: None,
            early_stopping: None,
            reduce_lr_on_plateau: None,
            save_model: false,
        }
    }
}
