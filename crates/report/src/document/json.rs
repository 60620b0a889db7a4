//! The report as JSON: every figure in integer nanoseconds, with the series' keys and files,
//! so scripts never have to parse a table.

use serde::Serialize;

use super::Report;
use crate::collection::{SeriesKey, SizeAcrossRuns};
use crate::comparison::Comparison;
use crate::seed::{SeedVerdict, SEED_ATTRIBUTION};

/// Version of the report layout (separate from the results files' schema). Version 3 added
/// each size's `rounded` figures (as another tool printed them) and `quality_by_run` (the
/// `--precision` record of each run). Version 4 renamed that `precision_by_run`, added each
/// size's `noise_by_run` (the signs of noise of each run), `p50_ns_by_run` and `p99_ns_by_run`,
/// and to each comparison the `statistic` compared (`--metric`; the mean where a side prints no
/// other, with `statistic_note` saying why) and each row's `baseline_noise` and `other_noise`,
/// and named each size's bandwidth as the results file does: `average_bytes_per_sec` (was
/// `bandwidth_bytes_per_sec`), `average_bytes_per_sec_min`/`_max` and `_by_run` (were
/// `bandwidth_min`, `bandwidth_max`, `bandwidth_by_run`).
pub const REPORT_SCHEMA_VERSION: u32 = 4;

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    kind: &'static str,
    files: usize,
    tests: Vec<TestView<'a>>,
    seed_reference: &'static str,
    notes: &'a [String],
}

#[derive(Serialize)]
struct TestView<'a> {
    test: &'a str,
    baseline: &'a str,
    series: Vec<SeriesView<'a>>,
    comparisons: &'a [Comparison],
    seed: &'a [SeedVerdict],
}

#[derive(Serialize)]
struct SeriesView<'a> {
    label: &'a str,
    key: &'a SeriesKey,
    files: Vec<&'a str>,
    sizes: &'a [SizeAcrossRuns],
}

pub(super) fn render(report: &Report) -> String {
    let document = Document {
        schema_version: REPORT_SCHEMA_VERSION,
        kind: "rdmabench-report",
        files: report.files,
        tests: report
            .sections
            .iter()
            .map(|section| TestView {
                test: &section.group.test,
                baseline: &section.group.series[section.baseline].label,
                series: section
                    .group
                    .series
                    .iter()
                    .map(|s| SeriesView {
                        label: &s.label,
                        key: &s.key,
                        files: s.runs.iter().map(|r| r.source.as_str()).collect(),
                        sizes: &s.sizes,
                    })
                    .collect(),
                comparisons: &section.comparisons,
                seed: &section.seed,
            })
            .collect(),
        seed_reference: SEED_ATTRIBUTION,
        notes: &report.notes,
    };
    // Strings, integers, finite floats and lists only: serialization cannot fail.
    let mut text =
        serde_json::to_string_pretty(&document).expect("the report is JSON-representable");
    text.push('\n');
    text
}
