//! The pipeline YAML: the only module that parses YAML. Raw text (+ `--set` overrides) →
//! typed, validated [`Pipeline`] → one resolved config per trial.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use quantsweep_core::{ParamValue, TrialSpec};
use quantsweep_evaluate::{BacktestConfig, StrategyConfig};
use quantsweep_features::{
    Balance, FeatureConfig, FeatureError, SplitConfig, TargetConfig, WindowConfig,
};
use quantsweep_ingest::{
    ColumnMap, DuplicatePolicy, FillGaps, Format, InvalidPolicy, LastCandle, LoadOptions,
    OrderPolicy, Timeframe, Timerange,
};
use quantsweep_sweep::SweepConfig;
use quantsweep_train::{ModelConfig, TrainConfig};
use serde::{Deserialize, Serialize};
use serde_yaml::Value;

/// A pipeline file: data → features → target → model → training → strategy → backtest,
/// and the sweep over it. docs/pipeline.md documents every key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Names the sweep; the default output folder is `results/<name>`.
    pub name: String,
    /// Free text for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where the candles come from.
    #[serde(default)]
    pub data: DataConfig,
    /// Indicator columns computed from the candles.
    #[serde(default)]
    pub features: Vec<FeatureConfig>,
    /// What the model predicts.
    #[serde(default)]
    pub target: TargetConfig,
    /// How samples are cut.
    #[serde(default)]
    pub window: WindowConfig,
    /// Train / validation / test spans.
    #[serde(default)]
    pub split: SplitConfig,
    /// The network.
    #[serde(default)]
    pub model: ModelConfig,
    /// The training loop.
    #[serde(default)]
    pub train: TrainConfig,
    /// Predictions → positions.
    #[serde(default)]
    pub strategy: StrategyConfig,
    /// Costs and fills.
    #[serde(default)]
    pub backtest: BacktestConfig,
    /// What is swept.
    #[serde(default)]
    pub sweep: SweepConfig,
    /// What a trial runs: the pipeline itself (default) or a synthetic test function.
    #[serde(default)]
    pub objective: ObjectiveConfig,
}

/// The `objective:` section: what a trial runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ObjectiveConfig {
    /// Data → features → model → backtest, as the rest of the file says.
    #[default]
    Pipeline,
    /// A standard test function of the numeric sweep parameters (in key order), for trying
    /// samplers: metric `value` (and `regret`, its distance to the known minimum).
    Synthetic {
        /// `branin`, `hartmann6`, `rosenbrock`, `ackley`, `levy` or `styblinski_tang`.
        function: quantsweep_sweep::Synthetic,
    },
    /// A program of the user's, run once per trial with the parameters as arguments and
    /// environment; it prints its metrics as a JSON line (`crate::command`). Needs
    /// `--allow-commands`.
    Command(crate::command::CommandConfig),
}

/// The `data:` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Path of the candle file (relative to the current directory), or an object-store URL:
    /// `s3://`, `gs://`, `az://`, `http(s)://`, `file://`, `memory://`. Or give `datadir`,
    /// `pair` and `timeframe` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// A freqtrade data directory (the exchange folder, e.g. `user_data/data/binance`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datadir: Option<String>,
    /// The pair to read from `datadir` (`ETH/USDT`, or `ETH/USDT:USDT` for futures), or a
    /// list of pairs (`[ETH/USDT, SOL/USDT]`) traded as an equal-weight portfolio, each with
    /// its own models (freqtrade's `pair_whitelist`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair: Option<Pairs>,
    /// The timeframe to read from `datadir` (`1h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeframe: Option<String>,
    /// Correlated pairs' candles, for features with `pair:` (freqAI's `include_corr_pairlist`):
    /// pair name → path or URL, e.g. `{BTC/USDT: data/btc-1h.feather}`. With `datadir`, pairs
    /// not listed here are read from the directory at `timeframe`. They are resampled like the
    /// main candles and cut at the same end.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pairs: BTreeMap<String, String>,
    /// Aggregate the candles to this coarser timeframe after loading (`4h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resample: Option<String>,
    /// Object-store options by object_store's key names (`aws_endpoint`, `aws_region`,
    /// `aws_allow_http`, `skip_signature`, ...), over the cloud's usual environment variables.
    /// Secrets here are redacted in `pipeline.resolved.yaml`; prefer the environment.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub storage: BTreeMap<String, String>,
    /// File format. Default: `auto` (detected from the name and contents).
    #[serde(default)]
    pub format: Format,
    /// Column names (and time format) of a CSV whose header the detection does not know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<ColumnMap>,
    /// The last candle: `keep`, `drop_if_unfinished` or `drop`. Default: `keep`.
    #[serde(default)]
    pub last_candle: LastCandle,
    /// Missing candles: `none` (reported only) or `ffill` (flat candles at the previous close,
    /// volume 0). Default: `none`.
    #[serde(default)]
    pub fill_gaps: FillGaps,
    /// Candles sharing a timestamp. Default: `keep_last`.
    #[serde(default)]
    pub duplicates: DuplicatePolicy,
    /// Rows whose times go back against the file's order: `sort` or `error`. Default: `sort`.
    #[serde(default)]
    pub order: OrderPolicy,
    /// Candles breaking OHLC consistency. Default: `error`.
    #[serde(default)]
    pub invalid: InvalidPolicy,
    /// freqtrade-style range (`20230101-20240529`, open ends allowed) or `2023-01-01..2024-05-29`.
    /// The end is exclusive. Not together with `start`/`end`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timerange: Option<String>,
    /// First candle to use (ISO date, inclusive). Default: the first in the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Candles before this date are used (ISO date, exclusive). Default: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// A universe of assets with one model trained on all their windows pooled: a list
    /// (`[ETH/USDT, BTC/USDT]`, `[AAPL, MSFT]`) or `all`, read from `datadir` at `timeframe`,
    /// or from the folder `source` names (one file per asset, named by the file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub universe: Option<Universe>,
    /// With a universe: `data.source` is one long table (CSV or Parquet, a row per asset and
    /// bar), or a folder of them, whose column of this name says the asset (`Name`, `symbol`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol_column: Option<String>,
    /// The market's calendar: `continuous` (every bar of the timeframe; crypto) or
    /// `weekdays` (no bars on Saturdays and Sundays; stock markets). Default: detected from
    /// the data (daily candles without weekend bars are `weekdays`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<quantsweep_ingest::Calendar>,
}

/// `data.universe`: the assets listed, or every one the data holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Universe {
    /// `all`.
    All(AllAssets),
    /// The assets, in the order given.
    List(Vec<String>),
}

/// The word `all` of `data.universe: all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllAssets {
    /// Every asset of the data.
    All,
}

/// Candle file extensions a folder of per-asset files may hold.
const CANDLE_FILES: [&str; 5] = [".csv", ".parquet", ".feather", ".json", ".json.gz"];

/// `data.pair`: one pair, or several traded side by side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Pairs {
    One(String),
    Many(Vec<String>),
}

impl Pairs {
    /// The pairs, in the order given.
    pub fn names(&self) -> Vec<&str> {
        match self {
            Pairs::One(p) => vec![p.as_str()],
            Pairs::Many(ps) => ps.iter().map(String::as_str).collect(),
        }
    }
}

