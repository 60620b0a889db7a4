//! `rdmabench k8s ...`: rendering the manifests, installing the EFA device plugin, and running
//! node-mode and pod-mode measurements on the stack's cluster (or a kubeconfig context).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rdmabench_infra::state;
use rdmabench_infra::StackConfig;
use rdmabench_k8s::client::{connect, ClusterAccess};
use rdmabench_k8s::manifests::{agent_pod, coordinator_pod, BenchSpec, Bundle, Mode, ModeObjects};
use rdmabench_k8s::orchestrate::{interrupted, Cluster, Timeouts};
use rdmabench_k8s::K8sError;
use rdmabench_report::{render, Format, Placement};
use rdmabench_stats::parse_duration;

use crate::bench::remote_options;
use crate::cli::{
    BenchArgs, ClusterArgs, FormatArg, K8sCleanArgs, K8sCommand, K8sDeployArgs, K8sLogsArgs,
    K8sMatrixArgs, K8sRunArgs, ModeArg,
};
use crate::infra::{load_config, stack_outputs};
use crate::interrupt::EXIT_INTERRUPTED;
use crate::output::emit;
use rdmabench_pipeline::results_dir::results_file_name;

/// Deletions of benchmark pods during a run.
const DELETE_LIMIT: Duration = Duration::from_secs(120);
/// How long `run` waits for the device plugin when it was not deployed beforehand.
const PLUGIN_LIMIT: Duration = Duration::from_secs(600);

/// Runs a `k8s` subcommand.
pub fn run(command: &K8sCommand, config_path: &Path, cluster: &ClusterArgs) -> Result<i32> {
    let config = load_config(config_path)?;
    match command {
        K8sCommand::Render(args) => {
            let spec = bench_spec(
                &config,
                cluster,
                image(&config, &args.bench)?,
                "pingpong",
                &args.bench.bench_options,
                Duration::from_secs(1800),
            )?;
            let yaml = Bundle::new(&spec, &modes(args.bench.mode)).to_yaml()?;
            emit(&yaml, None)?;
            Ok(0)
        }
        K8sCommand::Deploy(args) => block_on(deploy(&config, cluster, args)),
        K8sCommand::Run(args) => measure(&config, cluster, args),
        K8sCommand::Matrix(args) => block_on(matrix(&config, cluster, args)),
        K8sCommand::Logs(args) => block_on(logs(&config, cluster, args)),
        K8sCommand::Clean(args) => block_on(clean(&config, cluster, args)),
    }
}

/// `rdmabench launch` into a pod: runs `script` with `env` in `container` of `namespace/name`
/// through the exec API; returns its exit code.
pub fn exec_in_pod(
    namespace: &str,
    name: &str,
    container: &str,
    env: &std::collections::BTreeMap<String, String>,
    script: &str,
) -> Result<i32> {
    let target = rdmabench_k8s::exec::ExecTarget {
        namespace: namespace.to_string(),
        pod: name.to_string(),
        container: container.to_string(),
    };
    let command: Vec<String> = ["env".to_string()]
        .into_iter()
        .chain(env.iter().map(|(k, v)| format!("{k}={v}")))
        .chain(["sh".to_string(), "-c".to_string(), script.to_string()])
        .collect();
    block_on(async {
        let client = rdmabench_k8s::client::infer()
            .await
            .context("connecting to the cluster to start the remote side")?;
        Ok(rdmabench_k8s::exec::exec(client, &target, command).await?)
    })
}

fn block_on<T>(future: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the Kubernetes client runtime")?
        .block_on(future)
}

fn modes(arg: ModeArg) -> Vec<Mode> {
    match arg {
        ModeArg::Node => vec![Mode::Node],
        ModeArg::Pod => vec![Mode::Pod],
        ModeArg::Both => vec![Mode::Node, Mode::Pod],
    }
}

/// The image to run: --image, else the one `image build --push` recorded for this stack.
fn image(config: &StackConfig, bench: &BenchArgs) -> Result<String> {
    match &bench.image {
        Some(image) => Ok(image.clone()),
        None => recorded_image(config),
    }
}

/// The image `image build --push` recorded for this stack.
fn recorded_image(config: &StackConfig) -> Result<String> {
    let stack_dir = state::stack_dir(&config.name);
    let recorded = rdmabench_image::recorded_image(&stack_dir)
        .with_context(|| format!("reading the recorded image in {}", stack_dir.display()))?;
    match recorded {
        Some(record) => Ok(record.reference),
        None => bail!(
            "no image recorded for stack '{}': push one with `rdmabench image build --push`, or pass --image REF",
            config.name
        ),
    }
}

