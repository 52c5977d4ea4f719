//! `model: {kind: layers, layers: [...]}`: a stack of Keras-named layers applied in order to
//! the window `[batch, input_bars, inputs]` (issue #24).
//!
//! - [`Layer`] is one entry of the pipeline's list; [`check_stack`] follows the shapes through
//!   the stack and names the first layer that cannot take what reaches it.
//! - [`LayerStack`] is the built model. Its variables are named as the equivalent PyTorch
//!   `nn.Sequential`-style module names its parameters (`layers.0.weight_ih_l0`,
//!   `layers.0.weight_ih_l0_reverse`, `layers.3.weight`, `layers.4.running_mean`,
//!   `layers.5.in_proj_weight`), so `load_state_dict` takes our saved weights; docs/pipeline.md
//!   gives that module for every layer type.
//!
//! Every layer is causal in time: within a window, step t reads steps ≤ t only (`conv1d`
//! pads on the left), except the reverse half of a bidirectional RNN and `attention`, which
//! read the whole window: still only bars up to the decision bar.

use serde::{Deserialize, Serialize};
use tch::nn::{self, Init, Module, ModuleT, RNN};
use tch::{Kind, Tensor};

use crate::TrainError;
use crate::config::{Activation, InitScheme};
use crate::noise::Mode;

/// One entry of `model.layers`: `type` and Keras' argument names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Layer {
    /// `nn.LSTM(batch_first=True)`, or with `activation: relu` the hand-written cell.
    Lstm {
        /// Hidden size.
        units: usize,
        /// Every step's hidden state `[batch, steps, units]`; false: the final one `[batch,
        /// units]` (both directions' concatenated when bidirectional, as `h_n` gives).
        #[serde(default)]
        return_sequences: bool,
        /// A second LSTM reads the window backwards; outputs are concatenated.
        #[serde(default)]
        bidirectional: bool,
        /// The cell's activation (candidate and output). Default: `tanh`.
        #[serde(default)]
        activation: Activation,
    },
    /// `nn.GRU(batch_first=True)` (Keras' `reset_after=True` GRU).
    Gru {
        /// Hidden size.
        units: usize,
        /// As for `lstm`.
        #[serde(default)]
        return_sequences: bool,
        /// As for `lstm`.
        #[serde(default)]
        bidirectional: bool,
    },
    /// `nn.Linear` on the last axis (every step of a sequence, as Keras' Dense), then
    /// `activation`.
    Dense {
        /// Output width.
        units: usize,
        /// Default: `linear`.
        #[serde(default)]
        activation: DenseActivation,
    },
    /// `nn.Dropout(rate)`.
    Dropout {
        /// Probability of zeroing a unit while training.
        rate: f64,
    },
    /// `nn.AlphaDropout(rate)`.
    AlphaDropout {
        /// Probability of dropping a unit while training.
        rate: f64,
    },
    /// `nn.BatchNorm1d` over the last axis (of a 2-D or 3-D input).
    BatchNorm {
        /// Weight of the new batch in the running statistics (PyTorch's sense). Default: 0.1.
        #[serde(default = "default_momentum")]
        momentum: f64,
        /// Default: 1e-5.
        #[serde(default = "default_eps")]
        eps: f64,
    },
    /// `nn.LayerNorm` over the last axis.
    LayerNorm {
        /// Default: 1e-5.
        #[serde(default = "default_eps")]
        eps: f64,
    },
    /// `nn.Conv1d` over the steps with causal padding: output step t reads steps ≤ t, and
    /// the sequence keeps its length.
    Conv1d {
        /// Output channels.
        filters: usize,
        /// Steps each output reads.
        kernel_size: usize,
        /// Spacing of those steps. Default: 1.
        #[serde(default = "one")]
        dilation_rate: usize,
        /// Default: `linear`.
        #[serde(default)]
        activation: DenseActivation,
    },
    /// `nn.MultiheadAttention(width, heads, batch_first=True)` as self-attention over the
    /// steps; `residual` adds the input to its output.
    Attention {
        /// Heads; they must divide the width.
        heads: usize,
        /// Default: false.
        #[serde(default)]
        residual: bool,
    },
    /// The last step: `x[:, -1, :]`.
    Last,
    /// The mean over steps: `x.mean(1)`.
    Mean,
    /// `nn.Flatten()`: `[batch, steps, width]` → `[batch, steps·width]`.
    Flatten,
}

/// The activation after a `dense` or `conv1d` layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DenseActivation {
    /// None.
    #[default]
    Linear,
    /// `torch.relu`.
    Relu,
    /// `torch.tanh`.
    Tanh,
    /// `torch.sigmoid`.
    Sigmoid,
    /// `torch.softmax(x, -1)`.
    Softmax,
    /// `nn.ELU()`.
    Elu,
    /// `nn.SELU()`.
    Selu,
    /// `nn.GELU()` (exact).
    Gelu,
}

fn default_momentum() -> f64 {
    0.1
}
fn default_eps() -> f64 {
    1e-5
}
fn one() -> usize {
    1
}

