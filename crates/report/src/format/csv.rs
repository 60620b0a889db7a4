//! CSV: one row per size, for spreadsheets and scripts. Columns are named as the results
//! file's fields (`latency.p99_ns` is `p99_ns`, `bandwidth.peak_bytes_per_sec` is
//! `peak_bytes_per_sec`), with the unit in every name; the last column names the figures a tool
//! printed rounded (space-separated, e.g. "iterations total_ns").

use crate::model::ResultsFile;
use crate::tables;

/// The columns, documented in docs/usage.md ("CSV columns").
const HEADERS: [&str; 20] = [
    "provider",
    "size_bytes",
    "iterations",
    "warmup_iterations",
    "total_ns",
    "min_ns",
    "mean_ns",
    "stdev_ns",
    "p50_ns",
    "p90_ns",
    "p99_ns",
    "p999_ns",
    "max_ns",
    "seed_mean_ns",
    "megabytes_per_sec",
    "messages_per_sec",
    "average_bytes_per_sec",
    "peak_bytes_per_sec",
    "complete",
    "rounded",
];

pub(super) fn render(results: &ResultsFile) -> String {
    let provider = results
        .fabric
        .as_ref()
        .map_or("socket".to_string(), |f| f.provider.clone());
    let text = |v: Option<u64>| v.map_or(String::new(), |v| v.to_string());
    let rows: Vec<Vec<String>> = results
        .results
        .iter()
        .map(|r| {
            let l = r.latency.as_ref();
            let b = r.bandwidth.as_ref();
            vec![
                provider.clone(),
                r.size_bytes.to_string(),
                text(r.iterations),
                text(r.warmup_iterations),
                text(r.total_ns),
                text(l.and_then(|l| l.min_ns)),
                text(l.map(|l| l.mean_ns)),
                text(l.and_then(|l| l.stdev_ns)),
                text(l.and_then(|l| l.p50_ns)),
                text(l.and_then(|l| l.p90_ns)),
                text(l.and_then(|l| l.p99_ns)),
                text(l.and_then(|l| l.p999_ns)),
                text(l.and_then(|l| l.max_ns)),
                text(r.mean_ns()),
                r.megabytes_per_sec()
                    .map_or(String::new(), |m| format!("{m:.3}")),
                text(r.messages_per_sec().map(|m| m.round() as u64)),
                text(b.map(|b| b.average_bytes_per_sec)),
                text(b.and_then(|b| b.peak_bytes_per_sec)),
                results.complete.to_string(),
                r.rounded
                    .iter()
                    .map(|f| f.name())
                    .collect::<Vec<_>>()
                    .join(" "),
            ]
        })
        .collect();
    tables::csv(&HEADERS, &rows)
}

#[cfg(test)]
mod tests {
    use crate::format::sample;

    #[test]
    fn csv_has_a_header_and_one_row_per_size() {
        insta::assert_snapshot!(super::render(&sample::results()));
    }

    #[test]
    fn provider_names_with_commas_are_quoted() {
        let mut results = sample::results();
        results.fabric.as_mut().unwrap().provider = "tcp;ofi_rxm,x".into();
        let csv = super::render(&results);
        let second = csv.lines().nth(1).unwrap();
        assert!(second.starts_with("\"tcp;ofi_rxm,x\",4,"), "{csv}");
    }

    #[test]
    fn column_names_are_the_results_files_field_names() {
        let mut results = sample::results();
        results.results[0].bandwidth = Some(rdmabench_stats::BandwidthSummary {
            average_bytes_per_sec: 1,
            peak_bytes_per_sec: Some(2),
            messages_per_sec: Some(3),
        });
        let json: serde_json::Value = serde_json::from_str(&results.to_json_pretty()).unwrap();
        let row = &json["results"][0];
        let fields: Vec<&str> = [row, &row["latency"], &row["bandwidth"]]
            .iter()
            .flat_map(|object| object.as_object().unwrap().keys().map(String::as_str))
            .collect();
        // Figures the results file does not store: computed from it, named with their unit.
        let derived = ["provider", "seed_mean_ns", "megabytes_per_sec", "complete"];
        for column in super::HEADERS {
            assert!(
                fields.contains(&column) || derived.contains(&column),
                "CSV column {column} is no results-file field"
            );
        }
    }
}
