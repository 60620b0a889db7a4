#![forbid(unsafe_code)]
//! The main job, `rdmabench run`: suites of tests, the local target's two hosts, running one
//! measurement between them, and the results directory every run writes.

pub mod hosts;
pub mod local;
pub mod results_dir;
pub mod suite;

pub use hosts::{HostsChoice, LocalHosts};
pub use local::{measure, Measurement, Outcome};
pub use suite::{Suite, SuiteError, Target, TestSpec};
