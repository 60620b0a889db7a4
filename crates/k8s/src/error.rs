//! What can go wrong in the cluster, each variant saying what happened and what to do.

use std::path::PathBuf;
use std::time::Duration;

use crate::client::ClientError;

/// A Kubernetes step failed.
#[derive(Debug, thiserror::Error)]
pub enum K8sError {
    /// The API server refused or failed a request.
    #[error("{action}: {message}")]
    Api {
        /// What rdmabench was doing, e.g. "applying Pod rdmabench-pod-server".
        action: String,
        /// The API server's status message and code, or the transport error.
        message: String,
    },
    /// A wait ran out of time; `state` is the last thing seen.
    #[error("{what} did not happen within {limit:?}; last seen: {state}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// The limit.
        limit: Duration,
        /// The last observed state, with a hint.
        state: String,
    },
    /// A pod cannot be scheduled, will not start, or failed; `hint` says what to do.
    #[error("pod {pod}: {cause}\n  hint: {hint}")]
    Pod {
        /// Namespace/name.
        pod: String,
        /// What Kubernetes or the benchmark reported.
        cause: String,
        /// The likely fix.
        hint: String,
    },
    /// A benchmark's container ran and exited with an error: the benchmark's own failure
    /// (not installed, not supported on this fabric, crashed), not the cluster's.
    #[error("pod {pod}: {cause}\n  hint: {hint}")]
    Exited {
        /// Namespace/name.
        pod: String,
        /// The exit and the log's last lines.
        cause: String,
        /// The likely fix.
        hint: String,
    },
    /// The client finished but its log holds no results document.
    #[error("pod {pod} succeeded but its log has no results JSON: {reason}")]
    NoResults {
        /// Namespace/name.
        pod: String,
        /// Why the log could not be read as results.
        reason: String,
    },
    /// Not enough EFA nodes to place server and client on different nodes.
    #[error("{found} node(s) labelled {label} are Ready; a measurement needs 2 on different nodes (check `rdmabench infra status` and the node group's desired size)")]
    TooFewNodes {
        /// Ready EFA nodes found.
        found: usize,
        /// The node label selector.
        label: String,
    },
    /// Ctrl-C: what was created has been removed.
    #[error("interrupted")]
    Interrupted,
    /// The stack configuration does not describe usable nodes.
    #[error(transparent)]
    Config(#[from] rdmabench_infra::ConfigError),
    /// No client for the cluster could be set up (credentials, kubeconfig, endpoint).
    #[error("connecting to {to}")]
    Connect {
        /// What was being reached, e.g. "the Kubernetes API".
        to: &'static str,
        /// Why it failed.
        source: ClientError,
    },
    /// The async runtime the Kubernetes client runs on could not start.
    #[error("starting the Kubernetes client runtime")]
    Runtime(#[source] std::io::Error),
    /// A results file could not be written.
    #[error("writing {} (does the directory exist?)", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A run was asked for without tests, so there is nothing to deploy for.
    #[error("no tests to run")]
    NoTests,
    /// `logs` found nothing: runs remove their pods when they end.
    #[error("no benchmark pods exist in namespace {namespace} (a run removes its pods when it ends; its results and errors were printed then)")]
    NoBenchPods {
        /// The namespace looked in.
        namespace: String,
    },
    /// k8s.efa = "dra" on a cluster that does not serve the DRA API.
    #[error("k8s.efa = \"dra\" needs Dynamic Resource Allocation (resource.k8s.io/v1, Kubernetes 1.34 or later), and this cluster does not serve it: upgrade the cluster, or set k8s.efa = \"device-plugin\"")]
    NoDraApi,
    /// The device plugin and the DRA driver would both manage the nodes' EFA devices.
    #[error("the cluster runs an {installed} ({daemon_set}), and k8s.efa = \"{wanted}\" would install the {wanted_called} beside it; the EKS user guide says the two cannot coexist on a node (devices would be handed out twice). Set k8s.efa = \"{installed_setting}\" to use the installed one, or remove it first")]
    BothEfaMechanisms {
        /// What runs already, e.g. "EFA device plugin".
        installed: &'static str,
        /// Its DaemonSet, namespace/name.
        daemon_set: String,
        /// The k8s.efa setting that would use it.
        installed_setting: &'static str,
        /// The configured k8s.efa.
        wanted: &'static str,
        /// What that setting installs.
        wanted_called: &'static str,
    },
    /// A step of a longer flow failed; `what` names the step (a test and mode, a matrix mode),
    /// so a long run's error says where it stopped.
    #[error("{what}")]
    During {
        /// The step, e.g. "test 'pingpong' in pod mode".
        what: String,
        /// What went wrong in it.
        source: Box<K8sError>,
    },
}

impl K8sError {
    /// The benchmark itself failed (its container exited with an error, or printed no
    /// results) while the cluster did what was asked: a suite can note it and go on, where an
    /// API, scheduling or timeout failure would only repeat for every later test.
    pub fn is_benchmark_exit(&self) -> bool {
        matches!(self, K8sError::Exited { .. } | K8sError::NoResults { .. })
    }

    /// This error as the cause of `what`, a step of a longer flow.
    pub(crate) fn during(self, what: String) -> K8sError {
        K8sError::During {
            what,
            source: Box::new(self),
        }
    }

    /// A closure that wraps a kube error with what was being done.
    pub(crate) fn api(action: impl Into<String>) -> impl FnOnce(kube::Error) -> K8sError {
        let action = action.into();
        move |error| {
            let message = match &error {
                kube::Error::Api(status) => format!(
                    "{} ({} {})",
                    status.message.trim(),
                    status.code,
                    status.reason
                ),
                other => {
                    let mut message = other.to_string();
                    let mut source = std::error::Error::source(other);
                    while let Some(inner) = source {
                        message = format!("{message}: {inner}");
                        source = inner.source();
                    }
                    message
                }
            };
            K8sError::Api { action, message }
        }
    }
}
