use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use quantsweep_ingest::{DuplicatePolicy, Format, InvalidPolicy};

use crate::commands::data::parse_option;

/// Reproduce published LSTM trading models from YAML and sweep their hyperparameters.
#[derive(Debug, Parser)]
#[command(name = "quantsweep", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a pipeline's sweep: train and backtest every trial, write Parquet tables and
    /// TensorBoard logs under --out. Resumes when --out holds part of the same sweep.
    Run(RunArgs),
    /// Check a pipeline without training anything; print its trial count.
    Validate(PipelineArgs),
    /// Write the feature table the pipeline trains on: timestamp, indicator columns, model
    /// inputs, target and each bar's span (train, val, test).
    Features(FeaturesArgs),
    /// Work with candle data sources.
    #[command(subcommand)]
    Data(DataCommand),
    /// Print a sweep's best trials and write report.html next to its tables: equity against
    /// buy-and-hold, each parameter against the metric, the metric's distribution, learning
    /// curves, and the odds that the best trial is luck.
    Report(ReportArgs),
    /// Write a commented starter pipeline (and the ETH/USDT daily candles it reads) into DIR
    /// and print the next command.
    Init(InitArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write pipeline.yaml and data/eth-usdt-1d.csv (created if missing).
    #[arg(default_value = ".")]
    pub dir: std::path::PathBuf,
    /// Replace pipeline.yaml and the data file if they exist.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A sweep's output folder (what `run --out` wrote), or its object-store URL.
    pub out: String,
    /// How many of the best trials to list (in the terminal and in report.html).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    pub top: u16,
    /// Where to write the HTML report (default: report.html in OUT).
    #[arg(long)]
    pub html: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Rows, first/last time, timeframe, gaps, duplicates, nulls and OHLC violations of a
    /// candle file, and the format it was read as.
    Inspect(InspectArgs),
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A candle file — CSV (Binance, CryptoDataDownload, Yahoo, generic), freqtrade JSON
    /// (.json, .json.gz), Feather or Parquet — by path or URL (s3://, gs://, az://, https://;
    /// credentials and endpoints from the usual environment variables).
    pub source: String,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Read as this format instead of detecting it (binance_kline, crypto_data_download,
    /// yahoo, csv, freqtrade_json, feather, parquet).
    #[arg(long, value_parser = parse_option::<Format>)]
    pub format: Option<Format>,
    /// keep_last (default), keep_first or error.
    #[arg(long, value_parser = parse_option::<DuplicatePolicy>)]
    pub duplicates: Option<DuplicatePolicy>,
    /// drop (default here: count them) or error.
    #[arg(long, value_parser = parse_option::<InvalidPolicy>)]
    pub invalid: Option<InvalidPolicy>,
    /// SOURCE is a freqtrade data directory: inspect these pairs (comma-separated, e.g.
    /// BTC/USDT,ETH/USDT or BTC/USDT:USDT for futures) and their alignment on one time index.
    #[arg(long, value_delimiter = ',', requires = "timeframe")]
    pub pairs: Vec<String>,
    /// The timeframe of the pairs to read from the data directory (e.g. 1h).
    #[arg(long)]
    pub timeframe: Option<String>,
    /// SOURCE is a long table (CSV or Parquet, a row per asset and bar): this column names
    /// each row's asset; each asset is inspected on its own (e.g. --symbol-column Name).
    #[arg(long)]
    pub symbol_column: Option<String>,
}

/// The pipeline file and its overrides, shared by every command that reads one.
#[derive(Debug, Args)]
pub struct PipelineArgs {
    /// The pipeline YAML file.
    pub pipeline: PathBuf,
    /// Override a key of the YAML by its dotted path, e.g. `--set train.lr=0.001`
    /// (repeatable; the value is read as YAML).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}

#[derive(Debug, Args)]
pub struct FeaturesArgs {
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// The file to write: FILE.parquet or FILE.csv.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Output folder, or an object-store URL (s3://bucket/prefix, gs://, az://) whose
    /// credentials and endpoint come from the cloud's environment variables (AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT, AWS_REGION, ...). Default: results/<pipeline name>.
    #[arg(long)]
    pub out: Option<String>,
    /// Timely worker threads in this process (trials run in parallel, one per worker).
    /// Default: the number of CPU cores.
    #[arg(long)]
    pub workers: Option<usize>,
    /// Run the sweep on this many processes (timely's cluster mode): start the same command
    /// once per process, each with its own --process. Without --hostfile they are on this
    /// host, listening on 127.0.0.1 from --port on (scripts/sweep-local does this). Process
    /// 0 owns the journal and writes the tables; every process needs the data. Inside a Slurm
    /// job step (srun) this comes from SLURM_PROCID, SLURM_NTASKS and SLURM_JOB_NODELIST.
    #[arg(long)]
    pub processes: Option<usize>,
    /// This process's index, 0 to --processes − 1.
    #[arg(long)]
    pub process: Option<usize>,
    /// A file of `host:port` lines, one per process in process order (for several hosts).
    #[arg(long)]
    pub hostfile: Option<PathBuf>,
    /// The first port of a local cluster (--processes without --hostfile): process i listens
    /// on 127.0.0.1:(port + i).
    #[arg(long, default_value_t = quantsweep_sweep::SLURM_BASE_PORT)]
    pub port: u16,
    /// Device to train on: auto (CUDA when available), cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// libtorch intra-op threads per process. One thread per trial with trials in parallel is
    /// fastest for small LSTMs on CPU.
    #[arg(long, default_value_t = 1)]
    pub torch_threads: usize,
    /// Start afresh when --out holds results of a different pipeline: its journal, tables,
    /// TensorBoard runs and saved models are deleted first. Without it such an --out is refused.
    #[arg(long)]
    pub force_new: bool,
    /// Rewrite the tables (trials.parquet, ..., summary.json) while the sweep runs, at most
    /// this often in seconds (and never taking more than a twentieth of the time), so that a
    /// long sweep can be read before it ends. They are always written at the end.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    pub checkpoint_every: f64,
    /// Allow `objective: {kind: command}` pipelines to run their program once per trial. Off
    /// by default: a pipeline file alone never runs programs.
    #[arg(long)]
    pub allow_commands: bool,
}
