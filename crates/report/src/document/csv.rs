//! The report as CSV: one row per test, series and size, with the overhead against the
//! baseline and the figures a tool printed rounded (space-separated names), for spreadsheets.

use std::fmt::Write;

use super::Report;
use crate::format::quote;

const HEADER: &str = "test,series,baseline,runs,size_bytes,iterations,mean_ns,mean_ns_min,mean_ns_max,min_ns,p50_ns,p90_ns,p99_ns,p999_ns,max_ns,mb_per_sec,bw_bytes_per_sec,bw_min,bw_max,bw_peak_bytes_per_sec,msg_per_sec,overhead_percent,rounded";

pub(super) fn render(report: &Report) -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    for section in &report.sections {
        let baseline = &section.group.series[section.baseline];
        for series in &section.group.series {
            let comparison = section.comparisons.iter().find(|c| c.other == series.label);
            for s in &series.sizes {
                let overhead = comparison
                    .and_then(|c| c.rows.iter().find(|r| r.size_bytes == s.size_bytes))
                    .map_or(String::new(), |r| format!("{:.3}", r.overhead_percent));
                let figures = [
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
                ]
                .map(|v| v.map_or(String::new(), |v| v.to_string()));
                let bandwidth = [
                    s.bandwidth_bytes_per_sec,
                    s.bandwidth_min,
                    s.bandwidth_max,
                    s.peak_bytes_per_sec,
                    s.messages_per_sec,
                ]
                .map(|v| v.map_or(String::new(), |v| v.to_string()));
                let rounded: Vec<&str> = s.rounded.iter().map(|f| f.name()).collect();
                let _ = writeln!(
                    out,
                    "{},{},{},{},{},{},{},{},{},{}",
                    quote(&section.group.test),
                    quote(&series.label),
                    quote(&baseline.label),
                    series.runs.len(),
                    s.size_bytes,
                    figures.join(","),
                    s.megabytes_per_sec
                        .map_or(String::new(), |m| format!("{m:.3}")),
                    bandwidth.join(","),
                    overhead,
                    rounded.join(" ")
                );
            }
        }
    }
    out
}
