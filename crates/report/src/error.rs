//! What can go wrong when reading results or choosing how to show them.

/// A results file or format name could not be used; each message says what to do instead.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReportError {
    /// A results file could not be read.
    #[error(transparent)]
    Results(#[from] rdmabench_results::ResultsError),
    /// The user named a format this build does not have.
    #[error("unknown format '{0}': use one of table, json, csv, markdown")]
    UnknownFormat(String),
    /// `rdmabench report` was given nothing to report on.
    #[error("no results to report on: give one or more results files (JSON written by rdmabench run, k8s run or pingpong --format json)")]
    NoResults,
    /// The chosen baseline does not exist.
    #[error("{0}")]
    Baseline(String),
    /// The user named a report format this build does not have.
    #[error("unknown report format '{0}': use one of table, markdown, json, csv, html")]
    UnknownReportFormat(String),
}
