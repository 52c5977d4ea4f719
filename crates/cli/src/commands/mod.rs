//! One module per subcommand.
pub mod data;
pub mod features;
pub mod report;
pub mod run;
pub mod validate;