/// How a pipeline names its data.
enum Location<'a> {
    Source(&'a str),
    Freqtrade { dir: &'a str, pairs: Vec<&'a str>, tf: &'a str },
}

/// One traded market: the candles' file or URL, and its pair's name when the pipeline trades
/// several.
pub struct Market {
    pub pair: Option<String>,
    pub location: String,
}

impl DataConfig {
    /// Which way the data is named, checked: `source`, or `datadir` with `pair` and `timeframe`.
    fn location_parts(&self) -> Result<Location<'_>> {
        match (&self.source, &self.datadir, &self.pair, &self.timeframe) {
            (Some(s), None, None, None) if s.trim().is_empty() => bail!("data.source: is empty"),
            (Some(s), None, None, None) => Ok(Location::Source(s)),
            (None, Some(dir), Some(pair), Some(tf)) => {
                let pairs = pair.names();
                if pairs.is_empty() {
                    bail!("data.pair: list at least one pair");
                }
                for (i, p) in pairs.iter().enumerate() {
                    if p.trim().is_empty() {
                        bail!("data.pair: pair {i} is empty");
                    }
                    if pairs[..i].contains(p) {
                        bail!("data.pair: `{p}` is listed twice");
                    }
                }
                Ok(Location::Freqtrade { dir, pairs, tf })
            }
            (Some(_), _, _, _) => {
                bail!(
                    "data.source: give either source, or datadir with pair and timeframe, not both"
                )
            }
            _ => bail!("data: give `source`, or `datadir` with `pair` and `timeframe`"),
        }
    }

    /// The markets to trade: `source`, or the freqtrade file `datadir`/`pair`/`timeframe`
    /// names for each pair (named when there are several), or a universe's assets.
    pub fn markets(&self) -> Result<Vec<Market>> {
        if let Some(universe) = &self.universe {
            return self.assets(universe);
        }
        match self.location_parts()? {
            Location::Source(s) => Ok(vec![Market { pair: None, location: s.to_owned() }]),
            Location::Freqtrade { dir, pairs, tf } => {
                let several = pairs.len() > 1;
                pairs
                    .iter()
                    .map(|pair| {
                        let path = quantsweep_ingest::freqtrade_file(Path::new(dir), pair, tf)
                            .with_context(|| format!("data.datadir (pair {pair})"))?;
                        let location = path.to_string_lossy().into_owned();
                        Ok(Market { pair: several.then(|| (*pair).to_owned()), location })
                    })
                    .collect()
            }
        }
    }

    /// A universe's assets, each named: from `datadir` at `timeframe`, or from the folder
    /// `source` (one file per asset, named by the file without the suffix all the files
    /// share: `AAPL_data.csv` → `AAPL`).
    fn assets(&self, universe: &Universe) -> Result<Vec<Market>> {
        if self.pair.is_some() {
            bail!(
                "data.universe: give either a universe or data.pair (a portfolio of pairs with a \
                 model each), not both"
            );
        }
        if self.symbol_column.is_some() {
            // One long table: its assets are known once it is read (objective::load_markets).
            return match (&self.source, &self.datadir) {
                (Some(file), None) => Ok(vec![Market { pair: None, location: file.clone() }]),
                _ => bail!(
                    "data.symbol_column: names the asset column of the table (or the folder of \
                     tables) in data.source"
                ),
            };
        }
        // Every asset available: (name, file).
        let available: Vec<(String, String)> = match (&self.datadir, &self.timeframe, &self.source)
        {
            (Some(dir), Some(tf), None) => quantsweep_ingest::freqtrade_contents(Path::new(dir))
                .into_iter()
                .filter(|f| &f.timeframe == tf)
                .map(|f| (f.pair, f.path.to_string_lossy().into_owned()))
                .collect(),
            (None, None, Some(folder)) if Path::new(folder).is_dir() => asset_files(folder)?,
            (None, None, Some(file)) => bail!(
                "data.universe: data.source is the file {file}: a universe reads a folder of \
                 per-asset files (data.source: FOLDER), or a freqtrade directory (data.datadir \
                 with data.timeframe)"
            ),
            (Some(_), None, _) => bail!("data.timeframe: a universe from data.datadir needs it"),
            _ => bail!(
                "data.universe: read it from data.datadir with data.timeframe, or from a folder \
                 of per-asset files in data.source"
            ),
        };
        let whence = match (&self.datadir, &self.timeframe, &self.source) {
            (Some(dir), Some(tf), _) => format!("{dir} at {tf}"),
            (_, _, Some(folder)) => folder.clone(),
            _ => String::new(),
        };
        let assets: Vec<(String, String)> = match universe {
            Universe::All(_) => available,
            Universe::List(names) => {
                let mut picked = Vec::with_capacity(names.len());
                for (i, name) in names.iter().enumerate() {
                    if names[..i].contains(name) {
                        bail!("data.universe: `{name}` is listed twice");
                    }
                    let Some(found) = available.iter().find(|(n, _)| n == name) else {
                        let hint = quantsweep_core::did_you_mean(
                            name,
                            available.iter().map(|(n, _)| n.as_str()),
                        );
                        bail!("data.universe: no `{name}` in {whence}{hint}");
                    };
                    picked.push(found.clone());
                }
                picked
            }
        };
        if assets.len() < 2 {
            bail!(
                "data.universe: a universe needs at least two assets, {whence} gives {}: trade \
                 one market with data.pair or data.source",
                match assets.as_slice() {
                    [] => "none".to_owned(),
                    [(name, _)] => format!("one ({name})"),
                    _ => unreachable!("two or more"),
                }
            );
        }
        Ok(assets
            .into_iter()
            .map(|(name, location)| Market { pair: Some(name), location })
            .collect())
    }

    /// The assets of a universe among those a long table holds (`available`, its names): all,
    /// or the ones listed, each checked.
    pub fn pick_assets(&self, available: &[String]) -> Result<Vec<String>> {
        let whence = self.source.as_deref().unwrap_or_default();
        let picked = match &self.universe {
            Some(Universe::List(names)) => {
                for (i, name) in names.iter().enumerate() {
                    if names[..i].contains(name) {
                        bail!("data.universe: `{name}` is listed twice");
                    }
                    if !available.contains(name) {
                        let hint = quantsweep_core::did_you_mean(
                            name,
                            available.iter().map(String::as_str),
                        );
                        bail!("data.universe: no `{name}` in {whence}{hint}");
                    }
                }
                names.clone()
            }
            _ => available.to_vec(),
        };
        if picked.len() < 2 {
            bail!(
                "data.universe: a universe needs at least two assets, {whence} gives {}: trade \
                 one market with data.pair or data.source",
                picked.len()
            );
        }
        Ok(picked)
    }

    /// Where the candles of a correlated `pair` are: `pairs[pair]`, or the freqtrade file in
    /// `datadir`.
    pub fn pair_location(&self, pair: &str) -> Result<String> {
        if let Some(source) = self.pairs.get(pair) {
            return Ok(source.clone());
        }
        match self.location_parts()? {
            Location::Freqtrade { dir, tf, .. } => {
                let path = quantsweep_ingest::freqtrade_file(Path::new(dir), pair, tf)
                    .with_context(|| format!("data.datadir (pair {pair})"))?;
                Ok(path.to_string_lossy().into_owned())
            }
            Location::Source(_) => {
                bail!("no candles for pair `{pair}`: add it to data.pairs ({pair}: PATH or URL)")
            }
        }
    }

    /// How the source is read.
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            format: self.format,
            duplicates: self.duplicates,
            order: self.order,
            invalid: self.invalid,
            columns: self.columns.clone(),
            last_candle: self.last_candle,
            fill_gaps: self.fill_gaps,
            calendar: self.calendar,
        }
    }

    /// The candles to use, from `timerange` or `start`/`end`.
    pub fn range(&self) -> Result<Timerange> {
        if let Some(t) = &self.timerange {
            if self.start.is_some() || self.end.is_some() {
                bail!("data.timerange: give either timerange or start/end, not both");
            }
            return Timerange::parse(t).map_err(|e| anyhow::anyhow!("data.timerange: {e}"));
        }
        let start_ms = self.start.as_deref().map(|s| parse_date("data.start", s)).transpose()?;
        let end_ms = self.end.as_deref().map(|s| parse_date("data.end", s)).transpose()?;
        if let (Some(s), Some(e)) = (start_ms, end_ms)
            && s >= e
        {
            bail!("data.end: must be after data.start");
        }
        Ok(Timerange { start_ms, end_ms })
    }
}

/// The candle files of `folder`, each named by its file name without the suffix (after a
/// `_`, `-` or `.`) that every file shares: `AAPL_data.csv` → `AAPL`.
pub(crate) fn asset_files(folder: &str) -> Result<Vec<(String, String)>> {
    let entries = std::fs::read_dir(folder).with_context(|| format!("data.source: {folder}"))?;
    let mut files: Vec<(String, String)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let ext = CANDLE_FILES.iter().find(|x| name.ends_with(*x))?;
            let stem = name[..name.len() - ext.len()].to_owned();
            Some((stem, e.path().to_string_lossy().into_owned()))
        })
        .collect();
    files.sort();
    // The longest suffix every stem shares, starting at a separator, and leaving a name.
    if files.len() > 1 {
        let first = files[0].0.clone();
        let shared = first
            .char_indices()
            .filter(|(_, c)| matches!(c, '_' | '-' | '.'))
            .map(|(i, _)| &first[i..])
            .find(|suffix| {
                files.iter().all(|(s, _)| s.len() > suffix.len() && s.ends_with(suffix))
            });
        if let Some(suffix) = shared.map(str::to_owned) {
            for (stem, _) in &mut files {
                stem.truncate(stem.len() - suffix.len());
            }
        }
    }
    Ok(files)
}

/// A loaded pipeline: its typed config, the YAML value trials are resolved from, and the
/// list of trials.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The file it came from.
    pub path: PathBuf,
    /// Overrides applied, typed, defaults filled.
    pub config: PipelineConfig,
    /// The same, as a YAML value (sweep parameters are set on it per trial).
    pub value: Value,
    /// Every trial of the sweep, in order.
    pub trials: Vec<TrialSpec>,
}

