#![forbid(unsafe_code)]
//! The cloud stack: a typed configuration, its synthesis into Terraform JSON, and the facts
//! (EFA instance types) the synthesis needs; driving terraform over the stack's lifetime; and the
//! few AWS calls (STS, Service Quotas, tagging) made directly. On top, the flows the CLI runs
//! (`init`, `infra ...`), which reach the user only through callbacks.

pub mod aws;
pub mod config;
pub mod config_file;
pub mod eks_versions;
pub mod error;
pub mod instances;
pub mod orphans;
pub mod preflight;
pub mod pricing;
pub mod process;
pub mod quotas;
pub mod stack;
pub mod state;
pub mod synth;
pub mod template;
pub mod terraform;
pub mod ttl;
pub mod workspace;

pub use config::{ConfigError, EfaDevices, K8sConfig, StackConfig};
pub use error::InfraError;
pub use synth::{synthesize, Synthesized};
