//! Parquet files: the memory and file readers agree. The body and its input layout:
//! `quantsweep_ingest::fuzzing::parquet`.
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: quantsweep_ingest::fuzzing::let_contained_panics_pass(),
    |data: &[u8]| quantsweep_ingest::fuzzing::parquet(data)
);
