use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use quantsweep_core::did_you_mean;

use crate::FeatureError;
use crate::indicators::MaType;

/// One entry of the pipeline's `features:` list: `kind`, an optional `name`, and the kind's
/// parameters (see [`FeatureConfig::kinds`]); unknown kinds and parameters are refused by
/// [`FeatureConfig::check`] with a suggestion.
///
/// Outputs are named after `name` (default: the kind and its integer parameters, `rsi_14`,
/// `macd_12_26_9`); a feature with several outputs yields `NAME.OUTPUT` columns
/// (`macd.signal`, `bb.upper`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// The indicator or transform (`rsi`, `bbands`, `close_ratio`...).
    pub kind: String,
    /// Column name (prefix for multi-output kinds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The kind's parameters, as written.
    #[serde(flatten)]
    pub params: BTreeMap<String, Param>,
}

/// A feature parameter's value: a number (`period: 14`) or a word (`matype: ema`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Param {
    /// A number.
    Number(f64),
    /// A word.
    Text(String),
}

/// A parameter's default, which also fixes its type.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ParamKind {
    /// A whole number of bars (part of the default column name).
    Bars(usize),
    /// A real number.
    Real(f64),
    /// A moving-average type (`sma`, `ema`, `wma`, `dema`, `tema`, `kama`).
    Ma(MaType),
    /// A candle column: `open`, `high`, `low`, `close` or `volume`.
    Column(&'static str),
}

/// What a kind takes and produces.
pub(crate) struct KindSpec {
    pub kind: &'static str,
    pub params: &'static [(&'static str, ParamKind)],
    pub outputs: &'static [&'static str],
    pub needs_volume: bool,
}

macro_rules! spec {
    ($kind:literal, [$($p:literal => $d:expr),*], [$($o:literal),*], $vol:expr) => {
        KindSpec { kind: $kind, params: &[$(($p, $d)),*], outputs: &[$($o),*], needs_volume: $vol }
    };
}

use ParamKind::{Bars, Column, Ma, Real};

/// Every kind, in the order `quantsweep` documents them (docs/pipeline.md).
pub(crate) const KINDS: &[KindSpec] = &[
    spec!("close_ratio", [], [], false),
    spec!("sma", ["period" => Bars(30), "input" => Column("close")], [], false),
    spec!("ema", ["period" => Bars(30), "input" => Column("close")], [], false),
    spec!("wma", ["period" => Bars(30), "input" => Column("close")], [], false),
    spec!("dema", ["period" => Bars(30), "input" => Column("close")], [], false),
    spec!("tema", ["period" => Bars(30), "input" => Column("close")], [], false),
    spec!("kama", ["period" => Bars(30), "input" => Column("close")], [], false),
    spec!("trix", ["period" => Bars(30), "input" => Column("close")], [], false),
    spec!("rsi", ["period" => Bars(14), "input" => Column("close")], [], false),
    spec!("cmo", ["period" => Bars(14), "input" => Column("close")], [], false),
    spec!("mom", ["period" => Bars(10), "input" => Column("close")], [], false),
    spec!("roc", ["period" => Bars(10), "input" => Column("close")], [], false),
    spec!("stddev", ["period" => Bars(5), "nbdev" => Real(1.0), "input" => Column("close")], [], false),
    spec!(
        "macd",
        ["fast" => Bars(12), "slow" => Bars(26), "signal" => Bars(9), "input" => Column("close")],
        ["macd", "signal", "hist"],
        false
    ),
    spec!(
        "ppo",
        ["fast" => Bars(12), "slow" => Bars(26), "matype" => Ma(MaType::Sma), "input" => Column("close")],
        [],
        false
    ),
    spec!(
        "bbands",
        [
            "period" => Bars(5),
            "nbdevup" => Real(2.0),
            "nbdevdn" => Real(2.0),
            "matype" => Ma(MaType::Sma),
            "input" => Column("close")
        ],
        ["upper", "middle", "lower"],
        false
    ),
    spec!(
        "stochrsi",
        [
            "period" => Bars(14),
            "fastk_period" => Bars(5),
            "fastd_period" => Bars(3),
            "fastd_matype" => Ma(MaType::Sma),
            "input" => Column("close")
        ],
        ["fastk", "fastd"],
        false
    ),
    spec!(
        "stoch",
        [
            "fastk_period" => Bars(5),
            "slowk_period" => Bars(3),
            "slowk_matype" => Ma(MaType::Sma),
            "slowd_period" => Bars(3),
            "slowd_matype" => Ma(MaType::Sma)
        ],
        ["slowk", "slowd"],
        false
    ),
    spec!("cci", ["period" => Bars(14)], [], false),
    spec!("willr", ["period" => Bars(14)], [], false),
    spec!("atr", ["period" => Bars(14)], [], false),
    spec!("natr", ["period" => Bars(14)], [], false),
    spec!("trange", [], [], false),
    spec!("adx", ["period" => Bars(14)], [], false),
    spec!("plus_di", ["period" => Bars(14)], [], false),
    spec!("minus_di", ["period" => Bars(14)], [], false),
    spec!("aroon", ["period" => Bars(14)], ["down", "up"], false),
    spec!(
        "ultosc",
        ["period1" => Bars(7), "period2" => Bars(14), "period3" => Bars(28)],
        [],
        false
    ),
    spec!("sar", ["acceleration" => Real(0.02), "maximum" => Real(0.2)], [], false),
    spec!("obv", [], [], true),
    spec!("ad", [], [], true),
    spec!("adosc", ["fast" => Bars(3), "slow" => Bars(10)], [], true),
    spec!("mfi", ["period" => Bars(14)], [], true),
];