impl Layer {
    /// The name of its `type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Layer::Lstm { .. } => "lstm",
            Layer::Gru { .. } => "gru",
            Layer::Dense { .. } => "dense",
            Layer::Dropout { .. } => "dropout",
            Layer::AlphaDropout { .. } => "alpha_dropout",
            Layer::BatchNorm { .. } => "batch_norm",
            Layer::LayerNorm { .. } => "layer_norm",
            Layer::Conv1d { .. } => "conv1d",
            Layer::Attention { .. } => "attention",
            Layer::Last => "last",
            Layer::Mean => "mean",
            Layer::Flatten => "flatten",
        }
    }
}

/// What flows between layers, without the batch axis. `None` widths are not known yet (the
/// input's, before the features are computed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `[batch, steps, width]`.
    Seq(Option<usize>, Option<usize>),
    /// `[batch, width]`.
    Flat(Option<usize>),
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = |v: Option<usize>, name: &str| v.map_or(name.to_owned(), |v| v.to_string());
        match self {
            Shape::Seq(s, w) => write!(f, "[batch, {}, {}]", n(*s, "steps"), n(*w, "inputs")),
            Shape::Flat(w) => write!(f, "[batch, {}]", n(*w, "width")),
        }
    }
}

impl Shape {
    fn width(self) -> Option<usize> {
        match self {
            Shape::Seq(_, w) | Shape::Flat(w) => w,
        }
    }
    fn with_width(self, width: Option<usize>) -> Shape {
        match self {
            Shape::Seq(s, _) => Shape::Seq(s, width),
            Shape::Flat(_) => Shape::Flat(width),
        }
    }
}

/// What the stack must end with: `targets` outputs (when known), or a two-unit softmax
/// (class probabilities of a 0/1 label) when the loss is `cross_entropy`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ends {
    pub targets: Option<usize>,
    pub cross_entropy: bool,
}

/// `nn.BatchNorm1d(width, eps, momentum)` as PyTorch starts it: scale 1, shift 0 (tch's
/// default draws the scale from U(0, 1)).
pub(crate) fn batch_norm1d(p: &nn::Path, width: i64, momentum: f64, eps: f64) -> nn::BatchNorm {
    let cfg =
        nn::BatchNormConfig { momentum, eps, ws_init: Init::Const(1.0), ..Default::default() };
    nn::batch_norm1d(p, width, cfg)
}

/// Whether the stack ends in `dense(units: 2, activation: softmax)`: its output is then read
/// as class probabilities of a one-column 0/1 label.
pub(crate) fn softmax_head(layers: &[Layer]) -> bool {
    matches!(layers.last(), Some(Layer::Dense { units: 2, activation: DenseActivation::Softmax }))
}

