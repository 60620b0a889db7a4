//! `rdmabench run`: the main job. Runs a suite's tests between two hosts on the target,
//! records where each measurement ran, writes the report beside the results and prints it.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use rdmabench_fabric::{core_provider_name, FabricError, Library, MessageApi};
use rdmabench_pipeline::tools;
use rdmabench_pipeline::{
    measure, HostsChoice, LocalHosts, Measurement, MpiTool, Outcome, Suite, Target, ToolPlan,
};
use rdmabench_report::{Placement, ReportFormat, ResultsFile};
use rdmabench_results::run_dir::{create_run_dir, results_file_name};
use rdmabench_stats::{parse_count, parse_duration};

use crate::cli::{DownArgs, HostsArg, InfraCommand, RunArgs, TargetArg, UpArgs};
use crate::interrupt::EXIT_INTERRUPTED;
use crate::k8s::{ClusterRun, ClusterTest};
use crate::output::emit;
use crate::reference::{run_tool, tool_plan, tool_sizes, ToolOutcome};
use rdmabench_k8s::manifests::Mode;

/// The local providers in order of preference: both cross the kernel's network stack, as the
/// seed's two nodes did; shm would not.
const LOCAL_PROVIDERS: [&str; 2] = ["net", "tcp"];

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

/// The provider that stands for "default" locally: net, else tcp. Without libfabric the
/// fabric tests fall back to kernel TCP (None, with the reason).
fn local_provider() -> Result<std::result::Result<&'static str, String>> {
    let lib = match Library::load() {
        Ok(lib) => Arc::new(lib),
        // As for pingpong: only a missing libfabric falls back, never a broken override.
        Err(e @ FabricError::LibraryNotFound { .. }) => {
            return Ok(Err(format!(
                "libfabric is not available ({e}); the fabric tests ran over kernel TCP instead"
            )));
        }
        Err(e) => return Err(e).context("the local tests' provider needs libfabric"),
    };
    let names = rdmabench_engine::available_providers(&lib, MessageApi::Msg)
        .context("asking libfabric for its providers")?;
    LOCAL_PROVIDERS
        .into_iter()
        .find(|wanted| names.iter().any(|n| core_provider_name(n) == *wanted))
        .map(Ok)
        .with_context(|| {
            format!(
                "libfabric offers neither net nor tcp (it has: {}); the local target needs one of them",
                names.join(", ")
            )
        })
}

fn hosts_choice(arg: HostsArg) -> HostsChoice {
    match arg {
        HostsArg::Auto => HostsChoice::Auto,
        HostsArg::Netns => HostsChoice::Netns,
        HostsArg::Loopback => HostsChoice::Loopback,
    }
}

/// Records where a measurement ran (and any caveat) in the file the client wrote.
fn annotate(path: &Path, hosts: &LocalHosts, repetition: u32, note: Option<&str>) -> Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut results =
        ResultsFile::from_json(&text).with_context(|| format!("reading {}", path.display()))?;
    let (server, client) = hosts.end_names();
    results.placement = Some(Placement {
        target: Target::Local.name().into(),
        cluster: results.endpoints.local.hostname.clone(),
        mode: hosts.kind().into(),
        namespace: String::new(),
        server_node: server,
        client_node: client,
        instance_type: String::new(),
        image: String::new(),
        repetition,
    });
    if let Some(note) = note {
        results.note = Some(match results.note.take() {
            Some(existing) => format!("{existing}; {note}"),
            None => note.to_string(),
        });
    }
    emit(&results.to_json_pretty(), Some(path))
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
    let stamp = humantime::format_rfc3339_seconds(SystemTime::now())
        .to_string()
        .replace(['-', ':'], "");
    create_run_dir(base, &stamp, target)
        .with_context(|| format!("creating a run directory in {}", base.display()))
}

/// The suite file's text, kept beside the results so a run can be repeated exactly.
fn suite_text(args: &RunArgs) -> Result<String> {
    Ok(suite_source(args.suite.as_deref())?.0)
}

