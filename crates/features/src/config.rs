use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use quantsweep_core::did_you_mean;
use quantsweep_ingest::Timeframe;

use crate::FeatureError;
use crate::expr::Expr;
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

/// A feature parameter's value: a number (`period: 14`), a word (`matype: ema`) or a switch
/// (`original: true`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Param {
    /// A number.
    Number(f64),
    /// A word.
    Text(String),
    /// A switch.
    Flag(bool),
}

impl std::fmt::Display for Param {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Param::Number(v) => write!(f, "{v}"),
            Param::Text(t) => write!(f, "`{t}`"),
            Param::Flag(b) => write!(f, "{b}"),
        }
    }
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
    /// A switch, `true` or `false`.
    Flag(bool),
    /// Arithmetic on columns (`kind: expr`; required).
    Formula,
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

use ParamKind::{Bars, Column, Flag, Formula, Ma, Real};

/// Every kind, in the order `quantsweep` documents them (docs/pipeline.md).
pub(crate) const KINDS: &[KindSpec] = &[
    spec!("close_ratio", [], [], false),
    spec!("raw", ["input" => Column("close")], [], false),
    spec!("pct_change", ["period" => Bars(1), "input" => Column("close")], [], false),
    spec!("log_return", ["period" => Bars(1), "input" => Column("close")], [], false),
    spec!("zscore", ["period" => Bars(14), "input" => Column("close")], [], false),
    spec!("expr", ["expr" => Formula], [], false),
    spec!("day_of_week", [], [], false),
    spec!("hour_of_day", [], [], false),
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
    KindSpec {
        kind: "ta_all",
        params: &[("original", Flag(false))],
        outputs: &crate::ta_all::COLUMNS,
        needs_volume: true,
    },
];

/// Kinds with another library's definition besides TA-Lib's (`variant: tulip`, `qtpylib`).
const VARIANTS: &[(&str, &[&str])] = &[
    ("sma", &["tulip"]),
    ("ema", &["tulip"]),
    ("rsi", &["tulip"]),
    ("macd", &["tulip"]),
    ("bbands", &["qtpylib"]),
];

