use chrono::NaiveDate;

/// A half-open time range `[start, end)` in ms since the epoch; `None` leaves an end open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timerange {
    /// First candle open time included.
    pub start_ms: Option<i64>,
    /// Candles opening at or after this are excluded.
    pub end_ms: Option<i64>,
}

impl Timerange {
    /// Parses freqtrade's syntax — `20230101-20240529`, `20230101-`, `-20240529`, unix seconds
    /// or milliseconds (`1527595200-1527618600`) — or two ISO dates joined by `..`
    /// (`2023-01-01..2024-05-29`, either side may be empty).
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (a, b) = if let Some((a, b)) = s.split_once("..") {
            (a, b)
        } else if s.chars().all(|c| c.is_ascii_digit() || c == '-') && s.matches('-').count() == 1 {
            s.split_once('-').unwrap_or((s, ""))
        } else {
            return Err(format!(
                "{s:?} is not a timerange like 20230101-20240529, 20230101-, or 2023-01-01..2024-05-29"
            ));
        };
        let range = Timerange { start_ms: point(a.trim())?, end_ms: point(b.trim())? };
        if let (Some(x), Some(y)) = (range.start_ms, range.end_ms)
            && x >= y
        {
            return Err(format!("{s:?}: the end must be after the start"));
        }
        Ok(range)
    }
}

fn point(p: &str) -> Result<Option<i64>, String> {
    if p.is_empty() {
        return Ok(None);
    }
    let date = |fmt: &str| NaiveDate::parse_from_str(p, fmt).ok();
    if let Some(d) = date("%Y%m%d").filter(|_| p.len() == 8).or_else(|| date("%Y-%m-%d")) {
        return d
            .and_hms_opt(0, 0, 0)
            .map(|t| Some(t.and_utc().timestamp_millis()))
            .ok_or_else(|| format!("{p:?} is not a date"));
    }
    match (p.len(), p.parse::<i64>()) {
        (10, Ok(secs)) => Ok(Some(secs * 1000)),
        (13, Ok(ms)) => Ok(Some(ms)),
        _ => Err(format!("{p:?} is not a date (YYYYMMDD or YYYY-MM-DD) or a unix time")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JAN1_2023: i64 = 1_672_531_200_000;

    #[test]
    fn freqtrade_and_iso_spellings() {
        let r = Timerange::parse("20230101-20230102").expect("closed");
        assert_eq!(
            r,
            Timerange { start_ms: Some(JAN1_2023), end_ms: Some(JAN1_2023 + 86_400_000) }
        );
        assert_eq!(Timerange::parse("20230101-").expect("open end").end_ms, None);
        assert_eq!(Timerange::parse("-20230101").expect("open start").start_ms, None);
        assert_eq!(
            Timerange::parse("2023-01-01..").expect("iso"),
            Timerange { start_ms: Some(JAN1_2023), end_ms: None }
        );
        assert_eq!(Timerange::parse("1672531200-1672617600").expect("unix s"), r);
        assert!(Timerange::parse("20230102-20230101").is_err());
        assert!(Timerange::parse("2023").is_err());
        assert!(Timerange::parse("20231301-").is_err());
    }
}