impl Pipeline {
    /// Reads `path`, applies `overrides` (`KEY=VALUE`), and checks the result, the data
    /// range and every trial's configuration.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read pipeline {}", path.display()))?;
        Self::parse(path, &text, overrides)
    }

    /// [`Pipeline::load`] for the feature table alone (`quantsweep features`): `model` may be
    /// left out, as nothing is trained.
    pub fn load_for_features(path: &Path, overrides: &[String]) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read pipeline {}", path.display()))?;
        Self::parse_for(path, &text, overrides, &["data", "features", "target"])
    }

    /// [`Pipeline::load`] of a pipeline's `text`, which `path` names in errors.
    pub fn parse(path: &Path, text: &str, overrides: &[String]) -> Result<Self> {
        Self::parse_for(path, text, overrides, &["data", "features", "target", "model"])
    }

    /// [`Pipeline::parse`] of a pipeline that must have the sections `needed`.
    fn parse_for(path: &Path, text: &str, overrides: &[String], needed: &[&str]) -> Result<Self> {
        if text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
            bail!(
                "{}: the pipeline is empty (`quantsweep init` writes a starter pipeline)",
                path.display()
            );
        }
        // A pipeline is plain data: a tag (`!!python/object/apply:os.system`, `!Custom`)
        // would be ignored or half-read, so it is refused, naming its line.
        let sets = overrides.iter().filter_map(|o| o.split_once('=').map(|(_, v)| v));
        for (raw, in_file) in std::iter::once((text, true)).chain(sets.map(|v| (v, false))) {
            if let Some((line, tag)) = find_tag(raw) {
                let at = if in_file {
                    format!("{}:{line}", path.display())
                } else {
                    format!("{}: --set", path.display())
                };
                bail!(
                    "{at}: YAML tags such as `{tag}` are not supported: a pipeline is plain \
                     data, and nothing in it is ever run or constructed"
                );
            }
        }
        // Typed parse of the file as written, so that errors carry its line and column.
        let parsed: PipelineConfig =
            serde_yaml::from_str(text).map_err(|e| yaml_error(path, text, &e))?;
        let config = if overrides.is_empty() {
            parsed
        } else {
            let mut value: Value =
                serde_yaml::from_str(text).map_err(|e| yaml_error(path, text, &e))?;
            for o in overrides {
                let at = path.display();
                let (key, raw) = o
                    .split_once('=')
                    .with_context(|| format!("{at}: --set {o}: expected KEY=VALUE"))?;
                let v: Value = serde_yaml::from_str(raw)
                    .with_context(|| format!("{at}: --set {o}: the value is not valid YAML"))?;
                set_path(&mut value, key.trim(), v).with_context(|| format!("{at}: --set {o}"))?;
            }
            match serde_yaml::from_value(value) {
                Ok(config) => config,
                Err(e) => return Err(set_error(path, text, overrides, &e)),
            }
        };
        let mut config = config;
        // Without a `strategy:`, an up/down classifier trades its probabilities (long above
        // 0.5), not price ratios.
        let raw: Value = serde_yaml::from_str(text).unwrap_or(Value::Null);
        let strategy_given =
            raw.get("strategy").is_some() || overrides.iter().any(|o| o.starts_with("strategy"));
        if !strategy_given
            && matches!(config.target, quantsweep_features::TargetConfig::UpDown { .. })
        {
            config.strategy = StrategyConfig::Classifier { long_above: 0.5, flat_below: 0.5 };
        }
        let given = |key: &str| {
            raw.get(key).is_some() || overrides.iter().any(|o| o.starts_with(&format!("{key}.")))
        };
        match config.objective {
            ObjectiveConfig::Pipeline => {
                for key in needed {
                    if !given(key) {
                        bail!(
                            "{}: missing field `{key}`: a pipeline needs {} (or `objective: \
                             {{kind: synthetic, ...}}`)",
                            path.display(),
                            needed.join(", ")
                        );
                    }
                }
            }
            ObjectiveConfig::Synthetic { function } => {
                let metric_given = raw.get("sweep").and_then(|s| s.get("metric")).is_some()
                    || overrides.iter().any(|o| o.starts_with("sweep.metric"));
                if !metric_given {
                    config.sweep.metric = quantsweep_sweep::MetricConfig {
                        name: "value".into(),
                        goal: quantsweep_sweep::Goal::Minimize,
                    };
                }
                validate_synthetic(&config, function)
                    .with_context(|| format!("{}", path.display()))?;
            }
            ObjectiveConfig::Command(ref command) => {
                let keys: Vec<&str> = config.sweep.parameters.keys().map(String::as_str).collect();
                command.validate(&keys).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            }
        }
        let value = serde_yaml::to_value(&config).context("re-serializing the pipeline")?;
        if config.objective == ObjectiveConfig::Pipeline {
            validate_data(&config.data).with_context(|| format!("{}", path.display()))?;
            validate_features(path, text, &config.features)?;
            validate_evaluation(&config).with_context(|| format!("{}", path.display()))?;
        }
        for (i, f) in config.features.iter().enumerate() {
            if let Some(quantsweep_features::Param::Text(pair)) = f.params.get("pair") {
                config
                    .data
                    .pair_location(pair)
                    .with_context(|| format!("{}: features[{i}].pair", path.display()))?;
            }
        }
        let trials = config.sweep.trials().with_context(|| format!("{}", path.display()))?;
        let pipeline = Self { path: path.to_path_buf(), config, value, trials };
        // Every trial's parameters must name real keys with valid values.
        for key in pipeline.config.sweep.parameters.keys() {
            if key == "sweep" || key.starts_with("sweep.") || key == "name" {
                bail!("{}: sweep.parameters.{key}: the sweep cannot sweep `{key}`", path.display());
            }
            if key == "data" || key.starts_with("data.") {
                bail!(
                    "{}: sweep.parameters.{key}: a sweep loads its data once, so it cannot sweep \
                     `{key}`: run one sweep per data set, or list several pairs in data.pair to \
                     trade them together",
                    path.display()
                );
            }
        }
        // Adaptive sweeps choose their trials later: check the space's corners and centre.
        pipeline.config.sweep.probes().with_context(|| format!("{}", path.display()))?;
        if pipeline.config.objective == ObjectiveConfig::Pipeline {
            pipeline.check_parameter_keys(text)?;
        }
        for t in &pipeline.representative_trials() {
            let trial = pipeline.trial_config(t).with_context(|| format!("{}", path.display()))?;
            FeatureConfig::validate_all(&trial.features)
                .with_context(|| format!("{}: trial {}", path.display(), t.id))?;
            if trial.objective == ObjectiveConfig::Pipeline {
                // The shapes first: their errors say what reaches a layer.
                quantsweep_train::validate_shapes(
                    &trial.model,
                    &trial.train,
                    trial.window.input_bars,
                    trial.window.inputs.as_ref().map(Vec::len),
                    trial.target.width(),
                )
                .and_then(|()| quantsweep_train::validate_config(&trial.model, &trial.train))
                .map_err(|e| {
                    let at = layer_key_line(text, &e.to_string())
                        .map(|(line, col)| format!(":{line}:{col}"))
                        .unwrap_or_default();
                    anyhow::anyhow!("{}{at}: trial {}: {e}", path.display(), t.id)
                })?;
                validate_evaluation(&trial)
                    .with_context(|| format!("{}: trial {}", path.display(), t.id))?;
            }
            if trial.split.balance != Balance::None && !trial.target.is_binary() {
                bail!(
                    "{}: trial {}: split.balance: balancing needs a binary target (up_down)",
                    path.display(),
                    t.id
                );
            }
        }
        Ok(pipeline)
    }

    /// Each sweep parameter names a key the pipeline has: an unknown one is refused with its
    /// line in the file and a did-you-mean (`sweep.parameters.train.learning_rate`).
    fn check_parameter_keys(&self, text: &str) -> Result<()> {
        let Some(first) = self.representative_trials().into_iter().next() else { return Ok(()) };
        for (key, v) in &first.params {
            let Some(msg) = refused_alone(&self.value, key, param_to_yaml(v)) else { continue };
            if !msg.contains("unknown field `") {
                continue;
            }
            let at = match locate(text, key) {
                Some((line, col, _)) => format!("{}:{line}:{col}", self.path.display()),
                None => self.path.display().to_string(),
            };
            bail!("{at}: sweep.parameters.{key}: not a key of the pipeline: {}", with_hint(&msg));
        }
        Ok(())
    }

    /// The configuration one trial runs: the pipeline with the trial's parameters set.
    /// How many trials the sweep runs (for adaptive samplers, as many as they will ask).
    pub fn total(&self) -> usize {
        self.config.sweep.trial_count().map_or(self.trials.len(), |n| n as usize)
    }

    /// Trials that show what every trial needs: the list itself, or for adaptive samplers
    /// the space's corners and centre.
    pub fn representative_trials(&self) -> Vec<TrialSpec> {
        if self.config.sweep.is_adaptive() {
            self.config.sweep.probes().unwrap_or_default()
        } else {
            self.trials.clone()
        }
    }

    pub fn trial_config(&self, trial: &TrialSpec) -> Result<PipelineConfig> {
        // A synthetic objective's parameters are its coordinates, not pipeline keys.
        if trial.params.is_empty() || self.config.objective != ObjectiveConfig::Pipeline {
            return Ok(self.config.clone());
        }
        let mut value = self.value.clone();
        for (key, v) in &trial.params {
            set_path(&mut value, key, param_to_yaml(v))
                .with_context(|| format!("sweep.parameters.{key}"))?;
        }
        serde_yaml::from_value(value).map_err(|e| {
            // The parameter whose value the pipeline refuses on its own, named with its value.
            for (key, v) in &trial.params {
                if let Some(msg) = refused_alone(&self.value, key, param_to_yaml(v)) {
                    let msg = with_hint(&msg);
                    let msg = msg.strip_prefix(&format!("{key}: ")).unwrap_or(&msg).to_owned();
                    return anyhow::anyhow!("sweep.parameters.{key}: the value {v}: {msg}");
                }
            }
            let keys: Vec<&str> = trial.params.keys().map(String::as_str).collect();
            anyhow::anyhow!("sweep.parameters ({}): {}", keys.join(", "), with_hint(&e.to_string()))
        })
    }

    /// The resolved pipeline as YAML (what `pipeline.resolved.yaml` holds, without its
    /// header), with secrets in `data.storage` redacted.
    pub fn resolved_yaml(&self) -> Result<String> {
        let mut config = self.config.clone();
        for (key, value) in config.data.storage.iter_mut() {
            if is_secret(key) {
                *value = "<redacted>".into();
            }
        }
        serde_yaml::to_string(&config).context("serializing the resolved pipeline")
    }
}