/// Keys every kind takes besides its own parameters.
pub(crate) const COMMON: [&str; 4] = ["variant", "shifts", "timeframe", "pair"];

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

    /// A switch parameter.
    pub fn flag(&self, key: &str) -> bool {
        match (self.config.params.get(key), self.default(key)) {
            (Some(Param::Flag(b)), _) => *b,
            (_, Some(Flag(d))) => d,
            _ => false,
        }
    }

    /// A column parameter: a candle column, or an earlier feature's output.
    pub fn column(&self, key: &str) -> &str {
        match (self.config.params.get(key), self.default(key)) {
            (Some(Param::Text(t)), _) => t,
            (_, Some(Column(d))) => d,
            _ => "close",
        }
    }

    /// `expr:`, parsed (checked by [`FeatureConfig::check`]).
    pub fn formula(&self) -> Option<Expr> {
        self.text("expr").and_then(|t| Expr::parse(t).ok())
    }

    /// `variant:` (default `talib`).
    pub fn variant(&self) -> &str {
        self.text("variant").unwrap_or("talib")
    }

    /// `shifts:`, the number of shifted copies (default 0).
    pub fn shifts(&self) -> usize {
        match self.config.params.get("shifts") {
            Some(Param::Number(v)) => *v as usize,
            _ => 0,
        }
    }

    /// `timeframe:`, checked.
    pub fn timeframe(&self) -> Option<Timeframe> {
        self.text("timeframe").and_then(|t| Timeframe::parse(t).ok())
    }

    /// `pair:`.
    pub fn pair(&self) -> Option<&str> {
        self.text("pair")
    }

    fn text(&self, key: &str) -> Option<&str> {
        match self.config.params.get(key) {
            Some(Param::Text(t)) => Some(t),
            _ => None,
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

/// The candle columns an `input` may name (besides earlier features' outputs): the candles'
/// own, and `typical`, `(high + low + close) / 3` (qtpylib's and TA-Lib's typical price).
pub(crate) const COLUMNS: [&str; 6] = ["open", "high", "low", "close", "volume", "typical"];

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

    /// Sets a word parameter (`matype`, `input`, `variant`, `timeframe`, `pair`).
    pub fn with_text(mut self, key: &str, value: &str) -> Self {
        self.params.insert(key.into(), Param::Text(value.into()));
        self
    }

    /// Sets a switch (`original`).
    pub fn with_flag(mut self, key: &str, value: bool) -> Self {
        self.params.insert(key.into(), Param::Flag(value));
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
        let variants = VARIANTS.iter().find(|(k, _)| *k == spec.kind).map_or(&[][..], |(_, v)| v);
        for (key, value) in &self.params {
            if COMMON.contains(&key.as_str()) {
                check_common(spec.kind, variants, key, value).map_err(|m| at(key, m))?;
                continue;
            }
            let Some((_, default)) = spec.params.iter().find(|(k, _)| k == key) else {
                let known: Vec<&str> = spec.params.iter().map(|(k, _)| *k).chain(COMMON).collect();
                return Err(at(
                    key,
                    format!(
                        "`{}` takes no parameter `{key}`{}; it takes: {}",
                        self.kind,
                        did_you_mean(key, known.iter().copied()),
                        known.join(", ")
                    ),
                ));
            };
            match (default, value) {
                (Bars(_), Param::Number(v)) if *v >= 1.0 && v.fract() == 0.0 && *v <= 1e6 => {}
                (Bars(_), v) => {
                    return Err(at(key, format!("must be a whole number of bars ≥ 1, got {v}")));
                }
                (Real(_), Param::Number(v)) if v.is_finite() => {}
                (Real(_), v) => return Err(at(key, format!("must be a number, got {v}"))),
                (Ma(_), Param::Text(t)) if ma_type(t).is_some() => {}
                (Ma(_), v) => {
                    return Err(at(
                        key,
                        format!("must be one of sma, ema, wma, dema, tema, kama; got {v}"),
                    ));
                }
                // Earlier features' outputs are checked by `validate_all` and the table.
                (Column(_), Param::Text(t)) if !t.trim().is_empty() => {}
                (Column(_), v) => {
                    return Err(at(
                        key,
                        format!(
                            "must name a candle column ({}) or an earlier feature's column; got {v}",
                            COLUMNS.join(", ")
                        ),
                    ));
                }
                (Flag(_), Param::Flag(_)) => {}
                (Flag(_), v) => return Err(at(key, format!("must be true or false, got {v}"))),
                (Formula, Param::Text(t)) => {
                    Expr::parse(t).map_err(|m| at(key, format!("{m} in `{t}`")))?;
                }
                (Formula, v) => {
                    return Err(at(key, format!("must be arithmetic on columns, got {v}")));
                }
            }
        }
        let resolved = Resolved { spec, config: self };
        if spec.kind == "expr" {
            if !self.params.contains_key("expr") {
                return Err(at(
                    "expr",
                    "is required: arithmetic on columns, e.g. `(bb.upper - bb.lower) / bb.middle`"
                        .into(),
                ));
            }
            if self.name.is_none() {
                return Err(at("name", "an `expr` feature needs a `name`".into()));
            }
            if resolved.timeframe().is_some() || resolved.pair().is_some() {
                return Err(at(
                    "expr",
                    "`timeframe` and `pair` do not apply: an expression reads columns already \
                     on the base candles"
                        .into(),
                ));
            }
        }
        let acceleration = resolved.real("acceleration");
        if spec.kind == "sar" && (acceleration.is_nan() || acceleration <= 0.0) {
            return Err(at("acceleration", "must be positive".into()));
        }
        let fast = resolved.bars("fast");
        let slow = resolved.bars("slow");
        if spec.params.iter().any(|(k, _)| *k == "fast") && fast == slow {
            return Err(at("slow", format!("must differ from fast ({fast})")));
        }
        if resolved.variant() == "tulip" && spec.kind == "macd" && fast > slow {
            return Err(at("slow", format!("Tulip's MACD needs slow ≥ fast ({slow} < {fast})")));
        }
        let derived = !COLUMNS.contains(&resolved.column("input"));
        if derived && (resolved.timeframe().is_some() || resolved.pair().is_some()) {
            return Err(at(
                "input",
                "`timeframe` and `pair` compute on candle columns; an earlier feature's column \
                 is already on the base candles"
                    .into(),
            ));
        }
        Ok(resolved)
    }

    /// Checks kind and parameters (`index`: the entry's position in `features:`, for the
    /// message): an unknown kind or parameter, with a suggestion, or a value out of range.
    pub fn validate(&self, index: usize) -> Result<(), FeatureError> {
        self.check(index).map(|_| ())
    }

    /// Checks a whole `features:` list: every entry, that each `input` names a candle column
    /// or an earlier entry's output, and that no two entries produce the same column.
    pub fn validate_all(features: &[FeatureConfig]) -> Result<(), FeatureError> {
        let mut produced: Vec<String> = Vec::new();
        for (index, f) in features.iter().enumerate() {
            let resolved = f.check(index)?;
            let input = resolved.column("input");
            if resolved.spec.params.iter().any(|(k, _)| *k == "input")
                && !COLUMNS.contains(&input)
                && !produced.iter().any(|p| p == input)
            {
                return Err(unknown_input(index, "input", input, &produced));
            }
            if let Some(formula) = resolved.formula() {
                for name in formula.columns() {
                    if !COLUMNS.contains(&name) && !produced.iter().any(|p| p == name) {
                        return Err(unknown_input(index, "expr", name, &produced));
                    }
                }
            }
            for name in f.output_names() {
                if produced.contains(&name) {
                    return Err(FeatureError::DuplicateName { index, name });
                }
                produced.push(name);
            }
        }
        Ok(())
    }

    /// True when this feature reads later candles on purpose, to reproduce a published
    /// quirk (`ta_all` with `original: true`): every result built on it is leaky.
    pub fn reads_future(&self) -> bool {
        self.kind == "ta_all" && self.params.get("original") == Some(&Param::Flag(true))
    }

    /// The name outputs are called by (the prefix for multi-output features): `name`, or the
    /// kind and its bar counts, then the input when it is not the default (`zscore_14_rsi_10`),
    /// the variant, timeframe and pair when given (`rsi_14_4h`, `rsi_14_BTC_USDT`).
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
            match default {
                Bars(_) => name.push_str(&format!("_{}", resolved.bars(key))),
                Column(d) if spec.kind == "raw" || resolved.column(key) != *d => {
                    name.push_str(&format!("_{}", resolved.column(key)));
                }
                _ => {}
            }
        }
        if resolved.variant() != "talib" {
            name.push_str(&format!("_{}", resolved.variant()));
        }
        if let Some(tf) = resolved.text("timeframe") {
            name.push_str(&format!("_{tf}"));
        }
        if let Some(pair) = resolved.pair() {
            let pair: String =
                pair.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
            name.push_str(&format!("_{pair}"));
        }
        name
    }

    /// The column names this feature produces, in order: its outputs, then (with `shifts: N`)
    /// each output shifted by 1..=N rows, `OUTPUT_shift_K`.
    pub fn output_names(&self) -> Vec<String> {
        let name = self.name();
        let outputs: Vec<String> = match KINDS.iter().find(|k| k.kind == self.kind) {
            Some(spec) if !spec.outputs.is_empty() => {
                spec.outputs.iter().map(|o| format!("{name}.{o}")).collect()
            }
            _ => vec![name],
        };
        let shifts = match self.params.get("shifts") {
            Some(Param::Number(v)) if *v >= 1.0 => *v as usize,
            _ => 0,
        };
        let mut names = outputs.clone();
        for k in 1..=shifts {
            names.extend(outputs.iter().map(|o| format!("{o}_shift_{k}")));
        }
        names
    }
}

