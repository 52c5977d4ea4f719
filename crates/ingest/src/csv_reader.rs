use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime};

use crate::error::shown_names;
use crate::options::header_is_data;
use crate::validate::Parsed;
use crate::{ColumnMap, Format, IngestError};

/// The column names of data.binance.vision kline files, for files without a header.
const BINANCE_COLUMNS: [&str; 12] = [
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "ignore",
];

/// Parses OHLCV CSV text; `path` only names the source in errors. `format` is `Auto` or one
/// of the CSV flavours (it is then reported as given).
pub(crate) fn read_csv(
    text: &str,
    path: &Path,
    format: Format,
    mapping: Option<&ColumnMap>,
) -> Result<Parsed, IngestError> {
    let first_line = text.lines().next().unwrap_or("");
    // CryptoDataDownload puts its URL on a line of its own before the header.
    let (body, skipped_lines) = match text.split_once('\n') {
        Some((first, rest)) if first.trim_start().to_ascii_lowercase().starts_with("http") => {
            (rest, 1)
        }
        _ => (text, 0),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body.as_bytes());
    let csv_err = |e: csv::Error| IngestError::Csv {
        path: path.to_path_buf(),
        line: e.position().map_or(0, |p| p.line()) + skipped_lines,
        message: e.to_string(),
    };
    let mut record = csv::StringRecord::new();
    if !reader.read_record(&mut record).map_err(csv_err)? {
        return Err(IngestError::Empty { path: path.to_path_buf() });
    }
    let first: Vec<String> = record.iter().map(str::to_owned).collect();
    let headerless = header_is_data(&first);
    let header: Vec<String> = if headerless {
        (0..first.len())
            .map(|i| {
                BINANCE_COLUMNS.get(i).map_or_else(|| format!("column_{i}"), |c| (*c).to_owned())
            })
            .collect()
    } else {
        first.clone()
    };
    let format =
        if format == Format::Auto { Format::sniff_csv(first_line, &first) } else { format };
    let columns = match mapping {
        Some(m) => Columns::mapped(m, &header, path)?,
        None => Columns::find(&header, path)?,
    };

    // Data starts at the first record of a headerless file, after the header otherwise.
    let data_start = if headerless { 0 } else { reader.position().byte() as usize };
    let first_data_line = skipped_lines + if headerless { 1 } else { 2 };
    let data = body.get(data_start..).unwrap_or("");
    let ctx = Ctx { path, header: &header, columns: &columns };
    let mut out = Parsed::new(format, header.clone(), columns.volume.is_none(), true);
    // Large files are parsed in two halves on two threads, split at a line break. Candle
    // CSVs have no quoted fields spanning lines; a file with any quote is parsed in one piece.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let split = (threads > 1 && data.len() > 1 << 20 && !data.contains('"'))
        .then(|| data[data.len() / 2..].find('\n').map(|i| data.len() / 2 + i + 1))
        .flatten();
    let parts = match split {
        Some(mid) => {
            let (a, b) = data.split_at(mid);
            let b_line = first_data_line + a.bytes().filter(|&c| c == b'\n').count() as u64;
            let (ra, rb) = std::thread::scope(|scope| {
                let hb = scope.spawn(|| parse_rows(b, b_line, &ctx));
                let ra = parse_rows(a, first_data_line, &ctx);
                (ra, hb.join())
            });
            let rb = rb.map_err(|_| IngestError::Csv {
                path: path.to_path_buf(),
                line: b_line,
                message: "the CSV parser thread panicked".into(),
            })?;
            vec![ra?, rb?]
        }
        None => vec![parse_rows(data, first_data_line, &ctx)?],
    };
    for part in parts {
        out.null_rows += part.null_rows;
        out.candles.append(part.candles);
        if let (Some(all), Some(lines)) = (out.lines.as_mut(), part.lines) {
            all.extend(lines);
        }
    }
    Ok(out)
}

/// What parsing a chunk of data rows needs to know.
struct Ctx<'a> {
    path: &'a Path,
    header: &'a [String],
    columns: &'a Columns,
}

