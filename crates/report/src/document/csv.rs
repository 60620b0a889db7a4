//! The report as CSV: one row per test, series and size, with the overhead against the
//! baseline and the figures a tool printed rounded (space-separated names), for spreadsheets.
//! Columns are named as the report JSON's fields, with the unit in every name.

use super::Report;
use crate::tables;

/// The columns, documented in docs/usage.md ("CSV columns").
const HEADERS: [&str; 23] = [
    "test",
    "series",
    "baseline",
    "runs",
    "size_bytes",
    "iterations",
    "mean_ns",
    "mean_ns_min",
    "mean_ns_max",
    "min_ns",
    "p50_ns",
    "p90_ns",
    "p99_ns",
    "p999_ns",
    "max_ns",
    "megabytes_per_sec",
    "average_bytes_per_sec",
    "average_bytes_per_sec_min",
    "average_bytes_per_sec_max",
    "peak_bytes_per_sec",
    "messages_per_sec",
    "overhead_percent",
    "rounded",
];

pub(super) fn render(report: &Report) -> String {
    let mut rows = Vec::new();
    for section in &report.sections {
        let baseline = &section.group.series[section.baseline];
        for series in &section.group.series {
            let comparison = section.comparisons.iter().find(|c| c.other == series.label);
            for s in &series.sizes {
                let overhead = comparison
                    .and_then(|c| c.rows.iter().find(|r| r.size_bytes == s.size_bytes))
                    .map_or(String::new(), |r| format!("{:.3}", r.overhead_percent));
                let mut row = vec![
                    section.group.test.clone(),
                    series.label.clone(),
                    baseline.label.clone(),
                    series.runs.len().to_string(),
                    s.size_bytes.to_string(),
                ];
                let figures = |values: &[Option<u64>]| -> Vec<String> {
                    values
                        .iter()
                        .map(|v| v.map_or(String::new(), |v| v.to_string()))
                        .collect()
                };
                row.extend(figures(&[
                    s.iterations,
                    s.mean_ns,
                    s.mean_ns_min,
                    s.mean_ns_max,
                    s.min_ns,
                    s.p50_ns,
                    s.p90_ns,
                    s.p99_ns,
                    s.p999_ns,
                    s.max_ns,
                ]));
                row.push(
                    s.megabytes_per_sec
                        .map_or(String::new(), |m| format!("{m:.3}")),
                );
                row.extend(figures(&[
                    s.average_bytes_per_sec,
                    s.average_bytes_per_sec_min,
                    s.average_bytes_per_sec_max,
                    s.peak_bytes_per_sec,
                    s.messages_per_sec,
                ]));
                row.push(overhead);
                row.push(
                    s.rounded
                        .iter()
                        .map(|f| f.name())
                        .collect::<Vec<_>>()
                        .join(" "),
                );
                rows.push(row);
            }
        }
    }
    tables::csv(&HEADERS, &rows)
}

#[cfg(test)]
mod tests {
    use super::HEADERS;
    use crate::document::tests::node_and_pod;
    use crate::ReportFormat;

    /// Scripts switching between `--format csv` and `--format json` find the same names.
    #[test]
    fn csv_columns_are_the_report_json_field_names() {
        let report = node_and_pod();
        let json: serde_json::Value =
            serde_json::from_str(&report.render(ReportFormat::Json)).unwrap();
        let test = &json["tests"][0];
        let size = &test["series"][0]["sizes"][0];
        let comparison_row = &test["comparisons"][0]["rows"][0];
        let runs_and_label = ["test", "series", "baseline", "runs"];
        for column in HEADERS {
            assert!(
                runs_and_label.contains(&column)
                    || size.get(column).is_some()
                    || comparison_row.get(column).is_some(),
                "CSV column {column} is no report JSON field"
            );
        }
    }
}