/// A checked feature: its kind's spec and every parameter resolved.
pub(crate) struct Resolved<'a> {
    pub spec: &'static KindSpec,
    pub config: &'a FeatureConfig,
}

impl Resolved<'_> {
    /// A whole-number parameter (checked by [`FeatureConfig::check`]).
    pub fn bars(&self, key: &str) -> usize {
        match (self.config.params.get(key), self.default(key)) {
            (Some(Param::Number(v)), _) => *v as usize,
            (_, Some(Bars(d))) => d,
            _ => 0,
        }
    }

    /// A real parameter.
    pub fn real(&self, key: &str) -> f64 {
        match (self.config.params.get(key), self.default(key)) {
            (Some(Param::Number(v)), _) => *v,
            (_, Some(Real(d))) => d,
            _ => f64::NAN,
        }
    }

    /// A moving-average type parameter.
    pub fn ma(&self, key: &str) -> MaType {
        match (self.config.params.get(key), self.default(key)) {
            (Some(Param::Text(t)), _) => ma_type(t).unwrap_or_default(),
            (_, Some(Ma(d))) => d,
            _ => MaType::Sma,
        }
    }

    /// A candle-column parameter.
    pub fn column(&self, key: &str) -> &str {
        match (self.config.params.get(key), self.default(key)) {
            (Some(Param::Text(t)), _) => t,
            (_, Some(Column(d))) => d,
            _ => "close",
        }
    }

    fn default(&self, key: &str) -> Option<ParamKind> {
        self.spec.params.iter().find(|(k, _)| *k == key).map(|(_, d)| *d)
    }
}

fn ma_type(name: &str) -> Option<MaType> {
    Some(match name {
        "sma" => MaType::Sma,
        "ema" => MaType::Ema,
        "wma" => MaType::Wma,
        "dema" => MaType::Dema,
        "tema" => MaType::Tema,
        "kama" => MaType::Kama,
        _ => return None,
    })
}

const COLUMNS: [&str; 5] = ["open", "high", "low", "close", "volume"];

impl FeatureConfig {
    /// A feature of `kind` with default parameters.
    pub fn new(kind: &str) -> Self {
        FeatureConfig { kind: kind.into(), name: None, params: BTreeMap::new() }
    }

    /// Sets a numeric parameter.
    pub fn with(mut self, key: &str, value: f64) -> Self {
        self.params.insert(key.into(), Param::Number(value));
        self
    }

    /// Sets a word parameter (`matype`, `input`).
    pub fn with_text(mut self, key: &str, value: &str) -> Self {
        self.params.insert(key.into(), Param::Text(value.into()));
        self
    }

