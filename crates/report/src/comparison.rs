//! One series against a baseline, per size: the overhead people ask about ("how much slower is
//! a pod than the node?") and its spread across repetitions, so noise cannot pass for a cost.

use serde::Serialize;

use rdmabench_stats::NoiseSign;

use crate::collection::{median_f64, Metric, Series, SizeAcrossRuns, Statistic};

/// Percent by which `other` is slower than `baseline` (negative when faster): more time per
/// message for latency, fewer bytes per second for bandwidth, so "overhead" reads the same way
/// in both.
fn overhead_percent(metric: Metric, baseline: u64, other: u64) -> f64 {
    let (slow, fast) = match metric {
        Metric::Latency => (other, baseline),
        Metric::Bandwidth => (baseline, other),
    };
    if fast == 0 {
        return 0.0;
    }
    (slow as f64 / fast as f64 - 1.0) * 100.0
}

/// One size of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComparisonRow {
    /// Message size.
    pub size_bytes: u64,
    /// The baseline's figure (median across runs): the compared statistic of the half round
    /// trip in ns, or bytes per second.
    pub baseline: u64,
    /// The other series' median figure.
    pub other: u64,
    /// other - baseline.
    pub difference: i64,
    /// Overhead of the medians, in percent.
    pub overhead_percent: f64,
    /// Overheads of the repetitions paired in order (1st with 1st ...), in percent: the
    /// spread that tells a real cost from drift. Empty with one repetition each.
    pub paired_overheads_percent: Vec<f64>,
    /// Median of `paired_overheads_percent` (the overhead of the medians when unpaired).
    pub paired_median_percent: f64,
    /// The baseline's signs of noise at this size (any run's): a difference between noisy
    /// figures may be the host's.
    pub baseline_noise: Vec<NoiseSign>,
    /// The other series' signs of noise at this size.
    pub other_noise: Vec<NoiseSign>,
}

impl ComparisonRow {
    /// Whether either side showed noise at this size.
    pub fn is_noisy(&self) -> bool {
        !self.baseline_noise.is_empty() || !self.other_noise.is_empty()
    }
}

/// A series compared with the baseline on the sizes both measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// What the figures are.
    pub metric: Metric,
    /// Which latency statistic was compared (`--metric`, or the mean where a side has no
    /// other); the mean for bandwidth.
    pub statistic: Statistic,
    /// Why the statistic asked for was not the one compared, when it was not.
    pub statistic_note: Option<String>,
    /// Label of the baseline series.
    pub baseline: String,
    /// Label of the compared series.
    pub other: String,
    /// One row per common size, ascending.
    pub rows: Vec<ComparisonRow>,
    /// Sizes only one side measured, which are not compared.
    pub uncompared_sizes: Vec<u64>,
    /// How many repetition pairs the spread is taken over.
    pub pairs: usize,
}

/// Why a baseline could not be chosen as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--baseline '{wanted}' names no series of test {test}; its series are: {available}")]
pub struct UnknownBaseline {
    /// What the user asked for.
    pub wanted: String,
    /// The test whose series were searched.
    pub test: String,
    /// The labels there are.
    pub available: String,
}

