//! `rdmabench run --target eks`: the stack (reused when it exists), the image (reused when ECR
//! has it), then every test of the suite in node and pod mode, alternating, then the report;
//! with --down-after the stack is destroyed at the end whatever happened. The user (progress,
//! the confirmation, the report on the terminal) and the grammar of the commands the pods run
//! are the caller's, through [`EksFrontend`].

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use rdmabench_infra::config_file;
use rdmabench_infra::stack::down::{down, DownOptions};
use rdmabench_infra::stack::outputs::named;
use rdmabench_infra::stack::up::{ensure, UpOptions};
use rdmabench_infra::stack::Console;
use rdmabench_infra::workspace::Workspace;
use rdmabench_infra::{InfraError, StackConfig};
use rdmabench_k8s::access::{choose, ChosenCluster, ClusterChoice, EksOutputs};
use rdmabench_k8s::manifests::Mode;
use rdmabench_k8s::orchestrate::{Progress, Timeouts};
use rdmabench_k8s::runs::{run_tests, stopped_early, ClusterRun, ClusterTest};
use rdmabench_results::write_atomically;

use crate::error::BoxError;
use crate::local_run::new_run_dir;
use crate::suite::{Suite, Target, ToolPlan};
use crate::tools;
use crate::{MpiTool, PipelineError};

/// What the caller provides: the user at the terminal (a [`Console`]: progress, tables, the
/// confirmation to create the stack), the check of the options each end runs, and the report.
pub trait EksFrontend: Console {
    /// `options` of `rdmabench <kind>` as the pods will run them, checked with the command's
    /// own grammar, with what the cluster's ends need added (e.g. `--provider efa`).
    fn remote_options(&self, kind: &str, options: &[String]) -> Result<Vec<String>, BoxError>;
    /// Progress lines of the cluster run, which may come from the Kubernetes client's tasks.
    fn cluster_progress(&self) -> Progress;
    /// Writes and shows the report over `dir`'s results, with `notes` (what was skipped, what
    /// failed, why the run stopped early).
    fn report(&mut self, dir: &Path, notes: &[String]) -> Result<(), BoxError>;
}

/// A run on the stack's cluster as asked for.
pub struct EksRun<'a> {
    /// The tests.
    pub suite: &'a Suite,
    /// The suite's text, kept beside the results.
    pub suite_text: &'a str,
    /// Round trips per size for every test, overriding the suite's.
    pub iters: Option<&'a str>,
    /// Repetitions of the whole suite; modes alternate within each.
    pub repeat: u32,
    /// Where the run's directory is made.
    pub results_dir: &'a Path,
    /// Every end's `--timeout`, as typed.
    pub timeout: &'a str,
    /// Limits of each measurement on the cluster.
    pub timeouts: Timeouts,
    /// The stack's configuration file.
    pub config_path: &'a Path,
    /// How the stack is created when it does not exist.
    pub up: UpOptions,
    /// An image to run instead of building and pushing one.
    pub image: Option<String>,
    /// The source checkout the image is built from.
    pub source: &'a Path,
    /// Which cluster: the stack's, or a kubeconfig context.
    pub cluster: ClusterChoice,
    /// Destroy the stack at the end, whatever happened.
    pub down_after: bool,
}

/// How a run on the cluster ended; what it measured is in `dir` and in the report.
pub struct EksRunReport {
    /// The run's directory.
    pub dir: PathBuf,
    /// Some measurement finished (and the report was written).
    pub measured: bool,
    /// Ctrl-C stopped it.
    pub stopped: bool,
    /// What ended the run early, if anything did.
    pub failure: Option<PipelineError>,
}

/// A tool test's options for `rdmabench tool` on the cluster's two ends.
fn tool_end_options(plan: &ToolPlan) -> Vec<String> {
    let mut options: Vec<String> = [
        "--tool",
        &plan.tool,
        "--sizes",
        &plan.sizes,
        "--iters",
        &plan.iterations,
        "--provider",
        &plan.provider,
        "--api",
        if plan.tagged { "tagged" } else { "msg" },
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if plan.verify {
        options.push("--verify".into());
    }
    if let Some(fabric) = &plan.fabric {
        options.extend(["--fabric".to_string(), fabric.clone()]);
    }
    if let Some(warmup) = &plan.warmup {
        options.extend(["--warmup".to_string(), warmup.clone()]);
    }
    options
}

/// The suite's tests as the cluster runs them, each end's options checked; and the tests that
/// cannot run on EKS, with why.
fn cluster_tests(
    run: &EksRun,
    frontend: &mut dyn EksFrontend,
) -> Result<(Vec<ClusterTest>, Vec<String>), PipelineError> {
    let mut tests = Vec::new();
    let mut skipped = Vec::new();
    for test in &run.suite.tests {
        let plan = test.tool_plan(Target::Eks, "efa", run.iters);
        let not_on_eks = plan
            .as_ref()
            .and_then(|p| tools::spec(tools::executable(&p.tool)))
            .and_then(|spec| spec.not_on_eks);
        if let Some(reason) = not_on_eks {
            let why = format!("{} skipped: {reason}", test.name);
            frontend.progress(&why);
            skipped.push(why);
            continue;
        }
        // MPI tools start their other rank in the server pod themselves (`rdmabench launch`).
        let launcher = plan
            .as_ref()
            .is_some_and(|p| MpiTool::from_name(&p.tool).is_some());
        let mut options = match &plan {
            Some(plan) => tool_end_options(plan),
            None => test.options(Target::Eks, "efa", run.iters),
        };
        options.extend(["--timeout".to_string(), run.timeout.to_string()]);
        let bench_options = frontend
            .remote_options(&test.kind, &options)
            .map_err(|source| PipelineError::Test {
                test: test.name.clone(),
                source,
            })?;
        tests.push(ClusterTest {
            name: test.name.clone(),
            kind: test.kind.clone(),
            bench_options,
            modes: test
                .modes
                .iter()
                .map(|m| if m == "node" { Mode::Node } else { Mode::Pod })
                .collect(),
            launcher,
        });
    }
    Ok((tests, skipped))
}

/// The cluster `choice` names: a kubeconfig context, else the stack's EKS cluster as its
/// Terraform outputs describe it (the one place that reads them for the cluster).
pub fn chosen(config: &StackConfig, choice: &ClusterChoice) -> Result<ChosenCluster, InfraError> {
    choose(config, choice, || {
        let outputs = named(
            config,
            &[
                "cluster_name",
                "cluster_endpoint",
                "cluster_certificate_authority",
            ],
            "pass --context NAME (or --kubeconfig) to use a cluster from your kubeconfig",
        )?;
        let [cluster_name, endpoint, certificate_authority] =
            <[String; 3]>::try_from(outputs).expect("three outputs asked");
        Ok(EksOutputs {
            cluster_name,
            endpoint,
            certificate_authority,
        })
    })
}

/// The console for --down-after: the user asked for the destruction up front.
struct Confirmed<'a>(&'a mut dyn EksFrontend);

