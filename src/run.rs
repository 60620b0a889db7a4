//! `rdmabench run`: the main job. Runs a suite's tests between two hosts on the target,
//! records where each measurement ran, writes the report beside the results and prints it.

use std::path::Path;

use anyhow::{Context, Result};
use rdmabench_pipeline::local_run::{run_local as run_local_suite, LocalRun};
use rdmabench_pipeline::{HostsChoice, Suite};
use rdmabench_report::ReportFormat;
use rdmabench_stats::{parse_count, parse_duration};

use crate::cli::{HostsArg, RunArgs, TargetArg};
use crate::interrupt::EXIT_INTERRUPTED;
use crate::output::emit;

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
        #[cfg(feature = "cloud")]
        TargetArg::Eks => crate::run_eks::run_eks(args, &suite),
        #[cfg(not(feature = "cloud"))]
        TargetArg::Eks => anyhow::bail!(
            "--target eks: this rdmabench is a benchmark-only build (--no-default-features); build it with the default features (cloud) to run on EKS"
        ),
    }
}

/// The suite file's text, kept beside the results so a run can be repeated exactly.
pub fn suite_text(args: &RunArgs) -> Result<String> {
    Ok(suite_source(args.suite.as_deref())?.0)
}

/// Writes report.md, report.html and plots/ for `dir` and prints the report on stdout.
pub fn report(dir: &Path, skipped: &[String]) -> Result<()> {
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
