//! The cluster outside a run: installing the shared objects ahead of time, reading what
//! benchmark pods are left, and removing everything rdmabench created.

use std::time::Duration;

use rdmabench_infra::StackConfig;

use crate::access::ChosenCluster;
use crate::devices::EfaNode;
use crate::error::K8sError;
use crate::manifests::{BenchSpec, Bundle, Mode};
use crate::orchestrate::Progress;
use crate::runtime::block_on;

/// One benchmark pod's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodLog {
    /// The pod's name.
    pub pod: String,
    /// Its log, both streams.
    pub log: String,
}

/// Installs the namespace and (unless the cluster has one) the EFA device
/// plugin, then waits up to `limit` until two Ready nodes advertise every EFA interface of the
/// stack's instance type; returns the EFA nodes, so a first run does not wait for the plugin.
pub fn deploy(
    config: &StackConfig,
    cluster: &ChosenCluster,
    limit: Duration,
    progress: Progress,
) -> Result<Vec<EfaNode>, K8sError> {
    let efa_per_node = config.instance()?.network_cards;
    // The shared objects need no image or measurement.
    let spec = BenchSpec::for_stack(
        config,
        &cluster.namespace,
        String::new(),
        "pingpong",
        Vec::new(),
        Duration::ZERO,
    )?;
    let bundle = Bundle::new(&spec, &[]);
    block_on(async {
        let open = cluster.open(progress).await?;
        open.deploy(&bundle, efa_per_node, limit).await
    })
}

/// The logs of the benchmark pods that still exist (of `mode`, or of both), by pod name: what a
/// failed or killed run left to look at. None is an error that says why.
pub fn logs(
    cluster: &ChosenCluster,
    mode: Option<Mode>,
    progress: Progress,
) -> Result<Vec<PodLog>, K8sError> {
    block_on(async {
        let open = cluster.open(progress).await?;
        let pods = open.bench_pods(mode.map(Mode::as_str)).await?;
        if pods.is_empty() {
            return Err(K8sError::NoBenchPods {
                namespace: cluster.namespace.clone(),
            });
        }
        let mut logs = Vec::new();
        for pod in pods {
            let log = open.log(&pod).await?;
            logs.push(PodLog { pod, log });
        }
        Ok(logs)
    })
}

/// Deletes every benchmark pod and Service, rdmabench's device plugin and the namespace,
/// waiting up to `limit` for each; returns what was deleted ("pod rdmabench/...").
pub fn clean(
    cluster: &ChosenCluster,
    limit: Duration,
    progress: Progress,
) -> Result<Vec<String>, K8sError> {
    block_on(async {
        let open = cluster.open(progress).await?;
        open.clean(limit).await
    })
}