fn bench_spec(
    config: &StackConfig,
    cluster: &ClusterArgs,
    image: String,
    kind: &str,
    options: &[String],
    limit: Duration,
) -> Result<BenchSpec> {
    Ok(BenchSpec {
        namespace: cluster.namespace.clone(),
        image,
        region: config.region.clone(),
        instance: config.instance()?,
        hugepages_2mi: config.nodes.hugepages_2mi,
        port: rdmabench_engine::DEFAULT_PORT,
        test: kind.to_string(),
        bench_args: remote_options(kind, options)?,
        deadline_seconds: i64::try_from(limit.as_secs()).unwrap_or(i64::MAX),
        launcher: false,
    })
}

/// Which cluster, and its name for the results.
fn access(config: &StackConfig, cluster: &ClusterArgs) -> Result<(ClusterAccess, Placement)> {
    let mut placement = Placement {
        target: "kubernetes".into(),
        cluster: String::new(),
        mode: String::new(),
        namespace: cluster.namespace.clone(),
        server_node: String::new(),
        client_node: String::new(),
        instance_type: config.nodes.instance_type.clone(),
        image: String::new(),
        repetition: 0,
    };
    if cluster.kubeconfig || cluster.context.is_some() {
        placement.cluster = cluster
            .context
            .clone()
            .unwrap_or_else(|| "(current context)".into());
        return Ok((
            ClusterAccess::Kubeconfig {
                context: cluster.context.clone(),
            },
            placement,
        ));
    }
    let outputs = stack_outputs(
        config,
        &[
            "cluster_name",
            "cluster_endpoint",
            "cluster_certificate_authority",
        ],
        "pass --context NAME (or --kubeconfig) to use a cluster from your kubeconfig",
    )?;
    let [name, endpoint, ca] = <[String; 3]>::try_from(outputs).expect("three outputs asked");
    placement.target = "eks".into();
    placement.cluster = name.clone();
    Ok((
        ClusterAccess::Eks {
            cluster_name: name,
            region: config.region.clone(),
            endpoint,
            certificate_authority: Some(ca),
        },
        placement,
    ))
}

fn progress() -> rdmabench_k8s::orchestrate::Progress {
    Arc::new(|line: &str| eprintln!("rdmabench: {line}"))
}

async fn open(config: &StackConfig, cluster: &ClusterArgs) -> Result<(Cluster, Placement)> {
    let (access, placement) = access(config, cluster)?;
    let client = connect(&access)
        .await
        .context("connecting to the Kubernetes API")?;
    Ok((
        Cluster::new(client, &cluster.namespace, progress()),
        placement,
    ))
}

fn duration(text: &str, flag: &str) -> Result<Duration> {
    parse_duration(text).with_context(|| format!("{flag} {text}"))
}

async fn deploy(config: &StackConfig, cluster: &ClusterArgs, args: &K8sDeployArgs) -> Result<i32> {
    let limit = duration(&args.timeout, "--timeout")?;
    let instance = config.instance()?;
    let bundle = Bundle::new(&placeholder_spec(config, cluster)?, &[]);
    let (cluster, _) = open(config, cluster).await?;
    let nodes = cluster
        .deploy(&bundle, instance.network_cards, limit)
        .await?;
    let mut text = String::from("node\tready\tvpc.amazonaws.com/efa\n");
    for node in nodes {
        text.push_str(&format!("{}\t{}\t{}\n", node.name, node.ready, node.efa));
    }
    emit(&text, None)?;
    Ok(0)
}

/// A spec for the shared objects only (namespace, device plugin), which need no image.
fn placeholder_spec(config: &StackConfig, cluster: &ClusterArgs) -> Result<BenchSpec> {
    Ok(BenchSpec {
        namespace: cluster.namespace.clone(),
        image: String::new(),
        region: config.region.clone(),
        instance: config.instance()?,
        hugepages_2mi: config.nodes.hugepages_2mi,
        port: rdmabench_engine::DEFAULT_PORT,
        test: "pingpong".into(),
        bench_args: Vec::new(),
        deadline_seconds: 0,
        launcher: false,
    })
}

