//! `rdmabench k8s ...`: the command line turned into the options of rdmabench-k8s's flows
//! (rendering the manifests, deploy, runs, matrices, logs, clean), their output printed, and
//! their outcome as an exit code.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use rdmabench_infra::state;
use rdmabench_infra::{EfaDevices, StackConfig};
use rdmabench_k8s::access::{ChosenCluster, ClusterChoice};
use rdmabench_k8s::exec::ExecTarget;
use rdmabench_k8s::housekeeping::{clean, deploy, logs};
use rdmabench_k8s::manifests::{BenchSpec, Bundle, Mode, PLACEHOLDER_IMAGE};
use rdmabench_k8s::matrix::{matrix, MatrixEnd, MatrixPlan};
use rdmabench_k8s::orchestrate::{Progress, Timeouts};
use rdmabench_report::{render, Format};
use rdmabench_stats::parse_duration;

pub use rdmabench_k8s::runs::{stopped_early, ClusterRun, ClusterTest};

use crate::bench::remote_options;
use crate::cli::{
    BenchArgs, ClusterArgs, FormatArg, K8sCommand, K8sMatrixArgs, K8sRunArgs, ModeArg,
};
use crate::infra::load_config;
use crate::interrupt::EXIT_INTERRUPTED;
use crate::output::{emit, terminal_width};

/// What a run on the cluster produced, its failure held as the CLI holds errors.
pub type TestsRun = rdmabench_k8s::runs::TestsRun<anyhow::Error>;

/// Runs a `k8s` subcommand.
pub fn run(command: &K8sCommand, config_path: &Path, cluster: &ClusterArgs) -> Result<i32> {
    let config = load_config(config_path)?;
    match command {
        K8sCommand::Render(args) => {
            let spec = BenchSpec::for_stack(
                &config,
                &cluster.namespace,
                render_image(&config, &args.bench)?,
                "pingpong",
                remote_options("pingpong", &args.bench.bench_options)?,
                std::time::Duration::from_secs(1800),
            )?;
            let yaml = Bundle::new(&spec, &modes(args.bench.mode)).to_yaml()?;
            emit(&yaml, None)?;
            Ok(0)
        }
        K8sCommand::Deploy(args) => {
            let limit = duration(&args.timeout, "--timeout")?;
            let nodes = deploy(&config, &chosen(&config, cluster)?, limit, progress())?;
            let offered = match config.k8s.efa {
                EfaDevices::DevicePlugin => "vpc.amazonaws.com/efa",
                EfaDevices::Dra => "EFA devices in dra.net ResourceSlices",
            };
            let mut text = format!("node\tready\t{offered}\n");
            for node in nodes {
                text.push_str(&format!("{}\t{}\t{}\n", node.name, node.ready, node.efa));
            }
            emit(&text, None)?;
            Ok(0)
        }
        K8sCommand::Run(args) => measure(&config, cluster, args),
        K8sCommand::Matrix(args) => run_matrix(&config, cluster, args),
        K8sCommand::Logs(args) => {
            let chosen = chosen(&config, cluster)?;
            let mode = match args.mode {
                ModeArg::Node => Some(Mode::Node),
                ModeArg::Pod => Some(Mode::Pod),
                ModeArg::Both => None,
            };
            let text: String = logs(&chosen, mode, progress())?
                .iter()
                .map(|pod| format!("==> pod {} <==\n{}\n", pod.pod, pod.log))
                .collect();
            emit(&text, None)?;
            Ok(0)
        }
        K8sCommand::Clean(args) => {
            let limit = duration(&args.timeout, "--timeout")?;
            let deleted = clean(&chosen(&config, cluster)?, limit, progress())?;
            let text = if deleted.is_empty() {
                "nothing to delete\n".to_string()
            } else {
                deleted.iter().map(|d| format!("deleted {d}\n")).collect()
            };
            emit(&text, None)?;
            Ok(0)
        }
    }
}

