//! `--out` on an object store (`s3://bucket/prefix`, `gs://`, `az://`, `memory://`): the
//! sweep's journal and tables are put there directly (see `quantsweep_sweep::Output`); each
//! trial's TensorBoard run and saved models are written to a local staging folder first and
//! put there when the trial ends. The staging folder (`quantsweep_sweep::local_state` of the
//! URL, `staging-<process>`) outlives the process: files a run could not put (the store was
//! down, the run was killed) are put when a later run into the same URL ends.
//!
//! Credentials and endpoints come from each cloud's usual environment variables (`AWS_*`,
//! `GOOGLE_*`, `AZURE_*`), with the same timeouts and bounded retries as data sources
//! (`quantsweep_ingest::open_store`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use futures_util::StreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use quantsweep_core::TrialId;
use quantsweep_ingest::{Located, StorageOptions, open_store};
use quantsweep_sweep::{ObjectSink, Output, local_state};

/// An object store rooted at the `--out` URL.
struct ObjectOutput {
    store: Arc<dyn ObjectStore>,
    root: StorePath,
    url: String,
    /// One runtime for every request, so that the client's connections are reused; requests
    /// from several threads take turns.
    runtime: Mutex<tokio::runtime::Runtime>,
}

impl ObjectOutput {
    fn path(&self, name: &str) -> Result<StorePath, String> {
        let full = if self.root.as_ref().is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.root)
        };
        StorePath::parse(&full).map_err(|e| format!("not a valid object name: {e}"))
    }

    fn block_on<T>(&self, f: impl Future<Output = T>) -> T {
        self.runtime.lock().unwrap_or_else(|p| p.into_inner()).block_on(f)
    }
}

impl ObjectSink for ObjectOutput {
    fn url(&self) -> &str {
        &self.url
    }