/// One key whose value differs between two resolved pipelines: its dotted path, the value
/// before and the value now (`-` where the key is absent), as a user would type them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub key: String,
    pub before: String,
    pub now: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} → {}", self.key, self.before, self.now)
    }
}

/// Every key whose value differs between two resolved pipelines' YAML texts (comments
/// ignored), by dotted path in file order: what `run` names when it refuses an `--out` that
/// holds another sweep. Sequences of mappings are compared entry by entry (`features.2.period`).
pub fn resolved_differences(before: &str, now: &str) -> Result<Vec<Difference>> {
    let before: Value =
        serde_yaml::from_str(before).context("the earlier pipeline.resolved.yaml")?;
    let now: Value = serde_yaml::from_str(now).context("the resolved pipeline")?;
    let mut out = Vec::new();
    differences("", &before, &now, &mut out);
    Ok(out)
}

fn differences(at: &str, before: &Value, now: &Value, out: &mut Vec<Difference>) {
    let child = |key: &str| if at.is_empty() { key.to_owned() } else { format!("{at}.{key}") };
    match (before, now) {
        (Value::Mapping(a), Value::Mapping(b)) => {
            for (k, va) in a {
                let key = child(&yaml_inline(k));
                match b.get(k) {
                    Some(vb) => differences(&key, va, vb, out),
                    None => out.push(Difference { key, before: yaml_inline(va), now: "-".into() }),
                }
            }
            for (k, vb) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
                out.push(Difference {
                    key: child(&yaml_inline(k)),
                    before: "-".into(),
                    now: yaml_inline(vb),
                });
            }
        }
        (Value::Sequence(a), Value::Sequence(b))
            if a.len() == b.len() && a.iter().chain(b).any(Value::is_mapping) =>
        {
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                differences(&child(&i.to_string()), va, vb, out);
            }
        }
        (a, b) if a != b => {
            out.push(Difference { key: at.to_owned(), before: yaml_inline(a), now: yaml_inline(b) })
        }
        _ => {}
    }
}

/// A YAML value on one line: scalars as written, collections in flow style (JSON is YAML).
fn yaml_inline(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Tagged(t) => yaml_inline(&t.value),
        other => serde_json::to_string(other).unwrap_or_else(|_| format!("{other:?}")),
    }
}

/// The first YAML tag in `text` (a token starting with `!` outside quotes and comments:
/// `!!python/object:os.system`, `!Custom`), with its line. serde_yaml drops `!!` tags when
/// it reads a value, so they are found in the text.
fn find_tag(text: &str) -> Option<(usize, String)> {
    for (i, line) in text.lines().enumerate() {
        let mut quote: Option<char> = None;
        let mut prev = ' ';
        for (at, c) in line.char_indices() {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == '#' && prev.is_whitespace() => break,
                None if c == '"' || c == '\'' => quote = Some(c),
                None if c == '!' && (prev.is_whitespace() || "[{,:-".contains(prev)) => {
                    let tag: String =
                        line[at..].chars().take_while(|c| !c.is_whitespace()).collect();
                    return Some((i + 1, tag));
                }
                None => {}
            }
            prev = c;
        }
    }
    None
}

/// Storage keys whose values are credentials, access key ids included (half of a key pair,
/// and they name the account).
fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["secret", "password", "token", "key", "sas", "credential", "service_account"]
        .iter()
        .any(|s| k.contains(s))
}

fn param_to_yaml(v: &ParamValue) -> Value {
    match v {
        ParamValue::Bool(b) => Value::Bool(*b),
        ParamValue::Int(i) => Value::Number((*i).into()),
        ParamValue::Float(f) => Value::Number((*f).into()),
        ParamValue::Str(s) => Value::String(s.clone()),
    }
}

/// The keys of a sweep parameter (`sweep.parameters.<key>.<field>`).
const PARAMETER_FIELDS: [&str; 6] = ["values", "value", "min", "max", "distribution", "q"];

/// Sets `value` at a dotted path (`train.lr`, `features.1.period`), creating mappings on the
/// way; a key that does not exist is then refused by the typed parse, naming it. Below
/// `sweep.parameters` a parameter's own dotted key is one step: `sweep.parameters.model.hidden`
/// is the parameter `model.hidden` (and `sweep.parameters.model.hidden.values` its values).
fn set_path(root: &mut Value, dotted: &str, new: Value) -> Result<()> {
    if dotted.is_empty() || dotted.split('.').any(str::is_empty) {
        bail!("`{dotted}` is not a dotted key like train.lr");
    }
    let mut node = root;
    let mut rest = dotted;
    let mut parents: Vec<&str> = Vec::new();
    while !rest.is_empty() {
        if node.is_null() {
            *node = Value::Mapping(Default::default());
        }
        let in_parameters = parents == ["sweep", "parameters"];
        let part = match node {
            // The longest existing parameter key that starts the rest, else all of it.
            Value::Mapping(map) if in_parameters => {
                let mut ends = rest.match_indices('.').map(|(i, _)| i).chain([rest.len()]);
                let found = ends.rfind(|&end| map.contains_key(&rest[..end]));
                // A new parameter's own key: `train.batch_size.values` is the parameter
                // `train.batch_size` and its `values`.
                let new = || {
                    let (key, field) = rest.rsplit_once('.')?;
                    PARAMETER_FIELDS.contains(&field).then_some(key.len())
                };
                &rest[..found.or_else(new).unwrap_or(rest.len())]
            }
            _ => rest.split('.').next().unwrap_or(rest),
        };
        rest = rest[part.len()..].strip_prefix('.').unwrap_or("");
        parents.push(part);
        node = match node {
            Value::Sequence(items) => {
                let len = items.len();
                let i: usize = part.parse().ok().filter(|i| *i < len).with_context(|| {
                    format!("`{part}` in `{dotted}`: expected an index below {len}")
                })?;
                &mut items[i]
            }
            Value::Mapping(map) => {
                let key = Value::String(part.into());
                if !map.contains_key(&key) {
                    map.insert(key.clone(), Value::Mapping(Default::default()));
                }
                map.get_mut(&key).context("a key just inserted is present")?
            }
            _ => bail!("`{dotted}`: `{part}` is inside a value that is not a mapping"),
        };
    }
    *node = new;
    Ok(())
}

