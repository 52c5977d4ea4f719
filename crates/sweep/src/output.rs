//! Where a sweep's outputs live: a local folder, or an object store reached through an
//! [`ObjectSink`] (the CLI gives one over `object_store`: S3, GCS, Azure, memory).
//!
//! Every write is whole or nothing: a local file goes through a temporary name, synced and
//! renamed; an object is one put, which object stores make atomic.

use std::fmt;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::SweepError;

/// An object store rooted at the sweep's output URL. Names are relative to that root and use
/// `/` as the separator (`trials.parquet`, `journal/…`, `tensorboard/7/events…`).
pub trait ObjectSink: Send + Sync {
    /// The root's URL, for messages (`s3://bucket/sweeps/eth`); never holds credentials.
    fn url(&self) -> &str;
    /// Writes `bytes` as the object `name`, whole or not at all.
    fn put(&self, name: &str, bytes: Vec<u8>) -> Result<(), String>;
    /// The object `name`, or `None` where there is none.
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, String>;
    /// The names of the objects under the folder `prefix` (`journal`), sorted.
    fn list(&self, prefix: &str) -> Result<Vec<String>, String>;
    /// Deletes the object `name`; one that is not there is no error.
    fn delete(&self, name: &str) -> Result<(), String>;
}

/// A sweep's output root.
#[derive(Clone)]
pub enum Output {
    /// A local folder.
    Dir(PathBuf),
    /// An object store.
    Objects(Arc<dyn ObjectSink>),
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::Dir(dir) => write!(f, "{}", dir.display()),
            Output::Objects(sink) => f.write_str(sink.url()),
        }
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Output({self})")
    }
}

impl From<&Path> for Output {
    fn from(dir: &Path) -> Self {
        Output::Dir(dir.to_path_buf())
    }
}

impl From<&PathBuf> for Output {
    fn from(dir: &PathBuf) -> Self {
        Output::Dir(dir.clone())
    }
}

impl From<PathBuf> for Output {
    fn from(dir: PathBuf) -> Self {
        Output::Dir(dir)
    }
}

impl Output {
    /// The local folder, if the output is one.
    pub fn local_dir(&self) -> Option<&Path> {
        match self {
            Output::Dir(dir) => Some(dir),
            Output::Objects(_) => None,
        }
    }

    /// Where `name` is, for messages: a path or a URL.
    pub fn locate(&self, name: &str) -> String {
        match self {
            Output::Dir(dir) => dir.join(name).display().to_string(),
            Output::Objects(sink) => format!("{}/{name}", sink.url().trim_end_matches('/')),
        }
    }

    /// Writes `bytes` as `name`, atomically.
    pub fn put(&self, name: &str, bytes: &[u8]) -> Result<(), SweepError> {
        match self {
            Output::Dir(dir) => atomic_write(&dir.join(name), |f| f.write_all(bytes)),
            Output::Objects(sink) => {
                sink.put(name, bytes.to_vec()).map_err(|e| self.error(name, e))
            }
        }
    }

    /// The contents of `name`, or `None` where there is none.
    pub fn get(&self, name: &str) -> Result<Option<Vec<u8>>, SweepError> {
        match self {
            Output::Dir(dir) => {
                let path = dir.join(name);
                match std::fs::read(&path) {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(SweepError::io(&path, e)),
                }
            }
            Output::Objects(sink) => sink.get(name).map_err(|e| self.error(name, e)),
        }
    }

    /// Whether `name` (a file or object, or a folder of them) exists.
    pub fn exists(&self, name: &str) -> Result<bool, SweepError> {
        match self {
            Output::Dir(dir) => Ok(dir.join(name).exists()),
            Output::Objects(sink) => Ok(sink.get(name).map_err(|e| self.error(name, e))?.is_some()
                || !sink.list(name).map_err(|e| self.error(name, e))?.is_empty()),
        }
    }

    /// Deletes `name` (a file or object) and everything under the folder `name`, where they
    /// exist.
    pub fn remove(&self, name: &str) -> Result<(), SweepError> {
        match self {
            Output::Dir(dir) => {
                let path = dir.join(name);
                let removed = if path.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
                match removed {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        Err(SweepError::io(&path, e))
                    }
                    _ => Ok(()),
                }
            }
            Output::Objects(sink) => {
                let mut names = sink.list(name).map_err(|e| self.error(name, e))?;
                names.push(name.to_owned());
                for n in names {
                    sink.delete(&n).map_err(|e| self.error(&n, e))?;
                }
                Ok(())
            }
        }
    }

    pub(crate) fn error(&self, name: &str, message: String) -> SweepError {
        SweepError::Store { location: self.locate(name), message }
    }
}

/// The folder on this machine that belongs to an object-store output `url`:
/// `$XDG_STATE_HOME/quantsweep/<the URL as one name>` (`~/.local/state/…` by default; the
/// temporary folder without a home). It outlives the process, so that a later run into the
/// same URL finds what an earlier one could not put: the journal's records while the store
/// was unreachable (`journal.jsonl`), and the trials' TensorBoard runs and models waiting to
/// be put (`staging/`).
pub fn local_state(url: &str) -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir);
    let name: String = url
        .trim_end_matches('/')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' })
        .collect();
    base.join("quantsweep").join(name)
}

/// Writes through a temporary file in the same folder, syncs it, then renames it over `path`.
pub(crate) fn atomic_write(
    path: &Path,
    write: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<(), SweepError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| SweepError::io(dir, e))?;
    let name = path.file_name().map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.tmp"));
    let result = File::create(&tmp).and_then(|mut f| {
        write(&mut f)?;
        f.sync_all()
    });
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(SweepError::io(path, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| SweepError::io(path, e))
}

/// An in-memory [`ObjectSink`] for tests (of this crate and its users).
#[derive(Default)]
pub struct MemorySink {
    objects: std::sync::Mutex<std::collections::BTreeMap<String, Vec<u8>>>,
    /// Fail every put after this many (a store that goes away mid-sweep).
    fail_after: Option<usize>,
    puts: std::sync::atomic::AtomicUsize,
}

impl MemorySink {
    /// A store that accepts `puts` puts, then refuses every other.
    pub fn failing_after(puts: usize) -> Self {
        Self { fail_after: Some(puts), ..Self::default() }
    }

    /// The names held, sorted.
    pub fn names(&self) -> Vec<String> {
        self.objects.lock().unwrap_or_else(|p| p.into_inner()).keys().cloned().collect()
    }
}

impl ObjectSink for MemorySink {
    fn url(&self) -> &str {
        "memory:///sweep"
    }

    fn put(&self, name: &str, bytes: Vec<u8>) -> Result<(), String> {
        let n = self.puts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if self.fail_after.is_some_and(|limit| n >= limit) {
            return Err("the store is unreachable".into());
        }
        self.objects.lock().unwrap_or_else(|p| p.into_inner()).insert(name.into(), bytes);
        Ok(())
    }

    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, String> {
        Ok(self.objects.lock().unwrap_or_else(|p| p.into_inner()).get(name).cloned())
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, String> {
        let folder = format!("{}/", prefix.trim_end_matches('/'));
        Ok(self.names().into_iter().filter(|n| n.starts_with(&folder)).collect())
    }

    fn delete(&self, name: &str) -> Result<(), String> {
        self.objects.lock().unwrap_or_else(|p| p.into_inner()).remove(name);
        Ok(())
    }
}
