#![forbid(unsafe_code)]
//! The rdmabench benchmark engine: ping-pong latency and windowed bandwidth over libfabric or
//! kernel TCP, with the out-of-band control connection that sets them up and watches the peer.

pub mod agent;
mod bandwidth;
pub mod config;
pub mod efa;
pub mod error;
pub mod host;
mod interference;
pub mod measure;
pub mod numa;
pub mod oob;
mod pingpong;
mod pinning;
pub mod progress;
pub mod record;
mod rma;
pub mod session;
pub mod transport;
mod verify;

pub use config::{
    Amount, BandwidthMethod, FabricChoice, ProviderChoice, RmaOp, RunConfig, RunSpec, Test,
    TransportChoice, DEFAULT_PORT, MAX_WINDOW, TOOL_PORTS,
};
pub use error::EngineError;
pub use measure::{run_client, run_server, validate, RunOutput};
pub use transport::fabric::available_providers;
