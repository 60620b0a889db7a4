#![forbid(unsafe_code)]
//! Kubernetes: the manifests rdmabench applies (typed with k8s-openapi), the EKS authentication
//! (tokens signed in-process), the orchestration of pod-mode and node-mode runs (kube-rs), and
//! the flows the CLI calls: runs, matrices, deploy, logs, clean and exec, each a synchronous
//! entry point that takes typed options and reports progress through a callback.

pub mod access;
pub mod client;
pub mod devices;
pub mod diagnose;
pub mod eks_token;
pub mod error;
pub mod exec;
pub mod housekeeping;
pub mod manifests;
pub mod matrix;
pub mod orchestrate;
mod policy_engine;
pub mod runs;
mod runtime;

pub use error::K8sError;
