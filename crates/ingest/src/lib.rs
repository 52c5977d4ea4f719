//! Candle sources and formats, turned into validated [`Candles`] with a [`LoadReport`] of
//! everything that was repaired.
//!
//! Today this reads OHLCV CSV files from local disk: CryptoDataDownload (URL banner line,
//! newest-first rows, unix times in ms or s, 12-hour date strings, `NULL` fields), Yahoo
//! (`Date,Open,High,Low,Close,Adj Close,Volume`, `null` rows) and any CSV whose header names a
//! time column and open/high/low/close. Rows are sorted, duplicates dropped (the last row of a
//! timestamp wins) and null rows removed; gaps are reported; a candle with `low > high` or a
//! non-positive price is an error naming its line.
//!
//! ```no_run
//! let (candles, report) = quantsweep_ingest::load_csv("datasets/eth-usdt-1d.csv")?;
//! println!("{} candles, {} duplicates dropped", candles.len(), report.duplicates_dropped);
//! # Ok::<(), quantsweep_ingest::IngestError>(())
//! ```
#![deny(missing_docs)]

mod candles;
mod csv_reader;
mod error;
mod validate;

pub use candles::{Candles, Timeframe};
pub use csv_reader::{load_csv, parse_csv};
pub use error::IngestError;
pub use validate::{Gap, LoadReport};
