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
    /// No usable terraform binary (missing or too old); the message names the fix.
    #[error(transparent)]
    TerraformBinary(TerraformError),
    /// rdmabench stops before doing what was asked; the message says why and what to do instead.
    #[error("{0}")]
    Refused(String),
    /// The user answered the confirmation with something other than yes.
    #[error("cancelled; nothing was changed")]
    Cancelled,
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

impl InfraError {
    /// Wraps a terraform error with the step it happened in.
    pub fn terraform(step: &str, source: TerraformError) -> InfraError {
        InfraError::Terraform {
            step: step.to_string(),
            source,
        }
    }

    /// Wraps `source` with what was being done when it happened.
    pub fn context(
        what: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> InfraError {
        InfraError::Context {
            what: what.into(),
            source: source.into(),
        }
    }
}
