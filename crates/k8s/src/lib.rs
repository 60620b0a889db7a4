#![forbid(unsafe_code)]
//! Kubernetes: the manifests rdmabench applies (typed with k8s-openapi), the EKS authentication
//! (tokens signed in-process), and the orchestration of pod-mode and node-mode runs (kube-rs).

pub mod client;
pub mod diagnose;
pub mod eks_token;
pub mod error;
pub mod exec;
pub mod manifests;
pub mod orchestrate;

pub use error::K8sError;
