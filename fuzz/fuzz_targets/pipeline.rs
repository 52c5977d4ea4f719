//! Pipeline YAML as `quantsweep validate` checks it, `--set` overrides included. The body
//! and its input layout: `quantsweep_cli::fuzz_pipeline`.
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: quantsweep_ingest::fuzzing::let_contained_panics_pass(),
    |data: &[u8]| quantsweep_cli::fuzz_pipeline(data)
);
