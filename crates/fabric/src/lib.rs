//! Runtime-loaded libfabric for rdmabench: the only crate with `unsafe`.
//!
//! libfabric is opened with dlopen so the binary needs no headers at build time and runs on
//! whichever libfabric the host has (Debian 1.17, the EFA installer's 2.x). The safe surface is
//! what a benchmark needs: provider discovery and an RDM endpoint with buffers, registration and
//! completion handling that honour EFA's requirements.

mod buffer;
mod endpoint;
mod error;
mod ffi;
mod info;
mod library;

pub use buffer::AlignedBuffer;
pub use endpoint::{Completion, Endpoint, EndpointOptions, RemoteMemory, RmaEmulation};
pub use error::FabricError;
pub use info::{core_provider_name, Info, InfoList, InfoRef, MessageApi, Query};
pub use library::{Library, LIBRARY_ENV};
