use quantsweep_ingest::Candles;

use crate::config::FeatureConfig;
use crate::{FeatureError, indicators};

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
            check_parameters(index, feature)?;
            let values = match feature {
                FeatureConfig::CloseRatio { .. } => vec![indicators::close_ratio(&candles.close)],
                FeatureConfig::Rsi { period, .. } => vec![indicators::rsi(&candles.close, *period)],
                FeatureConfig::Macd { fast, slow, signal, .. } => {
                    let m = indicators::macd(&candles.close, *fast, *slow, *signal);
                    vec![m.macd, m.signal, m.hist]
                }
            };
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

fn check_parameters(index: usize, feature: &FeatureConfig) -> Result<(), FeatureError> {
    let positive = |key: &str, v: usize| {
        if v == 0 {
            Err(FeatureError::InvalidParameter {
                key: format!("features[{index}].{key}"),
                message: "must be at least 1".into(),
            })
        } else {
            Ok(())
        }
    };
    match feature {
        FeatureConfig::CloseRatio { .. } => Ok(()),
        FeatureConfig::Rsi { period, .. } => positive("period", *period),
        FeatureConfig::Macd { fast, slow, signal, .. } => {
            positive("fast", *fast)?;
            positive("slow", *slow)?;
            positive("signal", *signal)?;
            if fast == slow {
                return Err(FeatureError::InvalidParameter {
                    key: format!("features[{index}].slow"),
                    message: format!("must differ from fast ({fast})"),
                });
            }
            Ok(())
        }
    }
}
