//! One module per subcommand.
pub mod data;
pub mod features;
pub mod init;
pub mod report;
pub mod run;
pub mod validate;
