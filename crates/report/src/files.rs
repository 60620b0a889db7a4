//! Reports from files: results files and run directories in, report files out (report.md,
//! report.html and the charts beside a run's results).

use std::path::{Path, PathBuf};

use rdmabench_results::{write_atomically, ResultsFile};

use crate::collection::{LoadedRun, Statistic};
use crate::document::{Report, ReportFormat};
use crate::ReportError;

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

/// Files as given, with each directory replaced by its *.json files in natural order; a
/// directory without any (`results/`, the parent of the runs) by those of the run directories
/// inside it, run by run in natural order.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ReportError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = json_files(path)?;
            if found.is_empty() {
                for run in entries(path)?.into_iter().filter(|p| p.is_dir()) {
                    found.extend(json_files(&run)?);
                }
            }
            if found.is_empty() {
                return Err(ReportError::EmptyDirectory(path.display().to_string()));
            }
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

/// A directory's entries in natural order of their names.
fn entries(dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let listing = std::fs::read_dir(dir)
        .map_err(|e| ReportError::file(format!("reading directory {}", dir.display()), e))?;
    let mut paths: Vec<PathBuf> = listing.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort_by_key(|p| natural_key(&p.file_name().unwrap_or_default().to_string_lossy()));
    Ok(paths)
}

/// A directory's *.json files in natural order.
fn json_files(dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    Ok(entries(dir)?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json") && p.is_file())
        .collect())
}

/// Reads results files, naming the file in every error.
pub fn load(files: &[PathBuf]) -> Result<Vec<LoadedRun>, ReportError> {
    files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .map_err(|e| ReportError::file(format!("reading {}", path.display()), e))?;
            let results =
                ResultsFile::from_json(&text).map_err(|source| ReportError::Unreadable {
                    path: path.display().to_string(),
                    source,
                })?;
            Ok(LoadedRun {
                source: path.display().to_string(),
                results,
            })
        })
        .collect()
}

/// Builds the report over `dir`'s results files, naming them relative to it, comparing on
/// `statistic`.
pub fn report_for_run_dir(dir: &Path, statistic: Statistic) -> Result<Report, ReportError> {
    let files = expand(&[dir.to_path_buf()])?;
    let mut runs = load(&files)?;
    for run in &mut runs {
        if let Some(name) = Path::new(&run.source).file_name() {
            run.source = name.to_string_lossy().to_string();
        }
    }
    Report::build(runs, None, statistic)
}

/// Writes `text` to `path` whole.
pub fn write_text(path: &Path, text: &str) -> Result<(), ReportError> {
    write_atomically(path, text.as_bytes()).map_err(|e| {
        ReportError::file(
            format!("writing {} (does the directory exist?)", path.display()),
            e,
        )
    })
}

/// Writes a run's reports beside its results: report.md, report.html (self-contained) and
/// plots/ with every chart (SVG, and PNG in builds with the `png` feature). Returns the HTML
/// report's path.
pub fn write_run_reports(dir: &Path, report: &Report) -> Result<PathBuf, ReportError> {
    write_text(
        &dir.join("report.md"),
        &report.render(ReportFormat::Markdown),
    )?;
    let html = dir.join("report.html");
    write_text(&html, &report.render(ReportFormat::Html))?;
    write_charts(&report.charts(), &dir.join("plots"))?;
    Ok(html)
}

/// Writes every chart as `<name>.svg` (and `<name>.png` with the `png` feature) into `dir`
/// (created if missing); returns the files written.
pub fn write_charts(
    charts: &[(String, crate::plot::Chart)],
    dir: &Path,
) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| ReportError::file(format!("creating {}", dir.display()), e))?;
    let mut written = Vec::new();
    for (name, chart) in charts {
        let svg = chart.to_svg();
        let svg_path = dir.join(format!("{name}.svg"));
        write_text(&svg_path, &svg)?;
        written.push(svg_path);
        #[cfg(feature = "png")]
        {
            let png_path = dir.join(format!("{name}.png"));
            let png = crate::png::svg_to_png(&svg).map_err(|detail| ReportError::Png {
                path: png_path.display().to_string(),
                detail,
            })?;
            write_atomically(&png_path, &png)
                .map_err(|e| ReportError::file(format!("writing {}", png_path.display()), e))?;
            written.push(png_path);
        }
    }
    Ok(written)
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

    #[test]
    fn a_directory_of_runs_gives_every_runs_files_run_by_run() {
        let results = tempfile::tempdir().unwrap();
        for (run, file) in [
            ("2026-12-02T10-local", "pingpong-1.json"),
            ("2026-12-02T9-local", "pingpong-1.json"),
            ("2026-12-02T9-local", "pingpong-2.json"),
        ] {
            let dir = results.path().join(run);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(file), "{}").unwrap();
        }
        std::fs::write(results.path().join("notes.txt"), "not a run").unwrap();
        let names: Vec<String> = expand(&[results.path().to_path_buf()])
            .unwrap()
            .iter()
            .map(|p| {
                p.strip_prefix(results.path())
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(
            names,
            [
                "2026-12-02T9-local/pingpong-1.json",
                "2026-12-02T9-local/pingpong-2.json",
                "2026-12-02T10-local/pingpong-1.json"
            ]
        );
        let empty = tempfile::tempdir().unwrap();
        std::fs::create_dir(empty.path().join("no-runs-here")).unwrap();
        let err = expand(&[empty.path().to_path_buf()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("nor do the directories in it"), "{err}");
    }
}
