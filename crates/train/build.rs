//! Embeds libtorch's directory as an rpath so that test binaries find libtorch_cpu.so (and libtorch_cuda.so, linked so that CUDA works) without
//! LD_LIBRARY_PATH (which cargo overrides). torch-sys exports the directory as DEP_TCH_LIBTORCH_LIB.
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
}
