//! Measurement runs on the cluster: every test in every mode, repeated, node and pod mode
//! alternating and never at once, one results file per measurement with where it ran.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use rdmabench_infra::StackConfig;
use rdmabench_results::run_dir::results_file_name;
use rdmabench_results::{write_atomically, NetworkPolicyEnforcement, Placement, ResultsFile};
use tokio::sync::watch;

use crate::access::ChosenCluster;
use crate::devices::EfaNode;
use crate::error::K8sError;
use crate::manifests::{BenchSpec, Bundle, Mode, ModeObjects};
use crate::orchestrate::{Cluster, Progress, Timeouts};
use crate::runtime::{block_on, interrupted, watch_flag};

/// How long a run waits for the device plugin when it was not deployed beforehand.
pub(crate) const PLUGIN_LIMIT: Duration = Duration::from_secs(600);

/// One test to measure on the cluster: its name (for the files), the measurement ("pingpong",
/// "bw", "tool" ...) with the options of both ends, and the modes, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterTest {
    /// Names the results files.
    pub name: String,
    /// The measurement subcommand both ends run.
    pub kind: String,
    /// Its options, already checked by the caller (with the CLI's own parser): the pods run
    /// them as they are.
    pub bench_options: Vec<String>,
    /// Node and/or pod mode.
    pub modes: Vec<Mode>,
    /// The client starts its peer in the server pod through the exec API (MPI tools).
    pub launcher: bool,
}

/// Everything a run on the cluster needs besides the stack's configuration and the cluster.
#[derive(Debug, Clone)]
pub struct ClusterRun {
    /// The benchmark image.
    pub image: String,
    /// The tests, in order.
    pub tests: Vec<ClusterTest>,
    /// Repetitions of the whole list; modes alternate within each.
    pub repeat: u32,
    /// Where the results files go (exists already).
    pub run_dir: PathBuf,
    /// Limits of each measurement.
    pub timeouts: Timeouts,
    /// Hand each measurement to the caller as it is written (`k8s run` prints its table), or
    /// not (`run` reports the whole run at the end).
    pub print_tables: bool,
}

/// What a run on the cluster produced. `F` is how the caller holds the failure that ended it,
/// so a CLI can keep it beside its other steps' errors.
#[derive(Debug)]
pub struct TestsRun<F = K8sError> {
    /// The results files written.
    pub written: Vec<PathBuf>,
    /// Ctrl-C stopped it.
    pub stopped: bool,
    /// Reference tools that could not run in a mode, and why (the rest ran on).
    pub tool_failures: Vec<String>,
    /// What ended the run before every test had run; `written` holds what was measured first.
    pub failure: Option<F>,
}

/// The report's note for a run that a failure ended early: what it has is what ran before.
/// The failure is shown with `{:#}`, which prints an error chain whole.
pub fn stopped_early<F: Display>(failure: &F) -> String {
    format!("the run stopped early, so later tests are missing: {failure:#}")
}

/// Measures every test in every mode, `repeat` times (node, pod, node, pod ...; never two at
/// once), after making sure the device plugin reports EFA; writes one results file per
/// measurement into `run.run_dir`, its placement filled in, and hands it to `show` when
/// `run.print_tables`. A reference tool that exits with an error (not installed, not supported
/// on EFA) is noted and the rest goes on; any other failure, the cluster's included, ends the run
/// (`TestsRun::failure`, beside what was measured before it). `interrupted` turning true
/// (Ctrl-C) removes what runs and returns with `stopped`.
pub fn run_tests<E: From<K8sError>>(
    config: &StackConfig,
    cluster: &ChosenCluster,
    run: &ClusterRun,
    interrupted: Arc<AtomicBool>,
    progress: Progress,
    show: &mut dyn FnMut(&ResultsFile) -> Result<(), E>,
) -> Result<TestsRun<E>, E> {
    let bundles = run
        .tests
        .iter()
        .map(|test| {
            let spec = BenchSpec::for_stack(
                config,
                &cluster.namespace,
                run.image.clone(),
                &test.kind,
                test.bench_options.clone(),
                run.timeouts.run,
            )
            .map_err(|e| K8sError::from(e).during(format!("test '{}'", test.name)))?;
            Ok(Bundle::new(
                &BenchSpec {
                    launcher: test.launcher,
                    ..spec
                },
                &test.modes,
            ))
        })
        .collect::<Result<Vec<Bundle>, K8sError>>()?;
    let first = bundles.first().ok_or(K8sError::NoTests)?;
    let efa_per_node = config.instance().map_err(K8sError::from)?.network_cards;
    block_on(async {
        let open = cluster.open(progress).await?;
        let shutdown = watch_flag(interrupted);
        if deploy_or_stop(&open, first, efa_per_node, shutdown.clone())
            .await?
            .is_none()
        {
            return Ok(TestsRun {
                written: Vec::new(),
                stopped: true,
                tool_failures: Vec::new(),
                failure: None,
            });
        }
        let placement = Placement {
            network_policy: recorded_enforcement(&open).await,
            ..cluster.placement.clone()
        };
        let measuring = Measuring {
            cluster: &open,
            placement: &placement,
            run,
            shutdown,
        };
        measuring.all(&bundles, show).await
    })
}