/// `rdmabench k8s matrix`: the device plugin, then per mode one agent per Ready EFA node and a
/// coordinator pod measuring every pair; prints each matrix with node names and writes it to
/// `<results>/<UTC time>-k8s/matrix-<mode>.json`. Exit 1 when a pair failed.
async fn matrix(
    config: &StackConfig,
    cluster_args: &ClusterArgs,
    args: &K8sMatrixArgs,
) -> Result<i32> {
    let options = crate::matrix::cluster_options(&args.options)?;
    let timeouts = timeouts(&args.limits.start_timeout, &args.limits.timeout)?;
    let image = match &args.image {
        Some(image) => image.clone(),
        None => recorded_image(config)?,
    };
    let base = bench_spec(config, cluster_args, image, "pingpong", &[], timeouts.run)?;
    let modes = modes(args.mode);
    let (cluster, _) = open(config, cluster_args).await?;
    let shutdown = crate::interrupt::watch()?;
    let efa_per_node = config.instance()?.network_cards;
    let bundle = Bundle::new(&base, &modes);
    tokio::select! {
        deployed = cluster.deploy(&bundle, efa_per_node, PLUGIN_LIMIT) => {
            deployed?;
        }
        () = interrupted(shutdown.clone()) => {
            eprintln!("rdmabench: stopped before any measurement; nothing to remove");
            return Ok(EXIT_INTERRUPTED);
        }
    }
    let mut nodes: Vec<String> = cluster
        .efa_nodes()
        .await?
        .into_iter()
        .filter(|n| n.ready && n.efa >= efa_per_node)
        .map(|n| n.name)
        .collect();
    nodes.sort();
    if nodes.len() < 2 {
        bail!(
            "a matrix needs at least two Ready nodes with {efa_per_node} EFA interface(s) each; the cluster has {}: {}",
            nodes.len(),
            if nodes.is_empty() { "none".to_string() } else { nodes.join(", ") }
        );
    }
    let agent_spec = BenchSpec {
        test: "agent".into(),
        // The agents outlive the matrix only until the coordinator is done; the pods' deadline
        // and this idle limit stop a forgotten one.
        bench_args: vec![
            "--idle-timeout".into(),
            format!("{}s", timeouts.run.as_secs() + 300),
        ],
        ..base.clone()
    };
    let dir = crate::run::new_run_dir(&args.limits.results_dir, "k8s")?;
    let mut failed = false;
    for mode in modes {
        let agents: Vec<_> = nodes
            .iter()
            .enumerate()
            .map(|(i, node)| agent_pod(&agent_spec, mode, i, node))
            .collect();
        let coordinator = |hosts: &[String]| {
            let mut args: Vec<String> = hosts.to_vec();
            args.extend(options.iter().cloned());
            coordinator_pod(
                &BenchSpec {
                    test: "matrix".into(),
                    bench_args: args,
                    ..base.clone()
                },
                mode,
            )
        };
        eprintln!(
            "rdmabench: {} mode matrix over {} nodes",
            mode.as_str(),
            nodes.len()
        );
        let run = match cluster
            .matrix(
                mode,
                &agents,
                base.port,
                &coordinator,
                timeouts,
                shutdown.clone(),
            )
            .await
        {
            Err(K8sError::Interrupted) => return Ok(EXIT_INTERRUPTED),
            other => other.with_context(|| format!("the {} mode matrix", mode.as_str()))?,
        };
        let mut matrix = crate::matrix::Matrix::from_log(&run.log)?;
        let path = dir.join(format!("matrix-{}.json", mode.as_str()));
        emit(
            &crate::matrix::render(&matrix, FormatArg::Json)?,
            Some(&path),
        )?;
        eprintln!("rdmabench: wrote {}", path.display());
        matrix.rename_hosts(&run.nodes);
        failed |= matrix.failed();
        emit(&crate::matrix::render(&matrix, FormatArg::Table)?, None)?;
    }
    Ok(i32::from(failed))
}

/// One test to measure on the cluster: its name (for the files), the measurement ("pingpong"
/// or "bw") with the options of both ends, and the modes, in order.
pub struct ClusterTest {
    /// Names the results files.
    pub name: String,
    /// The measurement subcommand.
    pub kind: String,
    /// Its options, checked by `remote_options`.
    pub bench_options: Vec<String>,
    /// Node and/or pod mode.
    pub modes: Vec<Mode>,
    /// The client starts its peer in the server pod through the exec API (MPI tools).
    pub launcher: bool,
}

