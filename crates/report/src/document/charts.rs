//! The report's charts: first a summary per test (what the report answers at a glance), then
//! per test latency (one panel per series: mean, median, p50..p99 and p99..p99.9 bands) and
//! bandwidth against message size for every series; per comparison, the overhead against
//! the baseline with its spread across paired repetitions.

use super::{Block, Section};
use crate::collection::{Metric, Series, SizeAcrossRuns};
use crate::comparison::Comparison;
use crate::plot::{slug, Band, Chart, Line, Panel, PALETTE};

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

/// A series' colour: the same in every chart of its test.
fn color(index: usize) -> String {
    PALETTE[index % PALETTE.len()].to_string()
}

/// The sizes a log axis can show: size 0 (fi_pingpong -S all starts there) has no place on it.
fn plotted_sizes(series: &Series) -> Vec<&SizeAcrossRuns> {
    series.sizes.iter().filter(|s| s.size_bytes > 0).collect()
}

/// Points of one figure of a series; sizes whose figure a tool did not report are left out.
fn points(series: &Series, figure: impl Fn(&SizeAcrossRuns) -> Option<f64>) -> Vec<(f64, f64)> {
    plotted_sizes(series)
        .into_iter()
        .filter_map(|s| Some((s.size_bytes as f64, figure(s)?)))
        .collect()
}

/// Whether a series has medians to draw: imported fi_pingpong and OSU runs report only means.
fn has_median(series: &Series) -> bool {
    series.sizes.iter().any(|s| s.p50_ns.is_some())
}

/// The chart the report leads with, one per test: with a baseline comparison, every other
/// series' overhead against the baseline (the question a node-vs-pod or provider-vs-TCP report
/// asks); with one series, its median latency (mean where a tool reported no median) or its
/// bandwidth against message size.
pub(super) fn summary_chart(section: &Section, out: &mut Vec<Block>) {
    let test = &section.group.test;
    let what = match section.metric {
        Metric::Bandwidth => "bandwidth",
        Metric::Latency => "latency",
    };
    let series = &section.group.series;
    let chart = if section.comparisons.is_empty() {
        let lines = series
            .iter()
            .enumerate()
            .map(|(i, s)| match section.metric {
                Metric::Bandwidth => Line {
                    label: s.label.clone(),
                    color: color(i),
                    points: points(s, |size| size.megabytes_per_sec),
                    dashed: false,
                },
                Metric::Latency if has_median(s) => Line {
                    label: format!("{} median", s.label),
                    color: color(i),
                    points: points(s, |size| size.p50_ns.map(us)),
                    dashed: false,
                },
                Metric::Latency => Line {
                    label: format!("{} mean (no median reported)", s.label),
                    color: color(i),
                    points: points(s, |size| size.mean_ns.map(us)),
                    dashed: false,
                },
            })
            .collect();
        let y_label = match section.metric {
            Metric::Bandwidth => "MB/s (10^6 B/s, log scale)",
            Metric::Latency => "half round trip (usec, log scale)",
        };
        Chart {
            title: format!("Summary: {test} {what} against message size"),
            y_label: y_label.into(),
            y_log: true,
            panels: vec![Panel {
                title: String::new(),
                bands: Vec::new(),
                lines,
            }],
        }
    } else {
        let baseline = &series[section.baseline];
        // The baseline itself is the zero line, in its own colour.
        let zero = Line {
            label: format!("{} (baseline)", baseline.label),
            color: color(section.baseline),
            points: points(baseline, |_| Some(0.0)),
            dashed: false,
        };
        let overheads = section.comparisons.iter().map(|c| {
            let index = series.iter().position(|s| s.label == c.other).unwrap_or(0);
            Line {
                label: c.other.clone(),
                color: color(index),
                points: c
                    .rows
                    .iter()
                    .filter(|r| r.size_bytes > 0)
                    .map(|r| (r.size_bytes as f64, r.overhead_percent))
                    .collect(),
                dashed: false,
            }
        });
        Chart {
            title: format!(
                "Summary: {test} {what}, overhead against {} (baseline)",
                baseline.label
            ),
            y_label: "overhead (%)".into(),
            y_log: false,
            panels: vec![Panel {
                title: String::new(),
                bands: Vec::new(),
                lines: std::iter::once(zero).chain(overheads).collect(),
            }],
        }
    };
    push_if_drawn(format!("{}-summary", slug(test)), chart, out);
}

/// One series' latency panel: mean (solid) and median (dashed) with its percentile bands.
fn latency_panel(series: &Series, color: String) -> Panel {
    let band = |low: fn(&SizeAcrossRuns) -> Option<u64>,
                high: fn(&SizeAcrossRuns) -> Option<u64>| {
        plotted_sizes(series)
            .into_iter()
            .filter_map(|s| Some((s.size_bytes as f64, us(low(s)?), us(high(s)?))))
            .collect::<Vec<_>>()
    };
    let bands = [
        ("p50..p99", 0.28, band(|s| s.p50_ns, |s| s.p99_ns)),
        ("p99..p99.9", 0.12, band(|s| s.p99_ns, |s| s.p999_ns)),
    ]
    .into_iter()
    .filter(|(_, _, points)| !points.is_empty())
    .map(|(label, opacity, points)| Band {
        label: label.into(),
        color: color.clone(),
        opacity,
        points,
    })
    .collect();
    let median = has_median(series);
    let mean = Line {
        label: if median {
            "mean".into()
        } else {
            "mean (no median reported)".into()
        },
        color: color.clone(),
        points: points(series, |s| s.mean_ns.map(us)),
        dashed: false,
    };
    let median = median.then(|| Line {
        label: "median (p50)".into(),
        color,
        points: points(series, |s| s.p50_ns.map(us)),
        dashed: true,
    });
    Panel {
        title: series.label.clone(),
        bands,
        lines: std::iter::once(mean).chain(median).collect(),
    }
}