/// Checks one of the [`COMMON`] keys.
fn check_common(kind: &str, variants: &[&str], key: &str, value: &Param) -> Result<(), String> {
    match (key, value) {
        ("variant", Param::Text(v)) if v == "talib" || variants.contains(&v.as_str()) => Ok(()),
        ("variant", v) => Err(if variants.is_empty() {
            format!("`{kind}` has only TA-Lib's definition (`talib`); got {v}")
        } else {
            format!("must be talib or {}; got {v}", variants.join(", "))
        }),
        ("shifts", Param::Number(v)) if *v >= 0.0 && v.fract() == 0.0 && *v <= 1000.0 => Ok(()),
        ("shifts", v) => Err(format!("must be a whole number of shifted copies; got {v}")),
        ("timeframe", Param::Text(t)) => Timeframe::parse(t).map(|_| ()),
        ("pair", Param::Text(p)) if !p.trim().is_empty() => Ok(()),
        (_, v) => Err(format!("must be text; got {v}")),
    }
}

/// `features[index].key` (`input`, `expr`) names no column there is.
pub(crate) fn unknown_input(
    index: usize,
    key: &str,
    input: &str,
    produced: &[String],
) -> FeatureError {
    let known: Vec<&str> =
        COLUMNS.iter().copied().chain(produced.iter().map(String::as_str)).collect();
    FeatureError::InvalidParameter {
        key: format!("features[{index}].{key}"),
        message: format!(
            "no column `{input}`{} among the candle columns and the earlier features' outputs: {}",
            did_you_mean(input, known.iter().copied()),
            known.join(", ")
        ),
    }
}

