//! LSTM models and their training loop on libtorch (via tch). libtorch stops here: nothing
//! above this crate sees a tensor; predictions leave as plain `Vec<f32>`.
//!
//! - [`ModelConfig`] (the pipeline's `model:` section) builds a [`Model`] with `init`.
//! - [`TrainConfig`] (the `train:` section) drives [`fit`], which reports every epoch to an
//!   [`Observer`](quantsweep_core::Observer) and returns a [`Fitted`] model.
//!
//! ```no_run
//! # fn demo(data: &quantsweep_features::Dataset) -> Result<(), quantsweep_train::TrainError> {
//! use quantsweep_train::{fit, DeviceRequest, ModelConfig, TrainConfig, Head};
//! let model = ModelConfig::Blankly { hidden: 20, layers: 1, head: Head::HalfPlusSigmoid };
//! let fitted = fit(&model, &TrainConfig::default(), data, 42, DeviceRequest::Cpu,
//!                  &mut quantsweep_core::NoopObserver)?;
//! let predictions = fitted.predict(data, data.test.clone())?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod cell;
mod config;
mod error;
mod fit;
mod layers;
mod model;
mod noise;

pub use cell::StackedLstm;
pub use config::{
    Activation, EarlyStopping, Head, InitScheme, Loss, ModelConfig, Optimizer, OptimizerDefaults,
    ReduceLrOnPlateau, TrainConfig,
};
pub use error::TrainError;
pub use fit::{DeviceRequest, Fitted, fit, set_torch_threads, validate_config, validate_shapes};
pub use layers::{DenseActivation, Layer, LayerStack};
pub use model::Model;