/// Latency and bandwidth charts of one test's series.
pub(super) fn section_charts(section: &Section, out: &mut Vec<Block>) {
    let test = &section.group.test;
    let series = &section.group.series;
    let latency = Chart {
        title: format!("{test}: latency against message size, per series"),
        y_label: "half round trip (usec, log scale)".into(),
        y_log: true,
        panels: series
            .iter()
            .enumerate()
            .map(|(i, s)| latency_panel(s, color(i)))
            .collect(),
    };
    let bandwidth = Chart {
        title: format!("{test}: bandwidth against message size"),
        y_label: "MB/s (10^6 B/s, log scale)".into(),
        y_log: true,
        panels: vec![Panel {
            title: String::new(),
            bands: Vec::new(),
            lines: series
                .iter()
                .enumerate()
                .map(|(i, s)| Line {
                    label: s.label.clone(),
                    color: color(i),
                    points: points(s, |size| size.megabytes_per_sec),
                    dashed: false,
                })
                .collect(),
        }],
    };
    // A bandwidth test has no latency to draw (and imported latency-only results no bandwidth).
    for (kind, chart) in [("latency", latency), ("bandwidth", bandwidth)] {
        push_if_drawn(format!("{}-{kind}", slug(test)), chart, out);
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
            panels: vec![Panel {
                title: String::new(),
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
            }],
        },
    });
}

/// Adds `chart` as `name` when it has a point to draw (an imported latency-only run has no
/// bandwidth, a bandwidth test no latency).
fn push_if_drawn(name: String, chart: Chart, out: &mut Vec<Block>) {
    if chart
        .panels
        .iter()
        .flat_map(|p| &p.lines)
        .any(|l| !l.points.is_empty())
    {
        out.push(Block::Chart { name, chart });
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::node_and_pod;
    use super::super::{Block, Report};
    use crate::collection::LoadedRun;
    use crate::format::sample;
    use crate::plot::tests::legend_overflows;

    #[test]
    fn the_summary_leads_and_every_legend_fits() {
        let report = node_and_pod();
        let blocks = report.blocks();
        let first_chart = blocks.iter().position(|b| matches!(b, Block::Chart { .. }));
        let first_table = blocks.iter().position(|b| matches!(b, Block::Table(_)));
        assert!(first_chart < first_table, "{blocks:?}");
        let charts = report.charts();
        assert_eq!(charts[0].0, "pingpong-summary");
        let summary = &charts[0].1.panels[0].lines;
        assert_eq!(summary[0].label, "node (baseline)");
        assert!(summary[0].points.iter().all(|p| p.1 == 0.0));
        assert_eq!(summary[1].label, "pod");
        assert!(summary[1].points.iter().all(|p| p.1 > 0.0), "pod is slower");
        // One latency panel per series, each with a solid mean and a dashed median.
        let latency = &charts.iter().find(|c| c.0 == "pingpong-latency").unwrap().1;
        let titles: Vec<&str> = latency.panels.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, ["node", "pod"]);
        for panel in &latency.panels {
            let lines: Vec<(&str, bool)> = panel
                .lines
                .iter()
                .map(|l| (l.label.as_str(), l.dashed))
                .collect();
            assert_eq!(lines, [("mean", false), ("median (p50)", true)]);
            assert_eq!(panel.bands.len(), 2);
        }
        for (name, chart) in charts {
            assert_eq!(
                legend_overflows(&chart.to_svg()),
                Vec::<String>::new(),
                "{name}"
            );
        }
    }

    /// fi_pingpong reports no percentiles: its panel draws the mean alone and says so, and a
    /// report of it alone leads with its mean.
    #[test]
    fn a_series_without_a_median_draws_and_names_only_its_mean() {
        let run = |source: &str, results| LoadedRun {
            source: source.into(),
            results,
        };
        let report = Report::build(
            vec![run("fi.json", sample::imported_fi_pingpong())],
            None,
            crate::collection::Statistic::default(),
        )
        .unwrap();
        let charts = report.charts();
        let summary = &charts[0].1;
        assert_eq!(
            summary.panels[0].lines[0].label,
            format!(
                "{} mean (no median reported)",
                report.sections[0].group.series[0].label
            )
        );
        let latency = &charts.iter().find(|c| c.0.ends_with("-latency")).unwrap().1;
        let lines: Vec<(&str, bool)> = latency.panels[0]
            .lines
            .iter()
            .map(|l| (l.label.as_str(), l.dashed))
            .collect();
        assert_eq!(lines, [("mean (no median reported)", false)]);
        assert!(latency.panels[0].bands.is_empty());
        for (name, chart) in charts {
            assert_eq!(
                legend_overflows(&chart.to_svg()),
                Vec::<String>::new(),
                "{name}"
            );
        }
    }
}
