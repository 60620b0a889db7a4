//! Writing results: stdout or a file, written whole or not at all.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use rdmabench_report::tables::{self, Align};

use crate::cli::{ExportArgs, FormatArg};

/// Writes `text` to `path` (via a temporary file renamed into place, so a failure never leaves
/// a half-written file) or to stdout.
pub fn emit(text: &str, path: Option<&Path>) -> Result<()> {
    match path {
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .context("writing results to stdout")
        }
        Some(path) => rdmabench_results::write_atomically(path, text.as_bytes())
            .with_context(|| format!("writing {} (does the directory exist?)", path.display())),
    }
}

/// Refuses an `--output` or `--export-*` destination that cannot be written, before anything
/// is done; `undone` says what was not ("nothing was measured").
pub fn check_output(path: Option<&Path>, exports: &ExportArgs, undone: &str) -> Result<()> {
    let destinations = path
        .map(|p| ("--output", p))
        .into_iter()
        .chain(exports.files().into_iter().map(|(flag, _, p)| (flag, p)));
    for (flag, path) in destinations {
        rdmabench_results::check_writable(path).with_context(|| {
            format!(
                "{flag} {}: cannot write there (does the directory exist, may you write in it?); {undone}",
                path.display()
            )
        })?;
    }
    Ok(())
}

/// Writes every `--export-*` file, each rendered by `render` in its format; one that fails
/// does not stop the others, and the first failure is returned.
pub fn write_exports(
    exports: &ExportArgs,
    render: impl Fn(FormatArg) -> Result<String>,
) -> Result<()> {
    let mut first_failure = None;
    for (flag, format, path) in exports.files() {
        let written = render(format)
            .and_then(|text| emit(&text, Some(path)))
            .with_context(|| format!("{flag} {}", path.display()));
        if let Err(e) = written {
            eprintln!("error: {e:#}");
            first_failure.get_or_insert(e);
        }
    }
    first_failure.map_or(Ok(()), Err)
}

/// Writes measured results to `path`, or, when that fails after all (the disk filled up), to
/// stdout, so nothing measured is lost; the failure is still returned.
pub fn emit_measured(text: &str, path: Option<&Path>) -> Result<()> {
    match emit(text, path) {
        Err(e) if path.is_some() => {
            emit(text, None)?;
            Err(e.context("the results are on stdout instead"))
        }
        other => other,
    }
}

/// Writes report.md, report.html and plots/ beside a run's results in `dir` (with `notes`, e.g.
/// what was skipped) and prints the report on stdout; comparisons use `statistic`.
pub fn run_report(
    dir: &Path,
    notes: &[String],
    statistic: rdmabench_report::collection::Statistic,
) -> Result<()> {
    let mut report = rdmabench_report::files::report_for_run_dir(dir, statistic)?;
    report.notes.extend(notes.iter().cloned());
    let html = rdmabench_report::files::write_run_reports(dir, &report)?;
    report.terminal_width = terminal_width(None);
    emit(&report.render(rdmabench_report::ReportFormat::Table), None)?;
    eprintln!("rdmabench: results in {}", dir.display());
    eprintln!(
        "rdmabench: report: {} (also report.md, plots/*.svg|png)",
        html.display()
    );
    Ok(())
}

/// The width to fit text tables to: the terminal's when the text goes to stdout and stdout is
/// one; None for files and pipes (scripts, tests), which keeps the layout fixed and
/// deterministic.
pub fn terminal_width(path: Option<&Path>) -> Option<u16> {
    match path {
        Some(_) => None,
        None => console::Term::stdout()
            .size_checked()
            .map(|(_rows, columns)| columns),
    }
}

/// A listing (providers, tools) in a format other than JSON: aligned text under a `# title`
/// line, markdown, or CSV.
pub fn listing(format: FormatArg, title: &str, headers: &[&str], rows: &[Vec<String>]) -> String {
    let left = |_| Align::Left;
    match format {
        FormatArg::Csv => tables::csv(headers, rows),
        FormatArg::Markdown => tables::markdown(headers, rows, left),
        FormatArg::Table | FormatArg::Json => format!(
            "# {title}\n{}",
            tables::text(headers, rows, left, terminal_width(None))
        ),
    }
}
