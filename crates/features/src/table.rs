use std::collections::BTreeMap;

use quantsweep_ingest::Candles;

use crate::config::{COLUMNS, FeatureConfig, Resolved, unknown_input};
use crate::indicators::{self as ind, from, warm_up};
use crate::{FeatureError, pandas, transforms};

/// Feature columns computed from candles, one value per candle (NaN during warm-up).
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureTable {
    /// Candle open times, ms since the epoch.
    pub timestamp_ms: Vec<i64>,
    /// `(name, values)` per output column, in the order the features were listed.
    pub columns: Vec<(String, Vec<f64>)>,
    /// Features that read later candles to reproduce a published quirk
    /// ([`FeatureConfig::reads_future`]), by name: a dataset built on any is leaky.
    pub leaky_features: Vec<String>,
}

impl FeatureTable {
    /// Computes every feature of `features` on `candles` (features with `pair:` need
    /// [`FeatureTable::build_with`]).
    pub fn build(candles: &Candles, features: &[FeatureConfig]) -> Result<Self, FeatureError> {
        Self::build_with(candles, &BTreeMap::new(), features)
    }

    /// Computes every feature of `features` on `candles`; a feature with `pair: P` is computed
    /// on `pairs[P]`, one with `timeframe: T` on the candles resampled to `T`, and both are
    /// joined back causally: base row `i` sees the latest other candle that has closed by the
    /// time candle `i` closes (a 4h candle opening at 00:00 is first visible on the 1h row
    /// opening at 03:00).
    pub fn build_with(
        candles: &Candles,
        pairs: &BTreeMap<String, Candles>,
        features: &[FeatureConfig],
    ) -> Result<Self, FeatureError> {
        let base_tf = candles.timeframe().map_or(0, |t| t.0);
        let mut columns: Vec<(String, Vec<f64>)> = Vec::new();
        for (index, feature) in features.iter().enumerate() {
            let f = feature.check(index)?;
            let invalid = |key: &str, message: String| FeatureError::InvalidParameter {
                key: format!("features[{index}].{key}"),
                message,
            };
            // The candles this feature reads, and their timeframe.
            let mut source = candles;
            if let Some(pair) = f.pair() {
                source = pairs.get(pair).ok_or_else(|| {
                    invalid(
                        "pair",
                        format!(
                            "no candles of `{pair}` were loaded (loaded: {})",
                            if pairs.is_empty() {
                                "none; give the data a `datadir` or `data.pairs`".to_owned()
                            } else {
                                pairs.keys().cloned().collect::<Vec<_>>().join(", ")
                            }
                        ),
                    )
                })?;
            }
            let mut source_tf = source.timeframe().map_or(base_tf, |t| t.0);
            let resampled;
            if let Some(tf) = f.timeframe() {
                resampled = source.resample(tf).map_err(|e| invalid("timeframe", e))?;
                source = &resampled;
                source_tf = tf.0;
            }
            let joined = f.pair().is_some() || f.timeframe().is_some();

            if f.spec.needs_volume && source.volume.iter().any(|v| v.is_nan()) {
                return Err(invalid(
                    "kind",
                    format!(
                        "`{}` needs volume, and the data has none (or has missing values)",
                        feature.kind
                    ),
                ));
            }
            let takes_input = f.spec.params.iter().any(|(k, _)| *k == "input");
            let input_name = f.column("input");
            let unknown = |key: &str, name: &str, columns: &[(String, Vec<f64>)]| {
                let produced: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
                unknown_input(index, key, name, &produced)
            };
            let formula = f.formula();
            let reads_typical = input_name == "typical"
                || formula.as_ref().is_some_and(|e| e.columns().contains(&"typical"));
            let typical = if reads_typical {
                transforms::typical_price(&source.high, &source.low, &source.close)
            } else {
                Vec::new()
            };
            // A candle column (or the typical price), else an earlier feature's output.
            let column = |name: &str| -> Option<&[f64]> {
                match name {
                    "open" => Some(&source.open),
                    "high" => Some(&source.high),
                    "low" => Some(&source.low),
                    "close" => Some(&source.close),
                    "volume" => Some(&source.volume),
                    "typical" => Some(&typical),
                    name => columns.iter().find(|(n, _)| n == name).map(|(_, v)| &v[..]),
                }
            };
            let input: &[f64] = match column(input_name) {
                Some(v) if takes_input || COLUMNS.contains(&input_name) => v,
                _ => return Err(unknown("input", input_name, &columns)),
            };
            if takes_input && COLUMNS.contains(&input_name) && input.iter().any(|v| v.is_nan()) {
                return Err(invalid(
                    "input",
                    format!("the data's `{input_name}` has missing values"),
                ));
            }
            // An earlier feature's column starts with its warm-up: chain on its valid rows,
            // as TA-Lib chains functions.
            let start = warm_up(input);
            let mut values = if let Some(formula) = &formula {
                // Checked by `check`: no timeframe or pair, so `source` is the base candles.
                if let Some(name) = formula.columns().into_iter().find(|c| column(c).is_none()) {
                    return Err(unknown("expr", name, &columns));
                }
                vec![formula.eval(source.len(), &column)]
            } else {
                compute(source, &f, &input[start..])
            };
            if start > 0 {
                values = values.into_iter().map(|v| from(input, start, |_| v)).collect();
            }
            if joined {
                let times = &source.timestamp_ms;
                values = values
                    .iter()
                    .map(|v| join_closed(&candles.timestamp_ms, base_tf, times, source_tf, v))
                    .collect();
            }
            if values.iter().all(|v| v.iter().all(|x| x.is_nan())) {
                return Err(FeatureError::InvalidParameter {
                    key: format!("features[{index}]"),
                    message: format!(
                        "`{}` needs more bars than the data has ({} candles): every value is warm-up",
                        feature.name(),
                        source.len()
                    ),
                });
            }
            let shifts = f.shifts();
            let n_out = values.len();
            for k in 1..=shifts {
                for o in 0..n_out {
                    let mut shifted = vec![f64::NAN; candles.len()];
                    if k < shifted.len() {
                        shifted[k..].copy_from_slice(&values[o][..candles.len() - k]);
                    }
                    values.push(shifted);
                }
            }
            for (name, v) in feature.output_names().into_iter().zip(values) {
                if columns.iter().any(|(n, _)| *n == name) {
                    return Err(FeatureError::DuplicateName { index, name });
                }
                columns.push((name, v));
            }
        }
        let leaky_features =
            features.iter().filter(|f| f.reads_future()).map(FeatureConfig::name).collect();
        Ok(Self { timestamp_ms: candles.timestamp_ms.clone(), columns, leaky_features })
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&[f64]> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }

    /// Column names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.columns.iter().map(|(n, _)| n.as_str()).collect()
    }
}

/// `values` (on candles opening at `times`, each lasting `tf` ms) as seen from base candles
/// opening at `base` and lasting `base_tf`: row `i` takes the latest candle `j` with
/// `times[j] + tf ≤ base[i] + base_tf` (closed when base candle `i` closes), NaN before the
/// first. Both time lists are ascending.
fn join_closed(base: &[i64], base_tf: i64, times: &[i64], tf: i64, values: &[f64]) -> Vec<f64> {
    let mut out = vec![f64::NAN; base.len()];
    let mut j = 0;
    for (i, &t) in base.iter().enumerate() {
        while j < times.len() && times[j] + tf <= t + base_tf {
            j += 1;
        }
        if j > 0 {
            out[i] = values[j - 1];
        }
    }
    out
}

/// The outputs of one checked feature on candles `c`, in [`FeatureConfig::output_names`]
/// order (before shifts); `input` is the `input` column (from its first valid row; the
/// candles are whole).
fn compute(c: &Candles, f: &Resolved<'_>, input: &[f64]) -> Vec<Vec<f64>> {
    let (h, l, cl, v) = (&c.high[..], &c.low[..], &c.close[..], &c.volume[..]);
    let p = |key: &str| f.bars(key);
    let tulip = f.variant() == "tulip";
    match f.spec.kind {
        "close_ratio" => vec![ind::close_ratio(cl)],
        "raw" => vec![input.to_vec()],
        "pct_change" => vec![transforms::pct_change(input, p("period"))],
        "log_return" => vec![transforms::log_return(input, p("period"))],
        "zscore" => vec![transforms::zscore(input, p("period"))],
        "day_of_week" => vec![transforms::day_of_week(&c.timestamp_ms)],
        "hour_of_day" => vec![transforms::hour_of_day(&c.timestamp_ms)],
        "sma" => vec![ind::sma(input, p("period"))],
        "ema" if tulip => vec![ind::ema_tulip(input, p("period"))],
        "ema" => vec![ind::ema(input, p("period"))],
        "wma" => vec![ind::wma(input, p("period"))],
        "dema" => vec![ind::dema(input, p("period"))],
        "tema" => vec![ind::tema(input, p("period"))],
        "kama" => vec![ind::kama(input, p("period"))],
        "trix" => vec![ind::trix(input, p("period"))],
        "rsi" => vec![ind::rsi(input, p("period"))],
        "cmo" => vec![ind::cmo(input, p("period"))],
        "mom" => vec![ind::mom(input, p("period"))],
        "roc" => vec![ind::roc(input, p("period"))],
        "stddev" => vec![ind::stddev(input, p("period"), f.real("nbdev"))],
        "macd" => {
            let m = if tulip {
                ind::macd_tulip(input, p("fast"), p("slow"), p("signal"))
            } else {
                ind::macd(input, p("fast"), p("slow"), p("signal"))
            };
            vec![m.macd, m.signal, m.hist]
        }
        "ppo" => vec![ind::ppo(input, p("fast"), p("slow"), f.ma("matype"))],
        "bbands" if f.variant() == "qtpylib" => {
            // freqtrade's qtpylib `bollinger_bands`: pandas' rolling mean and std (ddof = 1)
            // with `min_periods=1`, so partial windows from the first row.
            let period = p("period");
            let middle = pandas::rolling_mean(input, period, 1);
            let std = pandas::rolling_std(input, period, 1, 1);
            let band =
                |k: f64| -> Vec<f64> { middle.iter().zip(&std).map(|(m, s)| m + s * k).collect() };
            vec![band(f.real("nbdevup")), middle.clone(), band(-f.real("nbdevdn"))]
        }
        "bbands" => {
            let b = ind::bbands(
                input,
                p("period"),
                f.real("nbdevup"),
                f.real("nbdevdn"),
                f.ma("matype"),
            );
            vec![b.upper, b.middle, b.lower]
        }
        "stochrsi" => {
            let s = ind::stochrsi(
                input,
                p("period"),
                p("fastk_period"),
                (p("fastd_period"), f.ma("fastd_matype")),
            );
            vec![s.k, s.d]
        }
        "stoch" => {
            let s = ind::stoch(
                h,
                l,
                cl,
                p("fastk_period"),
                (p("slowk_period"), f.ma("slowk_matype")),
                (p("slowd_period"), f.ma("slowd_matype")),
            );
            vec![s.k, s.d]
        }
        "cci" => vec![ind::cci(h, l, cl, p("period"))],
        "willr" => vec![ind::willr(h, l, cl, p("period"))],
        "atr" => vec![ind::atr(h, l, cl, p("period"))],
        "natr" => vec![ind::natr(h, l, cl, p("period"))],
        "trange" => vec![ind::trange(h, l, cl)],
        "adx" => vec![ind::adx(h, l, cl, p("period"))],
        "plus_di" => vec![ind::plus_di(h, l, cl, p("period"))],
        "minus_di" => vec![ind::minus_di(h, l, cl, p("period"))],
        "aroon" => {
            let a = ind::aroon(h, l, p("period"));
            vec![a.down, a.up]
        }
        "ultosc" => vec![ind::ultosc(h, l, cl, [p("period1"), p("period2"), p("period3")])],
        "sar" => vec![ind::sar(h, l, f.real("acceleration"), f.real("maximum"))],
        "obv" => vec![ind::obv(cl, v)],
        "ad" => vec![ind::ad(h, l, cl, v)],
        "adosc" => vec![ind::adosc(h, l, cl, v, p("fast"), p("slow"))],
        "mfi" => vec![ind::mfi(h, l, cl, v, p("period"))],
        "ta_all" => crate::ta_all::ta_all(h, l, cl, v, f.flag("original")),
        other => unreachable!("kind `{other}` is in KINDS but not computed here"),
    }
}