/// Everything a run on the cluster needs besides the configuration and how to reach it.
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
    /// Print each measurement's table on stdout (`k8s run`) or leave stdout to the caller.
    pub print_tables: bool,
}

/// The measurement limits from the command-line texts.
pub fn timeouts(start: &str, run: &str) -> Result<Timeouts> {
    Ok(Timeouts {
        start: duration(start, "--start-timeout")?,
        run: duration(run, "--timeout")?,
        delete: DELETE_LIMIT,
    })
}

/// What a run on the cluster produced.
pub struct TestsRun {
    /// The results files written.
    pub written: Vec<PathBuf>,
    /// Ctrl-C stopped it.
    pub stopped: bool,
    /// Reference tools that could not run in a mode, and why (the rest ran on).
    pub tool_failures: Vec<String>,
    /// What ended the run before every test had run; `written` holds what was measured first.
    pub failure: Option<anyhow::Error>,
}

/// Measures every test in every mode, `repeat` times (node, pod, node, pod ...; never two at
/// once), after making sure the device plugin reports EFA; writes one results file per
/// measurement. A reference tool that exits with an error (not installed, not supported on
/// EFA) is noted and the rest goes on; any other failure, the cluster's included, ends the run
/// (`TestsRun::failure`, beside what was measured before it).
pub fn run_tests(
    config: &StackConfig,
    cluster_args: &ClusterArgs,
    run: &ClusterRun,
) -> Result<TestsRun> {
    block_on(run_tests_async(config, cluster_args, run))
}

async fn run_tests_async(
    config: &StackConfig,
    cluster_args: &ClusterArgs,
    run: &ClusterRun,
) -> Result<TestsRun> {
    let specs = run
        .tests
        .iter()
        .map(|test| {
            let spec = BenchSpec {
                launcher: test.launcher,
                ..bench_spec(
                    config,
                    cluster_args,
                    run.image.clone(),
                    &test.kind,
                    &test.bench_options,
                    run.timeouts.run,
                )
                .with_context(|| format!("test '{}'", test.name))?
            };
            Ok(Bundle::new(&spec, &test.modes))
        })
        .collect::<Result<Vec<Bundle>>>()?;
    let Some(first) = specs.first() else {
        bail!("no tests to run");
    };
    let (cluster, placement) = open(config, cluster_args).await?;
    let shutdown = crate::interrupt::watch()?;
    // The Ctrl-C handler replaces the default exit, so the wait for the plugin must watch it.
    tokio::select! {
        deployed = cluster.deploy(first, config.instance()?.network_cards, PLUGIN_LIMIT) => {
            deployed?;
        }
        () = interrupted(shutdown.clone()) => {
            eprintln!("rdmabench: stopped before any measurement; nothing to remove");
            return Ok(TestsRun {
                written: Vec::new(),
                stopped: true,
                tool_failures: Vec::new(),
                failure: None,
            });
        }
    }
    let mut written = Vec::new();
    let mut tool_failures = Vec::new();
    for repetition in 1..=run.repeat {
        for (test, bundle) in run.tests.iter().zip(&specs) {
            for objects in &bundle.modes {
                eprintln!(
                    "rdmabench: {} in {} mode, repetition {repetition} of {}",
                    test.name,
                    objects.mode.as_str(),
                    run.repeat
                );
                let measurement = match cluster
                    .measure(objects, run.timeouts, shutdown.clone())
                    .await
                {
                    Err(K8sError::Interrupted) => {
                        return Ok(TestsRun {
                            written,
                            stopped: true,
                            tool_failures,
                            failure: None,
                        })
                    }
                    Err(error) if test.kind == "tool" && error.is_benchmark_exit() => {
                        let why = format!(
                            "{} in {} mode did not run: {error}",
                            test.name,
                            objects.mode.as_str()
                        );
                        eprintln!("rdmabench: {why}");
                        tool_failures.push(why);
                        continue;
                    }
                    Err(error) => {
                        let context =
                            format!("test '{}' in {} mode", test.name, objects.mode.as_str());
                        return Ok(TestsRun {
                            written,
                            stopped: false,
                            tool_failures,
                            failure: Some(anyhow::Error::new(error).context(context)),
                        });
                    }
                    Ok(measurement) => measurement,
                };
                let mut results = measurement.results;
                results.placement = Some(Placement {
                    mode: objects.mode.as_str().into(),
                    server_node: measurement.server_node,
                    client_node: measurement.client_node,
                    image: run.image.clone(),
                    repetition,
                    ..placement.clone()
                });
                let path = run_dir_file(&run.run_dir, &test.name, objects, repetition);
                emit(&results.to_json_pretty(), Some(&path))?;
                eprintln!("rdmabench: wrote {}", path.display());
                if run.print_tables {
                    emit(&render(&results, Format::Table, Default::default()), None)?;
                }
                written.push(path);
            }
        }
    }
    Ok(TestsRun {
        written,
        stopped: false,
        tool_failures,
        failure: None,
    })
}

