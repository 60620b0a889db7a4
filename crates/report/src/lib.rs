#![forbid(unsafe_code)]
//! The versioned results model every rdmabench run writes, and the formats it is shown in.

pub mod collection;
pub mod comparison;
pub mod document;
pub mod error;
pub mod files;
pub mod format;
pub mod import;
pub mod plot;
#[cfg(feature = "png")]
mod png;
pub mod seed;
pub mod tables;

pub use collection::LoadedRun;
pub use document::{Report, ReportFormat};
pub use error::ReportError;
pub use format::{render, Format};
/// The results schema, which lives in its own crate (`rdmabench-results`); re-exported here for
/// the report's readers.
pub use rdmabench_results as model;
pub use rdmabench_results::{
    Endpoints, FabricInfo, HostFacts, LatencySummary, Parameters, Placement, ResultsFile,
    SizeMeasurement, ToolInfo, OLDEST_SCHEMA_VERSION, SCHEMA_VERSION,
};
