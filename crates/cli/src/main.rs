//! The `quantsweep` binary; everything but the allocator is in the library (`lib.rs`), which
//! the fuzz targets (fuzz/) call too.

/// mimalloc reuses freed pages: loading large candle files faults far fewer pages in than with
/// the system allocator (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    quantsweep_cli::main()
}
