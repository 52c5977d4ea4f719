use std::ops::ControlFlow;
use std::path::Path;

use quantsweep_core::{EpochMetrics, Observer, Params, Stop, TrialStatus};

use crate::{EventWriter, TbError};

/// Logs each epoch of one trial to its own TensorBoard run: `loss/train`, `loss/val` and every
/// extra per-epoch scalar, plus the HParams session records.
///
/// Write errors do not stop training: the first one is kept and returned by [`finish`].
///
/// [`finish`]: TensorBoardObserver::finish
pub struct TensorBoardObserver {
    writer: EventWriter,
    error: Option<TbError>,
}

impl TensorBoardObserver {
    /// Opens a run in `dir` and records the trial's hyperparameters.
    pub fn create(dir: &Path, params: &Params, group: &str) -> Result<Self, TbError> {
        let mut writer = EventWriter::create(dir)?;
        writer.add_session_start(params, group)?;
        Ok(Self { writer, error: None })
    }

    /// Writes the final metrics (as `metric/<name>` scalars at `step`) and the session's end.
    pub fn finish<'a>(
        mut self,
        status: TrialStatus,
        metrics: impl IntoIterator<Item = (&'a String, &'a f64)>,
        step: i64,
    ) -> Result<(), TbError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        for (name, value) in metrics {
            self.writer.add_scalar(&format!("metric/{name}"), *value, step)?;
        }
        self.writer.add_session_end(status)?;
        self.writer.flush()
    }

    fn log(&mut self, epoch: usize, m: &EpochMetrics) -> Result<(), TbError> {
        let step = epoch as i64;
        self.writer.add_scalar("loss/train", m.train_loss, step)?;
        if let Some(v) = m.val_loss {
            self.writer.add_scalar("loss/val", v, step)?;
        }
        for (name, v) in &m.extra {
            self.writer.add_scalar(name, *v, step)?;
        }
        Ok(())
    }
}

impl Observer for TensorBoardObserver {
    fn on_epoch(&mut self, epoch: usize, m: &EpochMetrics) -> ControlFlow<Stop> {
        if self.error.is_none()
            && let Err(e) = self.log(epoch, m)
        {
            self.error = Some(e);
        }
        ControlFlow::Continue(())
    }
}