/// Why the pipeline `base` is refused with `new` set at `dotted` alone (serde's message), or
/// `None` when it reads (or the key cannot be set): which of several changes is the culprit.
fn refused_alone(base: &Value, dotted: &str, new: Value) -> Option<String> {
    let mut probe = base.clone();
    set_path(&mut probe, dotted, new).ok()?;
    serde_yaml::from_value::<PipelineConfig>(probe).err().map(|e| e.to_string())
}

/// The error of `--set` overrides that the typed parse refused, naming the first override
/// that makes the file fail on its own (`--set train.lr=abc: train.lr: expected a number,
/// got the text "abc"`).
fn set_error(
    path: &Path,
    text: &str,
    overrides: &[String],
    e: &serde_yaml::Error,
) -> anyhow::Error {
    let at = path.display();
    let msg = with_hint(&e.to_string());
    let Ok(base) = serde_yaml::from_str::<Value>(text) else {
        return anyhow::anyhow!("{at}: after --set overrides: {msg}");
    };
    for o in overrides {
        let Some((key, raw)) = o.split_once('=') else { continue };
        let Ok(v) = serde_yaml::from_str::<Value>(raw) else { continue };
        let key = key.trim();
        if let Some(msg) = refused_alone(&base, key, v) {
            let msg = with_hint(&msg);
            // The message's own path is the key's (or inside it): say it once.
            let msg = match msg.strip_prefix(&format!("{key}: ")) {
                Some(rest) => format!("{key}: {rest}"),
                None if msg.split(':').next().is_some_and(|p| p.starts_with(key)) => msg,
                None => format!("{key}: {msg}"),
            };
            return anyhow::anyhow!("{at}: --set {o}: {msg}");
        }
    }
    anyhow::anyhow!("{at}: after --set overrides: {msg}")
}

/// `file:line:column: key.path: message`, plus a did-you-mean for unknown keys.
fn yaml_error(path: &Path, text: &str, e: &serde_yaml::Error) -> anyhow::Error {
    if let Some(e) = layer_error(path, text) {
        return e;
    }
    // serde_yaml puts " at line L column C" in its messages; we put the location first instead.
    let msg = with_hint(&strip_location(&e.to_string()));
    // Inside internally tagged enums (`kind: ...`) serde_yaml loses the position and reports
    // 1:1, so find the offending key or value in the text instead.
    let named = ["unknown field `", "unknown variant `", "missing field `", "duplicate field `"]
        .iter()
        .find_map(|p| msg.find(p).map(|i| (p, i + p.len())))
        .and_then(|(p, at)| msg[at..].find('`').map(|len| (*p, &msg[at..at + len])));
    let found = match named {
        Some((p, token)) if p != "missing field `" => locate(text, token),
        _ => None,
    };
    // serde_yaml's position is exact where the token is on its line; elsewhere it points at
    // the enclosing document or mapping, and the token's own line is the better one.
    let token_on_reported_line = |l: &serde_yaml::Location| {
        named.is_some_and(|(_, token)| {
            text.lines().nth(l.line() - 1).is_some_and(|t| t.contains(token))
        })
    };
    // A wrong type inside a tagged enum comes with no position and no key: find the field.
    let found = found.or_else(|| {
        let placed = e.location().is_some_and(|l| l.line() > 2);
        let raw = strip_location(&e.to_string());
        let typed = raw.starts_with("invalid type") || raw.starts_with("invalid value");
        if placed || !typed {
            return None;
        }
        let (section, field) = blame(text)?;
        let (line, col) = key_line(text, &section, &field)?;
        Some((line, col, format!("{section}.{field}")))
    });
    match (found, e.location()) {
        (Some((line, col, key)), loc) if !loc.as_ref().is_some_and(token_on_reported_line) => {
            anyhow::anyhow!("{}:{line}:{col}: {key}: {msg}", path.display())
        }
        (_, Some(loc)) => {
            anyhow::anyhow!("{}:{}:{}: {msg}", path.display(), loc.line(), loc.column())
        }
        (_, None) => anyhow::anyhow!("{}: {msg}", path.display()),
    }
}

/// Inside `model.layers` serde_yaml keeps no position or key: the first entry that fails on
/// its own, as `file:line:col: model.layers[i].field: message` (the field whose removal
/// changes the error to a missing one or none, or the one the message names).
fn layer_error(path: &Path, text: &str) -> Option<anyhow::Error> {
    let root: Value = serde_yaml::from_str(text).ok()?;
    let layers = root.get("model")?.get("layers")?.as_sequence()?;
    for (i, layer) in layers.iter().enumerate() {
        let Err(e) = serde_yaml::from_value::<quantsweep_train::Layer>(layer.clone()) else {
            continue;
        };
        let raw = strip_location(&e.to_string());
        let mut msg = with_hint(&raw);
        let fields: Vec<&str> = layer
            .as_mapping()
            .map(|m| m.keys().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let field = if let Some((_, unknown, _)) = unknown_token(&raw, "unknown field `") {
            Some(unknown.to_owned())
        } else if let Some((_, unknown, _)) = unknown_token(&raw, "unknown variant `") {
            // The field whose value is the unknown name: `type` or an `activation`.
            fields
                .iter()
                .find(|f| layer.get(**f).and_then(Value::as_str) == Some(unknown))
                .map(|f| (*f).to_owned())
        } else if raw.starts_with("missing field `type`") {
            msg = format!("every layer needs a `type`: one of {}", layer_types().join(", "));
            None
        } else {
            fields.iter().filter(|f| **f != "type").find_map(|f| {
                let mut probe = layer.clone();
                probe.as_mapping_mut()?.remove(*f);
                let culprit = match serde_yaml::from_value::<quantsweep_train::Layer>(probe) {
                    Ok(_) => true,
                    Err(e) => e.to_string().contains(&format!("missing field `{f}`")),
                };
                culprit.then(|| (*f).to_owned())
            })
        };
        let key = match &field {
            Some(f) => format!("model.layers[{i}].{f}"),
            None => format!("model.layers[{i}]"),
        };
        let msg = msg.strip_prefix(&format!("{key}: ")).unwrap_or(&msg);
        let msg = msg.replace("{kind: ...}", "{type: lstm, units: 32}");
        return Some(match layer_line(text, i) {
            Some((line, col)) => anyhow::anyhow!("{}:{line}:{col}: {key}: {msg}", path.display()),
            None => anyhow::anyhow!("{}: {key}: {msg}", path.display()),
        });
    }
    None
}

/// Where the layer that a `model.layers[i]...: message` names is written.
fn layer_key_line(text: &str, message: &str) -> Option<(usize, usize)> {
    let index = message.strip_prefix("model.layers[")?.split(']').next()?.parse().ok()?;
    layer_line(text, index)
}

/// The layer types of `model.layers`, for messages: the ones serde expects.
fn layer_types() -> Vec<String> {
    let Err(e) = serde_yaml::from_str::<quantsweep_train::Layer>("type: ''") else {
        return Vec::new();
    };
    let msg = e.to_string();
    unknown_token(&msg, "unknown variant `")
        .map(|(_, _, expected)| expected.into_iter().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Line and column (1-based) of entry `index` of `model.layers` in block style, or of the
/// `layers:` key when the list is written in flow style.
fn layer_line(text: &str, index: usize) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let model = lines.iter().position(|l| l.starts_with("model:"))?;
    let indent = |l: &str| l.len() - l.trim_start().len();
    let key = (model + 1..lines.len())
        .take_while(|&i| lines[i].trim().is_empty() || lines[i].starts_with([' ', '\t', '#']))
        .find(|&i| lines[i].trim_start().starts_with("layers:"))?;
    let after = lines[key].trim_start()["layers:".len()..].trim_start();
    if after.starts_with('[') {
        return Some((key + 1, indent(lines[key]) + 1));
    }
    let items = (key + 1..lines.len())
        .filter(|&i| !lines[i].trim().is_empty() && !lines[i].trim_start().starts_with('#'))
        .take_while(|&i| indent(lines[i]) >= indent(lines[key]) && lines[i].starts_with(' '));
    let level = items
        .clone()
        .find(|&i| lines[i].trim_start().starts_with("- "))
        .map(|i| indent(lines[i]))?;
    let item = items
        .filter(|&i| indent(lines[i]) == level && lines[i].trim_start().starts_with("- "))
        .nth(index)?;
    Some((item + 1, level + 3))
}

/// The `(section, field)` whose removal makes the file deserialize (or miss just that field):
/// where an error is that serde_yaml reports at the document's start, as it does inside
/// internally tagged enums (`model: {kind: blankly, hidden: [20]}`).
fn blame(text: &str) -> Option<(String, String)> {
    let root: Value = serde_yaml::from_str(text).ok()?;
    for (section, body) in root.as_mapping()? {
        let (Some(section), Value::Mapping(fields)) = (section.as_str(), body) else { continue };
        for field in fields.keys().filter_map(Value::as_str).filter(|f| *f != "kind") {
            let mut probe = root.clone();
            if let Some(Value::Mapping(m)) = probe.get_mut(section) {
                m.remove(field);
            }
            let culprit = match serde_yaml::from_value::<PipelineConfig>(probe) {
                Ok(_) => true,
                Err(e) => e.to_string().contains(&format!("missing field `{field}`")),
            };
            if culprit {
                return Some((section.to_owned(), field.to_owned()));
            }
        }
    }
    None
}

/// Line and column (1-based) of `field` inside top-level `section`, block or flow style.
fn key_line(text: &str, section: &str, field: &str) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| l.starts_with(&format!("{section}:")))?;
    for (i, line) in lines.iter().enumerate().skip(start) {
        if i > start && !line.starts_with([' ', '\t', '#']) && !line.trim().is_empty() {
            break;
        }
        let code = line.split(" #").next().unwrap_or(line);
        for prefix in [" ", "{", ","] {
            if let Some(at) = code.find(&format!("{prefix}{field}:")) {
                return Some((i + 1, at + prefix.len() + 1));
            }
        }
    }
    None
}

