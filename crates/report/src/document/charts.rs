//! The report's charts: per test, latency (mean with p50..p99 and p99..p99.9 bands) and
//! bandwidth against message size for every series; per comparison, the overhead against
//! the baseline with its spread across paired repetitions.

use super::{Block, Section};
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
        let x = |s: &crate::collection::SizeAcrossRuns| s.size_bytes as f64;
        latency.bands.push(Band {
            label: format!("{} p50..p99", series.label),
            color: color.clone(),
            opacity: 0.28,
            points: series
                .sizes
                .iter()
                .map(|s| (x(s), us(s.p50_ns), us(s.p99_ns)))
                .collect(),
        });
        latency.bands.push(Band {
            label: format!("{} p99..p99.9", series.label),
            color: color.clone(),
            opacity: 0.12,
            points: series
                .sizes
                .iter()
                .map(|s| (x(s), us(s.p99_ns), us(s.p999_ns)))
                .collect(),
        });
        latency.lines.push(Line {
            label: format!("{} mean", series.label),
            color: color.clone(),
            points: series.sizes.iter().map(|s| (x(s), us(s.mean_ns))).collect(),
            dashed: false,
        });
        bandwidth.lines.push(Line {
            label: series.label.clone(),
            color,
            points: series
                .sizes
                .iter()
                .map(|s| (x(s), s.megabytes_per_sec))
                .collect(),
            dashed: false,
        });
    }
    out.push(Block::Chart {
        name: format!("{}-latency", slug(test)),
        chart: latency,
    });
    out.push(Block::Chart {
        name: format!("{}-bandwidth", slug(test)),
        chart: bandwidth,
    });
}

/// The overhead of one comparison per size, with the min..max of the paired repetitions.
pub(super) fn comparison_chart(test: &str, c: &Comparison, out: &mut Vec<Block>) {
    let color = PALETTE[1].to_string();
    let spread: Vec<(f64, f64, f64)> = c
        .rows
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
                points: c
                    .rows
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
