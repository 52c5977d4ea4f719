use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::args::InitArgs;

/// The starter pipeline; `{source}` and `{pipeline}` are filled in with the paths written.
const STARTER: &str = include_str!("../starter.yaml");
/// The bundled candles the starter reads (datasets/PROVENANCE.md).
const CANDLES: &[u8] = include_bytes!("../../../../datasets/eth-usdt-1d.csv");

/// `quantsweep init [DIR]`: writes DIR/pipeline.yaml and DIR/data/eth-usdt-1d.csv, never
/// over existing files unless --force, and says what to run next.
pub fn init(args: &InitArgs) -> Result<()> {
    let pipeline = args.dir.join("pipeline.yaml");
    let data = args.dir.join("data").join("eth-usdt-1d.csv");
    if !args.force {
        for path in [&pipeline, &data] {
            if path.exists() {
                bail!("{} exists; give another folder, or --force to replace it", shown(path));
            }
        }
    }
    let folder = data.parent().context("the data file has a folder")?;
    std::fs::create_dir_all(folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    std::fs::write(&data, CANDLES).with_context(|| format!("cannot write {}", data.display()))?;
    // Paths in a pipeline are relative to where `quantsweep run` starts: here.
    let text =
        STARTER.replace("{source}", &yaml_path(&data)).replace("{pipeline}", &shown(&pipeline));
    std::fs::write(&pipeline, text)
        .with_context(|| format!("cannot write {}", pipeline.display()))?;
    outln!("wrote {} and {}", shown(&pipeline), shown(&data));
    outln!(
        "next: quantsweep run {}   (from this folder; then `quantsweep report results/starter`)",
        shown(&pipeline)
    );
    Ok(())
}

/// A path as the user typed it, without a leading `./`.
fn shown(path: &Path) -> String {
    let p: PathBuf =
        path.components().filter(|c| !matches!(c, std::path::Component::CurDir)).collect();
    p.display().to_string()
}

/// A path as a YAML scalar (quoted, so that any character reads back as text).
fn yaml_path(path: &Path) -> String {
    format!("\"{}\"", shown(path).replace('\\', "\\\\").replace('"', "\\\""))
}