/// The cluster's NetworkPolicy enforcement for the results, or None (said on progress) when
/// the account may not read it: a guess would be worse than no record.
async fn recorded_enforcement(cluster: &Cluster) -> Option<NetworkPolicyEnforcement> {
    match cluster.network_policy_enforcement().await {
        Ok(found) => {
            cluster.say(&format!(
                "NetworkPolicy engine: {} ({}); {} policies in namespace {}",
                found.engine.as_deref().unwrap_or("none found"),
                if found.enforcing {
                    "enforcing"
                } else {
                    "not enforcing"
                },
                found.policies_in_namespace,
                cluster.namespace()
            ));
            Some(found)
        }
        Err(error) => {
            cluster.say(&format!("not recording NetworkPolicy enforcement: {error}"));
            None
        }
    }
}

/// Installs the shared objects and waits for the device plugin, or for Ctrl-C, which the
/// process's handler turns into the flag instead of exiting: None when that came first.
pub(crate) async fn deploy_or_stop(
    cluster: &Cluster,
    bundle: &Bundle,
    efa_per_node: u32,
    shutdown: watch::Receiver<bool>,
) -> Result<Option<Vec<EfaNode>>, K8sError> {
    tokio::select! {
        deployed = cluster.deploy(bundle, efa_per_node, PLUGIN_LIMIT) => deployed.map(Some),
        () = interrupted(shutdown) => {
            cluster.say("stopped before any measurement; nothing to remove");
            Ok(None)
        }
    }
}

/// One run's measurements in progress, on a connected cluster.
struct Measuring<'a> {
    cluster: &'a Cluster,
    placement: &'a Placement,
    run: &'a ClusterRun,
    shutdown: watch::Receiver<bool>,
}

impl Measuring<'_> {
    async fn all<E: From<K8sError>>(
        &self,
        bundles: &[Bundle],
        show: &mut dyn FnMut(&ResultsFile) -> Result<(), E>,
    ) -> Result<TestsRun<E>, E> {
        let run = self.run;
        let mut done = TestsRun {
            written: Vec::new(),
            stopped: false,
            tool_failures: Vec::new(),
            failure: None,
        };
        for repetition in 1..=run.repeat {
            for (test, bundle) in run.tests.iter().zip(bundles) {
                for objects in &bundle.modes {
                    let mode = objects.mode.as_str();
                    self.cluster.say(&format!(
                        "{} in {mode} mode, repetition {repetition} of {}",
                        test.name, run.repeat
                    ));
                    let measurement = match self
                        .cluster
                        .measure(objects, run.timeouts, self.shutdown.clone())
                        .await
                    {
                        Err(K8sError::Interrupted) => {
                            done.stopped = true;
                            return Ok(done);
                        }
                        Err(error) if test.kind == "tool" && error.is_benchmark_exit() => {
                            let why = format!("{} in {mode} mode did not run: {error}", test.name);
                            self.cluster.say(&why);
                            done.tool_failures.push(why);
                            continue;
                        }
                        Err(error) => {
                            let what = format!("test '{}' in {mode} mode", test.name);
                            done.failure = Some(E::from(error.during(what)));
                            return Ok(done);
                        }
                        Ok(measurement) => measurement,
                    };
                    let mut results = measurement.results;
                    results.placement = Some(Placement {
                        mode: mode.into(),
                        server_node: measurement.server_node,
                        client_node: measurement.client_node,
                        image: run.image.clone(),
                        repetition,
                        ..self.placement.clone()
                    });
                    let path = results_path(&run.run_dir, &test.name, objects, repetition);
                    write_atomically(&path, results.to_json_pretty().as_bytes()).map_err(
                        |source| K8sError::Write {
                            path: path.clone(),
                            source,
                        },
                    )?;
                    self.cluster.say(&format!("wrote {}", path.display()));
                    if run.print_tables {
                        show(&results)?;
                    }
                    done.written.push(path);
                }
            }
        }
        Ok(done)
    }
}

fn results_path(dir: &Path, test: &str, objects: &ModeObjects, repetition: u32) -> PathBuf {
    dir.join(results_file_name(
        test,
        Some(objects.mode.as_str()),
        repetition,
    ))
}