impl Console for Confirmed<'_> {
    fn progress(&mut self, line: &str) {
        self.0.progress(line);
    }
    fn show(&mut self, text: &str) {
        self.0.show(text);
    }
    fn confirm(&mut self, _question: &str) -> Result<bool, InfraError> {
        Ok(true)
    }
}

/// The three steps: the stack, the image, the measurements in both modes.
fn steps(
    run: &EksRun,
    config: &StackConfig,
    cluster_run: ClusterRun,
    interrupted: &Arc<AtomicBool>,
    frontend: &mut dyn EksFrontend,
) -> Result<rdmabench_k8s::runs::TestsRun<PipelineError>, PipelineError> {
    frontend.progress("[1/3] the stack");
    ensure(run.config_path, &run.up, &mut *frontend)?;
    frontend.progress("[2/3] the benchmark image");
    let image = match &run.image {
        Some(image) => image.clone(),
        None => rdmabench_image::flows::ensure(run.config_path, run.source, &mut |line| {
            frontend.progress(line)
        })?,
    };
    frontend.progress("[3/3] node-mode and pod-mode measurements");
    let cluster = chosen(config, &run.cluster)?;
    run_tests(
        config,
        &cluster,
        &ClusterRun {
            image,
            ..cluster_run
        },
        Arc::clone(interrupted),
        frontend.cluster_progress(),
        &mut |_| Ok(()),
    )
}

/// Runs the suite on the stack's cluster (see the module's documentation). Every test's
/// options are checked before the run's directory or anything in AWS is made.
pub fn run_eks(
    run: &EksRun,
    interrupted: &Arc<AtomicBool>,
    frontend: &mut dyn EksFrontend,
) -> Result<EksRunReport, PipelineError> {
    let config = config_file::load(run.config_path)?;
    let (tests, skipped) = cluster_tests(run, frontend)?;
    let dir = new_run_dir(run.results_dir, Target::Eks.name())?;
    let suite_file = dir.join("suite.toml");
    write_atomically(&suite_file, run.suite_text.as_bytes()).map_err(PipelineError::io(
        format!("writing {}", suite_file.display()),
    ))?;
    let cluster_run = ClusterRun {
        image: String::new(),
        tests,
        repeat: run.repeat,
        run_dir: dir.clone(),
        timeouts: run.timeouts,
        print_tables: false,
    };
    let outcome = steps(run, &config, cluster_run, interrupted, frontend);
    let reported = match &outcome {
        Ok(done) if !done.written.is_empty() => {
            let mut notes: Vec<String> =
                skipped.iter().chain(&done.tool_failures).cloned().collect();
            notes.extend(done.failure.iter().map(|f| stopped_early(&Chain(f))));
            Some(frontend.report(&dir, &notes))
        }
        _ => None,
    };
    if run.down_after {
        frontend.progress(&format!("--down-after: destroying stack '{}'", config.name));
        let destroyed = Workspace::find(config.clone()).and_then(|workspace| {
            down(
                &workspace,
                DownOptions { orphans: false },
                &mut Confirmed(frontend),
            )
        });
        if let Err(source) = destroyed {
            let failure = match outcome {
                Err(step) => Some(step),
                Ok(done) => done.failure,
            };
            return Err(PipelineError::DownAfter {
                source,
                failure: failure.map(Box::new),
            });
        }
    }
    let done = outcome?;
    if let Some(reported) = reported {
        reported.map_err(PipelineError::Report)?;
    }
    Ok(EksRunReport {
        dir,
        measured: !done.written.is_empty(),
        stopped: done.stopped,
        failure: done.failure,
    })
}

/// An error with its causes, as `a: b: c`.
struct Chain<'a>(pub &'a dyn std::error::Error);

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}