/// `rdmabench launch` into a pod: runs `script` with `env` in `container` of `namespace/name`
/// through the exec API; returns its exit code.
pub fn exec_in_pod(
    namespace: &str,
    name: &str,
    container: &str,
    env: &BTreeMap<String, String>,
    script: &str,
) -> Result<i32> {
    let target = ExecTarget {
        namespace: namespace.to_string(),
        pod: name.to_string(),
        container: container.to_string(),
    };
    Ok(rdmabench_k8s::exec::exec_in_pod(&target, env, script)?)
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

/// The image `k8s render` writes: as for a run, but with nothing pushed yet a placeholder it
/// names, since rendering is for review and needs no cluster or registry.
fn render_image(config: &StackConfig, bench: &BenchArgs) -> Result<String> {
    if let Some(image) = &bench.image {
        return Ok(image.clone());
    }
    if let Some(reference) = recorded(config)? {
        return Ok(reference);
    }
    eprintln!(
        "rdmabench: no image recorded for stack '{}'; the manifests name the placeholder {PLACEHOLDER_IMAGE} (push one with `rdmabench image build --push`, or pass --image REF)",
        config.name
    );
    Ok(PLACEHOLDER_IMAGE.to_string())
}

/// The image `image build --push` recorded for this stack, if any.
fn recorded(config: &StackConfig) -> Result<Option<String>> {
    let stack_dir = state::stack_dir(&config.name);
    let recorded = rdmabench_image::recorded_image(&stack_dir)
        .with_context(|| format!("reading the recorded image in {}", stack_dir.display()))?;
    Ok(recorded.map(|record| record.reference))
}

/// The image `image build --push` recorded for this stack.
fn recorded_image(config: &StackConfig) -> Result<String> {
    match recorded(config)? {
        Some(reference) => Ok(reference),
        None => bail!(
            "no image recorded for stack '{}': push one with `rdmabench image build --push`, or pass --image REF",
            config.name
        ),
    }
}

/// The cluster --context/--kubeconfig name, else the stack's EKS cluster from its outputs.
fn chosen(config: &StackConfig, cluster: &ClusterArgs) -> Result<ChosenCluster> {
    let choice = ClusterChoice {
        kubeconfig: cluster.kubeconfig,
        context: cluster.context.clone(),
        namespace: cluster.namespace.clone(),
    };
    Ok(rdmabench_pipeline::eks_run::chosen(config, &choice)?)
}

fn progress() -> Progress {
    Arc::new(|line: &str| eprintln!("rdmabench: {line}"))
}

fn duration(text: &str, flag: &str) -> Result<std::time::Duration> {
    parse_duration(text).with_context(|| format!("{flag} {text}"))
}

/// The measurement limits from the command-line texts.
pub fn timeouts(start: &str, run: &str) -> Result<Timeouts> {
    Ok(Timeouts::new(
        duration(start, "--start-timeout")?,
        duration(run, "--timeout")?,
    ))
}

/// `rdmabench k8s matrix`: per mode one agent per Ready EFA node and a coordinator pod
/// measuring every pair; prints each matrix with node names and writes it to
/// `<results>/<UTC time>-k8s/matrix-<mode>.json`. Exit 1 when a pair failed.
fn run_matrix(config: &StackConfig, cluster: &ClusterArgs, args: &K8sMatrixArgs) -> Result<i32> {
    let plan = MatrixPlan {
        options: crate::matrix::cluster_options(&args.options)?,
        timeouts: timeouts(&args.limits.start_timeout, &args.limits.timeout)?,
        image: match &args.image {
            Some(image) => image.clone(),
            None => recorded_image(config)?,
        },
        modes: modes(args.mode),
    };
    let chosen = chosen(config, cluster)?;
    let mut dir: Option<PathBuf> = None;
    let mut failed = false;
    let mut each_mode = |mode: Mode, run: rdmabench_k8s::orchestrate::MatrixRun| -> Result<()> {
        let dir = match &dir {
            Some(dir) => dir,
            None => dir.insert(rdmabench_pipeline::local_run::new_run_dir(
                &args.limits.results_dir,
                "k8s",
            )?),
        };
        let mut matrix = crate::matrix::Matrix::from_log(&run.log)?;
        let path = dir.join(format!("matrix-{}.json", mode.as_str()));
        emit(
            &crate::matrix::render(&matrix, FormatArg::Json, None)?,
            Some(&path),
        )?;
        eprintln!("rdmabench: wrote {}", path.display());
        matrix.rename_hosts(&run.nodes);
        failed |= matrix.failed();
        emit(
            &crate::matrix::render(&matrix, FormatArg::Table, terminal_width(None))?,
            None,
        )
    };
    let end = matrix(
        config,
        &chosen,
        &plan,
        crate::interrupt::flag()?,
        progress(),
        &mut each_mode,
    )?;
    Ok(match end {
        MatrixEnd::Interrupted => EXIT_INTERRUPTED,
        MatrixEnd::Finished => i32::from(failed),
    })
}

/// Measures every test of `run` on the cluster (see `rdmabench_k8s::runs::run_tests`), after
/// checking each test's options with the CLI's parser, which also completes them.
pub fn run_tests(
    config: &StackConfig,
    cluster: &ClusterArgs,
    run: &ClusterRun,
) -> Result<TestsRun> {
    let tests = run
        .tests
        .iter()
        .map(|test| {
            Ok(ClusterTest {
                bench_options: remote_options(&test.kind, &test.bench_options)
                    .with_context(|| format!("test '{}'", test.name))?,
                ..test.clone()
            })
        })
        .collect::<Result<_>>()?;
    let checked = ClusterRun {
        image: run.image.clone(),
        tests,
        run_dir: run.run_dir.clone(),
        ..*run
    };
    rdmabench_k8s::runs::run_tests(
        config,
        &chosen(config, cluster)?,
        &checked,
        crate::interrupt::flag()?,
        progress(),
        &mut |results| {
            emit(
                &render(
                    results,
                    Format::Table,
                    Default::default(),
                    terminal_width(None),
                ),
                None,
            )
        },
    )
}

/// `rdmabench k8s run`: the options after `--` as one test named "pingpong".
fn measure(config: &StackConfig, cluster: &ClusterArgs, args: &K8sRunArgs) -> Result<i32> {
    if args.repeat == 0 {
        bail!("--repeat 0: give at least 1");
    }
    let image = image(config, &args.bench)?;
    let timeouts = timeouts(&args.limits.start_timeout, &args.limits.timeout)?;
    // Check the options before a directory or the cluster is touched.
    remote_options("pingpong", &args.bench.bench_options)?;
    let run = ClusterRun {
        image,
        tests: vec![ClusterTest {
            name: "pingpong".into(),
            kind: "pingpong".into(),
            bench_options: args.bench.bench_options.clone(),
            modes: modes(args.bench.mode),
            launcher: false,
        }],
        repeat: args.repeat,
        run_dir: rdmabench_pipeline::local_run::new_run_dir(&args.limits.results_dir, "k8s")?,
        timeouts,
        print_tables: true,
    };
    let TestsRun {
        written,
        stopped,
        failure,
        ..
    } = run_tests(config, cluster, &run)?;
    if written.is_empty() {
        eprintln!(
            "rdmabench: no measurement finished; nothing to report ({})",
            run.run_dir.display()
        );
    } else {
        let mut report = rdmabench_report::files::report_for_run_dir(
            &run.run_dir,
            rdmabench_report::collection::Statistic::default(),
        )?;
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
