//! Embeds libtorch's directory as an rpath (so `quantsweep` and its tests find libtorch_cpu.so
//! without LD_LIBRARY_PATH, which cargo overrides anyway) and records the git revision that
//! `pipeline.resolved.yaml` names. torch-sys exports the directory as DEP_TCH_LIBTORCH_LIB.
use std::process::Command;

fn main() {
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
        // torch-sys asks for torch_cuda, but nothing references its symbols, so the linker's
        // --as-needed drops it and libtorch never registers CUDA (tch-rs's known issue).
        // Keeping it costs nothing on machines without a GPU: libtorch then reports 0 devices.
        let cuda = std::path::Path::new(&dir).join("libtorch_cuda.so");
        if cuda.exists() {
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
            println!("cargo:rustc-link-arg={}", cuda.display());
            println!("cargo:rustc-link-arg=-Wl,--as-needed");
        }
    }
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let rev = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=QUANTSWEEP_GIT_REV={rev}");
    println!("cargo:rerun-if-changed=../../.git/HEAD");
    println!("cargo:rerun-if-changed=../../.git/refs/heads");
}
