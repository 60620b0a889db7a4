//! `rdmabench run`: the main job. Runs a suite's tests between two hosts on the target,
//! records where each measurement ran, writes the report beside the results and prints it.

use anyhow::{Context, Result};
use rdmabench_pipeline::local_run::{run_local as run_local_suite, LocalRun};
use rdmabench_pipeline::{HostsChoice, Suite};
use rdmabench_stats::{parse_count, parse_duration};

use crate::cli::{HostsArg, RunArgs, TargetArg};
use crate::interrupt::EXIT_INTERRUPTED;
use crate::output::{emit, run_report};

/// Runs `rdmabench run`; returns the exit code.
pub fn run(args: &RunArgs) -> Result<i32> {
    if args.print_suite {
        emit(rdmabench_pipeline::suite::SEED_SUITE, None)?;
        return Ok(0);
    }
    let (suite, suite_text) = Suite::load(args.suite.as_deref())?;
    if let Some(n) = &args.iters {
        parse_count(n).context("--iters")?;
    }
    parse_duration(&args.timeout).context("--timeout")?;
    let limit = parse_duration(&args.limit).context("--limit")?;
    match args.target {
        TargetArg::Local => run_local(args, &suite, &suite_text, limit),
        #[cfg(feature = "cloud")]
        TargetArg::Eks => crate::run_eks::run_eks(args, &suite, &suite_text),
        #[cfg(not(feature = "cloud"))]
        TargetArg::Eks => anyhow::bail!(
            "--target eks: this rdmabench is a benchmark-only build (--no-default-features); build it with the default features (cloud) to run on EKS"
        ),
    }
}

/// `run` on the local target: two hosts on this machine.
fn run_local(
    args: &RunArgs,
    suite: &Suite,
    suite_text: &str,
    limit: std::time::Duration,
) -> Result<i32> {
    let program = std::env::current_exe().context("locating the rdmabench executable")?;
    let run = LocalRun {
        suite,
        suite_text,
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
    run_report(&done.dir, &done.skipped, args.metric.statistic())?;
    for failure in &done.failures {
        eprintln!("error: {failure}");
    }
    Ok(code)
}