/// Writes report.md, report.html and plots/ for `dir` and prints the report on stdout.
fn report(dir: &Path, skipped: &[String]) -> Result<()> {
    let mut report = crate::report::report_for_run_dir(dir)?;
    report.notes.extend(skipped.iter().cloned());
    let html = crate::report::write_run_reports(dir, &report)?;
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
    if let Some(test) = suite.tests.iter().find(|t| t.uses_shm()) {
        bail!(
            "test '{}' uses provider shm, which crosses no network stack; the local target measures between two hosts: use net or tcp",
            test.name
        );
    }
    let provider = local_provider()?;
    // Every test's options as the two processes will get them, checked before anything is made.
    for test in &suite.tests {
        if test.kind == "tool" {
            // Checked by the suite itself; its sizes and counts with rdmabench's own parsers.
            let plan = tool_plan(test, &provider, args)?;
            tool_sizes(&plan).with_context(|| format!("test '{}'", test.name))?;
            continue;
        }
        let options = test.options(
            Target::Local,
            provider.as_deref().unwrap_or("tcp"),
            args.iters.as_deref(),
        );
        crate::bench::check_options(&test.kind, &options)
            .with_context(|| format!("test '{}'", test.name))?;
    }
    let (hosts, hosts_note) = LocalHosts::create(hosts_choice(args.hosts))?;
    if let Some(note) = &hosts_note {
        eprintln!("rdmabench: {note}");
    }
    let fallback_note = provider.as_ref().err().cloned();
    if let Some(note) = &fallback_note {
        eprintln!("rdmabench: {note}");
    }
    eprintln!("rdmabench: local target: {}", hosts.describe());
    let dir = new_run_dir(&args.results_dir, Target::Local.name())?;
    emit(&suite_text(args)?, Some(&dir.join("suite.toml")))?;
    let interrupted = crate::interrupt::flag()?;
    let program = std::env::current_exe().context("locating the rdmabench executable")?;
    let total = suite.tests.len() * args.repeat as usize;
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    let mut step = 0;
    'runs: for repetition in 1..=args.repeat {
        for test in &suite.tests {
            step += 1;
            let output: PathBuf = dir.join(results_file_name(&test.name, None, repetition));
            let (outcome, note) = if test.kind == "tool" {
                eprintln!(
                    "rdmabench: [{step}/{total}] {} ({}), repetition {repetition} of {}",
                    test.name,
                    test.tool.as_deref().unwrap_or_default(),
                    args.repeat
                );
                let plan = tool_plan(test, &provider, args)?;
                match run_tool(&hosts, &plan, &output, limit, &interrupted, &provider)? {
                    ToolOutcome::Skipped(why) => {
                        eprintln!("rdmabench: {} skipped: {why}", test.name);
                        if repetition == 1 {
                            skipped.push(format!("{} skipped: {why}", test.name));
                        }
                        continue;
                    }
                    ToolOutcome::Ran(outcome) => (outcome, None),
                }
            } else {
                let mut options = test.options(
                    Target::Local,
                    provider.as_deref().unwrap_or("tcp"),
                    args.iters.as_deref(),
                );
                let mut note = None;
                if provider.is_err() && test.transport == "fabric" && test.provider == "default" {
                    options = socket_options(&options);
                    note = fallback_note.as_deref();
                }
                eprintln!(
                    "rdmabench: [{step}/{total}] {} ({}), repetition {repetition} of {}",
                    test.name,
                    options.join(" "),
                    args.repeat
                );
                let outcome = measure(
                    &hosts,
                    &Measurement {
                        program: program.clone(),
                        kind: test.kind.clone(),
                        options,
                        output: output.clone(),
                        timeout: args.timeout.clone(),
                        limit,
                    },
                    &interrupted,
                )?;
                (outcome, note)
            };
            if output.is_file() {
                annotate(&output, &hosts, repetition, note)?;
            }
            match outcome {
                Outcome::Complete => {}
                Outcome::Failed(reason) => {
                    eprintln!("rdmabench: {} failed: {reason}", test.name);
                    failures.push(format!("{} (repetition {repetition}): {reason}", test.name));
                }
                Outcome::Interrupted => break 'runs,
            }
        }
    }
    drop(hosts);
    let wrote_any = std::fs::read_dir(&dir)?
        .flatten()
        .any(|e| e.path().extension().is_some_and(|x| x == "json"));
    let code = if interrupted.load(Ordering::SeqCst) {
        EXIT_INTERRUPTED
    } else if failures.is_empty() {
        0
    } else {
        1
    };
    if !wrote_any {
        eprintln!(
            "rdmabench: no measurement finished; nothing to report ({})",
            dir.display()
        );
        return Ok(if code == 0 { 1 } else { code });
    }
    report(&dir, &skipped)?;
    for failure in &failures {
        eprintln!("error: {failure}");
    }
    Ok(code)
}

/// The same test over kernel TCP: `--provider X` becomes `--transport socket`.
fn socket_options(options: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut iter = options.iter();
    while let Some(option) = iter.next() {
        if option == "--provider" {
            iter.next();
            out.extend(["--transport".to_string(), "socket".to_string()]);
        } else {
            out.push(option.clone());
        }
    }
    out
}
