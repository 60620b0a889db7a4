#![forbid(unsafe_code)]
//! The rdmabench benchmark engine: a ping-pong latency measurement over libfabric or kernel
//! TCP, with the out-of-band control connection that sets it up and watches the peer.

pub mod config;
pub mod error;
pub mod host;
pub mod measure;
pub mod oob;
mod pinning;
pub mod session;
pub mod transport;

pub use config::{Amount, PingPongConfig, ProviderChoice, TransportChoice, DEFAULT_PORT};
pub use error::EngineError;
pub use measure::{run_client, run_server, validate, RunOutput};
pub use transport::fabric::available_providers;