/// What the model is asked to predict (the pipeline's `target:` section). The target of the
/// sample decided at bar `t` reads bars `t+1 ..= t+horizon_bars` (the close of `t` too), never
/// an input of a later sample's training span: the splits' purge gaps are sized from
/// `horizon_bars`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TargetConfig {
    /// The next `horizon_bars` close-over-previous-close ratios (the Blankly layout).
    NextCloseRatios {
        /// How many future ratios. Default: 3.
        #[serde(default = "default_horizon")]
        horizon_bars: usize,
    },
    /// `close[t+h] / close[t] − 1`, or its logarithm with `log: true`.
    ForwardReturn {
        /// `h`. Default: 1.
        #[serde(default = "one")]
        horizon_bars: usize,
        /// `ln(close[t+h] / close[t])` instead. Default: false.
        #[serde(default)]
        log: bool,
    },
    /// 1 when `close[t+h] > close[t]·(1 + threshold)`, else 0 (the Keras seed's label; a
    /// binary classification target).
    UpDown {
        /// `h`, the seed's LOOKAHEAD. Default: 5.
        #[serde(default = "five", alias = "lookahead")]
        horizon_bars: usize,
        /// Minimum rise counted as up. Default: 0.
        #[serde(default)]
        threshold: f64,
        /// The seed's quirk: the last `h` bars, which have no future close, are labelled 0
        /// ("down") instead of being left out. Default: false.
        #[serde(default)]
        keep_tail_as_down: bool,
    },
    /// freqAI-LSTM's aggregate score `T = S·R·V·R2·V2` (README and `ExampleLSTMStrategy`),
    /// `horizon_bars` ahead: S is the weighted sum of ten rolling z-scores (SMA(10) distance,
    /// MACD, ROC(2), RSI(10), BB(20) width, CCI(20), MOM(4) — its weight ×1.5 in a strong
    /// trend —, STOCH slow %K, ATR(14), OBV), R the Bollinger regime (+1 above the upper band,
    /// −1 below the lower, else 0), V = 1 / BB width, R2 = ±1 by SMA(100), V2 = 1 / ATR(14).
    FreqaiScore {
        /// Bars ahead whose score is predicted (freqAI's `label_period_candles`). Default: 12.
        #[serde(default = "twelve")]
        horizon_bars: usize,
        /// w0..w8, as the original uses them: w0 SMA distance, w1 MACD, w2 ROC, w3 RSI and
        /// momentum (×1.5 in a strong trend), w4 BB width, w5 CCI, w6 OBV, w7 ATR, w8 STOCH.
        /// Default: the strategy's defaults 0.10, 0.15, 0.10, 0.15, 0.10, 0.10, 0.10, 0.05,
        /// 0.15.
        #[serde(default = "freqai_weights")]
        weights: [f64; 9],
        /// Reproduce the original's quirks: the score of the decision bar itself rather than
        /// a later one (`horizon_bars` ignored: the model "predicts" a function of its own
        /// inputs), the BB-width term as rolling mean ÷ std instead of a z-score, and R2 = −1
        /// while SMA(100) is undefined. Default: false.
        #[serde(default)]
        original: bool,
    },
    /// For a universe (`data.universe`): 1 when the asset's return over the next
    /// `horizon_bars` beats the universe's median return at that bar, else 0 (Fischer &
    /// Krauss' label). The cross-section is the assets that have the bar; a bar's labels are
    /// known once every one of them has its return.
    CrossSectional {
        /// `h`. Default: 1.
        #[serde(default = "one")]
        horizon_bars: usize,
        /// The threshold of the cross-section: `median` (the only one).
        #[serde(default)]
        above: CrossSection,
    },
    /// For a universe: the rank of the asset's return over the next `horizon_bars` among the
    /// universe's at that bar, in [0, 1] (0 the lowest, 1 the highest; ties share their mean
    /// rank).
    CrossSectionalRank {
        /// `h`. Default: 1.
        #[serde(default = "one")]
        horizon_bars: usize,
    },
}

