#![forbid(unsafe_code)]
//! The cloud stack: a typed configuration, its synthesis into Terraform JSON, and the facts
//! (EFA instance types) the synthesis needs, all offline.

pub mod config;
pub mod instances;
pub mod state;
pub mod synth;
pub mod template;
pub mod terraform;
pub mod ttl;

pub use config::{ConfigError, StackConfig};
pub use synth::{synthesize, Synthesized};
