#![forbid(unsafe_code)]
//! The versioned results model every rdmabench run writes, and the formats it is shown in.

pub mod error;
pub mod format;
pub mod model;

pub use error::ReportError;
pub use format::{render, Format};
pub use model::{
    Endpoints, FabricInfo, HostFacts, LatencySummary, Parameters, Placement, ResultsFile,
    SizeMeasurement, ToolInfo, SCHEMA_VERSION,
};