/// Follows `input` through `layers`, checking every value and every shape: the error names
/// the layer's key (`model.layers[3].units`), what reached it and what it expected.
pub(crate) fn check_stack(layers: &[Layer], input: Shape, ends: Ends) -> Result<(), TrainError> {
    let bad = |key: String, message: String| Err(TrainError::InvalidConfig { key, message });
    if layers.is_empty() {
        return bad(
            "model.layers".into(),
            "the stack is empty: list at least one layer, e.g. [{type: lstm, units: 32}, \
             {type: dense, units: 1}]"
                .into(),
        );
    }
    let mut shape = input;
    for (i, layer) in layers.iter().enumerate() {
        let at = |field: &str| {
            if field.is_empty() {
                format!("model.layers[{i}]")
            } else {
                format!("model.layers[{i}].{field}")
            }
        };
        let kind = layer.type_name();
        let positive = |field: &str, v: usize| {
            if v >= 1 { Ok(()) } else { bad(at(field), "must be at least 1".into()) }
        };
        let rate = |field: &str, p: f64| {
            if (0.0..1.0).contains(&p) {
                Ok(())
            } else {
                bad(at(field), format!("must be in [0, 1), got {p}"))
            }
        };
        let small = |field: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                bad(at(field), format!("must be a positive number, got {v}"))
            }
        };
        let needs_sequence = || {
            let Shape::Flat(w) = shape else { return Ok(()) };
            let before = i.checked_sub(1).map(|j| &layers[j]);
            let why = match before {
                Some(Layer::Lstm { .. } | Layer::Gru { .. }) => format!(
                    " (layers[{}] gives its final state only: set return_sequences: true there)",
                    i - 1
                ),
                Some(Layer::Last | Layer::Mean | Layer::Flatten) => {
                    format!(" (layers[{}] ended the sequence)", i - 1)
                }
                _ => String::new(),
            };
            bad(
                at(""),
                format!(
                    "{kind} reads a sequence [batch, steps, width], but gets {}{why}",
                    Shape::Flat(w)
                ),
            )
        };
        shape = match layer {
            Layer::Lstm { units, return_sequences, bidirectional, .. }
            | Layer::Gru { units, return_sequences, bidirectional } => {
                positive("units", *units)?;
                needs_sequence()?;
                let width = Some(units * if *bidirectional { 2 } else { 1 });
                match (return_sequences, shape) {
                    (true, Shape::Seq(s, _)) => Shape::Seq(s, width),
                    _ => Shape::Flat(width),
                }
            }
            Layer::Dense { units, activation } => {
                positive("units", *units)?;
                if *activation == DenseActivation::Softmax && *units == 1 {
                    return bad(
                        at("activation"),
                        "softmax over one unit is always 1: a two-class label needs units: 2 \
                         (with train.loss: cross_entropy), or sigmoid on one unit (with bce)"
                            .into(),
                    );
                }
                shape.with_width(Some(*units))
            }
            Layer::Dropout { rate: p } | Layer::AlphaDropout { rate: p } => {
                rate("rate", *p)?;
                shape
            }
            Layer::BatchNorm { momentum, eps } => {
                if !(0.0..=1.0).contains(momentum) {
                    return bad(at("momentum"), format!("must be in [0, 1], got {momentum}"));
                }
                small("eps", *eps)?;
                shape
            }
            Layer::LayerNorm { eps } => {
                small("eps", *eps)?;
                shape
            }
            Layer::Conv1d { filters, kernel_size, dilation_rate, .. } => {
                positive("filters", *filters)?;
                positive("kernel_size", *kernel_size)?;
                positive("dilation_rate", *dilation_rate)?;
                needs_sequence()?;
                shape.with_width(Some(*filters))
            }
            Layer::Attention { heads, .. } => {
                positive("heads", *heads)?;
                needs_sequence()?;
                if let Some(w) = shape.width()
                    && w % heads != 0
                {
                    return bad(
                        at("heads"),
                        format!(
                            "attention splits the width {w} of {shape} into {heads} heads: \
                             heads must divide it"
                        ),
                    );
                }
                shape
            }
            Layer::Last | Layer::Mean => {
                needs_sequence()?;
                Shape::Flat(shape.width())
            }
            Layer::Flatten => match shape {
                Shape::Seq(s, w) => Shape::Flat(s.zip(w).map(|(s, w)| s * w)),
                flat => flat,
            },
        };
    }
    let last = layers.len() - 1;
    if let Shape::Seq(..) = shape {
        return bad(
            "model.layers".into(),
            format!(
                "the stack ends with a sequence {shape}: end it with last, mean or flatten, or \
                 an lstm/gru without return_sequences, and a dense layer as wide as the target"
            ),
        );
    }
    let head = softmax_head(layers);
    if ends.cross_entropy && !head {
        return bad(
            "train.loss".into(),
            "cross_entropy trains a two-class softmax head: end model.layers with {type: dense, \
             units: 2, activation: softmax} and use a 0/1 target (up_down)"
                .into(),
        );
    }
    let Some(targets) = ends.targets else { return Ok(()) };
    if head && targets == 1 {
        if !ends.cross_entropy {
            return bad(
                format!("model.layers[{last}].activation"),
                "a two-unit softmax gives the probabilities of a 0/1 label's two classes: train \
                 it with train.loss: cross_entropy"
                    .into(),
            );
        }
        return Ok(());
    }
    if ends.cross_entropy {
        return bad(
            "train.loss".into(),
            format!(
                "cross_entropy needs a one-column 0/1 target (up_down); this target has \
                 {targets} columns"
            ),
        );
    }
    match shape.width() {
        Some(w) if w != targets => {
            let field = match layers[last] {
                Layer::Dense { .. } => "units",
                Layer::Lstm { .. } | Layer::Gru { .. } => "units",
                Layer::Conv1d { .. } => "filters",
                _ => "",
            };
            let key = if field.is_empty() {
                format!("model.layers[{last}]")
            } else {
                format!("model.layers[{last}].{field}")
            };
            let what =
                if targets == 1 { "1 column".to_owned() } else { format!("{targets} columns") };
            bad(
                key,
                format!(
                    "the stack ends with {shape}, but the target has {what}: the last layer \
                     must give {targets} output{} (or 2 with softmax for a 0/1 label)",
                    if targets == 1 { "" } else { "s" }
                ),
            )
        }
        _ => Ok(()),
    }
}

/// One built layer; see [`Layer`] for what each computes.
#[derive(Debug)]
enum Built {
    Lstm { rnn: nn::LSTM, sequences: bool, bidirectional: bool },
    Gru { rnn: nn::GRU, sequences: bool, bidirectional: bool },
    Cell { cell: Cell, sequences: bool },
    Dense { linear: nn::Linear, activation: DenseActivation },
    Dropout(f64),
    AlphaDropout(f64),
    BatchNorm(nn::BatchNorm),
    LayerNorm(nn::LayerNorm),
    Conv1d { conv: nn::Conv1D, pad: i64, activation: DenseActivation },
    Attention { in_proj: (Tensor, Tensor), out_proj: nn::Linear, heads: i64, residual: bool },
    Last,
    Mean,
    Flatten,
}

/// A built stack; see the module documentation.
#[derive(Debug)]
pub struct LayerStack {
    layers: Vec<Built>,
    /// The stack ends in a two-unit softmax: training reads log-probabilities, predictions
    /// the probability of the second class ("up").
    pub(crate) classes: bool,
    pub(crate) batch_norm: bool,
}

