use serde::{Deserialize, Serialize};

/// One entry of the pipeline's `features:` list.
///
/// Outputs are named after `name` (default: derived from kind and parameters, `rsi_14`); a
/// feature with several outputs yields `NAME.OUTPUT` columns (`macd.signal`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FeatureConfig {
    /// Close over previous close. Output: `close_ratio`.
    CloseRatio {
        /// Column name. Default: `close_ratio`.
        #[serde(default)]
        name: Option<String>,
    },
    /// Wilder's RSI (TA-Lib). Output: `rsi_<period>`.
    Rsi {
        /// Column name. Default: `rsi_<period>`.
        #[serde(default)]
        name: Option<String>,
        /// Look-back in bars. Default: 14.
        #[serde(default = "default_rsi_period")]
        period: usize,
    },
    /// MACD (TA-Lib). Outputs: `<name>.macd`, `<name>.signal`, `<name>.hist`.
    Macd {
        /// Name prefix. Default: `macd_<fast>_<slow>_<signal>`.
        #[serde(default)]
        name: Option<String>,
        /// Fast EMA period. Default: 12.
        #[serde(default = "default_fast")]
        fast: usize,
        /// Slow EMA period. Default: 26.
        #[serde(default = "default_slow")]
        slow: usize,
        /// Signal EMA period. Default: 9.
        #[serde(default = "default_signal")]
        signal: usize,
    },
}

fn default_rsi_period() -> usize {
    14
}
fn default_fast() -> usize {
    12
}
fn default_slow() -> usize {
    26
}
fn default_signal() -> usize {
    9
}

impl FeatureConfig {
    /// The name outputs are called by (the prefix for multi-output features).
    pub fn name(&self) -> String {
        match self {
            FeatureConfig::CloseRatio { name } => {
                name.clone().unwrap_or_else(|| "close_ratio".into())
            }
            FeatureConfig::Rsi { name, period } => {
                name.clone().unwrap_or_else(|| format!("rsi_{period}"))
            }
            FeatureConfig::Macd { name, fast, slow, signal } => {
                name.clone().unwrap_or_else(|| format!("macd_{fast}_{slow}_{signal}"))
            }
        }
    }

    /// The column names this feature produces, in order.
    pub fn output_names(&self) -> Vec<String> {
        let name = self.name();
        match self {
            FeatureConfig::Macd { .. } => {
                ["macd", "signal", "hist"].iter().map(|o| format!("{name}.{o}")).collect()
            }
            _ => vec![name],
        }
    }

    /// The longest look-back in bars (for "period longer than the data" checks).
    pub fn lookback_bars(&self) -> usize {
        match self {
            FeatureConfig::CloseRatio { .. } => 1,
            FeatureConfig::Rsi { period, .. } => *period,
            FeatureConfig::Macd { fast, slow, signal, .. } => {
                (*fast).max(*slow) + signal.saturating_sub(1)
            }
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