/// Checks every feature entry; the error names the file, and the line where the offending
/// kind or parameter is written when it appears only once in the file.
fn validate_features(path: &Path, text: &str, features: &[FeatureConfig]) -> Result<()> {
    if let Err(e) = FeatureConfig::validate_all(features) {
        let (index, key) = match &e {
            FeatureError::InvalidParameter { key, .. } => {
                let index = key
                    .strip_prefix("features[")
                    .and_then(|k| k.split(']').next())
                    .and_then(|i| i.parse::<usize>().ok());
                (index, key.rsplit('.').next().unwrap_or(""))
            }
            FeatureError::DuplicateName { index, .. } => (Some(*index), ""),
            _ => (None, ""),
        };
        let Some(f) = index.and_then(|i| features.get(i)) else {
            bail!("{}: {e}", path.display());
        };
        let token = if key == "kind" { f.kind.as_str() } else { key };
        let once = !token.is_empty() && text.matches(token).count() == 1;
        match locate(text, token).filter(|_| once) {
            Some((line, col, _)) => bail!("{}:{line}:{col}: {e}", path.display()),
            None => bail!("{}: {e}", path.display()),
        }
    }
    Ok(())
}

/// `msg` without serde_yaml's " at line L column C".
fn strip_location(msg: &str) -> String {
    let Some(at) = msg.find(" at line ") else { return msg.to_owned() };
    let rest = &msg[at + " at line ".len()..];
    let Some(col) = rest.find(" column ") else { return msg.to_owned() };
    let after = &rest[col + " column ".len()..];
    let digits = after.chars().take_while(char::is_ascii_digit).count();
    format!("{}{}", &msg[..at], &after[digits..])
}

/// The first line where `token` appears as a key (`token:`) or a value (`: token`), with its
/// column and its dotted path from the enclosing keys (by indentation).
fn locate(text: &str, token: &str) -> Option<(usize, usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let is_key = |l: &str| {
        let t = l.trim_start().trim_start_matches("- ").trim_start();
        t.strip_prefix(token).is_some_and(|rest| rest.trim_start().starts_with(':'))
    };
    let is_value = |l: &str| {
        l.split_once(':')
            .is_some_and(|(_, v)| v.trim().trim_matches(|c| c == '"' || c == '\'') == token)
    };
    let (i, line) = lines
        .iter()
        .enumerate()
        .find(|(_, l)| !l.trim_start().starts_with('#') && is_key(l))
        .or_else(|| {
            lines.iter().enumerate().find(|(_, l)| !l.trim_start().starts_with('#') && is_value(l))
        })?;
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut path =
        vec![line.trim_start().trim_start_matches("- ").split(':').next()?.trim().to_owned()];
    let mut level = indent(line);
    for l in lines[..i].iter().rev() {
        let t = l.trim_start();
        if t.is_empty() || t.starts_with('#') || indent(l) >= level {
            continue;
        }
        level = indent(l);
        if t.starts_with("- ") {
            path.push("[]".into());
            continue;
        }
        path.push(t.split(':').next()?.trim().to_owned());
        if level == 0 {
            break;
        }
    }
    path.reverse();
    let dotted = path.join(".").replace(".[]", "[]");
    Some((i + 1, indent(line) + 1, dotted))
}

/// Adds "did you mean `x`?" to serde's "unknown field `y`, expected one of ..." messages.
fn with_hint(msg: &str) -> String {
    let msg = plain_types(msg);
    // An unknown variant (`adamw2`, `gru`): the nearest of the ones expected.
    if let Some((_, unknown, expected)) = unknown_token(&msg, "unknown variant `") {
        return format!("{msg}{}", quantsweep_core::did_you_mean(unknown, expected));
    }
    let Some((at, unknown, expected)) = unknown_token(&msg, "unknown field `") else {
        return msg;
    };
    let mut hint = quantsweep_core::did_you_mean(unknown, expected.iter().copied());
    // Names other tools use for ours, too far apart to be typos.
    const SYNONYMS: [(&str, &str); 8] = [
        ("learning_rate", "lr"),
        ("num_epochs", "epochs"),
        ("hidden_size", "hidden"),
        ("hidden_dim", "hidden"),
        ("units", "hidden"),
        ("num_layers", "layers"),
        ("seq_len", "input_bars"),
        ("lookback", "input_bars"),
    ];
    if hint.is_empty()
        && let Some((_, ours)) =
            SYNONYMS.iter().find(|(theirs, ours)| *theirs == unknown && expected.contains(ours))
    {
        hint = format!(" (did you mean `{ours}`?)");
    }
    // serde_yaml puts the enclosing key's path first (`train: unknown field `epoch``): name
    // the field by its full dotted path instead (`train.epoch: unknown field ...`).
    match msg[..at].strip_suffix(": ") {
        Some(parent) if !parent.is_empty() && !parent.contains(' ') => {
            format!("{parent}.{unknown}: {}{hint}", &msg[at..])
        }
        _ => format!("{msg}{hint}"),
    }
}

/// In serde's "`marker`x`, expected one of `a`, `b`" message: where the marker starts, the
/// unknown `x`, and the names expected.
fn unknown_token<'m>(msg: &'m str, marker: &str) -> Option<(usize, &'m str, Vec<&'m str>)> {
    let at = msg.find(marker)?;
    let start = at + marker.len();
    let len = msg[start..].find('`')?;
    let expected = msg[start + len + 1..].split('`').skip(1).step_by(2).collect();
    Some((at, &msg[start..start + len], expected))
}

/// serde's messages in the words of a pipeline's user: no Rust type names (`f64`,
/// `usize`, `struct WindowConfig`), what a key takes and what was given instead.
fn plain_types(msg: &str) -> String {
    const TYPES: [(&str, &str); 20] = [
        ("expected f64", "expected a number"),
        ("expected f32", "expected a number"),
        ("expected usize", "expected a whole number, 0 or more"),
        ("expected u64", "expected a whole number, 0 or more"),
        ("expected u32", "expected a whole number, 0 or more"),
        ("expected u16", "expected a whole number, 0 or more"),
        ("expected u8", "expected a whole number, 0 or more"),
        ("expected i64", "expected a whole number"),
        ("expected i32", "expected a whole number"),
        ("expected a string", "expected text"),
        ("expected a sequence", "expected a list such as [1, 2]"),
        ("invalid type: string ", "got the text "),
        ("invalid type: integer ", "got the number "),
        ("invalid type: floating point ", "got the number "),
        ("invalid value: integer ", "got the number "),
        ("invalid value: floating point ", "got the number "),
        ("invalid type: sequence", "got a list"),
        ("invalid type: map", "got a mapping"),
        ("invalid type: unit value", "got nothing"),
        ("invalid type: boolean ", "got "),
    ];
    let mut out = msg.to_owned();
    for (rust, plain) in TYPES {
        out = out.replace(rust, plain);
    }
    // `expected struct WindowConfig` / `expected internally tagged enum ModelConfig`.
    for prefix in ["expected struct ", "expected internally tagged enum ", "expected enum "] {
        while let Some(at) = out.find(prefix) {
            let name_at = at + prefix.len();
            let len = out[name_at..]
                .find(|c: char| !c.is_alphanumeric() && c != '_')
                .unwrap_or(out.len() - name_at);
            let name = &out[name_at..name_at + len];
            let plain = match name {
                "WindowConfig" => "expected a mapping such as {input_bars: 10}",
                "ParameterConfig" => {
                    "expected a mapping such as {values: [16, 32]} or {min: 0.001, max: 0.1}"
                }
                "SplitConfig" => "expected a mapping such as {val: 0.2, test: 0.2}",
                "DataConfig" => "expected a mapping such as {source: data/eth-1d.csv}",
                "SweepConfig" => "expected a mapping such as {method: grid, parameters: {...}}",
                "MetricConfig" => "expected a mapping such as {name: sharpe, goal: maximize}",
                "BacktestConfig" => "expected a mapping such as {initial_cash: 10000, fee_bps: 10}",
                "TrainConfig" => "expected a mapping such as {epochs: 10, lr: 0.001}",
                "PipelineConfig" => {
                    "expected a mapping of the pipeline's sections (name:, data:, features:, ...)"
                }
                _ if prefix != "expected struct " => "expected a mapping such as {kind: ...}",
                _ => "expected a mapping of keys",
            };
            out.replace_range(at..name_at + len, plain);
        }
    }
    out
}