/// Parses data rows (no header) whose first line is line `first_line` of the file.
fn parse_rows(chunk: &str, first_line: u64, ctx: &Ctx<'_>) -> Result<Parsed, IngestError> {
    let Ctx { path, header, columns } = *ctx;
    // Byte records, trimmed and decoded field by field: only the 5–6 fields candles need
    // are looked at (a Binance row has 12).
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(chunk.as_bytes());
    let csv_err = |e: csv::Error| IngestError::Csv {
        path: path.to_path_buf(),
        line: e.position().map_or(0, |p| p.line()) + first_line - 1,
        message: e.to_string(),
    };
    let mut out = Parsed::new(Format::Csv, Vec::new(), columns.volume.is_none(), true);
    let mut record = csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(csv_err)? {
        let rec = &record;
        let line = rec.position().map_or(0, |p| p.line()) + first_line - 1;
        if rec.iter().all(|f| f.trim_ascii().is_empty()) {
            continue;
        }
        if rec.len() < header.len() {
            return Err(IngestError::Csv {
                path: path.to_path_buf(),
                line,
                message: format!("{} fields, the header has {}", rec.len(), header.len()),
            });
        }
        // The chunk is valid UTF-8 and fields split at ASCII delimiters, so each field is too.
        let field = |i: usize| std::str::from_utf8(rec.get(i).unwrap_or(b"")).unwrap_or("").trim();
        let bad = |column: usize, value: &str, expected| IngestError::BadValue {
            path: path.to_path_buf(),
            line,
            column: header[column].clone(),
            value: value.to_owned(),
            expected,
        };
        let number = |column: Option<usize>| -> Result<f64, IngestError> {
            match column {
                None => Ok(f64::NAN),
                Some(c) => {
                    let f = field(c);
                    match parse_f64(f) {
                        Ok(v) => Ok(v),
                        Err(_) if is_null(f) => Ok(f64::NAN),
                        Err(_) => Err(bad(c, f, "a number")),
                    }
                }
            }
        };
        let time_field = field(columns.time);
        if is_null(time_field) {
            out.null_rows += 1;
            continue;
        }
        let timestamp_ms = match &columns.time_kind {
            TimeKind::Unix => parse_unix(time_field),
            TimeKind::Text => parse_datetime(time_field),
            TimeKind::UnixScaled(ms_per_unit) => {
                time_field.parse::<f64>().ok().map(|v| (v * ms_per_unit).round() as i64)
            }
            TimeKind::Pattern(p) => parse_with(time_field, p),
        }
        .ok_or_else(|| bad(columns.time, time_field, "a timestamp"))?;
        out.push(
            Some(line),
            timestamp_ms,
            number(columns.open)?,
            number(columns.high)?,
            number(columns.low)?,
            number(columns.close)?,
            number(columns.volume)?,
        );
    }
    Ok(out)
}

fn is_null(field: &str) -> bool {
    field.is_empty() || ["null", "nan", "none", "n/a"].iter().any(|n| field.eq_ignore_ascii_case(n))
}

#[derive(Debug, Clone)]
enum TimeKind {
    /// Unix time, unit told by magnitude.
    Unix,
    /// A date or date-time in one of the usual spellings.
    Text,
    /// Unix time in a given unit (milliseconds per unit).
    UnixScaled(f64),
    /// A chrono/strftime pattern.
    Pattern(String),
}

struct Columns {
    time: usize,
    time_kind: TimeKind,
    open: Option<usize>,
    high: Option<usize>,
    low: Option<usize>,
    close: Option<usize>,
    volume: Option<usize>,
}

/// A header as an error shows it (see [`shown_names`]).
fn shown(header: &[String]) -> String {
    shown_names(header.iter().map(String::as_str), ",")
}

