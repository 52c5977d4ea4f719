use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;
use quantsweep_core::{ParamValue, Params, TrialStatus};

use crate::proto::{
    Event, EventWhat, HParamsData, HParamsPluginData, PluginData, SessionEndInfo, SessionStartInfo,
    Summary, SummaryMetadata, SummaryValue, SummaryValueKind, Value, ValueKind,
};

/// Errors writing event files.
#[derive(Debug, thiserror::Error)]
pub enum TbError {
    /// Creating or writing the file failed.
    #[error("cannot write TensorBoard events to {path}: {error}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
}

/// Distinguishes event files created by one process in the same second.
static FILE_COUNTER: AtomicU32 = AtomicU32::new(0);

fn now_secs() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// Writes one `events.out.tfevents.*` file: TFRecord framing (length, masked CRC32C of the
/// length, the serialized `Event`, masked CRC32C of the data).
pub struct EventWriter {
    out: BufWriter<File>,
    path: PathBuf,
}

impl EventWriter {
    /// Creates `dir` (and parents) and a new event file in it, starting with the
    /// `brain.Event:2` version record TensorBoard expects first.
    pub fn create(dir: &Path) -> Result<Self, TbError> {
        std::fs::create_dir_all(dir).map_err(|error| TbError::Io { path: dir.into(), error })?;
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .ok()
            .filter(|h| {
                !h.is_empty()
                    && h.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            })
            .unwrap_or_else(|| "localhost".into());
        let name = format!(
            "events.out.tfevents.{}.{host}.{}.{}",
            now_secs() as u64,
            std::process::id(),
            FILE_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = dir.join(name);
        let file =
            File::create(&path).map_err(|error| TbError::Io { path: path.clone(), error })?;
        let mut w = Self { out: BufWriter::new(file), path };
        w.write_event(Event {
            wall_time: now_secs(),
            step: 0,
            what: Some(EventWhat::FileVersion("brain.Event:2".into())),
        })?;
        Ok(w)
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A scalar at `step` (TensorBoard's Scalars tab).
    pub fn add_scalar(&mut self, tag: &str, value: f64, step: i64) -> Result<(), TbError> {
        let v = SummaryValue {
            tag: tag.into(),
            metadata: None,
            value: Some(SummaryValueKind::SimpleValue(value as f32)),
        };
        self.write_summary(v, step)
    }

    /// Records the start of an HParams session with the trial's hyperparameters, so that
    /// TensorBoard's HParams tab lists this run with its parameter values.
    pub fn add_session_start(&mut self, params: &Params, group: &str) -> Result<(), TbError> {
        let hparams = params
            .iter()
            .map(|(k, v)| {
                let kind = match v {
                    ParamValue::Bool(b) => ValueKind::BoolValue(*b),
                    ParamValue::Int(i) => ValueKind::NumberValue(*i as f64),
                    ParamValue::Float(f) => ValueKind::NumberValue(*f),
                    ParamValue::Str(s) => ValueKind::StringValue(s.clone()),
                };
                (k.clone(), Value { kind: Some(kind) })
            })
            .collect();
        let info =
            SessionStartInfo { hparams, group_name: group.into(), start_time_secs: now_secs() };
        self.write_hparams("_hparams_/session_start_info", HParamsData::SessionStartInfo(info))
    }

    /// Records the end of the HParams session with the trial's status.
    pub fn add_session_end(&mut self, status: TrialStatus) -> Result<(), TbError> {
        let status = match status {
            TrialStatus::Complete => 1,
            TrialStatus::Failed | TrialStatus::Pruned => 2,
        };
        let info = SessionEndInfo { status, end_time_secs: now_secs() };
        self.write_hparams("_hparams_/session_end_info", HParamsData::SessionEndInfo(info))
    }

    /// Flushes buffered records to the file.
    pub fn flush(&mut self) -> Result<(), TbError> {
        let path = &self.path;
        self.out.flush().map_err(|error| TbError::Io { path: path.clone(), error })
    }

    fn write_hparams(&mut self, tag: &str, data: HParamsData) -> Result<(), TbError> {
        let content = HParamsPluginData { version: 0, data: Some(data) }.encode_to_vec();
        let v = SummaryValue {
            tag: tag.into(),
            metadata: Some(SummaryMetadata {
                plugin_data: Some(PluginData { plugin_name: "hparams".into(), content }),
            }),
            value: None,
        };
        self.write_summary(v, 0)
    }

    fn write_summary(&mut self, value: SummaryValue, step: i64) -> Result<(), TbError> {
        self.write_event(Event {
            wall_time: now_secs(),
            step,
            what: Some(EventWhat::Summary(Summary { value: vec![value] })),
        })
    }

    fn write_event(&mut self, event: Event) -> Result<(), TbError> {
        let data = event.encode_to_vec();
        let record = tfrecord(&data);
        let path = &self.path;
        self.out.write_all(&record).map_err(|error| TbError::Io { path: path.clone(), error })
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        // Best effort: an explicit flush() reports errors; a drop cannot.
        let _ = self.out.flush();
    }
}

/// CRC32C masked as TFRecord does, so that CRCs of CRCs stay well distributed.
fn masked_crc(data: &[u8]) -> u32 {
    let crc = crc32c::crc32c(data);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// One TFRecord: `u64 len | u32 masked_crc(len) | data | u32 masked_crc(data)`, little-endian.
fn tfrecord(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc(data).to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_published_check_value() {
        // RFC 3720 (iSCSI) check value for CRC-32C of "123456789".
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn records_frame_and_decode() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut w = EventWriter::create(dir.path()).expect("writer");
        w.add_scalar("loss/train", 0.25, 3).expect("scalar");
        w.flush().expect("flush");
        let bytes = std::fs::read(w.path()).expect("read back");
        // Walk the records and decode the events.
        let mut events = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let len = u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes")) as usize;
            let len_crc = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().expect("4 bytes"));
            assert_eq!(len_crc, masked_crc(&bytes[at..at + 8]));
            let data = &bytes[at + 12..at + 12 + len];
            let crc = u32::from_le_bytes(
                bytes[at + 12 + len..at + 16 + len].try_into().expect("4 bytes"),
            );
            assert_eq!(crc, masked_crc(data));
            events.push(Event::decode(data).expect("an Event"));
            at += 16 + len;
        }
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].what, Some(EventWhat::FileVersion("brain.Event:2".into())));
        let Some(EventWhat::Summary(s)) = &events[1].what else { panic!("a summary") };
        assert_eq!(s.value[0].tag, "loss/train");
        assert_eq!(s.value[0].value, Some(SummaryValueKind::SimpleValue(0.25)));
        assert_eq!(events[1].step, 3);
    }
}
