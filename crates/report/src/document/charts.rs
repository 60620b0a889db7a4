//! The report's charts: per test, latency (mean with p50..p99 and p99..p99.9 bands) and
//! bandwidth against message size for every series; per comparison, the overhead against
//! the baseline with its spread across paired repetitions.

use super::{Block, Section};
use crate::collection::SizeAcrossRuns;
use crate::comparison::Comparison;
use crate::plot::{Band, Chart, Line, PALETTE};

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

/// A file-name-safe form of a label.
fn slug(text: &str) -> String {
    let slug: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    slug.split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// Latency and bandwidth charts of one test's series.
pub(super) fn section_charts(section: &Section, out: &mut Vec<Block>) {
    let test = &section.group.test;
    let mut latency = Chart {
        title: format!("{test}: latency against message size"),
        y_label: "half round trip (usec, log scale)".into(),
        y_log: true,
        bands: Vec::new(),
        lines: Vec::new(),
    };
    let mut bandwidth = Chart {
        title: format!("{test}: bandwidth against message size"),
        y_label: "MB/s (10^6 B/s, log scale)".into(),
        y_log: true,
        bands: Vec::new(),
        lines: Vec::new(),
    };
    for (i, series) in section.group.series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()].to_string();
        let x = |s: &SizeAcrossRuns| s.size_bytes as f64;
        // Size 0 (fi_pingpong -S all starts there) has no place on a log axis.
        let series_sizes: Vec<&SizeAcrossRuns> =
            series.sizes.iter().filter(|s| s.size_bytes > 0).collect();
        // Sizes whose figures a tool did not report are left out of that line or band.
        let band = |low: fn(&SizeAcrossRuns) -> Option<u64>,
                    high: fn(&SizeAcrossRuns) -> Option<u64>| {
            series_sizes
                .iter()
                .filter_map(|s| Some((x(s), us(low(s)?), us(high(s)?))))
                .collect::<Vec<_>>()
        };
        for (label, opacity, points) in [
            ("p50..p99", 0.28, band(|s| s.p50_ns, |s| s.p99_ns)),
            ("p99..p99.9", 0.12, band(|s| s.p99_ns, |s| s.p999_ns)),
        ] {
            if !points.is_empty() {
                latency.bands.push(Band {
                    label: format!("{} {label}", series.label),
                    color: color.clone(),
                    opacity,
                    points,
                });
            }
        }
        latency.lines.push(Line {
            label: format!("{} mean", series.label),
            color: color.clone(),
            points: series_sizes
                .iter()
                .filter_map(|s| Some((x(s), us(s.mean_ns?))))
                .collect(),
            dashed: false,
        });
        bandwidth.lines.push(Line {
            label: series.label.clone(),
            color,
            points: series_sizes
                .iter()
                .filter_map(|s| Some((x(s), s.megabytes_per_sec?)))
                .collect(),
            dashed: false,
        });
    }
    // A bandwidth test has no latency to draw (and imported latency-only results no bandwidth).
    for (kind, chart) in [("latency", latency), ("bandwidth", bandwidth)] {
        if chart.lines.iter().any(|line| !line.points.is_empty()) {
            out.push(Block::Chart {
                name: format!("{}-{kind}", slug(test)),
                chart,
            });
        }
    }
}

/// The overhead of one comparison per size, with the min..max of the paired repetitions.
pub(super) fn comparison_chart(test: &str, c: &Comparison, out: &mut Vec<Block>) {
    let color = PALETTE[1].to_string();
    // Size 0 has no place on a log axis.
    let rows: Vec<_> = c.rows.iter().filter(|r| r.size_bytes > 0).collect();
    let spread: Vec<(f64, f64, f64)> = rows
        .iter()
        .filter_map(|r| {
            let lo = r
                .paired_overheads_percent
                .iter()
                .copied()
                .reduce(f64::min)?;
            let hi = r
                .paired_overheads_percent
                .iter()
                .copied()
                .reduce(f64::max)?;
            Some((r.size_bytes as f64, lo, hi))
        })
        .collect();
    let bands = if spread.is_empty() {
        Vec::new()
    } else {
        vec![Band {
            label: "spread across pairs".into(),
            color: color.clone(),
            opacity: 0.25,
            points: spread,
        }]
    };
    out.push(Block::Chart {
        name: format!(
            "{}-overhead-{}-vs-{}",
            slug(test),
            slug(&c.other),
            slug(&c.baseline)
        ),
        chart: Chart {
            title: format!("{test}: {} against {} (overhead)", c.other, c.baseline),
            y_label: "overhead (%)".into(),
            y_log: false,
            bands,
            lines: vec![Line {
                label: "median overhead".into(),
                color,
                points: rows
                    .iter()
                    .map(|r| (r.size_bytes as f64, r.overhead_percent))
                    .collect(),
                dashed: false,
            }],
        },
    });
}

#[cfg(test)]
mod tests {
    use super::slug;

    #[test]
    fn slugs_are_file_name_safe() {
        assert_eq!(slug("kernel TCP"), "kernel-tcp");
        assert_eq!(slug("tcp;ofi_rxm node"), "tcp-ofi-rxm-node");
    }
}
