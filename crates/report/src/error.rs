//! What can go wrong when reading results or choosing how to show them.

/// A results file or format name could not be used; each message says what to do instead.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReportError {
    /// The text is not JSON or not the results layout, e.g. a log file passed by mistake.
    #[error(
        "not an rdmabench results file: {0}; give a file written by rdmabench with the json format"
    )]
    Malformed(String),
    /// The file was written by an rdmabench with a different layout, which this build would
    /// misread.
    #[error("results file has schema_version {found}, but this rdmabench reads versions {oldest} to {newest}; read it with the rdmabench version that wrote it (see tool.version in the file)")]
    SchemaVersion {
        /// Version in the file.
        found: u64,
        /// Oldest version this build reads.
        oldest: u32,
        /// Newest version this build reads (the one it writes).
        newest: u32,
    },
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
