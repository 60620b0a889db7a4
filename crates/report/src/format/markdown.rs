//! Markdown: the seed README's exact table, then a percentile table; a bandwidth test's
//! table with perftest's columns.

use std::fmt::Write;

use super::{
    any_rounded, bandwidth_cells, bandwidth_headers, bandwidth_legend, describe, is_bandwidth,
    notice, row_cells, size_cell, BandwidthUnit, ROUNDED_FOOTNOTE,
};
use crate::document::SEED_MARKDOWN_HEADER;
use crate::model::{Figure, ResultsFile};
use crate::tables::{self, Align};

pub(super) fn render(results: &ResultsFile, unit: BandwidthUnit) -> String {
    let mut out = format!("_{}_\n\n", describe(results));
    if let Some(notice) = notice(results) {
        let _ = writeln!(out, "> **{notice}**\n");
    }
    if is_bandwidth(results) {
        let rows: Vec<Vec<String>> = results
            .results
            .iter()
            .map(|r| bandwidth_cells(r, unit))
            .collect();
        out.push_str(&tables::markdown(&bandwidth_headers(unit), &rows, |_| {
            Align::Right
        }));
        let _ = writeln!(out, "\n{}", bandwidth_legend(results));
        return footnote(results, out);
    }
    let (seed, detail): (Vec<Vec<String>>, Vec<Vec<String>>) = results
        .results
        .iter()
        .map(|r| {
            let (seed, mut detail) = row_cells(r);
            detail.insert(0, size_cell(r.size_bytes, r.is_rounded(Figure::SizeBytes)));
            (seed, detail)
        })
        .unzip();
    out.push_str(SEED_MARKDOWN_HEADER);
    out.push_str(&tables::markdown_rows(&seed));
    out.push_str("\nHalf round trip per iteration, usec:\n\n");
    let detail_headers: Vec<&str> = std::iter::once("Message size")
        .chain(super::PERCENTILE_HEADERS)
        .collect();
    out.push_str(&tables::markdown(&detail_headers, &detail, |_| {
        Align::Right
    }));
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
