#![forbid(unsafe_code)]
//! The latency matrix: ping-pong between every pair of N hosts running `rdmabench agent`, one
//! pair at a time, as an N x N document (row = client, column = server) with the slowest pairs,
//! the outliers against the median pair and every failed pair with its reason. The health check
//! before a big job, on hosts (`rdmabench matrix`) or a cluster's nodes (`rdmabench k8s matrix`,
//! which reads the document back from its coordinator pod's log).

mod document;
mod hosts;
mod measure;
mod render;

pub use document::{Matrix, MATRIX_SCHEMA_VERSION};
pub use hosts::agents;
pub use measure::{measure, MatrixRun};
pub use render::render;

/// Why a matrix cannot be measured or read; each message says what to do instead.
#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    /// The agents given cannot form a matrix (too few, twice, unreadable hosts file ...).
    #[error("{0}")]
    Hosts(String),
    /// The outlier factor cannot separate outliers from the median pair.
    #[error(
        "--outlier-factor {0} must be above 1 (e.g. 1.5: a pair 50% slower than the median pair)"
    )]
    OutlierFactor(f64),
    /// A coordinator's log holds no matrix document.
    #[error("the coordinator's log holds no matrix: {0}")]
    NotInLog(String),
}