impl Columns {
    /// The columns a [`ColumnMap`] names, each required to exist (case-insensitively).
    fn mapped(m: &ColumnMap, header: &[String], path: &Path) -> Result<Self, IngestError> {
        let pos =
            |name: &str| header.iter().position(|h| h.trim().eq_ignore_ascii_case(name.trim()));
        let need = |key: &'static str, name: &str| {
            pos(name).ok_or_else(|| IngestError::MissingColumn {
                path: PathBuf::from(path),
                column: key,
                found: format!("{} (data.columns.{key} is {name:?})", shown(header)),
            })
        };
        let time_kind = match m.time_format.as_deref() {
            None => TimeKind::Text,
            Some("unix_s") => TimeKind::UnixScaled(1000.0),
            Some("unix_ms") => TimeKind::UnixScaled(1.0),
            Some("unix_us") => TimeKind::UnixScaled(0.001),
            Some("unix") => TimeKind::Unix,
            Some(p) => TimeKind::Pattern(p.to_owned()),
        };
        let volume = match &m.volume {
            Some(v) => Some(need("volume", v)?),
            None => pos("volume"),
        };
        Ok(Columns {
            time: need("time", &m.time)?,
            time_kind,
            open: Some(need("open", &m.open)?),
            high: Some(need("high", &m.high)?),
            low: Some(need("low", &m.low)?),
            close: Some(need("close", &m.close)?),
            volume,
        })
    }

    fn find(header: &[String], path: &Path) -> Result<Self, IngestError> {
        let lower: Vec<String> = header.iter().map(|h| h.to_ascii_lowercase()).collect();
        let pos = |names: &[&str]| lower.iter().position(|h| names.contains(&h.as_str()));
        let missing = |column| IngestError::MissingColumn {
            path: PathBuf::from(path),
            column,
            found: shown(header),
        };
        let (time, time_kind) = match pos(&["unix", "unix timestamp", "open_time", "timestamp_ms"])
        {
            Some(i) => (i, TimeKind::Unix),
            None => (
                pos(&["date", "datetime", "timestamp", "time", "open time"])
                    .ok_or_else(|| missing("date"))?,
                TimeKind::Text,
            ),
        };
        let required = |name: &'static str| pos(&[name]).ok_or_else(|| missing(name)).map(Some);
        // CryptoDataDownload names volumes `Volume <BASE>` then `Volume <QUOTE>`: the first is
        // the base-asset volume.
        let volume =
            pos(&["volume"]).or_else(|| lower.iter().position(|h| h.starts_with("volume")));
        Ok(Columns {
            time,
            time_kind,
            open: required("open")?,
            high: required("high")?,
            low: required("low")?,
            close: required("close")?,
            volume,
        })
    }
}

/// Unix times in seconds, milliseconds or microseconds (told apart by magnitude), possibly
/// written with a fractional part (`1524783600.0`).
fn parse_unix(field: &str) -> Option<i64> {
    match field.parse::<i64>() {
        Ok(i) if (0..1 << 53).contains(&i) => unix_to_ms(i as f64),
        _ => unix_to_ms(parse_f64(field).ok()?),
    }
}

/// A decimal number, correctly rounded (the same value as `str::parse::<f64>`), but faster.
/// Rejects trailing garbage, as `str::parse` does.
fn parse_f64(field: &str) -> Result<f64, ()> {
    match fast_float2::parse_partial::<f64, _>(field) {
        Ok((v, n)) if n == field.len() && !field.is_empty() => Ok(v),
        _ => field.parse::<f64>().map_err(|_| ()),
    }
}

/// Seconds, milliseconds or microseconds since the epoch, told apart by magnitude (any date
/// after 1973 in ms is above 1e11; in µs above 1e14), to milliseconds.
pub(crate) fn unix_to_ms(v: f64) -> Option<i64> {
    if !v.is_finite() || v < 0.0 {
        return None;
    }
    let ms = if v >= 1e14 {
        v / 1000.0
    } else if v >= 1e11 {
        v
    } else {
        v * 1000.0
    };
    Some(ms.round() as i64)
}

