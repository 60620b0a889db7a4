//! The latency matrix of the whole node group: the shared objects, one agent pod per Ready EFA
//! node, and per mode one coordinator pod that measures every pair; each mode's coordinator
//! log goes back to the caller, which reads the matrix document in it.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use rdmabench_infra::StackConfig;

use crate::access::ChosenCluster;
use crate::error::K8sError;
use crate::manifests::{agent_pod, coordinator_pod, BenchSpec, Bundle, Mode};
use crate::orchestrate::{MatrixRun, Progress, Timeouts};
use crate::runs::deploy_or_stop;
use crate::runtime::{block_on, watch_flag};

/// A matrix to run on the cluster.
#[derive(Debug, Clone)]
pub struct MatrixPlan {
    /// The benchmark image.
    pub image: String,
    /// The modes, in order.
    pub modes: Vec<Mode>,
    /// The coordinator's options besides the hosts, already checked by the caller.
    pub options: Vec<String>,
    /// Limits of each mode's matrix.
    pub timeouts: Timeouts,
}

/// How a matrix ended when nothing failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatrixEnd {
    /// Every mode ran and was handed over.
    Finished,
    /// Ctrl-C stopped it; its pods are removed.
    Interrupted,
}

/// Runs the matrix of `plan` in each mode in turn, after making sure the device plugin reports
/// EFA: one agent on each Ready node with every EFA interface (the wait for the plugin asks
/// for two at least), then a
/// coordinator measuring every pair. Each mode's coordinator log and the agents' nodes go to
/// `each_mode` as soon as that mode is done, so an error later keeps what came before.
pub fn matrix<E: From<K8sError>>(
    config: &StackConfig,
    cluster: &ChosenCluster,
    plan: &MatrixPlan,
    interrupted: Arc<AtomicBool>,
    progress: Progress,
    each_mode: &mut dyn FnMut(Mode, MatrixRun) -> Result<(), E>,
) -> Result<MatrixEnd, E> {
    let efa_per_node = config.instance().map_err(K8sError::from)?.network_cards;
    let base = BenchSpec::for_stack(
        config,
        &cluster.namespace,
        plan.image.clone(),
        "matrix",
        Vec::new(),
        plan.timeouts.run,
    )
    .map_err(K8sError::from)?;
    let agent_spec = BenchSpec {
        test: "agent".into(),
        // The agents outlive the matrix only until the coordinator is done; the pods' deadline
        // and this idle limit stop a forgotten one.
        bench_args: vec![
            "--idle-timeout".into(),
            format!("{}s", plan.timeouts.run.as_secs() + 300),
        ],
        ..base.clone()
    };
    // The namespace and the device plugin; the pods follow per mode.
    let shared = Bundle::new(&base, &[]);
    block_on(async {
        let open = cluster.open(progress).await?;
        let shutdown = watch_flag(interrupted);
        let Some(efa_nodes) =
            deploy_or_stop(&open, &shared, efa_per_node, shutdown.clone()).await?
        else {
            return Ok(MatrixEnd::Interrupted);
        };
        let mut nodes: Vec<String> = efa_nodes
            .into_iter()
            .filter(|n| n.ready && n.efa >= efa_per_node)
            .map(|n| n.name)
            .collect();
        nodes.sort();
        for &mode in &plan.modes {
            let agents: Vec<_> = nodes
                .iter()
                .enumerate()
                .map(|(i, node)| agent_pod(&agent_spec, mode, i, node))
                .collect();
            let coordinator = |hosts: &[String]| {
                let mut args: Vec<String> = hosts.to_vec();
                args.extend(plan.options.iter().cloned());
                coordinator_pod(
                    &BenchSpec {
                        bench_args: args,
                        ..base.clone()
                    },
                    mode,
                )
            };
            open.say(&format!(
                "{} mode matrix over {} nodes",
                mode.as_str(),
                nodes.len()
            ));
            let run = match open
                .matrix(
                    mode,
                    &agents,
                    base.port,
                    &coordinator,
                    plan.timeouts,
                    shutdown.clone(),
                )
                .await
            {
                Err(K8sError::Interrupted) => return Ok(MatrixEnd::Interrupted),
                Err(error) => {
                    return Err(error
                        .during(format!("the {} mode matrix", mode.as_str()))
                        .into())
                }
                Ok(run) => run,
            };
            each_mode(mode, run)?;
        }
        Ok(MatrixEnd::Finished)
    })
}
