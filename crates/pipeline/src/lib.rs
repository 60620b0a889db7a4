#![forbid(unsafe_code)]
//! The main job, `rdmabench run`: suites of tests, the local target's two hosts, running one
//! measurement between them, and the reference tools that can run beside rdmabench.

#[cfg(feature = "eks")]
pub mod eks_run;
pub mod ends;
mod error;
pub mod hosts;
pub mod launch;
pub mod local;
pub mod local_run;
pub mod mpi;
mod mpi_end;
pub mod reference;
pub mod suite;
pub mod tool_end;
pub mod tools;

pub use error::{BoxError, PipelineError};
pub use hosts::{HostsChoice, LocalHosts};
pub use local::{
    measure, measure_fi_pingpong, Measurement, Outcome, ToolMeasurement, ToolRun, TwoEndedTool,
    FI_PINGPONG_PORT, PERFTEST_PORT,
};
pub use mpi::{measure_mpi, MpiMeasurement, MpiPlacement, MpiRuntime, MpiTool};
pub use suite::{Suite, SuiteError, Target, TestSpec, ToolPlan};
