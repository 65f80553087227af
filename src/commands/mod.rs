//! The subcommands besides `run`: each takes its parsed arguments and does one job.

pub mod normalise;
pub mod send;
pub mod tap;
pub mod test;
pub mod top;
pub mod validate;
