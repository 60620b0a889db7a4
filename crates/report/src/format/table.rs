//! Aligned text for terminals: the seed table's four columns, then percentiles and rates.

use std::fmt::Write;

use super::{
    any_rounded, bandwidth_cells, bandwidth_headers, bandwidth_legend, describe, is_bandwidth,
    notice, row_cells, BandwidthUnit, ROUNDED_FOOTNOTE,
};
use crate::model::ResultsFile;
use crate::tables::{self, Align};

/// The seed's columns, then the percentiles.
const SEED_COLUMNS: [&str; 4] = ["Number of messages", "Message size", "Time spent", "usec"];

/// `width`: the terminal's, to fit the table to (see `tables::text`).
pub(super) fn render(results: &ResultsFile, unit: BandwidthUnit, width: Option<u16>) -> String {
    let (headers, rows, legend): (Vec<String>, Vec<Vec<String>>, String) = if is_bandwidth(results)
    {
        (
            bandwidth_headers(unit),
            results
                .results
                .iter()
                .map(|r| bandwidth_cells(r, unit))
                .collect(),
            bandwidth_legend(results),
        )
    } else {
        (
            SEED_COLUMNS
                .iter()
                .chain(&super::PERCENTILE_HEADERS)
                .map(|h| (*h).to_string())
                .collect(),
            results
                .results
                .iter()
                .map(|r| {
                    let (mut seed, detail) = row_cells(r);
                    // The table's order: min, p50, p90, p99, p99.9, max, stdev, MB/s, Mmsg/s.
                    seed.extend(detail);
                    seed
                })
                .collect(),
            "usec = total time / (2 x messages); min..stdev = half round trip per iteration, in usec".into(),
        )
    };
    let mut out = format!("# {}\n", describe(results));
    if let Some(notice) = notice(results) {
        let _ = writeln!(out, "# {notice}");
    }
    let _ = writeln!(out, "# {legend}");
    if any_rounded(results) {
        let _ = writeln!(out, "# {ROUNDED_FOOTNOTE}");
    }
    out.push_str(&tables::text(&headers, &rows, |_| Align::Right, width));
    out
}

#[cfg(test)]
mod tests {
    use super::BandwidthUnit;
    use crate::format::sample;

    #[test]
    fn table_starts_with_the_seed_columns() {
        insta::assert_snapshot!(super::render(
            &sample::results(),
            BandwidthUnit::default(),
            None
        ));
    }

    #[test]
    fn partial_runs_say_so() {
        let mut results = sample::results();
        results.complete = false;
        results.note = Some("interrupted by Ctrl-C after 1 of 2 sizes".into());
        results.results.truncate(1);
        insta::assert_snapshot!(super::render(&results, BandwidthUnit::default(), None));
    }

    #[test]
    fn socket_runs_name_the_kernel_transport_and_show_the_fallback_note() {
        insta::assert_snapshot!(super::render(
            &sample::socket_same_host(),
            BandwidthUnit::default(),
            None
        ));
    }
}