/// `U(±bound)`.
fn uniform(bound: f64) -> Init {
    Init::Uniform { lo: -bound, up: bound }
}

/// Glorot (Xavier) uniform for a weight of `fan_in` inputs and `fan_out` outputs.
fn glorot(fan_in: i64, fan_out: i64) -> Init {
    uniform((6.0 / (fan_in + fan_out) as f64).sqrt())
}

/// A `[rows, cols]` matrix with orthonormal columns (`rows ≥ cols`), as Keras' `Orthogonal`.
fn orthogonal(rows: i64, cols: i64) -> Tensor {
    let a = Tensor::randn([rows, cols], (Kind::Float, tch::Device::Cpu));
    let (q, r) = Tensor::linalg_qr(&a, "reduced");
    q * r.diagonal(0, 0, 1).sign().unsqueeze(0)
}

/// Overwrites the variable `name` under `path` with `value`.
fn set(path: &nn::Path, name: &str, value: &Tensor) {
    if let Some(var) = path.get(name) {
        tch::no_grad(|| var.shallow_clone().copy_(&value.to_device(var.device())));
    }
}

/// Keras' recurrent initialisation on PyTorch-named RNN weights: orthogonal recurrent
/// kernels, zero biases with (for an LSTM) the input-side forget gate's at one.
fn keras_recurrent(path: &nn::Path, gates: i64, hidden: i64, directions: i64, lstm: bool) {
    for d in 0..directions {
        let suffix = if d == 1 { "_reverse" } else { "" };
        set(path, &format!("weight_hh_l0{suffix}"), &orthogonal(gates * hidden, hidden));
        if lstm {
            let b = Tensor::zeros([gates * hidden], (Kind::Float, tch::Device::Cpu));
            let _ = b.narrow(0, hidden, hidden).fill_(1.0);
            set(path, &format!("bias_ih_l0{suffix}"), &b);
        }
    }
}

impl LayerStack {
    /// Creates the variables of `layers` under `path / "layers" / i`, for windows of
    /// `input_bars` steps and `inputs` columns. The stack must have passed [`check_stack`].
    pub(crate) fn new(
        path: &nn::Path,
        layers: &[Layer],
        input_bars: usize,
        inputs: usize,
        init: InitScheme,
    ) -> Self {
        let keras = init == InitScheme::Keras;
        let mut width = inputs as i64;
        // The steps while the input is a sequence (flatten multiplies them into the width).
        let mut steps = Some(input_bars as i64);
        let mut built = Vec::with_capacity(layers.len());
        for (i, layer) in layers.iter().enumerate() {
            let p = path / "layers" / i;
            let b = match layer {
                Layer::Lstm { units, return_sequences, bidirectional, activation } => {
                    let (h, dirs) = (*units as i64, if *bidirectional { 2 } else { 1 });
                    let layer = if *activation == Activation::Relu {
                        let cell = Cell::new(&p, width, h, dirs, keras);
                        Built::Cell { cell, sequences: *return_sequences }
                    } else {
                        let cfg = rnn_config(width, 4 * h, h, *bidirectional, keras);
                        let rnn = nn::lstm(&p, width, h, cfg);
                        if keras {
                            keras_recurrent(&p, 4, h, dirs, true);
                        }
                        Built::Lstm {
                            rnn,
                            sequences: *return_sequences,
                            bidirectional: *bidirectional,
                        }
                    };
                    width = h * dirs;
                    if !*return_sequences {
                        steps = None;
                    }
                    layer
                }
                Layer::Gru { units, return_sequences, bidirectional } => {
                    let (h, dirs) = (*units as i64, if *bidirectional { 2 } else { 1 });
                    let cfg = rnn_config(width, 3 * h, h, *bidirectional, keras);
                    let rnn = nn::gru(&p, width, h, cfg);
                    if keras {
                        keras_recurrent(&p, 3, h, dirs, false);
                    }
                    width = h * dirs;
                    if !*return_sequences {
                        steps = None;
                    }
                    Built::Gru { rnn, sequences: *return_sequences, bidirectional: *bidirectional }
                }
                Layer::Dense { units, activation } => {
                    let out = *units as i64;
                    let linear = nn::linear(&p, width, out, linear_config(width, out, keras));
                    width = out;
                    Built::Dense { linear, activation: *activation }
                }
                Layer::Dropout { rate } => Built::Dropout(*rate),
                Layer::AlphaDropout { rate } => Built::AlphaDropout(*rate),
                Layer::BatchNorm { momentum, eps } => {
                    Built::BatchNorm(batch_norm1d(&p, width, *momentum, *eps))
                }
                Layer::LayerNorm { eps } => {
                    let cfg = nn::LayerNormConfig { eps: *eps, ..Default::default() };
                    Built::LayerNorm(nn::layer_norm(&p, vec![width], cfg))
                }
                Layer::Conv1d { filters, kernel_size, dilation_rate, activation } => {
                    let (f, k, d) = (*filters as i64, *kernel_size as i64, *dilation_rate as i64);
                    let (ws_init, bs_init) = if keras {
                        (glorot(width * k, f * k), Init::Const(0.0))
                    } else {
                        let bound = 1.0 / ((width * k) as f64).sqrt();
                        (uniform(bound), uniform(bound))
                    };
                    let cfg =
                        nn::ConvConfig { dilation: d, ws_init, bs_init, ..Default::default() };
                    let conv = nn::conv1d(&p, width, f, k, cfg);
                    width = f;
                    Built::Conv1d { conv, pad: (k - 1) * d, activation: *activation }
                }
                Layer::Attention { heads, residual } => {
                    // PyTorch's `_reset_parameters`: xavier_uniform in_proj, zero biases.
                    let w = p.var("in_proj_weight", &[3 * width, width], glorot(width, 3 * width));
                    let b = p.var("in_proj_bias", &[3 * width], Init::Const(0.0));
                    let mut cfg = linear_config(width, width, keras);
                    cfg.bs_init = Some(Init::Const(0.0));
                    let out_proj = nn::linear(&p / "out_proj", width, width, cfg);
                    Built::Attention {
                        in_proj: (w, b),
                        out_proj,
                        heads: *heads as i64,
                        residual: *residual,
                    }
                }
                Layer::Last => {
                    steps = None;
                    Built::Last
                }
                Layer::Mean => {
                    steps = None;
                    Built::Mean
                }
                Layer::Flatten => {
                    width *= steps.take().unwrap_or(1);
                    Built::Flatten
                }
            };
            built.push(b);
        }
        let batch_norm = layers.iter().any(|l| matches!(l, Layer::BatchNorm { .. }));
        LayerStack { layers: built, classes: softmax_head(layers), batch_norm }
    }

