//! `rdmabench report`: reads results files (or run directories) and writes one report.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rdmabench_report::{LoadedRun, Report, ReportFormat, ResultsFile};

use crate::cli::{ReportArgs, ReportFormatArg};
use crate::output::emit;

/// Maps the CLI's choice onto the report crate's.
fn report_format(arg: ReportFormatArg) -> ReportFormat {
    match arg {
        ReportFormatArg::Table => ReportFormat::Table,
        ReportFormatArg::Markdown => ReportFormat::Markdown,
        ReportFormatArg::Json => ReportFormat::Json,
        ReportFormatArg::Csv => ReportFormat::Csv,
        ReportFormatArg::Html => ReportFormat::Html,
    }
}

/// Orders names as people expect: "pingpong-2" before "pingpong-10".
fn natural_key(name: &str) -> Vec<(String, u64)> {
    let mut key = Vec::new();
    let mut text = String::new();
    let mut digits = String::new();
    for c in name.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            if !digits.is_empty() {
                key.push((
                    std::mem::take(&mut text),
                    digits.parse().unwrap_or(u64::MAX),
                ));
                digits.clear();
            }
            text.push(c);
        }
    }
    key.push((text, digits.parse().unwrap_or(0)));
    key
}

/// Files as given, with each directory replaced by its *.json files in natural order.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("reading directory {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "json") && p.is_file())
                .collect();
            if found.is_empty() {
                bail!(
                    "{} holds no *.json results files: give the directory of a run (results/<time>-<target>/) or the files themselves",
                    path.display()
                );
            }
            found
                .sort_by_key(|p| natural_key(&p.file_name().unwrap_or_default().to_string_lossy()));
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

/// Reads results files, naming the file in every error.
pub fn load(files: &[PathBuf]) -> Result<Vec<LoadedRun>> {
    files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let results = ResultsFile::from_json(&text)
                .with_context(|| format!("reading {}", path.display()))?;
            Ok(LoadedRun {
                source: path.display().to_string(),
                results,
            })
        })
        .collect()
}

/// Builds the report over `dir`'s results files, naming them relative to it.
pub fn report_for_run_dir(dir: &Path) -> Result<Report> {
    let files = expand(&[dir.to_path_buf()])?;
    let mut runs = load(&files)?;
    for run in &mut runs {
        if let Some(name) = Path::new(&run.source).file_name() {
            run.source = name.to_string_lossy().to_string();
        }
    }
    Ok(Report::build(runs, None)?)
}

/// Writes a run's reports beside its results: report.md, report.html (self-contained) and
/// plots/ with every chart as SVG and PNG. Returns the HTML report's path.
pub fn write_run_reports(dir: &Path, report: &Report) -> Result<PathBuf> {
    emit(
        &report.render(ReportFormat::Markdown),
        Some(&dir.join("report.md")),
    )?;
    let html = dir.join("report.html");
    emit(&report.render(ReportFormat::Html), Some(&html))?;
    crate::plots::write_charts(&report.charts(), &dir.join("plots"))?;
    Ok(html)
}

/// Runs `rdmabench report`; returns the exit code.
pub fn run(args: &ReportArgs) -> Result<i32> {
    let files = expand(&args.files)?;
    let report = Report::build(load(&files)?, args.baseline.as_deref())?;
    emit(
        &report.render(report_format(args.format)),
        args.output.as_deref(),
    )?;
    if let Some(dir) = &args.plots {
        let written = crate::plots::write_charts(&report.charts(), dir)?;
        eprintln!(
            "rdmabench: {} chart files in {}",
            written.len(),
            dir.display()
        );
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_files_sort_by_number() {
        let mut names = ["pod-10.json", "node-2.json", "pod-2.json", "node-10.json"];
        names.sort_by_key(|n| natural_key(n));
        assert_eq!(
            names,
            ["node-2.json", "node-10.json", "pod-2.json", "pod-10.json"]
        );
    }
}