    fn put(&self, name: &str, bytes: Vec<u8>) -> Result<(), String> {
        let path = self.path(name)?;
        self.block_on(self.store.put(&path, PutPayload::from(bytes)))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, String> {
        let path = self.path(name)?;
        self.block_on(async {
            match self.store.get(&path).await {
                Ok(got) => got.bytes().await.map(|b| Some(b.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })
        .map_err(|e| e.to_string())
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, String> {
        let folder = self.path(prefix.trim_end_matches('/'))?;
        let metas: Vec<_> = self.block_on(self.store.list(Some(&folder)).collect());
        let root = self.root.as_ref();
        let mut names = Vec::with_capacity(metas.len());
        for meta in metas {
            let location = meta.map_err(|e| e.to_string())?.location;
            let full: &str = location.as_ref();
            let relative = if root.is_empty() {
                full
            } else {
                full.strip_prefix(root).and_then(|r| r.strip_prefix('/')).unwrap_or(full)
            };
            names.push(relative.to_owned());
        }
        names.sort();
        Ok(names)
    }

    fn delete(&self, name: &str) -> Result<(), String> {
        let path = self.path(name)?;
        match self.block_on(self.store.delete(&path)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Where a run's outputs go, and where its trials write their files meanwhile.
pub struct Outputs {
    /// The journal, tables, summary and resolved pipeline.
    pub output: Output,
    /// The staging folder for TensorBoard runs and models on an object store.
    staging: Option<PathBuf>,
}

impl Outputs {
    /// `--out`: a local folder (a path or `file://` URL) or an object-store URL. `process`
    /// is this process's index in a cluster run (0 otherwise): processes on one host stage
    /// their files in folders of their own.
    pub fn open(out: &str, process: usize) -> Result<Self> {
        if !out.contains("://") {
            if std::path::Path::new(out).is_file() {
                bail!(
                    "--out {out} is a file: give a folder (created if missing) or an object-store \
                     URL (s3://bucket/prefix)"
                );
            }
            return Ok(Self { output: Output::Dir(PathBuf::from(out)), staging: None });
        }
        let url = out.trim_end_matches('/').to_owned();
        if url.starts_with("http://") || url.starts_with("https://") {
            bail!(
                "--out {out}: HTTP servers are read-only here; give s3://, gs://, az:// or a folder"
            );
        }
        let (store, root) = match open_store(&url, &StorageOptions::new())
            .with_context(|| format!("--out {out}"))?
        {
            Located::Local(dir) => return Ok(Self { output: Output::Dir(dir), staging: None }),
            Located::Store(store, root) => (store, root),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start an async runtime")?;
        // Kept on this machine for this URL: what a run could not put (the store went down,
        // the run was killed) is put by the next run into the same URL.
        let staging = local_state(&url).join(format!("staging-{process}"));
        let sink = ObjectOutput { store, root, url, runtime: Mutex::new(runtime) };
        Ok(Self { output: Output::Objects(Arc::new(sink)), staging: Some(staging) })
    }

    /// The local folder under which trials write `tensorboard/` and `models/`.
    pub fn files_root(&self) -> &Path {
        match (&self.staging, &self.output) {
            (Some(staging), _) => staging,
            (None, Output::Dir(dir)) => dir,
            (None, Output::Objects(_)) => Path::new("."),
        }
    }

    /// A handle for the trials' threads: puts a finished trial's files.
    pub fn uploader(&self) -> Option<Uploader> {
        let staging = self.staging.clone()?;
        Some(Uploader { output: self.output.clone(), staging })
    }

    /// Puts whatever is still staged (files whose upload failed, or of trials that did not
    /// finish), then removes the staging folder. On failure the folder is kept and named.
    pub fn finish(&self) -> Result<()> {
        let Some(staging) = &self.staging else { return Ok(()) };
        if !staging.exists() {
            return Ok(());
        }
        let uploader = Uploader { output: self.output.clone(), staging: staging.clone() };
        uploader.put_tree(staging).with_context(|| {
            format!("some trial files were not uploaded; they are kept in {}", staging.display())
        })?;
        std::fs::remove_dir_all(staging)
            .with_context(|| format!("removing the staging folder {}", staging.display()))
    }
}

/// Puts a finished trial's staged files on the object store.
#[derive(Clone)]
pub struct Uploader {
    output: Output,
    staging: PathBuf,
}

impl Uploader {
    /// Puts `tensorboard/<id>/…` and `models/<id>….safetensors`, replacing what an earlier,
    /// interrupted run of the same trial left there, and deletes the local copies.
    pub fn trial(&self, id: TrialId) -> Result<()> {
        let tensorboard = self.staging.join("tensorboard").join(id.to_string());
        if tensorboard.exists() {
            let name = format!("tensorboard/{id}");
            self.output.remove(&name)?;
            self.put_tree(&tensorboard)?;
        }
        let models = self.staging.join("models");
        let own = |n: &str| {
            n.strip_prefix(&id.to_string())
                .is_some_and(|rest| rest == ".safetensors" || rest.starts_with("-fold"))
        };
        if let Ok(entries) = std::fs::read_dir(&models) {
            for entry in entries.flatten() {
                if entry.file_name().to_str().is_some_and(own) {
                    self.put_file(&entry.path())?;
                }
            }
        }
        Ok(())
    }

    /// [`Uploader::trial`], and on failure a warning: the trial's result stands, and its files
    /// stay staged to be put again when the sweep ends ([`Outputs::finish`]).
    pub fn trial_or_later(&self, id: TrialId) {
        if let Err(e) = self.trial(id) {
            eprintln!("trial {id}: {e:#}; trying again when the sweep ends");
        }
    }

    /// Puts every file under `dir` (a folder in the staging folder) and deletes each once put.
    fn put_tree(&self, dir: &Path) -> Result<()> {
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let entries =
                std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))?;
            for entry in entries {
                let path = entry.with_context(|| format!("reading {}", d.display()))?.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    self.put_file(&path)?;
                }
            }
        }
        Ok(())
    }

    fn put_file(&self, path: &Path) -> Result<()> {
        let relative = path.strip_prefix(&self.staging).unwrap_or(path);
        let name: Vec<String> =
            relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        self.output.put(&name.join("/"), &bytes)?;
        std::fs::remove_file(path).with_context(|| format!("removing {}", path.display()))
    }
}