    /// `x` `[batch, steps, inputs]` through the stack. With a softmax head, the output is
    /// its log-probabilities (what `cross_entropy` trains on).
    pub(crate) fn forward_t(&self, x: &Tensor, mode: &mut Mode) -> Tensor {
        let mut x = x.shallow_clone();
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            x = match layer {
                Built::Lstm { rnn, sequences, bidirectional } => {
                    let (out, state) = rnn.seq(&x);
                    if *sequences { out } else { final_state(&state.h(), *bidirectional) }
                }
                Built::Gru { rnn, sequences, bidirectional } => {
                    let (out, state) = rnn.seq(&x);
                    if *sequences { out } else { final_state(&state.value(), *bidirectional) }
                }
                Built::Cell { cell, sequences } => cell.forward(&x, *sequences),
                Built::Dense { linear, activation } => {
                    let y = linear.forward(&x);
                    if i == last && self.classes {
                        y.log_softmax(-1, y.kind())
                    } else {
                        activate(&y, *activation)
                    }
                }
                Built::Dropout(p) => mode.dropout(&x, *p),
                Built::AlphaDropout(p) => mode.alpha_dropout(&x, *p),
                Built::BatchNorm(norm) => {
                    if x.dim() == 3 {
                        norm.forward_t(&x.transpose(1, 2), mode.train()).transpose(1, 2)
                    } else {
                        norm.forward_t(&x, mode.train())
                    }
                }
                Built::LayerNorm(norm) => norm.forward(&x),
                Built::Conv1d { conv, pad, activation } => {
                    // [batch, steps, channels] → [batch, channels, steps], zeros on the left.
                    let y = conv.forward(&x.transpose(1, 2).constant_pad_nd([*pad, 0]));
                    activate(&y.transpose(1, 2), *activation)
                }
                Built::Attention { in_proj, out_proj, heads, residual } => {
                    let y = self_attention(&x, in_proj, out_proj, *heads);
                    if *residual { y + &x } else { y }
                }
                Built::Last => x.select(1, -1),
                Built::Mean => x.mean_dim(1, false, x.kind()),
                Built::Flatten => {
                    if x.dim() == 3 {
                        x.flatten(1, -1)
                    } else {
                        x
                    }
                }
            };
        }
        x
    }
}

/// The final hidden state from `h_n` `[directions, batch, units]`: `[batch, directions·units]`.
fn final_state(h: &Tensor, bidirectional: bool) -> Tensor {
    if bidirectional { Tensor::cat(&[h.get(0), h.get(1)], -1) } else { h.get(-1) }
}

fn activate(x: &Tensor, activation: DenseActivation) -> Tensor {
    match activation {
        DenseActivation::Linear => x.shallow_clone(),
        DenseActivation::Relu => x.relu(),
        DenseActivation::Tanh => x.tanh(),
        DenseActivation::Sigmoid => x.sigmoid(),
        DenseActivation::Softmax => x.softmax(-1, x.kind()),
        DenseActivation::Elu => x.elu(),
        DenseActivation::Selu => x.selu(),
        DenseActivation::Gelu => x.gelu("none"),
    }
}

