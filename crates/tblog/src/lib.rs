//! A small TensorBoard event-file writer: scalars and the HParams plugin's session records.
//!
//! No maintained crate writes the HParams plugin (see docs/architecture.md), so this crate
//! frames TFRecords itself (masked CRC32C) and encodes the few protobuf messages it needs with
//! prost's derive macros: no build script, no protoc.
//!
//! ```no_run
//! use quantsweep_tblog::EventWriter;
//! let mut w = EventWriter::create(std::path::Path::new("runs/0"))?;
//! w.add_scalar("loss/train", 0.5, 0)?;
//! w.flush()?;
//! # Ok::<(), quantsweep_tblog::TbError>(())
//! ```
#![deny(missing_docs)]

mod observer;
mod proto;
mod writer;

pub use observer::TensorBoardObserver;
pub use writer::{EventWriter, TbError};
