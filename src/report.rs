//! `rdmabench report`: reads results files (or run directories) and writes one report.

use anyhow::Result;
use rdmabench_report::files::{expand, load, write_charts};
use rdmabench_report::{Report, ReportFormat};

use crate::cli::{ReportArgs, ReportFormatArg};
use crate::output::{check_output, emit, terminal_width, write_exports};

/// Runs `rdmabench report`; returns the exit code.
pub fn run(args: &ReportArgs) -> Result<i32> {
    check_output(
        args.output.as_deref(),
        &args.exports,
        "no report was written",
    )?;
    let files = expand(&args.files)?;
    let mut report = Report::build(
        load(&files)?,
        args.baseline.as_deref(),
        args.metric.statistic(),
    )?;
    let format = match args.format {
        ReportFormatArg::Table => ReportFormat::Table,
        ReportFormatArg::Markdown => ReportFormat::Markdown,
        ReportFormatArg::Json => ReportFormat::Json,
        ReportFormatArg::Csv => ReportFormat::Csv,
        ReportFormatArg::Html => ReportFormat::Html,
    };
    // Files are not terminals: exports get the fixed layout.
    let exported = write_exports(&args.exports, |format| {
        Ok(report.render(crate::bench::report_format(format).into()))
    });
    report.terminal_width = terminal_width(args.output.as_deref());
    emit(&report.render(format), args.output.as_deref())?;
    exported?;
    if let Some(dir) = &args.plots {
        let written = write_charts(&report.charts(), dir)?;
        eprintln!(
            "rdmabench: {} chart files in {}",
            written.len(),
            dir.display()
        );
    }
    Ok(0)
}
