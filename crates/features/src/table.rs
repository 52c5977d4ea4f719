use quantsweep_ingest::Candles;

use crate::config::{FeatureConfig, Resolved};
use crate::{FeatureError, indicators as ind};

/// Feature columns computed from candles, one value per candle (NaN during warm-up).
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureTable {
    /// Candle open times, ms since the epoch.
    pub timestamp_ms: Vec<i64>,
    /// `(name, values)` per output column, in the order the features were listed.
    pub columns: Vec<(String, Vec<f64>)>,
}

impl FeatureTable {
    /// Computes every feature of `features` on `candles`.
    pub fn build(candles: &Candles, features: &[FeatureConfig]) -> Result<Self, FeatureError> {
        let mut columns: Vec<(String, Vec<f64>)> = Vec::new();
        for (index, feature) in features.iter().enumerate() {
            let resolved = feature.check(index)?;
            if resolved.spec.needs_volume && candles.volume.iter().any(|v| v.is_nan()) {
                return Err(FeatureError::InvalidParameter {
                    key: format!("features[{index}].kind"),
                    message: format!(
                        "`{}` needs volume, and the data has none (or has missing values)",
                        feature.kind
                    ),
                });
            }
            let values = compute(candles, &resolved);
            if values.iter().all(|v| v.iter().all(|x| x.is_nan())) {
                return Err(FeatureError::InvalidParameter {
                    key: format!("features[{index}]"),
                    message: format!(
                        "`{}` needs more bars than the data has ({} candles): every value is warm-up",
                        feature.name(),
                        candles.len()
                    ),
                });
            }
            for (name, v) in feature.output_names().into_iter().zip(values) {
                if columns.iter().any(|(n, _)| *n == name) {
                    return Err(FeatureError::DuplicateName { index, name });
                }
                columns.push((name, v));
            }
        }
        Ok(Self { timestamp_ms: candles.timestamp_ms.clone(), columns })
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

/// The outputs of one checked feature, in [`FeatureConfig::output_names`] order.
fn compute(c: &Candles, f: &Resolved<'_>) -> Vec<Vec<f64>> {
    let (h, l, cl, v) = (&c.high[..], &c.low[..], &c.close[..], &c.volume[..]);
    let input = || match f.column("input") {
        "open" => &c.open[..],
        "high" => h,
        "low" => l,
        "volume" => v,
        _ => cl,
    };
    let p = |key: &str| f.bars(key);
    match f.spec.kind {
        "close_ratio" => vec![ind::close_ratio(cl)],
        "sma" => vec![ind::sma(input(), p("period"))],
        "ema" => vec![ind::ema(input(), p("period"))],
        "wma" => vec![ind::wma(input(), p("period"))],
        "dema" => vec![ind::dema(input(), p("period"))],
        "tema" => vec![ind::tema(input(), p("period"))],
        "kama" => vec![ind::kama(input(), p("period"))],
        "trix" => vec![ind::trix(input(), p("period"))],
        "rsi" => vec![ind::rsi(input(), p("period"))],
        "cmo" => vec![ind::cmo(input(), p("period"))],
        "mom" => vec![ind::mom(input(), p("period"))],
        "roc" => vec![ind::roc(input(), p("period"))],
        "stddev" => vec![ind::stddev(input(), p("period"), f.real("nbdev"))],
        "macd" => {
            let m = ind::macd(input(), p("fast"), p("slow"), p("signal"));
            vec![m.macd, m.signal, m.hist]
        }
        "ppo" => vec![ind::ppo(input(), p("fast"), p("slow"), f.ma("matype"))],
        "bbands" => {
            let b = ind::bbands(
                input(),
                p("period"),
                f.real("nbdevup"),
                f.real("nbdevdn"),
                f.ma("matype"),
            );
            vec![b.upper, b.middle, b.lower]
        }
        "stochrsi" => {
            let s = ind::stochrsi(
                input(),
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
        other => unreachable!("kind `{other}` is in KINDS but not computed"),
    }
}