    /// Sets the column name.
    pub fn named(mut self, name: &str) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Every kind `features:` accepts.
    pub fn kinds() -> Vec<&'static str> {
        KINDS.iter().map(|k| k.kind).collect()
    }

    /// Checks kind and parameters; `index` is the entry's position, for messages
    /// (`features[2].period: ...`).
    pub(crate) fn check(&self, index: usize) -> Result<Resolved<'_>, FeatureError> {
        let at = |key: &str, message: String| FeatureError::InvalidParameter {
            key: format!("features[{index}].{key}"),
            message,
        };
        let spec = KINDS.iter().find(|k| k.kind == self.kind).ok_or_else(|| {
            at(
                "kind",
                format!(
                    "unknown kind `{}`{}; kinds: {}",
                    self.kind,
                    did_you_mean(&self.kind, KINDS.iter().map(|k| k.kind)),
                    Self::kinds().join(", ")
                ),
            )
        })?;
        for (key, value) in &self.params {
            let Some((_, default)) = spec.params.iter().find(|(k, _)| k == key) else {
                let known: Vec<&str> = spec.params.iter().map(|(k, _)| *k).collect();
                return Err(at(
                    key,
                    format!(
                        "`{}` takes no parameter `{key}`{}; it takes: {}",
                        self.kind,
                        did_you_mean(key, known.iter().copied()),
                        if known.is_empty() { "none".into() } else { known.join(", ") }
                    ),
                ));
            };
            match (default, value) {
                (Bars(_), Param::Number(v)) if *v >= 1.0 && v.fract() == 0.0 && *v <= 1e6 => {}
                (Bars(_), v) => {
                    return Err(at(key, format!("must be a whole number of bars ≥ 1, got {v:?}")));
                }
                (Real(_), Param::Number(v)) if v.is_finite() => {}
                (Real(_), v) => return Err(at(key, format!("must be a number, got {v:?}"))),
                (Ma(_), Param::Text(t)) if ma_type(t).is_some() => {}
                (Ma(_), v) => {
                    return Err(at(
                        key,
                        format!("must be one of sma, ema, wma, dema, tema, kama; got {v:?}"),
                    ));
                }
                (Column(_), Param::Text(t)) if COLUMNS.contains(&t.as_str()) => {}
                (Column(_), v) => {
                    return Err(at(
                        key,
                        format!("must be a candle column ({}); got {v:?}", COLUMNS.join(", ")),
                    ));
                }
            }
        }
        let resolved = Resolved { spec, config: self };
        let acceleration = resolved.real("acceleration");
        if spec.kind == "sar" && (acceleration.is_nan() || acceleration <= 0.0) {
            return Err(at("acceleration", "must be positive".into()));
        }
        let fast = resolved.bars("fast");
        if spec.params.iter().any(|(k, _)| *k == "fast") && fast == resolved.bars("slow") {
            return Err(at("slow", format!("must differ from fast ({fast})")));
        }
        Ok(resolved)
    }

    /// Checks kind and parameters (`index`: the entry's position in `features:`, for the
    /// message): an unknown kind or parameter, with a suggestion, or a value out of range.
    pub fn validate(&self, index: usize) -> Result<(), FeatureError> {
        self.check(index).map(|_| ())
    }

    /// The name outputs are called by (the prefix for multi-output features).
    pub fn name(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        let Some(spec) = KINDS.iter().find(|k| k.kind == self.kind) else {
            return self.kind.clone();
        };
        let resolved = Resolved { spec, config: self };
        let mut name = self.kind.clone();
        for (key, default) in spec.params {
            if let Bars(_) = default {
                name.push_str(&format!("_{}", resolved.bars(key)));
            }
        }
        name
    }

    /// The column names this feature produces, in order.
    pub fn output_names(&self) -> Vec<String> {
        let name = self.name();
        match KINDS.iter().find(|k| k.kind == self.kind) {
            Some(spec) if !spec.outputs.is_empty() => {
                spec.outputs.iter().map(|o| format!("{name}.{o}")).collect()
            }
            _ => vec![name],
        }
    }
}

/// What the model is asked to predict (the pipeline's `target:` section).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TargetConfig {
    /// The next `horizon_bars` close-over-previous-close ratios (the Blankly layout).
    NextCloseRatios {
        /// How many future ratios. Default: 3.
        #[serde(default = "default_horizon")]
        horizon_bars: usize,
    },
}

fn default_horizon() -> usize {
    3
}

impl TargetConfig {
    /// Number of bars after the decision bar that the target reads.
    pub fn horizon_bars(&self) -> usize {
        match self {
            TargetConfig::NextCloseRatios { horizon_bars } => *horizon_bars,
        }
    }
}

/// How inputs are scaled before they reach the model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// Raw values (the Blankly seed feeds raw RSI and MACD).
    #[default]
    None,
    /// Mean 0, standard deviation 1, fitted on the training span only.
    Standard,
}

/// The pipeline's `window:` section: how samples are cut from the feature table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    /// Bars of history in each sample, ending at the decision bar. Default: 5.
    #[serde(default = "default_input_bars")]
    pub input_bars: usize,
    /// Feature columns fed to the model, in order. Default: every feature column.
    #[serde(default)]
    pub inputs: Option<Vec<String>>,
    /// Input scaling. Default: `none`.
    #[serde(default)]
    pub scale: Scale,
}

fn default_input_bars() -> usize {
    5
}

impl Default for WindowConfig {
    fn default() -> Self {
        Self { input_bars: default_input_bars(), inputs: None, scale: Scale::None }
    }
}

/// The pipeline's `split:` section: chronological train / validation / test spans.
///
/// Samples are ordered by decision time; the last `test` fraction is the test span, the
/// `val` fraction before it the validation span, the rest training. A purge gap of
/// `input_bars + horizon_bars` samples separates consecutive spans, so no target of one span
/// shares a bar with another span's samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitConfig {
    /// Fraction of samples in the validation span. Default: 0.2.
    #[serde(default = "default_fraction")]
    pub val: f64,
    /// Fraction of samples in the test span (the backtest). Default: 0.2.
    #[serde(default = "default_fraction")]
    pub test: f64,
}

fn default_fraction() -> f64 {
    0.2
}

impl Default for SplitConfig {
    fn default() -> Self {
        Self { val: default_fraction(), test: default_fraction() }
    }
}
