//! Markdown: the seed README's exact table, then a percentile table.

use std::fmt::Write;

use rdmabench_stats::units::{seed_count, seed_time, usec};

use super::{describe, notice};
use crate::model::ResultsFile;

pub(super) fn render(results: &ResultsFile) -> String {
    let mut out = format!("_{}_\n\n", describe(results));
    if let Some(notice) = notice(results) {
        let _ = writeln!(out, "> **{notice}**\n");
    }
    out.push_str("| Number of messages | Message size | Time spent | usec |\n");
    out.push_str("| ------------------ | ------------ | ---------- | ---------------- |\n");
    for r in &results.results {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.2} |",
            seed_count(r.iterations),
            r.size_bytes,
            seed_time(r.total_ns),
            r.seed_usec()
        );
    }
    out.push_str("\nHalf round trip per iteration, usec:\n\n");
    out.push_str(
        "| Message size | min | p50 | p90 | p99 | p99.9 | max | stdev | MB/s | Mmsg/s |\n",
    );
    out.push_str("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for r in &results.results {
        let l = &r.latency;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {:.3} |",
            r.size_bytes,
            usec(l.min_ns),
            usec(l.p50_ns),
            usec(l.p90_ns),
            usec(l.p99_ns),
            usec(l.p999_ns),
            usec(l.max_ns),
            usec(l.stdev_ns),
            r.megabytes_per_sec(),
            r.messages_per_sec() / 1e6
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::format::sample;

    #[test]
    fn markdown_reproduces_the_seed_table() {
        let text = super::render(&sample::results());
        assert!(text.contains("| 1m | 4 | 20.52s | 10.26 |"), "{text}");
        insta::assert_snapshot!(text);
    }
}
