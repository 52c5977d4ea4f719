use crate::{Candles, Timeframe};

impl Timeframe {
    /// Parses `1m`, `15m`, `1h`, `4h`, `1d`, `1w` (freqtrade's and pandas' short spellings).
    pub fn parse(s: &str) -> Result<Timeframe, String> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (n, unit) = s.split_at(split);
        let n: i64 =
            n.parse().map_err(|_| format!("{s:?} is not a timeframe like 15m, 1h or 1d"))?;
        let unit_ms = match unit {
            "s" => 1_000,
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            _ => return Err(format!("{s:?} is not a timeframe like 15m, 1h or 1d")),
        };
        if n <= 0 {
            return Err(format!("{s:?}: a timeframe must be positive"));
        }
        Ok(Timeframe(n * unit_ms))
    }
}

impl Candles {
    /// Aggregates to a coarser timeframe as pandas' `resample(tf, label="left",
    /// closed="left")` does with `first`/`max`/`min`/`last`/`sum`: bins are anchored at
    /// midnight UTC, labelled by their start, and bins without candles are left out (they show
    /// as gaps). A bin is kept even when some of its candles are missing, as pandas keeps it.
    ///
    /// Timeframes must divide a day (1m .. 12h) or be whole days; weeks (pandas anchors them
    /// on Sundays) are refused.
    pub fn resample(&self, to: Timeframe) -> Result<Candles, String> {
        let day = Timeframe::DAY.0;
        if !(day % to.0 == 0 || to.0 % day == 0) || to.0 % Timeframe(604_800_000).0 == 0 {
            return Err(format!(
                "resampling to {to} is not supported: use a timeframe that divides a day, or whole days"
            ));
        }
        if let Some(from) = self.timeframe()
            && (to.0 < from.0 || to.0 % from.0 != 0)
        {
            return Err(format!(
                "cannot resample {from} candles to {to}: {to} must be a multiple of {from}"
            ));
        }
        let mut out = Candles::default();
        for i in 0..self.len() {
            let bin = self.timestamp_ms[i].div_euclid(to.0) * to.0;
            if out.timestamp_ms.last() == Some(&bin) {
                let k = out.len() - 1;
                out.high[k] = out.high[k].max(self.high[i]);
                out.low[k] = out.low[k].min(self.low[i]);
                out.close[k] = self.close[i];
                out.volume[k] += self.volume[i];
            } else {
                out.push(
                    bin,
                    self.open[i],
                    self.high[i],
                    self.low[i],
                    self.close[i],
                    self.volume[i],
                );
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeframes_parse() {
        assert_eq!(Timeframe::parse("15m"), Ok(Timeframe(900_000)));
        assert_eq!(Timeframe::parse("4h"), Ok(Timeframe(14_400_000)));
        assert_eq!(Timeframe::parse("1d"), Ok(Timeframe::DAY));
        assert!(Timeframe::parse("h").is_err());
        assert!(Timeframe::parse("0m").is_err());
        assert!(Timeframe::parse("5y").is_err());
    }

    #[test]
    fn ohlcv_aggregation_is_left_labelled_and_left_closed() {
        let h = 3_600_000;
        let c = Candles {
            timestamp_ms: vec![0, h, 2 * h, 3 * h, 4 * h, 7 * h],
            open: vec![1.0, 2.0, 3.0, 4.0, 5.0, 8.0],
            high: vec![2.0, 9.0, 4.0, 5.0, 6.0, 9.0],
            low: vec![0.5, 1.5, 0.1, 3.5, 4.5, 7.5],
            close: vec![2.0, 3.0, 4.0, 5.0, 6.0, 8.5],
            volume: vec![1.0, 1.0, 1.0, 1.0, 1.0, 2.0],
        };
        let r = c.resample(Timeframe(4 * h)).expect("1h to 4h");
        assert_eq!(r.timestamp_ms, vec![0, 4 * h]);
        assert_eq!(
            (r.open[0], r.high[0], r.low[0], r.close[0], r.volume[0]),
            (1.0, 9.0, 0.1, 5.0, 4.0)
        );
        assert_eq!((r.open[1], r.close[1], r.volume[1]), (5.0, 8.5, 3.0));
        assert!(c.resample(Timeframe(90 * 60_000)).is_err());
        assert!(c.resample(Timeframe(604_800_000)).is_err());
    }
}
