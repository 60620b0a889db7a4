//! Errors of stack operations, each saying what failed and what to do about it.

use crate::aws::AwsError;
use crate::config::ConfigError;
use crate::terraform::TerraformError;

/// A stack operation failed.
#[derive(Debug, thiserror::Error)]
pub enum InfraError {
    /// The configuration cannot work.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A terraform command failed.
    #[error("{step}: {source}")]
    Terraform {
        /// Which step ("terraform init", "apply" ...).
        step: String,
        /// What terraform said.
        #[source]
        source: TerraformError,
    },
    /// An AWS API call failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// Reading or writing local files failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A tool answered something rdmabench cannot interpret.
    #[error("unexpected answer: {0}")]
    Unexpected(String),
}

impl InfraError {
    /// Wraps a terraform error with the step it happened in.
    pub fn terraform(step: &str, source: TerraformError) -> InfraError {
        InfraError::Terraform {
            step: step.to_string(),
            source,
        }
    }
}
