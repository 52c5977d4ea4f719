//! Feather files: the memory and file readers agree, and the in-place decoder agrees
//! with arrow's reader. The body and its input layout:
//! `quantsweep_ingest::fuzzing::feather`.
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: quantsweep_ingest::fuzzing::let_contained_panics_pass(),
    |data: &[u8]| quantsweep_ingest::fuzzing::feather(data)
);
