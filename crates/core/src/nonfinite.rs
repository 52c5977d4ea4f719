//! Serde helpers that keep NaN and ±infinity through JSON (the journal, the wire between
//! processes). JSON has no such numbers: serde_json writes them as `null`, which then does
//! not read back as a float. Here they are written as the strings `"NaN"`, `"inf"` and
//! `"-inf"`; a `null` reads as NaN (journals written before these helpers).
//!
//! Use with `#[serde(with = "crate::nonfinite::f64")]`, `::option` or `::map`.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};

/// A float as itself, or as a string when it is not finite.
struct Float(f64);

impl serde::Serialize for Float {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let x = self.0;
        if x.is_finite() {
            s.serialize_f64(x)
        } else if x.is_nan() {
            s.serialize_str("NaN")
        } else if x > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }
}

struct FloatVisitor;

impl<'de> Visitor<'de> for FloatVisitor {
    type Value = f64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number, \"NaN\", \"inf\", \"-inf\" or null")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        match v {
            "NaN" | "nan" => Ok(f64::NAN),
            "inf" | "Infinity" => Ok(f64::INFINITY),
            "-inf" | "-Infinity" => Ok(f64::NEG_INFINITY),
            _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
        }
    }
    fn visit_unit<E: de::Error>(self) -> Result<f64, E> {
        Ok(f64::NAN)
    }
    fn visit_none<E: de::Error>(self) -> Result<f64, E> {
        Ok(f64::NAN)
    }
}

impl<'de> serde::Deserialize<'de> for Float {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FloatVisitor).map(Float)
    }
}

/// For an `f64` field.
pub mod f64 {
    use super::*;

    /// Serializes `x`, non-finite values as strings.
    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(&Float(*x), s)
    }

    /// Reads a number, a non-finite string or null (NaN).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        <Float as serde::Deserialize>::deserialize(d).map(|f| f.0)
    }
}

/// For an `Option<f64>` field (`null` is `None`).
pub mod option {
    use super::*;

    /// Serializes `x`, non-finite values as strings.
    pub fn serialize<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match x {
            Some(x) => s.serialize_some(&Float(*x)),
            None => s.serialize_none(),
        }
    }

    /// Reads null as `None`, anything else as [`f64`](super::f64) does.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        <Option<Float> as serde::Deserialize>::deserialize(d).map(|f| f.map(|f| f.0))
    }
}

/// For a `BTreeMap<String, f64>` field.
pub mod map {
    use super::*;

    /// Serializes the map, non-finite values as strings.
    pub fn serialize<S: Serializer>(m: &BTreeMap<String, f64>, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_map(Some(m.len()))?;
        for (k, v) in m {
            out.serialize_entry(k, &Float(*v))?;
        }
        out.end()
    }

    /// Reads a map whose values are numbers, non-finite strings or null (NaN).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, f64>, D::Error> {
        struct MapVisitor;
        impl<'de> Visitor<'de> for MapVisitor {
            type Value = BTreeMap<String, f64>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of names to numbers")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                let mut m = BTreeMap::new();
                while let Some((k, Float(v))) = a.next_entry::<String, Float>()? {
                    m.insert(k, v);
                }
                Ok(m)
            }
        }
        d.deserialize_map(MapVisitor)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::{EpochMetrics, TrialId, TrialRecord, TrialResult, TrialSpec};

    #[test]
    fn nan_and_infinities_survive_json() {
        let mut epoch = EpochMetrics::new(f64::NAN);
        epoch.val_loss = Some(f64::INFINITY);
        epoch.extra.insert("lr".into(), f64::NEG_INFINITY);
        let mut result = TrialResult { epochs: vec![epoch], ..TrialResult::default() };
        result.metrics.insert("sharpe".into(), f64::NAN);
        result.metrics.insert("total_return".into(), 0.1 + 0.2);
        let spec = TrialSpec { id: TrialId(3), params: Default::default(), seed: 7 };
        let record = TrialRecord::from_outcome(spec, Ok(result), 0, 0, 1, 0.5);
        let line = serde_json::to_string(&record).expect("serializes");
        let back: TrialRecord = serde_json::from_str(&line).expect("reads back");
        assert!(back.metrics["sharpe"].is_nan());
        assert_eq!(back.metrics["total_return"].to_bits(), (0.1f64 + 0.2).to_bits());
        assert!(back.epochs[0].train_loss.is_nan());
        assert_eq!(back.epochs[0].val_loss, Some(f64::INFINITY));
        assert_eq!(back.epochs[0].extra["lr"], f64::NEG_INFINITY);
        // Journals written before: NaN as null.
        let old = line.replace("\"NaN\"", "null");
        let back: TrialRecord = serde_json::from_str(&old).expect("null reads as NaN");
        assert!(back.metrics["sharpe"].is_nan());
        let none: BTreeMap<String, f64> = BTreeMap::new();
        assert_eq!(back.spec.params.len(), none.len());
    }
}