/// What `report` reads from a sweep's `pipeline.resolved.yaml`: its name, the metric it ranks
/// by, and the parameters it draws log-uniformly (plotted on a log axis). Missing or
/// unreadable parts are `None` or empty.
#[derive(Debug, Default)]
pub struct ResolvedFacts {
    pub name: Option<String>,
    pub metric: Option<quantsweep_sweep::MetricConfig>,
    pub log_scale: std::collections::BTreeSet<String>,
}

impl ResolvedFacts {
    /// The facts of a resolved pipeline's text.
    pub fn read(text: &[u8]) -> Self {
        let Ok(v) = serde_yaml::from_slice::<Value>(text) else { return Self::default() };
        let sweep = v.get("sweep");
        let metric = sweep
            .and_then(|s| s.get("metric"))
            .and_then(|m| serde_yaml::from_value(m.clone()).ok());
        let log_scale = sweep
            .and_then(|s| s.get("parameters")?.as_mapping())
            .into_iter()
            .flatten()
            .filter(|(_, p)| {
                p.get("distribution").and_then(Value::as_str).is_some_and(|d| d.contains("log"))
            })
            .filter_map(|(key, _)| key.as_str().map(str::to_owned))
            .collect();
        let name = v.get("name").and_then(Value::as_str).map(str::to_owned);
        Self { name, metric, log_scale }
    }
}

/// A value as the YAML spells it (`branin`, `styblinski_tang`, `grid`).
pub fn spelled<T: Serialize + std::fmt::Debug>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{v:?}").to_lowercase())
}