/// The report's note for a run that a failure ended early: what it has is what ran before.
pub fn stopped_early(failure: &anyhow::Error) -> String {
    format!("the run stopped early, so later tests are missing: {failure:#}")
}

fn run_dir_file(dir: &Path, test: &str, objects: &ModeObjects, repetition: u32) -> PathBuf {
    dir.join(results_file_name(
        test,
        Some(objects.mode.as_str()),
        repetition,
    ))
}

/// `rdmabench k8s run`: the options after `--` as one test named "pingpong".
fn measure(config: &StackConfig, cluster_args: &ClusterArgs, args: &K8sRunArgs) -> Result<i32> {
    if args.repeat == 0 {
        bail!("--repeat 0: give at least 1");
    }
    let run = ClusterRun {
        image: image(config, &args.bench)?,
        tests: vec![ClusterTest {
            name: "pingpong".into(),
            kind: "pingpong".into(),
            bench_options: args.bench.bench_options.clone(),
            modes: modes(args.bench.mode),
            launcher: false,
        }],
        repeat: args.repeat,
        run_dir: PathBuf::new(),
        timeouts: timeouts(&args.limits.start_timeout, &args.limits.timeout)?,
        print_tables: true,
    };
    // Check the options before a directory or the cluster is touched.
    bench_spec(
        config,
        cluster_args,
        run.image.clone(),
        &run.tests[0].kind,
        &run.tests[0].bench_options,
        run.timeouts.run,
    )?;
    let run = ClusterRun {
        run_dir: crate::run::new_run_dir(&args.limits.results_dir, "k8s")?,
        ..run
    };
    let TestsRun {
        written,
        stopped,
        failure,
        ..
    } = run_tests(config, cluster_args, &run)?;
    if written.is_empty() {
        eprintln!(
            "rdmabench: no measurement finished; nothing to report ({})",
            run.run_dir.display()
        );
    } else {
        let mut report = rdmabench_report::files::report_for_run_dir(&run.run_dir)?;
        report.notes.extend(failure.iter().map(stopped_early));
        rdmabench_report::files::write_run_reports(&run.run_dir, &report)?;
        eprintln!(
            "rdmabench: {} result file(s) and the report in {}",
            written.len(),
            run.run_dir.display()
        );
    }
    if let Some(failure) = failure {
        return Err(failure);
    }
    Ok(if stopped { EXIT_INTERRUPTED } else { 0 })
}

async fn logs(config: &StackConfig, cluster_args: &ClusterArgs, args: &K8sLogsArgs) -> Result<i32> {
    let (cluster, _) = open(config, cluster_args).await?;
    let mode = match args.mode {
        ModeArg::Node => Some("node"),
        ModeArg::Pod => Some("pod"),
        ModeArg::Both => None,
    };
    let pods = cluster.bench_pods(mode).await?;
    if pods.is_empty() {
        bail!(
            "no benchmark pods exist in namespace {} (a run removes its pods when it ends; its results and errors were printed then)",
            cluster_args.namespace
        );
    }
    let mut text = String::new();
    for pod in pods {
        text.push_str(&format!(
            "==> pod {pod} <==\n{}\n",
            cluster.log(&pod).await?
        ));
    }
    emit(&text, None)?;
    Ok(0)
}

async fn clean(
    config: &StackConfig,
    cluster_args: &ClusterArgs,
    args: &K8sCleanArgs,
) -> Result<i32> {
    let limit = duration(&args.timeout, "--timeout")?;
    let (cluster, _) = open(config, cluster_args).await?;
    let deleted = cluster.clean(limit).await?;
    let text = if deleted.is_empty() {
        "nothing to delete\n".to_string()
    } else {
        deleted.iter().map(|d| format!("deleted {d}\n")).collect()
    };
    emit(&text, None)?;
    Ok(0)
}
