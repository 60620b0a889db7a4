//! Markdown: the seed README's exact table, then a percentile table; a bandwidth test's
//! table with perftest's columns.

use std::fmt::Write;

use super::{
    any_rounded, bandwidth_cells, bandwidth_headers, bandwidth_legend, describe, is_bandwidth,
    notice, row_cells, size_cell, BandwidthUnit, ROUNDED_FOOTNOTE,
};
use crate::model::{Figure, ResultsFile};

pub(super) fn render(results: &ResultsFile, unit: BandwidthUnit) -> String {
    let mut out = format!("_{}_\n\n", describe(results));
    if let Some(notice) = notice(results) {
        let _ = writeln!(out, "> **{notice}**\n");
    }
    if is_bandwidth(results) {
        let headers = bandwidth_headers(unit);
        let _ = writeln!(out, "| {} |", headers.join(" | "));
        let _ = writeln!(out, "|{}", " ---: |".repeat(headers.len()));
        for r in &results.results {
            let _ = writeln!(out, "| {} |", bandwidth_cells(r, unit).join(" | "));
        }
        let _ = writeln!(out, "\n{}", bandwidth_legend(results));
        return footnote(results, out);
    }
    out.push_str("| Number of messages | Message size | Time spent | usec |\n");
    out.push_str("| ------------------ | ------------ | ---------- | ---------------- |\n");
    let rows: Vec<(Vec<String>, Vec<String>)> = results.results.iter().map(row_cells).collect();
    for (seed, _) in &rows {
        let _ = writeln!(out, "| {} |", seed.join(" | "));
    }
    out.push_str("\nHalf round trip per iteration, usec:\n\n");
    out.push_str(
        "| Message size | min | p50 | p90 | p99 | p99.9 | max | stdev | MB/s | Mmsg/s |\n",
    );
    out.push_str("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (r, (_, detail)) in results.results.iter().zip(&rows) {
        let size = size_cell(r.size_bytes, r.is_rounded(Figure::SizeBytes));
        let _ = writeln!(out, "| {size} | {} |", detail.join(" | "));
    }
    footnote(results, out)
}

/// `out` with what the marks mean, when a figure is marked rounded.
fn footnote(results: &ResultsFile, mut out: String) -> String {
    if any_rounded(results) {
        let _ = writeln!(out, "\n{ROUNDED_FOOTNOTE}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::BandwidthUnit;
    use crate::format::sample;

    #[test]
    fn markdown_reproduces_the_seed_table() {
        let text = super::render(&sample::results(), BandwidthUnit::default());
        assert!(text.contains("| 1m | 4 | 20.52s | 10.26 |"), "{text}");
        insta::assert_snapshot!(text);
    }
}