/// Milliseconds since the epoch of an ISO date (`2021-03-08`) or date-time.
pub fn parse_date(key: &str, s: &str) -> Result<i64> {
    let parsed = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .or_else(|| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").ok())
        .or_else(|| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").ok());
    match parsed {
        Some(dt) => Ok(dt.and_utc().timestamp_millis()),
        None => bail!("{key}: {s:?} is not a date like 2021-03-08"),
    }
}

/// A synthetic objective's parameters: numbers, as many as the function takes.
fn validate_synthetic(
    config: &PipelineConfig,
    function: quantsweep_sweep::Synthetic,
) -> Result<()> {
    let space = config.sweep.space()?;
    for (key, dim) in &space {
        if let quantsweep_sweep::Dimension::Categorical(values) = dim
            && values.iter().any(|v| v.as_f64().is_none())
        {
            bail!("sweep.parameters.{key}: a synthetic objective takes numbers");
        }
    }
    match function.dims() {
        Some(d) if space.len() != d => bail!(
            "sweep.parameters: {} takes {d} parameters (its coordinates, in key order), got {}",
            spelled(&function),
            space.len()
        ),
        None if space.is_empty() => {
            bail!("sweep.parameters: {} needs at least one parameter", spelled(&function))
        }
        _ => Ok(()),
    }
}

/// The metrics a pipeline trial reports (`val_*` from training aside): what `sweep.metric`
/// may rank by.
fn pipeline_metrics(config: &PipelineConfig) -> Vec<String> {
    use quantsweep_evaluate as ev;
    let curve: Vec<quantsweep_core::EquityPoint> = (0..3)
        .map(|i| quantsweep_core::EquityPoint {
            timestamp_ms: i * 86_400_000,
            price: 1.0,
            position: 0.0,
            cash: 1.0,
            equity: 1.0 + i as f64,
            fold: None,
            pair: None,
        })
        .collect();
    let mut names: Vec<String> = ev::trading_metrics(&curve, 365.0).into_keys().collect();
    names.extend(ev::trade_metrics(&[]).into_keys());
    if matches!(config.strategy, StrategyConfig::BlanklyProportional { .. }) {
        names.extend(ev::blankly_metrics(&curve).into_keys());
    }
    names.extend(ev::classification_metrics(&[0.5], &[1.0]).into_keys());
    names.extend(ev::regression_metrics(&[1.0], &[1.0], 1, 0.0).into_keys());
    for name in ["buy_hold_return", "buy_hold_sharpe", "buy_hold_max_drawdown"] {
        names.push(name.into());
    }
    names.extend(["val_loss", "train_loss", "folds"].map(String::from));
    if config.strategy.is_ranking() {
        names.push("turnover".into());
    }
    names.sort();
    names.dedup();
    names
}

/// The strategy and backtest values, a strategy that can read what the target predicts, and a
/// metric the trials report.
fn validate_evaluation(config: &PipelineConfig) -> Result<()> {
    let metric = &config.sweep.metric.name;
    let known = pipeline_metrics(config);
    if !metric.starts_with("val_") && !known.contains(metric) {
        bail!(
            "sweep.metric.name: the trials report no metric `{metric}`{}; they report {}",
            quantsweep_core::did_you_mean(metric, known.iter().map(String::as_str)),
            known.join(", ")
        );
    }
    config.strategy.validate()?;
    config.backtest.validate()?;
    let universe = config.data.universe.is_some();
    if config.target.is_cross_sectional() && !universe {
        bail!(
            "target.kind: a cross-sectional target compares assets at each bar: it needs a \
             universe (data.universe: [A, B, ...] or all)"
        );
    }
    if config.strategy.is_ranking() && !universe {
        bail!(
            "strategy.kind: long_short_rank ranks the assets of a universe: set data.universe \
             (data.pair: [..] trades a portfolio of pairs, each by its own strategy)"
        );
    }
    if universe && !config.strategy.is_ranking() {
        bail!(
            "strategy.kind: a universe trades its assets by rank: use {{kind: long_short_rank, \
             long: 10, short: 10}}"
        );
    }
    let reads_ratios = matches!(
        config.strategy,
        StrategyConfig::LongFlat { .. } | StrategyConfig::BlanklyProportional { .. }
    );
    if reads_ratios && matches!(config.target, quantsweep_features::TargetConfig::UpDown { .. }) {
        bail!(
            "strategy.kind: this strategy reads predicted price ratios, but target up_down \
             predicts probabilities of a rise: use kind: classifier"
        );
    }
    Ok(())
}

fn validate_data(data: &DataConfig) -> Result<()> {
    data.range()?;
    if let Some(tf) = &data.resample {
        Timeframe::parse(tf).map_err(|e| anyhow::anyhow!("data.resample: {e}"))?;
    }
    if data.symbol_column.is_some() && data.universe.is_none() {
        bail!(
            "data.symbol_column: a long table holds a universe: set data.universe (all, or a \
             list of its assets)"
        );
    }
    if data.universe.is_some() {
        return data.markets().map(|_| ());
    }
    data.location_parts().map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "\
name: t
data: {source: x.csv}
features:
  - {kind: close_ratio}
  - {kind: rsi, period: 14}
target: {kind: next_close_ratios}
model: {kind: blankly}
sweep:
  parameters:
    train.lr: {values: [0.1, 0.01]}
    model.hidden: {values: [4, 8]}
";

    /// An up/down target without a strategy trades its probabilities; one that reads price
    /// ratios is refused with the fix.
    #[test]
    fn an_up_down_target_gets_the_classifier_strategy() {
        let text = MINIMAL.replace("{kind: next_close_ratios}", "{kind: up_down}");
        let (_d, path) = write(&text);
        let p = Pipeline::load(&path, &[]).expect("valid");
        assert!(matches!(p.config.strategy, StrategyConfig::Classifier { .. }));
        let err = Pipeline::load(&path, &["strategy.kind=long_flat".into()]).expect_err("ratios");
        assert!(
            format!("{err:#}")
                .contains("strategy.kind: this strategy reads predicted price ratios")
        );
    }

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("p.yaml");
        std::fs::write(&path, text).expect("write pipeline");
        (dir, path)
    }

    #[test]
    fn trials_resolve_their_parameters() {
        let (_d, path) = write(MINIMAL);
        let p = Pipeline::load(&path, &[]).expect("valid pipeline");
        assert_eq!(p.trials.len(), 4);
        let c = p.trial_config(&p.trials[3]).expect("trial config");
        assert_eq!(c.train.lr, 0.01);
        assert_eq!(
            c.model,
            ModelConfig::Blankly { hidden: 8, layers: 1, head: Default::default() }
        );
    }

    /// `--set` reaches a sweep parameter by its own dotted key, whole or one of its fields,
    /// and adds a new one.
    #[test]
    fn set_reaches_dotted_sweep_parameters() {
        let (_d, path) = write(MINIMAL);
        let sets = ["sweep.parameters.model.hidden={values: [4]}".into()];
        assert_eq!(Pipeline::load(&path, &sets).expect("whole").trials.len(), 2);
        let sets = ["sweep.parameters.model.hidden.values=[4, 8, 16]".into()];
        assert_eq!(Pipeline::load(&path, &sets).expect("field").trials.len(), 6);
        let sets = ["sweep.parameters.train.epochs={values: [1, 2]}".into()];
        let p = Pipeline::load(&path, &sets).expect("new parameter"); // lr varies fastest
        assert_eq!(p.trials.len(), 8);
        assert_eq!(p.trial_config(&p.trials[2]).expect("config").train.epochs, 2);
    }

    /// `data.pair` is one pair or a list traded together; each names its freqtrade file.
    /// An empty or repeated list, a list with `source`, and a swept data key are refused by
    /// key.
    #[test]
    fn data_pair_takes_one_pair_or_a_portfolio() {
        let dir = tempfile::tempdir().expect("temp dir");
        for pair in ["ETH_USDT", "SOL_USDT"] {
            std::fs::write(dir.path().join(format!("{pair}-1h.feather")), b"").expect("write");
        }
        let datadir =
            format!("data: {{datadir: '{}', pair: PAIR, timeframe: 1h}}", dir.path().display());
        let with =
            |pair: &str| MINIMAL.replace("data: {source: x.csv}", &datadir.replace("PAIR", pair));

        let (_d, path) = write(&with("ETH/USDT"));
        let markets = Pipeline::load(&path, &[]).expect("one").config.data.markets().expect("ok");
        assert_eq!(markets.len(), 1);
        assert!(markets[0].pair.is_none() && markets[0].location.ends_with("ETH_USDT-1h.feather"));

        let (_d, path) = write(&with("[ETH/USDT, SOL/USDT]"));
        let p = Pipeline::load(&path, &[]).expect("two");
        let markets = p.config.data.markets().expect("ok");
        let pairs: Vec<_> = markets.iter().map(|m| m.pair.as_deref()).collect();
        assert_eq!(pairs, [Some("ETH/USDT"), Some("SOL/USDT")]);
        assert!(markets[1].location.ends_with("SOL_USDT-1h.feather"));
        assert!(p.resolved_yaml().expect("yaml").contains("- SOL/USDT"));
        // --set narrows it to one pair again.
        let one = Pipeline::load(&path, &["data.pair=SOL/USDT".into()]).expect("set");
        assert_eq!(one.config.data.markets().expect("ok").len(), 1);

        for (pair, message) in [
            ("[]", "data.pair: list at least one pair"),
            ("[ETH/USDT, ETH/USDT]", "data.pair: `ETH/USDT` is listed twice"),
            ("[ETH/USDT, DOGE/USDT]", "DOGE"),
        ] {
            let (_d, path) = write(&with(pair));
            let err = Pipeline::load(&path, &[])
                .and_then(|p| p.config.data.markets().map(|_| ()))
                .expect_err(pair);
            assert!(format!("{err:#}").contains(message), "{pair}: {err:#}");
        }
        let (_d, path) = write(MINIMAL);
        let err = Pipeline::load(&path, &["data.pair=[A/B]".into()]).expect_err("source");
        assert!(format!("{err:#}").contains("data.source: give either source"), "{err:#}");
        let sets = ["sweep.parameters.data.start={values: ['2024-01-01']}".into()];
        let err = Pipeline::load(&path, &sets).expect_err("swept data");
        assert!(
            format!("{err:#}").contains("sweep.parameters.data.start: a sweep loads its data once"),
            "{err:#}"
        );
    }

    /// A pipeline is data: a tag, Python's object constructors included, is refused with its
    /// line, in the file and in --set values.
    #[test]
    fn yaml_tags_are_refused() {
        for (yaml, tag) in [
            (
                "x: !!python/object/apply:os.system [\"touch pwned\"]",
                "!!python/object/apply:os.system",
            ),
            ("x: [1, !Custom {a: 1}]", "!Custom"),
            ("- !!binary aGVsbG8=", "!!binary"),
        ] {
            assert_eq!(find_tag(yaml), Some((1, tag.to_owned())), "{yaml}");
        }
        for plain in ["name: \"wow !great\"", "x: 'a !b'", "y: wow!  # !comment", "z: 1 #!x"] {
            assert_eq!(find_tag(plain), None, "{plain}");
        }
        let with_tag = MINIMAL.replacen("\n", "\nextra: !!python/object/new:os.system {}\n", 1);
        let (_d, path) = write(&with_tag);
        let err = format!("{:#}", Pipeline::load(&path, &[]).expect_err("refused"));
        assert!(err.contains(":2: YAML tags such as `!!python/object/new:os.system`"), "{err}");
        let (_d, path) = write(MINIMAL);
        let sets = ["train.epochs=!!python/object/apply:os.system [ls]".to_owned()];
        let err = format!("{:#}", Pipeline::load(&path, &sets).expect_err("refused"));
        assert!(err.contains("YAML tags such as"), "{err}");
    }

    #[test]
    fn secrets_never_reach_the_resolved_pipeline() {
        let (_d, path) = write(&MINIMAL.replace(
            "data: {source: x.csv}",
            "data:\n  source: s3://b/x.csv\n  storage: {aws_region: eu-west-1, aws_secret_access_key: hunter2, aws_access_key_id: AKIA1}",
        ));
        let yaml = Pipeline::load(&path, &[]).expect("valid").resolved_yaml().expect("yaml");
        assert!(!yaml.contains("hunter2") && !yaml.contains("AKIA1"), "{yaml}");
        assert!(
            yaml.contains("aws_secret_access_key: <redacted>") && yaml.contains("eu-west-1"),
            "{yaml}"
        );
    }

    #[test]
    fn overrides_set_dotted_keys_and_list_items() {
        let (_d, path) = write(MINIMAL);
        let sets = ["train.epochs=7".to_owned(), "features.1.period=10".to_owned()];
        let p = Pipeline::load(&path, &sets).expect("valid overrides");
        assert_eq!(p.config.train.epochs, 7);
        assert_eq!(p.config.features[1], FeatureConfig::new("rsi").with("period", 10.0));
    }

    #[test]
    fn unknown_keys_name_file_line_and_suggest() {
        let (_d, path) = write(
            &MINIMAL.replace("model: {kind: blankly}", "model:\n  kind: blankly\n  hiden: 3"),
        );
        let err = format!("{:#}", Pipeline::load(&path, &[]).expect_err("unknown key"));
        assert!(err.contains("p.yaml:9:3: model.hiden: unknown field"), "{err}");
        assert!(err.contains("unknown field `hiden`"), "{err}");
        assert!(err.contains("did you mean `hidden`?"), "{err}");
    }

    #[test]
    fn swept_typos_and_bad_overrides_name_the_key() {
        let (_d, path) = write(&MINIMAL.replace("train.lr:", "train.lrr:"));
        let err = format!("{:#}", Pipeline::load(&path, &[]).expect_err("typo"));
        assert!(err.contains("train.lrr") && err.contains("did you mean `lr`?"), "{err}");
        let (_d, path) = write(MINIMAL);
        let err =
            format!("{:#}", Pipeline::load(&path, &["train.epochs".into()]).expect_err("no ="));
        assert!(err.contains("expected KEY=VALUE"), "{err}");
    }

    #[test]
    fn yaml_syntax_errors_carry_the_line_once() {
        let (_d, path) = write("name: t\n  data: 1\n");
        let err = format!("{:#}", Pipeline::load(&path, &[]).expect_err("syntax"));
        assert!(err.contains("p.yaml:2:"), "{err}");
        assert!(err.contains("mapping values are not allowed"), "{err}");
        assert!(!err.contains("at line"), "{err}");
        assert_eq!(strip_location("bad at line 3 column 7, while x"), "bad, while x");
    }
}