/// What a cross-sectional label compares an asset's forward return with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrossSection {
    /// The universe's median at that bar.
    #[default]
    Median,
}

fn default_horizon() -> usize {
    3
}

fn one() -> usize {
    1
}

fn five() -> usize {
    5
}

fn twelve() -> usize {
    12
}

/// The ExampleLSTMStrategy's default weights w0..w8.
pub fn freqai_weights() -> [f64; 9] {
    [0.10, 0.15, 0.10, 0.15, 0.10, 0.10, 0.10, 0.05, 0.15]
}

impl TargetConfig {
    /// Number of bars after the decision bar that the target reads (0 for freqAI's score in
    /// `original` mode).
    pub fn horizon_bars(&self) -> usize {
        match self {
            TargetConfig::NextCloseRatios { horizon_bars }
            | TargetConfig::ForwardReturn { horizon_bars, .. }
            | TargetConfig::UpDown { horizon_bars, .. }
            | TargetConfig::CrossSectional { horizon_bars, .. }
            | TargetConfig::CrossSectionalRank { horizon_bars } => *horizon_bars,
            TargetConfig::FreqaiScore { original: true, .. } => 0,
            TargetConfig::FreqaiScore { horizon_bars, .. } => *horizon_bars,
        }
    }

    /// Values per sample.
    pub fn width(&self) -> usize {
        match self {
            TargetConfig::NextCloseRatios { horizon_bars } => *horizon_bars,
            _ => 1,
        }
    }

    /// Whether the target is a 0/1 class.
    pub fn is_binary(&self) -> bool {
        matches!(self, TargetConfig::UpDown { .. } | TargetConfig::CrossSectional { .. })
    }

    /// Whether the target is computed across a universe's assets.
    pub fn is_cross_sectional(&self) -> bool {
        matches!(
            self,
            TargetConfig::CrossSectional { .. } | TargetConfig::CrossSectionalRank { .. }
        )
    }

    /// Column names in `quantsweep features` output: `target`, or `target.1` .. `target.h`.
    pub fn names(&self) -> Vec<String> {
        match self.width() {
            1 => vec!["target".into()],
            w => (1..=w).map(|j| format!("target.{j}")).collect(),
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
    /// Each sample's window, column by column, to [−1, 1] by its own min and max (the Keras
    /// seed); a flat column becomes 0. Reads nothing outside the window.
    Minmax,
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
    /// For a universe with `scale: standard`: each asset scaled by its own training span's
    /// statistics (`asset`, the default) or every asset by the pooled ones (`universe`).
    #[serde(default)]
    pub scale_by: ScaleBy,
}

/// Whose training statistics scale a universe's inputs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleBy {
    /// Each asset its own.
    #[default]
    Asset,
    /// All assets' training windows pooled.
    Universe,
}

fn default_input_bars() -> usize {
    5
}

impl Default for WindowConfig {
    fn default() -> Self {
        Self {
            input_bars: default_input_bars(),
            inputs: None,
            scale: Scale::None,
            scale_by: ScaleBy::Asset,
        }
    }
}

/// How samples are assigned to spans.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitKind {
    /// Train, then validation, then test, in time order, with purge gaps.
    #[default]
    Chronological,
    /// The Keras seed's split: the test span stays last and purged, but training and
    /// validation samples are drawn at random from the rest, so validation windows overlap
    /// training windows. Every result carries `leaky = true`.
    Shuffled,
    /// Walk-forward: consecutive test spans of `test_bars` samples, each with a model trained
    /// on the `train_bars` samples before it (or all of them, `expanding`), separated by the
    /// purge gap and `embargo_bars`; `val` is a fraction of each training window. freqAI's
    /// `train_period_days` / `backtest_period_days`.
    WalkForward,
}