/// Index of the baseline: the one asked for, else node mode (against pods), else kernel TCP
/// (against the fabric), else rdmabench's first series (against the reference tools), else the
/// first series given.
pub fn baseline_index(
    test: &str,
    series: &[Series],
    wanted: Option<&str>,
) -> Result<usize, UnknownBaseline> {
    if let Some(wanted) = wanted {
        return series
            .iter()
            .position(|s| s.label == wanted)
            .ok_or_else(|| UnknownBaseline {
                wanted: wanted.to_string(),
                test: test.to_string(),
                available: series
                    .iter()
                    .map(|s| s.label.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
    }
    Ok(series
        .iter()
        .position(|s| s.key.mode.as_deref() == Some("node"))
        .or_else(|| series.iter().position(|s| s.key.transport == "socket"))
        .or_else(|| series.iter().position(|s| s.key.tool == "rdmabench"))
        .unwrap_or(0))
}

/// The statistic a comparison can use: `wanted` when both sides have it at every common size,
/// else the mean (which every tool prints), with the reason.
fn usable_statistic(
    metric: Metric,
    wanted: Statistic,
    baseline: &Series,
    other: &Series,
) -> (Statistic, Option<String>) {
    if metric == Metric::Bandwidth {
        return (Statistic::Mean, None);
    }
    let common = |size| baseline.size(size).is_some() && other.size(size).is_some();
    let lacking = [baseline, other].into_iter().find(|series| {
        series
            .sizes
            .iter()
            .any(|s| common(s.size_bytes) && s.figure(metric, wanted).is_none())
    });
    match lacking {
        Some(series) if wanted != Statistic::Mean => (
            Statistic::Mean,
            Some(format!(
                "{} prints no {}, so means are compared; check both sides' noise flags",
                series.label,
                wanted.name()
            )),
        ),
        _ => (wanted, None),
    }
}

/// The row of one size both sides measured, on `statistic`; None when a side has no figure.
fn compare_size(
    metric: Metric,
    statistic: Statistic,
    pairs: usize,
    b: &SizeAcrossRuns,
    o: &SizeAcrossRuns,
) -> Option<ComparisonRow> {
    let (b_figure, o_figure) = (b.figure(metric, statistic)?, o.figure(metric, statistic)?);
    let overhead = overhead_percent(metric, b_figure, o_figure);
    let paired: Vec<f64> = if pairs > 1 {
        b.figures_by_run(metric, statistic)
            .iter()
            .zip(o.figures_by_run(metric, statistic))
            .map(|(&bn, &on)| overhead_percent(metric, bn, on))
            .collect()
    } else {
        Vec::new()
    };
    Some(ComparisonRow {
        size_bytes: b.size_bytes,
        baseline: b_figure,
        other: o_figure,
        difference: o_figure as i64 - b_figure as i64,
        overhead_percent: overhead,
        paired_median_percent: if paired.is_empty() {
            overhead
        } else {
            median_f64(&paired)
        },
        paired_overheads_percent: paired,
        baseline_noise: b.noise_signs(),
        other_noise: o.noise_signs(),
    })
}

/// Compares `other` with `baseline` on `metric` and, for latency, `statistic` (the mean where
/// a side prints no other), pairing repetitions in their order.
pub fn compare(
    metric: Metric,
    statistic: Statistic,
    baseline: &Series,
    other: &Series,
) -> Comparison {
    let pairs = baseline.runs.len().min(other.runs.len());
    let (statistic, statistic_note) = usable_statistic(metric, statistic, baseline, other);
    let mut rows = Vec::new();
    let mut uncompared_sizes = Vec::new();
    for b in &baseline.sizes {
        match other
            .size(b.size_bytes)
            .and_then(|o| compare_size(metric, statistic, pairs, b, o))
        {
            Some(row) => rows.push(row),
            None => uncompared_sizes.push(b.size_bytes),
        }
    }
    uncompared_sizes.extend(
        other
            .sizes
            .iter()
            .map(|s| s.size_bytes)
            .filter(|size| baseline.size(*size).is_none()),
    );
    uncompared_sizes.dedup();
    uncompared_sizes.sort_unstable();
    Comparison {
        metric,
        statistic,
        statistic_note,
        baseline: baseline.label.clone(),
        other: other.label.clone(),
        rows,
        uncompared_sizes,
        pairs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collection::{Collection, LoadedRun};
    use crate::format::sample;
    use crate::model::{LatencySummary, ResultsFile};

    fn scaled(results: &ResultsFile, percent: u64) -> ResultsFile {
        let mut r = results.clone();
        for row in &mut r.results {
            row.total_ns = row.total_ns.map(|t| t * percent / 100);
        }
        r
    }

    fn series(files: Vec<ResultsFile>) -> Vec<Series> {
        let runs = files
            .into_iter()
            .enumerate()
            .map(|(i, results)| LoadedRun {
                source: format!("{i}.json"),
                results,
            })
            .collect();
        Collection::new(runs).tests.remove(0).series
    }

    #[test]
    fn overhead_is_the_ratio_of_medians_and_the_spread_pairs_repetitions_in_order() {
        let fabric = sample::results();
        let socket = sample::socket_same_host();
        let all = series(vec![
            scaled(&socket, 100),
            scaled(&fabric, 110),
            scaled(&socket, 104),
            scaled(&fabric, 112),
        ]);
        let base = baseline_index("pingpong", &all, None).unwrap();
        assert_eq!(all[base].label, "kernel TCP");
        let c = compare(Metric::Latency, Statistic::Mean, &all[base], &all[1 - base]);
        assert_eq!(
            (c.baseline.as_str(), c.other.as_str()),
            ("kernel TCP", "efa")
        );
        assert_eq!(c.pairs, 2);
        let row = &c.rows[0];
        assert_eq!(row.size_bytes, 4);
        // Medians: socket (10260 + 10670) / 2 = 10465, fabric (11286 + 11491) / 2 = 11388.
        assert_eq!((row.baseline, row.other), (10_465, 11_388));
        assert_eq!(row.difference, 923);
        assert!((row.overhead_percent - 8.8199).abs() < 1e-3, "{row:?}");
        let paired: Vec<String> = row
            .paired_overheads_percent
            .iter()
            .map(|p| format!("{p:.2}"))
            .collect();
        assert_eq!(paired, ["10.00", "7.69"]);
        assert!(c.uncompared_sizes.is_empty());
    }

    #[test]
    fn sizes_on_one_side_only_are_listed_not_compared() {
        let mut short = sample::socket_same_host();
        short.results.truncate(1);
        let all = series(vec![sample::results(), short]);
        let c = compare(Metric::Latency, Statistic::Mean, &all[1], &all[0]);
        assert_eq!(c.rows.len(), 1);
        assert_eq!(c.uncompared_sizes, [102_400]);
        assert_eq!(c.pairs, 1);
        assert!(c.rows[0].paired_overheads_percent.is_empty());
    }

    #[test]
    fn medians_are_compared_by_default_and_means_against_a_tool_without_one() {
        let rdmabench = sample::results();
        let mut slower_median = rdmabench.clone();
        for row in &mut slower_median.results {
            let l = row.latency.as_mut().unwrap();
            l.p50_ns = l.p50_ns.map(|p| p * 2);
        }
        slower_median.parameters.api = "tagged".into();
        let all = series(vec![rdmabench.clone(), slower_median]);
        let c = compare(Metric::Latency, Statistic::Median, &all[0], &all[1]);
        assert_eq!(
            (c.statistic, c.statistic_note.as_deref()),
            (Statistic::Median, None)
        );
        assert!((c.rows[0].overhead_percent - 100.0).abs() < 0.1, "{c:?}");

        let mut fi_pingpong = rdmabench.clone();
        fi_pingpong.tool.name = "fi_pingpong".into();
        for row in &mut fi_pingpong.results {
            row.latency = row.latency.map(|l| LatencySummary::mean_only(l.mean_ns));
        }
        let all = series(vec![rdmabench, fi_pingpong]);
        let c = compare(Metric::Latency, Statistic::Median, &all[0], &all[1]);
        assert_eq!(c.statistic, Statistic::Mean);
        let note = c.statistic_note.unwrap();
        assert!(
            note.contains("prints no median, so means are compared"),
            "{note}"
        );
    }

    #[test]
    fn a_noisy_side_is_carried_into_each_row() {
        let quiet = sample::results();
        let mut noisy = quiet.clone();
        noisy.parameters.api = "tagged".into();
        for row in &mut noisy.results {
            let l = row.latency.as_mut().unwrap();
            l.mean_ns = l.p50_ns.unwrap() * 5;
        }
        let all = series(vec![quiet, noisy]);
        let c = compare(Metric::Latency, Statistic::Median, &all[0], &all[1]);
        let row = &c.rows[0];
        assert!(row.baseline_noise.is_empty());
        assert_eq!(row.other_noise, [NoiseSign::MeanAboveMedian]);
        assert!(row.is_noisy());
    }

    #[test]
    fn an_unknown_baseline_lists_the_series() {
        let all = series(vec![sample::results(), sample::socket_same_host()]);
        assert_eq!(baseline_index("pingpong", &all, Some("kernel TCP")), Ok(1));
        assert_eq!(
            baseline_index("pingpong", &all, Some("pod"))
                .unwrap_err()
                .to_string(),
            "--baseline 'pod' names no series of test pingpong; its series are: efa, kernel TCP"
        );
    }
}
