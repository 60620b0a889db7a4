//! `rdmabench run`: the main job. Runs a suite's tests between two hosts on the target,
//! records where each measurement ran, writes the report beside the results and prints it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rdmabench_pipeline::local_run::{run_local as run_local_suite, LocalRun};
use rdmabench_pipeline::tools;
use rdmabench_pipeline::{HostsChoice, MpiTool, Suite, Target, ToolPlan};
use rdmabench_report::ReportFormat;
use rdmabench_stats::{parse_count, parse_duration};

use crate::cli::{DownArgs, HostsArg, InfraCommand, RunArgs, TargetArg, UpArgs};
use crate::interrupt::EXIT_INTERRUPTED;
use crate::k8s::{ClusterRun, ClusterTest};
use crate::output::emit;
use rdmabench_k8s::manifests::Mode;

/// The suite's text and its name for messages: the file `--suite` names, else the built-in
/// suite of that name (seed, reference), else the default.
fn suite_source(path: Option<&Path>) -> Result<(String, String)> {
    use rdmabench_pipeline::suite::{embedded_suite, EMBEDDED_SUITES, SEED_SUITE};
    let Some(path) = path else {
        return Ok((SEED_SUITE.to_string(), "the default suite".into()));
    };
    if !path.exists() {
        if let Some(text) = path.to_str().and_then(embedded_suite) {
            return Ok((
                text.to_string(),
                format!("the built-in suite {}", path.display()),
            ));
        }
    }
    let text = std::fs::read_to_string(path).with_context(|| {
        let names: Vec<&str> = EMBEDDED_SUITES.iter().map(|(n, _)| *n).collect();
        format!(
            "reading suite file {} (built-in suites: {})",
            path.display(),
            names.join(", ")
        )
    })?;
    Ok((text, path.display().to_string()))
}

fn load_suite(path: Option<&Path>) -> Result<Suite> {
    let (text, name) = suite_source(path)?;
    Ok(Suite::from_toml(&text, &name)?)
}

/// Runs `rdmabench run`; returns the exit code.
pub fn run(args: &RunArgs) -> Result<i32> {
    if args.print_suite {
        emit(rdmabench_pipeline::suite::SEED_SUITE, None)?;
        return Ok(0);
    }
    let suite = load_suite(args.suite.as_deref())?;
    if let Some(n) = &args.iters {
        parse_count(n).context("--iters")?;
    }
    parse_duration(&args.timeout).context("--timeout")?;
    let limit = parse_duration(&args.limit).context("--limit")?;
    match args.target {
        TargetArg::Local => run_local(args, &suite, limit),
        TargetArg::Eks => run_eks(args, &suite),
    }
}

/// A new directory for a run's files under `base`, named by its start time (UTC) and target.
pub fn new_run_dir(base: &Path, target: &str) -> Result<PathBuf> {
    Ok(rdmabench_pipeline::local_run::new_run_dir(base, target)?)
}

/// The suite file's text, kept beside the results so a run can be repeated exactly.
fn suite_text(args: &RunArgs) -> Result<String> {
    Ok(suite_source(args.suite.as_deref())?.0)
}