/// A time written with a chrono/strftime pattern (UTC); date-only patterns mean midnight.
fn parse_with(field: &str, pattern: &str) -> Option<i64> {
    if let Ok(t) = NaiveDateTime::parse_from_str(field, pattern) {
        return Some(t.and_utc().timestamp_millis());
    }
    let d = NaiveDate::parse_from_str(field, pattern).ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

/// Dates and date-times in UTC: `2021-06-10`, `2021-06-10 00:00:00`, `2021-06-10T00:00:00Z`,
/// and CryptoDataDownload's 12-hour `2020-11-20 07-AM`.
fn parse_datetime(field: &str) -> Option<i64> {
    let field = field.trim_end_matches('Z').trim_end_matches("+00:00");
    for fmt in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(field, fmt) {
            return Some(dt.and_utc().timestamp_millis());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(field, "%Y-%m-%d") {
        return Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis());
    }
    // `YYYY-MM-DD HH-AM`: chrono cannot parse an hour without minutes, so split it by hand.
    let (date, hour) = field.split_once(' ')?;
    let (h, ampm) = hour.split_once('-')?;
    let h: u32 = h.parse().ok()?;
    if !(1..=12).contains(&h) {
        return None;
    }
    let h24 = match ampm.to_ascii_uppercase().as_str() {
        "AM" => h % 12,
        "PM" => h % 12 + 12,
        _ => return None,
    };
    let d = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(h24, 0, 0)?.and_utc().timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LoadOptions, validate::repair};

    const DAY: i64 = 86_400_000;

    fn parse_csv(
        text: &str,
        path: &Path,
    ) -> Result<(crate::Candles, crate::LoadReport), IngestError> {
        repair(read_csv(text, path, Format::Auto, None)?, path, &LoadOptions::default(), None)
    }

    #[test]
    fn cryptodatadownload_banner_newest_first() {
        let text = "https://www.CryptoDataDownload.com\n\
            Unix,Date,Symbol,Open,High,Low,Close,Volume ETH,Volume USDT,tradecount\n\
            1609545600000,2021-01-02,ETHUSDT,3,4,2,3.5,10,35,5\n\
            1609459200000,2021-01-01,ETHUSDT,2,3,1,2.5,20,50,NULL\n";
        let (c, report) = parse_csv(text, Path::new("x.csv")).expect("valid file");
        assert_eq!(c.timestamp_ms, vec![1_609_459_200_000, 1_609_459_200_000 + DAY]);
        assert_eq!(c.close, vec![2.5, 3.5]);
        assert_eq!(c.volume, vec![20.0, 10.0]);
        assert!(report.reordered);
        assert_eq!(report.format, Format::CryptoDataDownload);
    }

    #[test]
    fn binance_klines_with_and_without_header() {
        let rows = "1637971200000,0.00002853,0.00002854,0.00002851,0.00002854,36304.2,1637971259999,1.03,79,19523.0,0.55,0\n\
                    1637971260000,0.00002854,0.00002860,0.00002854,0.00002859,89196.6,1637971319999,2.54,98,59004.2,1.68,0\n";
        let (c, r) = parse_csv(rows, Path::new("spot.csv")).expect("headerless");
        assert_eq!(c.len(), 2);
        assert_eq!(r.format, Format::BinanceKline);
        assert_eq!(r.columns[0], "open_time");
        assert_eq!(c.volume[1], 89196.6);
        let with_header = format!("{}\n{rows}", BINANCE_COLUMNS.join(","));
        let (c2, r2) = parse_csv(&with_header, Path::new("futures.csv")).expect("header");
        assert_eq!((c2, r2.format), (c, Format::BinanceKline));
        // Spot files since 2025 count microseconds.
        let micros = rows
            .replace("1637971200000,", "1637971200000000,")
            .replace("1637971260000,", "1637971260000000,");
        let (c3, _) = parse_csv(&micros, Path::new("spot2025.csv")).expect("µs");
        assert_eq!(c3.timestamp_ms, vec![1_637_971_200_000, 1_637_971_260_000]);
    }

    #[test]
    fn yahoo_null_rows_are_dropped_and_counted() {
        let text = "Date,Open,High,Low,Close,Adj Close,Volume\n\
            2020-04-16,1,2,0.5,1.5,1.5,100\n\
            2020-04-17,null,null,null,null,null,null\n\
            2020-04-18,1,2,0.5,1.5,1.5,100\n\
            2020-04-19,1,2,0.5,1.5,1.5,100\n";
        let (c, report) = parse_csv(text, Path::new("y.csv")).expect("valid file");
        assert_eq!(c.len(), 3);
        assert_eq!(report.null_rows_dropped, 1);
        assert_eq!(report.gaps.len(), 1);
    }

    #[test]
    fn a_column_map_reads_any_layout() {
        let text = "Zeit;Eroeffnung;Hoch;Tief;Schluss\n03/01/2021 10:00;1;2;0.5;1.5\n03/01/2021 11:00;1.5;2;1;1.2\n";
        let text = text.replace(';', ",");
        let map = ColumnMap {
            time: "Zeit".into(),
            open: "Eroeffnung".into(),
            high: "Hoch".into(),
            low: "Tief".into(),
            close: "Schluss".into(),
            volume: None,
            time_format: Some("%d/%m/%Y %H:%M".into()),
        };
        let p = read_csv(&text, Path::new("de.csv"), Format::Csv, Some(&map)).expect("mapped");
        assert_eq!(p.candles.timestamp_ms[1] - p.candles.timestamp_ms[0], 3_600_000);
        assert_eq!(p.candles.timestamp_ms[0], parse_datetime("2021-01-03 10:00:00").expect("date"));
        assert!(p.no_volume);
        let bad = ColumnMap { close: "Close".into(), ..map };
        let err =
            read_csv(&text, Path::new("de.csv"), Format::Csv, Some(&bad)).expect_err("missing");
        assert!(err.to_string().contains("data.columns.close is \"Close\""), "{err}");
    }

    #[test]
    fn large_files_parse_in_two_halves_with_exact_line_numbers() {
        // Over 1 MiB of rows, with a bad value near the end: the second half reports its line.
        let mut text = String::from(
            "https://www.CryptoDataDownload.com\nUnix,Date,Symbol,Open,High,Low,Close,Volume ETH\n",
        );
        let rows = 40_000;
        for i in 0..rows {
            let t = 1_609_459_200_000_i64 + i * 60_000;
            text.push_str(&format!("{t},x,ETH,1.0,2.0,0.5,1.5,10\n"));
        }
        assert!(text.len() > 1 << 20);
        let (c, r) = parse_csv(&text, Path::new("big.csv")).expect("valid");
        assert_eq!((c.len(), r.rows_read), (40_000, 40_000));
        assert!(c.timestamp_ms.windows(2).all(|w| w[1] - w[0] == 60_000));
        let bad = text.replacen(",1.5,10\n", ",1.5,ten\n", 39_990).replacen(
            ",1.5,ten\n",
            ",1.5,10\n",
            39_989,
        );
        let err = parse_csv(&bad, Path::new("big.csv")).expect_err("bad volume");
        // Row 39,990 is on line 39,990 + 2 (banner and header).
        assert!(err.to_string().starts_with("big.csv:39992: column `Volume ETH`"), "{err}");
    }

    #[test]
    fn fast_float_parsing_agrees_with_std() {
        for f in [
            "0.00002853",
            "1554.932",
            "1e-5",
            "-3.5",
            "12",
            "2620.87000000",
            "NaN",
            "inf",
            ".5",
            "5.",
        ] {
            assert_eq!(
                parse_f64(f).map(f64::to_bits).ok(),
                f.parse::<f64>().map(f64::to_bits).ok(),
                "{f}"
            );
        }
        for bad in ["", "1.5x", "x", "1,5", "--1"] {
            assert!(parse_f64(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps_in_every_spelling() {
        assert_eq!(parse_unix("1524783600.0"), Some(1_524_783_600_000));
        assert_eq!(parse_unix("1623283200000"), Some(1_623_283_200_000));
        assert_eq!(parse_unix("1735689600000000"), Some(1_735_689_600_000));
        assert_eq!(parse_datetime("2018-04-26 11-PM"), parse_datetime("2018-04-26 23:00:00"));
        assert_eq!(parse_datetime("2018-04-26 12-AM"), parse_datetime("2018-04-26"));
        assert_eq!(parse_datetime("2018-04-26T00:00:00Z"), parse_datetime("2018-04-26"));
        assert_eq!(parse_datetime("2018-04-26 13-PM"), None);
        assert_eq!(parse_datetime("yesterday"), None);
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let text = "Date,Open,High,Low,Close\n2020-01-01,1,2,0.5,1.5\n2020-01-02,1,2,abc,1.5\n";
        let err = parse_csv(text, Path::new("z.csv")).expect_err("bad number");
        assert_eq!(err.to_string(), "z.csv:3: column `Low`: cannot parse \"abc\" as a number");
        let err = parse_csv("Date,Open,High,Low\n", Path::new("z.csv")).expect_err("no close");
        assert!(err.to_string().contains("no `close` column"), "{err}");
        let err = parse_csv("Date,Open,High,Low,Close\n", Path::new("z.csv")).expect_err("empty");
        assert!(matches!(err, IngestError::Empty { .. }));
    }
}
