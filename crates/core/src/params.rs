use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// One swept parameter's value.
///
/// Serialized untagged, so that a journal line reads `{"train.lr": 0.001, "model.hidden": 32}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// A boolean.
    Bool(bool),
    /// An integer (sizes, counts, periods).
    Int(i64),
    /// A real number (rates, weights, thresholds).
    Float(f64),
    /// A categorical choice (optimizer names, losses).
    Str(String),
}

impl ParamValue {
    /// The value as a float, when it is numeric.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            ParamValue::Int(i) => Some(*i as f64),
            ParamValue::Float(f) => Some(*f),
            ParamValue::Bool(_) | ParamValue::Str(_) => None,
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Bool(b) => write!(f, "{b}"),
            ParamValue::Int(i) => write!(f, "{i}"),
            ParamValue::Float(x) => write!(f, "{x}"),
            ParamValue::Str(s) => f.write_str(s),
        }
    }
}

/// A trial's parameters, keyed by the dotted path of the pipeline key they set
/// (`train.lr`, `model.hidden`). Ordered, so that every listing is stable.
pub type Params = BTreeMap<String, ParamValue>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_round_trip_through_json_untagged() {
        let mut p = Params::new();
        p.insert("train.lr".into(), ParamValue::Float(0.001));
        p.insert("model.hidden".into(), ParamValue::Int(32));
        p.insert("train.optimizer".into(), ParamValue::Str("adam".into()));
        let json = serde_json::to_string(&p).expect("params serialize");
        assert_eq!(json, r#"{"model.hidden":32,"train.lr":0.001,"train.optimizer":"adam"}"#);
        let back: Params = serde_json::from_str(&json).expect("params deserialize");
        assert_eq!(back, p);
    }
}