/// Writes report.md, report.html and plots/ for `dir` and prints the report on stdout.
fn report(dir: &Path, skipped: &[String]) -> Result<()> {
    let mut report = rdmabench_report::files::report_for_run_dir(dir)?;
    report.notes.extend(skipped.iter().cloned());
    let html = rdmabench_report::files::write_run_reports(dir, &report)?;
    emit(&report.render(ReportFormat::Table), None)?;
    eprintln!("rdmabench: results in {}", dir.display());
    eprintln!(
        "rdmabench: report: {} (also report.md, plots/*.svg|png)",
        html.display()
    );
    Ok(())
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

/// `run --target eks`: the stack (reused when it exists), the image (reused when ECR has it),
/// then every test in node and pod mode, alternating, then the report; with --down-after the
/// stack is destroyed at the end whatever happened.
fn run_eks(args: &RunArgs, suite: &Suite) -> Result<i32> {
    let config = crate::infra::load_config(&args.config)?;
    let timeouts = crate::k8s::timeouts(&args.start_timeout, &args.limit)?;
    let mut tests = Vec::new();
    let mut skipped = Vec::new();
    for test in &suite.tests {
        let plan = test.tool_plan(Target::Eks, "efa", args.iters.as_deref());
        let not_on_eks = plan
            .as_ref()
            .and_then(|p| tools::spec(tools::executable(&p.tool)))
            .and_then(|spec| spec.not_on_eks);
        if let Some(reason) = not_on_eks {
            let why = format!("{} skipped: {reason}", test.name);
            eprintln!("rdmabench: {why}");
            skipped.push(why);
            continue;
        }
        // MPI tools start their other rank in the server pod themselves (`rdmabench launch`).
        let launcher = plan
            .as_ref()
            .is_some_and(|p| MpiTool::from_name(&p.tool).is_some());
        let mut bench_options = match &plan {
            Some(plan) => tool_end_options(plan),
            None => test.options(Target::Eks, "efa", args.iters.as_deref()),
        };
        bench_options.extend(["--timeout".to_string(), args.timeout.clone()]);
        crate::bench::remote_options(&test.kind, &bench_options)
            .with_context(|| format!("test '{}'", test.name))?;
        let modes = test
            .modes
            .iter()
            .map(|m| if m == "node" { Mode::Node } else { Mode::Pod })
            .collect();
        tests.push(ClusterTest {
            name: test.name.clone(),
            kind: test.kind.clone(),
            bench_options,
            modes,
            launcher,
        });
    }
    let dir = new_run_dir(&args.results_dir, Target::Eks.name())?;
    emit(&suite_text(args)?, Some(&dir.join("suite.toml")))?;
    let steps = || -> Result<crate::k8s::TestsRun> {
        eprintln!("rdmabench: [1/3] the stack");
        crate::infra::ensure_stack(
            &args.config,
            &UpArgs {
                yes: args.yes,
                ttl: args.ttl.clone(),
            },
        )?;
        eprintln!("rdmabench: [2/3] the benchmark image");
        let image = match &args.image {
            Some(image) => image.clone(),
            None => crate::image::ensure_image(&args.config, &args.source)?,
        };
        eprintln!("rdmabench: [3/3] node-mode and pod-mode measurements");
        crate::k8s::run_tests(
            &config,
            &args.cluster,
            &ClusterRun {
                image,
                tests,
                repeat: args.repeat,
                run_dir: dir.clone(),
                timeouts,
                print_tables: false,
            },
        )
    };
    let outcome = steps();
    let reported = match &outcome {
        Ok(done) if !done.written.is_empty() => {
            let mut notes: Vec<String> =
                skipped.iter().chain(&done.tool_failures).cloned().collect();
            notes.extend(done.failure.iter().map(crate::k8s::stopped_early));
            Some(report(&dir, &notes))
        }
        _ => None,
    };
    if args.down_after {
        eprintln!(
            "rdmabench: --down-after: destroying stack '{}'",
            config.name
        );
        let down = crate::infra::run(
            &InfraCommand::Down(DownArgs {
                yes: true,
                orphans: false,
            }),
            &args.config,
        );
        if let Err(error) = down {
            let failed = match &outcome {
                Err(step) => Some(step),
                Ok(done) => done.failure.as_ref(),
            };
            if let Some(step) = failed {
                eprintln!("error: {step:#}");
            }
            return Err(error.context(
                "--down-after could not destroy the stack; run `rdmabench infra down` again",
            ));
        }
    }
    let done = outcome?;
    if let Some(reported) = reported {
        reported?;
    } else {
        eprintln!(
            "rdmabench: no measurement finished; nothing to report ({})",
            dir.display()
        );
    }
    if let Some(failure) = done.failure {
        return Err(failure);
    }
    Ok(if done.stopped { EXIT_INTERRUPTED } else { 0 })
}

/// `run` on the local target: two hosts on this machine.
fn run_local(args: &RunArgs, suite: &Suite, limit: std::time::Duration) -> Result<i32> {
    let program = std::env::current_exe().context("locating the rdmabench executable")?;
    let suite_text = suite_text(args)?;
    let run = LocalRun {
        suite,
        suite_text: &suite_text,
        iters: args.iters.as_deref(),
        repeat: args.repeat,
        results_dir: &args.results_dir,
        hosts: match args.hosts {
            HostsArg::Auto => HostsChoice::Auto,
            HostsArg::Netns => HostsChoice::Netns,
            HostsArg::Loopback => HostsChoice::Loopback,
        },
        timeout: &args.timeout,
        limit,
        program,
    };
    let check = |kind: &str, options: &[String]| {
        crate::bench::check_options(kind, options).map_err(Into::into)
    };
    let done = run_local_suite(&run, &check, &crate::interrupt::flag()?, &mut |line| {
        eprintln!("rdmabench: {line}")
    })?;
    let code = if done.interrupted {
        EXIT_INTERRUPTED
    } else {
        i32::from(!done.failures.is_empty())
    };
    if !done.measured {
        eprintln!(
            "rdmabench: no measurement finished; nothing to report ({})",
            done.dir.display()
        );
        return Ok(if code == 0 { 1 } else { code });
    }
    report(&done.dir, &done.skipped)?;
    for failure in &done.failures {
        eprintln!("error: {failure}");
    }
    Ok(code)
}
