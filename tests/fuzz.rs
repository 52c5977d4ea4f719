//! Every pipeline the fuzz target `fuzz/fuzz_targets/pipeline.rs` ever failed on (kept in
//! `fuzz/regressions/pipeline/` once fixed) and every one of its seeds passes the target's
//! checks. The candle readers' fuzz inputs are checked by quantsweep-ingest's unit tests
//! (`fuzzing.rs`). A test binary of its own: it changes the working directory.

use std::path::Path;

#[test]
fn fuzz_regressions_and_seeds_pass_the_pipeline_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // The target resolves data paths from the repository root, where scripts/fuzz runs it.
    std::env::set_current_dir(&root).expect("cd to the repository root");
    let mut ran = 0;
    for kind in ["regressions", "seeds"] {
        let Ok(entries) = std::fs::read_dir(root.join("fuzz").join(kind).join("pipeline")) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            let data = std::fs::read(&path).expect("read the input");
            let outcome = std::panic::catch_unwind(|| quantsweep_cli::fuzz_pipeline(&data));
            assert!(outcome.is_ok(), "{} fails the pipeline target", path.display());
            ran += 1;
        }
    }
    assert!(ran >= 10, "only {ran} pipeline fuzz inputs found");
}