/// PyTorch's RNN initialisation (U(±1/√units) everywhere), or Keras' (glorot-uniform input
/// kernel; the recurrent kernel and biases are set afterwards by [`keras_recurrent`]).
fn rnn_config(
    inputs: i64,
    gates: i64,
    hidden: i64,
    bidirectional: bool,
    keras: bool,
) -> nn::RNNConfig {
    let torch = uniform(1.0 / (hidden as f64).sqrt());
    let (w_ih, w_hh, b) = if keras {
        (glorot(inputs, gates), torch, Init::Const(0.0))
    } else {
        (torch, torch, torch)
    };
    nn::RNNConfig {
        bidirectional,
        batch_first: true,
        w_ih_init: w_ih,
        w_hh_init: w_hh,
        b_ih_init: Some(b),
        b_hh_init: Some(b),
        ..Default::default()
    }
}

/// PyTorch's `nn.Linear` initialisation (U(±1/√fan_in) for weight and bias), or Keras'
/// Dense (glorot uniform, zero bias).
fn linear_config(fan_in: i64, fan_out: i64, keras: bool) -> nn::LinearConfig {
    if keras {
        nn::LinearConfig {
            ws_init: glorot(fan_in, fan_out),
            bs_init: Some(Init::Const(0.0)),
            bias: true,
        }
    } else {
        let bound = 1.0 / (fan_in as f64).sqrt();
        nn::LinearConfig { ws_init: uniform(bound), bs_init: Some(uniform(bound)), bias: true }
    }
}

/// `nn.MultiheadAttention(width, heads, batch_first=True)(x, x, x)[0]`.
fn self_attention(x: &Tensor, in_proj: &(Tensor, Tensor), out: &nn::Linear, heads: i64) -> Tensor {
    let size = x.size();
    let (batch, steps, width) = (size[0], size[1], size[2]);
    let d = width / heads;
    let qkv = x.matmul(&in_proj.0.transpose(0, 1)) + &in_proj.1; // [batch, steps, 3·width]
    let split = |t: &Tensor| t.view([batch, steps, heads, d]).transpose(1, 2);
    let parts = qkv.chunk(3, -1);
    let (q, k, v) = (split(&parts[0]), split(&parts[1]), split(&parts[2]));
    let scores = q.matmul(&k.transpose(-2, -1)) / (d as f64).sqrt();
    let y = scores.softmax(-1, x.kind()).matmul(&v); // [batch, heads, steps, d]
    out.forward(&y.transpose(1, 2).reshape([batch, steps, width]))
}

/// An LSTM written out step by step, for `activation: relu` (libtorch's fused LSTM has
/// tanh only). Variables named as `nn.LSTM`'s (`weight_ih_l0`, `bias_hh_l0_reverse`...), so
/// the reference module in docs/pipeline.md loads them.
#[derive(Debug)]
struct Cell {
    /// Per direction: `weight_ih [4h, in]`, `weight_hh [4h, h]`, `bias_ih`, `bias_hh`.
    directions: Vec<[Tensor; 4]>,
    hidden: i64,
}

impl Cell {
    fn new(path: &nn::Path, inputs: i64, hidden: i64, directions: i64, keras: bool) -> Self {
        let gates = 4 * hidden;
        let cfg = rnn_config(inputs, gates, hidden, false, keras);
        let directions = (0..directions)
            .map(|d| {
                let s = if d == 1 { "_reverse" } else { "" };
                let b = cfg.b_ih_init.unwrap_or(Init::Const(0.0));
                [
                    path.var(&format!("weight_ih_l0{s}"), &[gates, inputs], cfg.w_ih_init),
                    path.var(&format!("weight_hh_l0{s}"), &[gates, hidden], cfg.w_hh_init),
                    path.var(&format!("bias_ih_l0{s}"), &[gates], b),
                    path.var(&format!("bias_hh_l0{s}"), &[gates], b),
                ]
            })
            .collect::<Vec<_>>();
        if keras {
            keras_recurrent(path, 4, hidden, directions.len() as i64, true);
        }
        Cell { directions, hidden }
    }

    /// `x` `[batch, steps, inputs]` → every step's `[batch, steps, dirs·h]` or the final
    /// states `[batch, dirs·h]`.
    fn forward(&self, x: &Tensor, sequences: bool) -> Tensor {
        let mut outs = Vec::with_capacity(self.directions.len());
        let mut finals = Vec::with_capacity(self.directions.len());
        for (d, [w_ih, w_hh, b_ih, b_hh]) in self.directions.iter().enumerate() {
            let input = if d == 1 { x.flip([1]) } else { x.shallow_clone() };
            let projected = input.matmul(&w_ih.transpose(0, 1)) + b_ih + b_hh;
            let w_hh = w_hh.transpose(0, 1);
            let size = x.size();
            let zeros = Tensor::zeros([size[0], self.hidden], (x.kind(), x.device()));
            let (mut h, mut c) = (zeros.shallow_clone(), zeros);
            let h4 = self.hidden;
            let mut steps = Vec::with_capacity(size[1] as usize);
            for t in 0..size[1] {
                let gates = projected.select(1, t).addmm(&h, &w_hh);
                let sig = gates.sigmoid().chunk(4, -1);
                let candidate = gates.narrow(-1, 2 * h4, h4).relu();
                c = (&sig[1] * c).addcmul(&sig[0], &candidate);
                h = &sig[3] * c.relu();
                if sequences {
                    steps.push(h.shallow_clone());
                }
            }
            if sequences {
                let out = Tensor::stack(&steps, 1);
                outs.push(if d == 1 { out.flip([1]) } else { out });
            }
            finals.push(h);
        }
        if sequences { Tensor::cat(&outs, -1) } else { Tensor::cat(&finals, -1) }
    }
}

