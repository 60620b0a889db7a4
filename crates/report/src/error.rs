//! What can go wrong when reading results or choosing how to show them.

/// A results file or format name could not be used; each message says what to do instead.
#[derive(Debug, thiserror::Error)]
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
    /// A results file, a run directory or a report file could not be read or written.
    #[error("{what}: {source}")]
    File {
        /// What was being read or written, naming the path.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A run directory holds nothing to report on.
    #[error("{0} holds no *.json results files, nor do the directories in it: give the directory of a run (results/<time>-<target>/), the directory of runs (results/) or the files themselves")]
    EmptyDirectory(String),
    /// A results file is not one, named by its path.
    #[error("reading {path}: {source}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why it is not a results file.
        #[source]
        source: rdmabench_results::ResultsError,
    },
    /// A chart could not be drawn as PNG.
    #[error("drawing {path}: {detail}")]
    Png {
        /// The PNG file.
        path: String,
        /// What went wrong.
        detail: String,
    },
}

impl ReportError {
    /// An I/O failure, with what was being done.
    pub fn file(what: impl Into<String>, source: std::io::Error) -> Self {
        ReportError::File {
            what: what.into(),
            source,
        }
    }
}
