//! Why a pipeline step could not run: what was being done, and the cause beneath it (which the
//! binary prints as a chain, `what: cause`).

use rdmabench_fabric::FabricError;
use rdmabench_report::import::ImportError;
use rdmabench_stats::ParseError;

use crate::hosts::NetnsError;
use crate::launch::LaunchError;
use crate::local::LocalError;
use crate::suite::SuiteError;

/// An error from a caller's callback (an option check, the report), with its causes.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A step of the run pipeline failed; each message says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The request cannot work as given; the message says what to change.
    #[error("{0}")]
    Refused(String),
    /// libfabric could not answer.
    #[error("{what}")]
    Fabric {
        /// What needed libfabric.
        what: String,
        /// What libfabric said.
        #[source]
        source: FabricError,
    },
    /// A file or process operation failed.
    #[error("{what}")]
    Io {
        /// What was being done, naming the path.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A size, count or duration did not parse.
    #[error("{what}")]
    Parse {
        /// Which option or field.
        what: String,
        /// Why it is not valid.
        #[source]
        source: ParseError,
    },
    /// A reference tool's output could not be read.
    #[error("{what}")]
    Import {
        /// Which output, quoted.
        what: String,
        /// The parser's complaint, naming the line.
        #[source]
        source: ImportError,
    },
    /// The engine could not answer (e.g. which providers libfabric has).
    #[error("{what}")]
    Engine {
        /// What was asked.
        what: String,
        /// The engine's error.
        #[source]
        source: rdmabench_engine::EngineError,
    },
    /// A results file could not be read back.
    #[error("{what}")]
    Results {
        /// Which file.
        what: String,
        /// Why it is not a results file.
        #[source]
        source: rdmabench_results::ResultsError,
    },
    /// One test of a suite cannot run as written.
    #[error("test '{test}'")]
    Test {
        /// The test's name.
        test: String,
        /// What is wrong with it.
        #[source]
        source: BoxError,
    },
    /// The caller could not write or show the report.
    #[error("writing the report")]
    Report(#[source] BoxError),
    /// The stack (configuration, terraform, AWS).
    #[cfg(feature = "eks")]
    #[error(transparent)]
    Infra(#[from] rdmabench_infra::InfraError),
    /// The benchmark image.
    #[cfg(feature = "eks")]
    #[error(transparent)]
    Image(#[from] rdmabench_image::ImageError),
    /// The cluster.
    #[cfg(feature = "eks")]
    #[error(transparent)]
    K8s(#[from] rdmabench_k8s::K8sError),
    /// --down-after could not destroy the stack; `failure` is what had ended the run before.
    #[cfg(feature = "eks")]
    #[error("--down-after could not destroy the stack; run `rdmabench infra down` again")]
    DownAfter {
        /// Why the destruction failed.
        #[source]
        source: rdmabench_infra::InfraError,
        /// The run's own failure, which the caller shows too.
        failure: Option<Box<PipelineError>>,
    },
    /// Starting or running a process of the run failed.
    #[error(transparent)]
    Local(#[from] LocalError),
    /// The local target's network namespaces could not be made.
    #[error(transparent)]
    Netns(#[from] NetnsError),
    /// The suite is not valid.
    #[error(transparent)]
    Suite(#[from] SuiteError),
    /// A launch map could not be used.
    #[error(transparent)]
    Launch(#[from] LaunchError),
}

impl PipelineError {
    /// A libfabric failure while doing `what`.
    pub(crate) fn fabric(what: impl Into<String>) -> impl FnOnce(FabricError) -> Self {
        let what = what.into();
        move |source| PipelineError::Fabric { what, source }
    }

    /// An I/O failure while doing `what`.
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| PipelineError::Io { what, source }
    }

    /// A value of `what` that did not parse.
    pub(crate) fn parse(what: impl Into<String>) -> impl FnOnce(ParseError) -> Self {
        let what = what.into();
        move |source| PipelineError::Parse { what, source }
    }
}
