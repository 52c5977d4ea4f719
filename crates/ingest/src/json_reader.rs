use std::io::Read;
use std::path::Path;

use crate::error::Position;
use crate::validate::Parsed;
use crate::{Format, IngestError};

const COLUMNS: [&str; 6] = ["date", "open", "high", "low", "close", "volume"];

/// freqtrade's JSON data handler: an array of `[open_time_ms, open, high, low, close, volume]`,
/// gzip-compressed when the name ends in `.gz`. `null` prices make a null row.
pub(crate) fn read_freqtrade_json(bytes: &[u8], path: &Path) -> Result<Parsed, IngestError> {
    let format_err = |message: String| IngestError::Format { path: path.to_path_buf(), message };
    let is_gz = path.to_string_lossy().to_ascii_lowercase().ends_with(".gz");
    let text;
    let bytes = if is_gz {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(|e| format_err(format!("not a complete gzip stream: {e}")))?;
        text = out;
        &text[..]
    } else {
        bytes
    };
    let rows: Vec<Vec<Option<f64>>> = serde_json::from_slice(bytes).map_err(|e| {
        format_err(format!(
            "not freqtrade JSON (an array of [ms, open, high, low, close, volume]): {e}"
        ))
    })?;
    let columns = COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    let mut out = Parsed::new(Format::FreqtradeJson, columns, false, false);
    for (i, row) in rows.iter().enumerate() {
        let at = Position::Row(i as u64 + 1);
        if row.len() < 6 {
            return Err(format_err(format!(
                "{at}: {} values, expected 6 (ms, o, h, l, c, v)",
                row.len()
            )));
        }
        let Some(t) = row[0] else {
            out.null_rows += 1;
            continue;
        };
        if !(t.is_finite() && t >= 0.0) {
            return Err(format_err(format!("{at}: {t} is not a timestamp in milliseconds")));
        }
        let v = |k: usize| row[k].unwrap_or(f64::NAN);
        out.push(None, t.round() as i64, v(1), v(2), v(3), v(4), v(5));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_and_gzipped_arrays() {
        let text = b"[[1515560100000, 5.33e-05, 5.33e-05, 5.288e-05, 5.29e-05, 431401.9], [1515560400000, 5.29e-05, 5.294e-05, 5.269e-05, 5.27e-05, 311565.6]]";
        let p = read_freqtrade_json(text, Path::new("a.json")).expect("plain");
        assert_eq!(p.candles.timestamp_ms.len(), 2);
        assert_eq!(p.candles.timestamp_ms[1], 1_515_560_400_000);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, text).expect("compress");
        let bytes = gz.finish().expect("gzip");
        let q = read_freqtrade_json(&bytes, Path::new("a.json.gz")).expect("gz");
        assert_eq!(q.candles.timestamp_ms.len(), 2);
        let err = read_freqtrade_json(&bytes[..bytes.len() / 2], Path::new("a.json.gz"))
            .expect_err("truncated gzip");
        assert!(err.to_string().contains("a.json.gz: not a complete gzip stream"), "{err}");
        let err = read_freqtrade_json(b"[[1, 2, 3]]", Path::new("b.json")).expect_err("short row");
        assert_eq!(err.to_string(), "b.json: row 1: 3 values, expected 6 (ms, o, h, l, c, v)");
    }
}