#[cfg(test)]
mod tests {
    use tch::Device;

    use super::*;

    fn stack(json: &str, init: InitScheme) -> (nn::VarStore, LayerStack) {
        let layers: Vec<Layer> = serde_json::from_str(json).expect("layers");
        let vs = nn::VarStore::new(Device::Cpu);
        let stack = LayerStack::new(&vs.root(), &layers, 9, 3, init);
        (vs, stack)
    }

    fn eval(stack: &LayerStack, x: &Tensor) -> Tensor {
        tch::no_grad(|| stack.forward_t(x, &mut Mode::Eval))
    }

    /// Step-wise causality: with every layer that keeps the steps in order (causal conv1d,
    /// forward RNNs, per-step dense and norms), changing steps after t changes no output at
    /// or before t, for every t and several random inputs and weights.
    #[test]
    fn sequence_layers_never_read_later_steps() {
        let stacks = [
            r#"[{"type": "conv1d", "filters": 4, "kernel_size": 3, "dilation_rate": 2},
                {"type": "conv1d", "filters": 5, "kernel_size": 2, "activation": "relu"}]"#,
            r#"[{"type": "lstm", "units": 4, "return_sequences": true, "activation": "relu"},
                {"type": "gru", "units": 3, "return_sequences": true},
                {"type": "lstm", "units": 2, "return_sequences": true}]"#,
            r#"[{"type": "conv1d", "filters": 6, "kernel_size": 4}, {"type": "layer_norm"},
                {"type": "batch_norm"}, {"type": "dense", "units": 2, "activation": "softmax"},
                {"type": "lstm", "units": 3, "return_sequences": true}]"#,
        ];
        for (k, json) in stacks.iter().enumerate() {
            for seed in 0..4 {
                tch::manual_seed(seed);
                let (_vs, s) = stack(json, InitScheme::Torch);
                let x = Tensor::randn([5, 9, 3], (Kind::Float, Device::Cpu));
                let y = eval(&s, &x);
                for t in 0..8 {
                    let later = Tensor::randn([5, 8 - t, 3], (Kind::Float, Device::Cpu));
                    let x2 = Tensor::cat(&[x.narrow(1, 0, t + 1), later], 1);
                    let y2 = eval(&s, &x2);
                    let diff = (y.narrow(1, 0, t + 1) - y2.narrow(1, 0, t + 1)).abs().max();
                    assert!(diff.double_value(&[]) < 1e-6, "stack {k}, seed {seed}, step {t}");
                    assert!(
                        y.narrow(1, t + 1, 1)
                            .not_equal_tensor(&y2.narrow(1, t + 1, 1))
                            .any()
                            .int64_value(&[])
                            == 1,
                        "stack {k}: step {} reads its input",
                        t + 1
                    );
                }
            }
        }
    }

    /// A sample's prediction depends on its own window only: alone or in any batch, in
    /// evaluation mode, every stack (attention, bidirectional RNNs and BatchNorm included)
    /// gives the same numbers.
    #[test]
    fn a_window_is_predicted_from_itself_alone() {
        let json = r#"[{"type": "conv1d", "filters": 4, "kernel_size": 2},
            {"type": "lstm", "units": 4, "return_sequences": true, "bidirectional": true},
            {"type": "attention", "heads": 2, "residual": true}, {"type": "batch_norm"},
            {"type": "gru", "units": 3, "bidirectional": true, "return_sequences": true},
            {"type": "flatten"}, {"type": "dense", "units": 2, "activation": "softmax"}]"#;
        for init in [InitScheme::Torch, InitScheme::Keras] {
            tch::manual_seed(3);
            let (_vs, s) = stack(json, init);
            let x = Tensor::randn([6, 9, 3], (Kind::Float, Device::Cpu));
            let all = eval(&s, &x);
            for i in 0..6 {
                let alone = eval(&s, &x.narrow(0, i, 1));
                let diff = (alone - all.narrow(0, i, 1)).abs().max().double_value(&[]);
                assert!(diff < 1e-6, "{init:?}: sample {i} depends on its batch ({diff})");
            }
        }
    }

    /// BatchNorm starts as PyTorch's and Keras': scale 1, shift 0.
    #[test]
    fn batch_norm_starts_at_scale_one() {
        let (vs, _s) = stack(r#"[{"type": "batch_norm"}, {"type": "last"}]"#, InitScheme::Torch);
        let vars = vs.variables();
        assert!(vars["layers.0.weight"].eq(1.0).all().int64_value(&[]) == 1);
        assert!(vars["layers.0.bias"].eq(0.0).all().int64_value(&[]) == 1);
    }

    /// Keras initialisation: orthogonal recurrent kernels and the forget gate's bias at one.
    #[test]
    fn keras_initialisation_of_recurrent_layers() {
        tch::manual_seed(0);
        let json = r#"[{"type": "lstm", "units": 5, "bidirectional": true},
                       {"type": "dense", "units": 1}]"#;
        let (vs, _s) = stack(json, InitScheme::Keras);
        let vars = vs.variables();
        for suffix in ["", "_reverse"] {
            let w = &vars[&format!("layers.0.weight_hh_l0{suffix}")];
            let eye = w.transpose(0, 1).matmul(w) - Tensor::eye(5, (Kind::Float, Device::Cpu));
            assert!(eye.abs().max().double_value(&[]) < 1e-5);
            let b = &vars[&format!("layers.0.bias_ih_l0{suffix}")];
            assert_eq!(b.sum(Kind::Double).double_value(&[]), 5.0);
            assert!(b.narrow(0, 5, 5).eq(1.0).all().int64_value(&[]) == 1);
        }
        let mut names: Vec<&String> = vars.keys().collect();
        names.sort();
        assert_eq!(names.len(), 10, "{names:?}");
    }

    fn refused(json: &str, targets: Option<usize>, cross_entropy: bool) -> String {
        let layers: Vec<Layer> = serde_json::from_str(json).expect("layers");
        let ends = Ends { targets, cross_entropy };
        match check_stack(&layers, Shape::Seq(Some(24), Some(5)), ends) {
            Err(e) => e.to_string(),
            Ok(()) => panic!("{json} was accepted"),
        }
    }

    /// Every refusal names the layer's key, what reached it and what it expected.
    #[test]
    fn bad_stacks_name_the_layer() {
        let e = refused(
            r#"[{"type": "lstm", "units": 8}, {"type": "lstm", "units": 4},
                {"type": "dense", "units": 1}]"#,
            Some(1),
            false,
        );
        assert!(e.starts_with("model.layers[1]: lstm reads a sequence"), "{e}");
        assert!(e.contains("gets [batch, 8]") && e.contains("layers[0]"), "{e}");
        assert!(e.contains("return_sequences: true"), "{e}");
        let e = refused(
            r#"[{"type": "lstm", "units": 8}, {"type": "dense", "units": 3}]"#,
            Some(1),
            false,
        );
        assert!(e.starts_with("model.layers[1].units:") && e.contains("[batch, 3]"), "{e}");
        assert!(e.contains("target has 1 column"), "{e}");
        let e = refused(
            r#"[{"type": "lstm", "units": 8, "return_sequences": true}, {"type": "dense", "units": 1}]"#,
            Some(1),
            false,
        );
        assert!(
            e.starts_with("model.layers: the stack ends with a sequence [batch, 24, 1]"),
            "{e}"
        );
        let e = refused(
            r#"[{"type": "lstm", "units": 8}, {"type": "dense", "units": 1, "activation": "softmax"}]"#,
            Some(1),
            false,
        );
        assert!(e.starts_with("model.layers[1].activation: softmax over one unit"), "{e}");
        let e = refused(
            r#"[{"type": "lstm", "units": 8}, {"type": "dense", "units": 2, "activation": "softmax"}]"#,
            Some(1),
            false,
        );
        assert!(e.starts_with("model.layers[1].activation:") && e.contains("cross_entropy"), "{e}");
        let e = refused(
            r#"[{"type": "lstm", "units": 8}, {"type": "dense", "units": 1}]"#,
            Some(1),
            true,
        );
        assert!(e.starts_with("train.loss: cross_entropy trains a two-class softmax"), "{e}");
        let e = refused(r#"[{"type": "attention", "heads": 2}, {"type": "last"}]"#, Some(5), false);
        assert!(e.starts_with("model.layers[0].heads:") && e.contains("width 5"), "{e}");
        let e = refused(r#"[{"type": "dropout", "rate": 1.5}, {"type": "last"}]"#, Some(5), false);
        assert!(e.starts_with("model.layers[0].rate: must be in [0, 1)"), "{e}");
        let e = refused(r#"[]"#, Some(1), false);
        assert!(e.starts_with("model.layers: the stack is empty"), "{e}");
        let e = refused(
            r#"[{"type": "mean"}, {"type": "conv1d", "filters": 2, "kernel_size": 0}]"#,
            Some(2),
            false,
        );
        assert!(e.starts_with("model.layers[1].kernel_size: must be at least 1"), "{e}");
        // Flatten knows the steps: 24 × 5 columns.
        let ok = |json: &str, targets| {
            let layers: Vec<Layer> = serde_json::from_str(json).expect("layers");
            check_stack(
                &layers,
                Shape::Seq(Some(24), Some(5)),
                Ends { targets, cross_entropy: false },
            )
        };
        assert!(ok(r#"[{"type": "flatten"}, {"type": "dense", "units": 2}]"#, Some(2)).is_ok());
        assert!(ok(r#"[{"type": "flatten"}]"#, Some(120)).is_ok());
        assert!(ok(r#"[{"type": "flatten"}]"#, Some(12)).is_err());
    }
}
