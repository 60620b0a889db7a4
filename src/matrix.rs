//! `rdmabench matrix`: the latency matrix of the agents given (rdmabench-matrix measures and
//! renders it); and the check of a cluster coordinator's matrix options.

use anyhow::{Context, Result};
use rdmabench_engine::Test;
use rdmabench_stats::parse_duration;

use crate::bench::{measure_config, report_format};
use crate::cli::MatrixArgs;
use crate::interrupt::{self, EXIT_INTERRUPTED};
use crate::output::{check_output, emit_measured, terminal_width, write_exports};

#[cfg(feature = "cloud")]
pub use rdmabench_matrix::Matrix;

/// Runs `rdmabench matrix`; exit code 1 when a pair failed (the matrix is still printed).
pub fn run(args: &MatrixArgs) -> Result<i32> {
    let hosts = rdmabench_matrix::agents(&args.hosts, args.hosts_file.as_deref())?;
    let limit = parse_duration(&args.limit).context("--limit")?;
    // The agents load libfabric and resolve the provider; the coordinator only drives them.
    let config = matrix_config(&args.measure)?;
    check_output(
        args.measure.output.as_deref(),
        &args.measure.exports,
        "nothing was measured",
    )?;
    let interrupted = interrupt::flag()?;
    let run = rdmabench_matrix::measure(
        hosts,
        &config,
        args.outlier_factor,
        args.metric.statistic(),
        limit,
        &interrupted,
        &mut |line| eprintln!("rdmabench: {line}"),
    )?;
    // Files are not terminals: exports get the fixed layout.
    let exported = write_exports(&args.measure.exports, |format| {
        Ok(rdmabench_matrix::render(
            &run.matrix,
            report_format(format),
            None,
        ))
    });
    let output = args.measure.output.as_deref();
    emit_measured(
        &rdmabench_matrix::render(
            &run.matrix,
            report_format(args.measure.format),
            terminal_width(output),
        ),
        output,
    )?;
    exported?;
    Ok(if run.incomplete {
        EXIT_INTERRUPTED
    } else {
        i32::from(run.failed)
    })
}

/// The matrix in `format`, its table fitted to `width` (see `output::terminal_width`).
#[cfg(feature = "cloud")]
pub fn render(
    matrix: &Matrix,
    format: crate::cli::FormatArg,
    width: Option<u16>,
) -> Result<String> {
    Ok(rdmabench_matrix::render(
        matrix,
        report_format(format),
        width,
    ))
}

/// Checks `rdmabench matrix` options for a coordinator that another process runs (the
/// cluster's), with the matrix's own parser and rules; returns them with `--provider efa` added
/// when no provider or transport was chosen. The hosts are the runner's.
#[cfg(feature = "cloud")]
pub fn cluster_options(options: &[String]) -> Result<Vec<String>> {
    use anyhow::bail;
    use clap::Parser;
    for option in options {
        let flag = option.split('=').next().unwrap_or_default();
        if ["--hosts-file", "--format", "--output"].contains(&flag) {
            bail!("{option}: `rdmabench k8s matrix` sets this itself; remove it");
        }
    }
    let argv = ["rdmabench", "matrix", "agent-a:1", "agent-b:1"]
        .into_iter()
        .map(String::from)
        .chain(options.iter().cloned());
    let cli = crate::cli::Cli::try_parse_from(argv)
        .map_err(|e| crate::cli::forwarded_options_error("matrix", &e))?;
    let crate::cli::Command::Matrix(args) = cli.command else {
        bail!("invalid matrix options");
    };
    if args.hosts.len() != 2 {
        bail!(
            "{}: the agents are the cluster's EFA nodes; do not list hosts",
            args.hosts[2..].join(" ")
        );
    }
    matrix_config(&args.measure).context("invalid matrix options")?;
    Ok(crate::bench::with_default_provider(options))
}

/// The pairs' configuration; with `--precision` each pair's client measures until its mean is
/// known that well (the agents receive the target in the run's spec).
fn matrix_config(measure: &crate::cli::MeasureArgs) -> Result<rdmabench_engine::RunConfig> {
    measure_config(measure, Test::PingPong)
}