/// Class balancing of a binary target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Balance {
    /// Samples as they come.
    #[default]
    None,
    /// The Keras seed's: keep the first `min(ups, downs)` samples of each class (in time
    /// order), dropping the rest of the majority class. Applied to the training and
    /// validation spans; the test span (the backtest) is never thinned.
    Truncate,
}

/// The pipeline's `split:` section: train / validation / test spans.
///
/// Samples are ordered by decision time; the last `test` fraction is the test span, the
/// `val` fraction before it the validation span, the rest training. A purge gap of
/// `input_bars + horizon_bars` samples separates consecutive spans, so no target of one span
/// shares a bar with another span's samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitConfig {
    /// `chronological` (default) or `shuffled` (leaky; see [`SplitKind`]).
    #[serde(default)]
    pub kind: SplitKind,
    /// Fraction of samples in the validation span. Default: 0.2.
    #[serde(default = "default_fraction")]
    pub val: f64,
    /// Fraction of samples in the test span (the backtest). Default: 0.2.
    #[serde(default = "default_fraction")]
    pub test: f64,
    /// Class balancing for binary targets: `none` (default) or `truncate`.
    #[serde(default)]
    pub balance: Balance,
    /// Seed of the `shuffled` split's permutation. Default: 0.
    #[serde(default)]
    pub seed: u64,
    /// `walk_forward`: samples in each training window (validation included).
    #[serde(default)]
    pub train_bars: Option<usize>,
    /// `walk_forward`: samples in each test span.
    #[serde(default)]
    pub test_bars: Option<usize>,
    /// `walk_forward`: samples between consecutive test starts. Default: `test_bars`.
    #[serde(default)]
    pub step_bars: Option<usize>,
    /// `walk_forward`: train on everything before each test span, not only the last
    /// `train_bars`. Default: false (rolling).
    #[serde(default)]
    pub expanding: bool,
    /// `walk_forward`: samples left out between each training window and its test span,
    /// beyond the purge gap (for serially correlated inputs). Default: 0.
    #[serde(default)]
    pub embargo_bars: usize,
    /// What the gap between spans keeps apart: `window` (default) leaves out every training
    /// sample whose target reads a bar that a later span's windows read (window + horizon
    /// bars); `horizon` only those whose target reads a bar at or after the later span's
    /// first decision (horizon bars), as most papers split: a later window may then hold
    /// bars that were training targets, all in the past at its decision.
    #[serde(default)]
    pub purge: Purge,
}

/// See [`SplitConfig::purge`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purge {
    /// No training target in a later span's windows.
    #[default]
    Window,
    /// No training target at or after a later span's first decision.
    Horizon,
}

fn default_fraction() -> f64 {
    0.2
}

impl Default for TargetConfig {
    /// The next 3 close ratios (the Blankly layout).
    fn default() -> Self {
        TargetConfig::NextCloseRatios { horizon_bars: default_horizon() }
    }
}

impl Default for SplitConfig {
    fn default() -> Self {
        Self {
            kind: SplitKind::Chronological,
            val: default_fraction(),
            test: default_fraction(),
            balance: Balance::None,
            seed: 0,
            train_bars: None,
            test_bars: None,
            step_bars: None,
            expanding: false,
            embargo_bars: 0,
            purge: Purge::Window,
        }
    }
}
