#![forbid(unsafe_code)]
//! The benchmark image: building it with docker buildx for the nodes' architecture and pushing
//! it to the stack's ECR repository, and the record of the pushed image that the Kubernetes
//! layer reads to know which image its pods run. [`flows`] holds the commands built from them.

pub mod docker;
pub mod ecr;
pub mod flows;
mod process;
pub mod source;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Version of the `image.json` layout.
pub const RECORD_SCHEMA_VERSION: u32 = 1;
/// The record's file name in the stack's state directory.
const RECORD_FILE: &str = "image.json";

/// Building or pushing the image failed.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// A tool rdmabench drives is not installed.
    #[error("{tool} was not found on PATH; {needed_for}")]
    ToolMissing {
        /// The program.
        tool: &'static str,
        /// Why it is needed and how to get it.
        needed_for: &'static str,
    },
    /// The docker CLI is there but no engine answers it.
    #[error("no Docker engine answers: {details}\nhint: start Docker (Docker Desktop, or `sudo systemctl start docker`), or point DOCKER_HOST or `docker context use` at a running engine")]
    EngineUnreachable {
        /// What docker said.
        details: String,
    },
    /// The engine answers but the buildx plugin is missing.
    #[error("docker buildx is not available: {details}\nhint: install the buildx plugin (Debian/Ubuntu: docker-buildx-plugin; it comes with Docker Desktop)")]
    BuildxMissing {
        /// What docker said.
        details: String,
    },
    /// A command exited with an error.
    #[error("`{command}` failed: {details}")]
    Failed {
        /// The command line (never with secrets: those go through stdin).
        command: String,
        /// Exit status and the tool's message.
        details: String,
    },
    /// A command ran past its limit and was stopped.
    #[error("`{command}` did not finish within {limit:?} and was stopped")]
    TimedOut {
        /// The command line.
        command: String,
        /// The limit.
        limit: Duration,
    },
    /// The build context is not a usable rdmabench source tree.
    #[error("cannot build from {}: {reason}", context.display())]
    Source {
        /// The context directory.
        context: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The repository URL is not an ECR repository.
    #[error("{url} is not an ECR repository URL: {reason}")]
    Repository {
        /// The URL given.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// ECR's authorization token could not be used.
    #[error("ECR authorization token: {0}")]
    Token(String),
    /// An ECR call failed.
    #[error(transparent)]
    Aws(#[from] rdmabench_infra::aws::AwsError),
    /// Reading or writing a file, or starting a process, failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The stack's configuration or outputs, which say what to build and where to push it.
    #[error(transparent)]
    Infra(#[from] rdmabench_infra::InfraError),
    /// A step failed: what was being done, with the cause as the error's source (so `{:#}`
    /// reads "what: cause", as anyhow's context does).
    #[error("{what}")]
    Context {
        /// What was being done.
        what: String,
        /// Why it failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl ImageError {
    /// Wraps `source` with what was being done when it happened.
    pub fn context(
        what: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> ImageError {
        ImageError::Context {
            what: what.into(),
            source: source.into(),
        }
    }
}

/// The image a stack's pods and node runs use: written after a push (or after finding the tag
/// already in the registry), read by the Kubernetes layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// Layout version of this file.
    pub schema_version: u32,
    /// `REGISTRY/REPOSITORY:TAG`; the tag is immutable and unique to the image's content.
    pub reference: String,
    /// The platform it was built for, e.g. `linux/arm64`.
    pub platform: String,
    /// RFC 3339 time it was pushed, or found already pushed.
    pub pushed_at: String,
}

/// The image recorded for the stack whose state directory is `stack_dir` (None before the first
/// `image build --push`; an unreadable record is an error).
pub fn recorded_image(stack_dir: &Path) -> Result<Option<ImageRecord>, ImageError> {
    let path = stack_dir.join(RECORD_FILE);
    let io = |source| ImageError::Io {
        what: format!("reading {}", path.display()),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| io(std::io::Error::new(std::io::ErrorKind::InvalidData, e))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(e)),
    }
}

/// Writes the record whole (temporary file + rename), creating the directory if needed.
pub fn record_image(stack_dir: &Path, record: &ImageRecord) -> Result<(), ImageError> {
    let path = stack_dir.join(RECORD_FILE);
    let text = serde_json::to_string_pretty(record).expect("records serialize") + "\n";
    std::fs::create_dir_all(stack_dir)
        .and_then(|()| rdmabench_results::write_atomically(&path, text.as_bytes()))
        .map_err(|source| ImageError::Io {
            what: format!("writing {}", path.display()),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_absence_is_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let stack = dir.path().join("bench");
        assert_eq!(recorded_image(&stack).unwrap(), None);
        let record = ImageRecord {
            schema_version: RECORD_SCHEMA_VERSION,
            reference: "123456789012.dkr.ecr.us-east-1.amazonaws.com/b/bench:0.1.0-abc".into(),
            platform: "linux/arm64".into(),
            pushed_at: "2026-01-01T00:00:00Z".into(),
        };
        record_image(&stack, &record).unwrap();
        assert_eq!(recorded_image(&stack).unwrap(), Some(record));
        assert!(!stack.join("image.json.tmp").exists());
        std::fs::write(stack.join("image.json"), "{").unwrap();
        let error = recorded_image(&stack).unwrap_err().to_string();
        assert!(error.contains("image.json"), "{error}");
    }
}
