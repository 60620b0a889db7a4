//! Many results files grouped the way people compare them: one series per measured
//! configuration (test, provider, API, mode), each holding the repetitions of that
//! configuration, with per-size figures taken across the repetitions.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use rdmabench_stats::{NoiseFlag, NoiseSign};

use crate::model::{FabricInfo, Figure, Placement, ResultsFile};

/// One results file as read, with the name it is shown under (its path).
#[derive(Debug, Clone)]
pub struct LoadedRun {
    /// Where the file came from, so every figure can be traced back to it.
    pub source: String,
    /// Its contents.
    pub results: ResultsFile,
}

/// What makes two runs measurements of the same thing: only runs with equal keys are
/// repetitions of each other and may be summarised together.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SeriesKey {
    /// Benchmark ("pingpong").
    pub test: String,
    /// Tool that measured ("rdmabench", or an imported tool's name).
    pub tool: String,
    /// "fabric" or "socket".
    pub transport: String,
    /// Provider as opened ("efa", "tcp;ofi_rxm"; "socket" for kernel TCP).
    pub provider: String,
    /// Which of the provider's fabrics: "efa" or "efa-direct" for efa (two protocols on one
    /// device), the core provider's name otherwise; "socket" for kernel TCP.
    pub fabric_kind: String,
    /// "msg" or "tagged".
    pub api: String,
    /// "node" or "pod" on Kubernetes, "netns" or "loopback" locally, None for a plain run.
    pub mode: Option<String>,
    /// EC2 instance type of the nodes, when known.
    pub instance_type: Option<String>,
    /// A bandwidth test's method, window and direction ("osu window 64", "perftest window 128
    /// bidirectional"); for other tools' imported bandwidth runs only the window.
    pub shape: Option<String>,
}

impl SeriesKey {
    /// The key of one results file.
    pub fn of(results: &ResultsFile) -> SeriesKey {
        let placement: Option<&Placement> = results.placement.as_ref();
        // As opened; for imported runs, as the user named it; kernel TCP is "socket".
        let provider = match (&results.fabric, results.parameters.transport.as_str()) {
            (Some(fabric), _) => fabric.provider.clone(),
            (None, "socket") => "socket".to_string(),
            (None, _) => results.parameters.provider.clone(),
        };
        // As opened; for imported runs the fabric the user named (fi_pingpong -f).
        let fabric_kind = match &results.fabric {
            Some(fabric) => fabric.fabric_kind.clone(),
            None => match results.parameters.fabric.as_str() {
                "auto" => FabricInfo::kind_of(&provider, ""),
                named => FabricInfo::kind_of(&provider, named),
            },
        };
        SeriesKey {
            test: results.test.clone(),
            tool: results.tool.name.clone(),
            transport: results.parameters.transport.clone(),
            provider,
            fabric_kind,
            api: results.parameters.api.clone(),
            mode: placement.map(|p| p.mode.clone()),
            instance_type: placement
                .map(|p| p.instance_type.clone())
                .filter(|t| !t.is_empty()),
            shape: results.parameters.window.map(|w| {
                let both = results.parameters.bidirectional.unwrap_or(false);
                let method = results
                    .parameters
                    .method
                    .as_ref()
                    .map(|m| format!("{m} "))
                    .unwrap_or_default();
                format!(
                    "{method}window {w}{}",
                    if both { " bidirectional" } else { "" }
                )
            }),
        }
    }

    /// True for Kubernetes modes, whose comparison (pod against node) is the headline.
    pub fn is_kubernetes_mode(&self) -> bool {
        matches!(self.mode.as_deref(), Some("node" | "pod"))
    }
}

/// Per-size figures of one series across its repetitions. Latencies are half round trips in
/// integer nanoseconds; each percentile is the median of the runs' percentiles. A figure no
/// run reported (results imported from tools that print less) is None.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SizeAcrossRuns {
    /// Message size.
    pub size_bytes: u64,
    /// Timed round trips per run (the runs' median when they differ).
    pub iterations: Option<u64>,
    /// Wall-clock time of the timed loop, median of the runs (the seed table's "Time spent").
    pub total_ns: Option<u64>,
    /// The seed table's usec per run, in ns: total / (2 x iterations), in the runs' order.
    pub mean_ns_by_run: Vec<u64>,
    /// Median of `mean_ns_by_run`: the figure tables show.
    pub mean_ns: Option<u64>,
    /// Fastest run's mean: with `mean_ns_max`, the spread between repetitions.
    pub mean_ns_min: Option<u64>,
    /// Slowest run's mean.
    pub mean_ns_max: Option<u64>,
    /// Median across runs of each run's fastest iteration.
    pub min_ns: Option<u64>,
    /// Median across runs of p50.
    pub p50_ns: Option<u64>,
    /// Median across runs of p90.
    pub p90_ns: Option<u64>,
    /// Median across runs of p99.
    pub p99_ns: Option<u64>,
    /// Median across runs of p99.9.
    pub p999_ns: Option<u64>,
    /// Median across runs of the slowest iteration.
    pub max_ns: Option<u64>,
    /// MB/s (10^6 B/s), median of the runs: a bandwidth test's average, or a ping-pong's
    /// bytes in both directions over its time.
    pub megabytes_per_sec: Option<f64>,
    /// A bandwidth test's average bytes per second per run, in the runs' order.
    pub average_bytes_per_sec_by_run: Vec<u64>,
    /// Median of `average_bytes_per_sec_by_run`: the bandwidth tables show.
    pub average_bytes_per_sec: Option<u64>,
    /// Slowest run's average bandwidth: with `average_bytes_per_sec_max`, the spread between
    /// repetitions.
    pub average_bytes_per_sec_min: Option<u64>,
    /// Fastest run's average bandwidth.
    pub average_bytes_per_sec_max: Option<u64>,
    /// Median across runs of the best interval's bandwidth (perftest's BW peak).
    pub peak_bytes_per_sec: Option<u64>,
    /// Median across runs of the message rate.
    pub messages_per_sec: Option<u64>,
    /// Figures any run kept rounded as its tool printed them (an imported fi_pingpong's
    /// bytes, #sent and time), so their medians are no more exact.
    pub rounded: Vec<Figure>,
    /// Each run's median (p50), in the runs' order; empty when the tool printed none.
    pub p50_ns_by_run: Vec<u64>,
    /// Each run's p99, in the runs' order; empty when the tool printed none.
    pub p99_ns_by_run: Vec<u64>,
    /// `--precision` runs' records, in the runs' order (empty without it).
    pub precision_by_run: Vec<rdmabench_stats::Precision>,
    /// Each run's signs of noise, in the runs' order: as the file recorded them, or, for files
    /// that record none (imports, schema 5 and older), what the run's own percentiles show.
    pub noise_by_run: Vec<Vec<NoiseFlag>>,
}

impl SizeAcrossRuns {
    /// Whether any run kept `figure` rounded as its tool printed it.
    pub fn is_rounded(&self, figure: Figure) -> bool {
        self.rounded.contains(&figure)
    }

    /// The figure a comparison of `metric` uses: for latency, `statistic`'s median across runs.
    pub fn figure(&self, metric: Metric, statistic: Statistic) -> Option<u64> {
        match (metric, statistic) {
            (Metric::Latency, Statistic::Mean) => self.mean_ns,
            (Metric::Latency, Statistic::Median) => self.p50_ns,
            (Metric::Latency, Statistic::P99) => self.p99_ns,
            (Metric::Bandwidth, _) => self.average_bytes_per_sec,
        }
    }

    /// That figure per run, in the runs' order.
    pub fn figures_by_run(&self, metric: Metric, statistic: Statistic) -> &[u64] {
        match (metric, statistic) {
            (Metric::Latency, Statistic::Mean) => &self.mean_ns_by_run,
            (Metric::Latency, Statistic::Median) => &self.p50_ns_by_run,
            (Metric::Latency, Statistic::P99) => &self.p99_ns_by_run,
            (Metric::Bandwidth, _) => &self.average_bytes_per_sec_by_run,
        }
    }

    /// The distinct signs of noise any run showed, in [`NoiseSign`] order.
    pub fn noise_signs(&self) -> Vec<NoiseSign> {
        self.noise_by_run
            .iter()
            .flatten()
            .map(|f| f.sign)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// How many runs showed a sign of noise.
    pub fn noisy_runs(&self) -> usize {
        self.noise_by_run.iter().filter(|f| !f.is_empty()).count()
    }
}

/// Which latency statistic comparisons and outlier rules use (`--metric`). The median by
/// default: one descheduled stretch moves a mean, not a median. Against a tool that prints no
/// median (fi_pingpong, OSU, IMB) the means are compared, and said to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    /// The mean half round trip (the seed table's usec).
    Mean,
    /// The median half round trip (p50).
    #[default]
    Median,
    /// The 99th percentile: the tail.
    P99,
}

impl Statistic {
    /// Its name in tables and notes.
    pub fn name(self) -> &'static str {
        match self {
            Statistic::Mean => "mean",
            Statistic::Median => "median",
            Statistic::P99 => "p99",
        }
    }
}

/// What a test's figures measure, which decides its tables and which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Mean half round trip in ns: lower is better.
    Latency,
    /// Average bytes per second: higher is better.
    Bandwidth,
}

impl Metric {
    /// Bandwidth when the series report bandwidth and no latency (bw tests, perftest's
    /// ib_*_bw, osu_bw), else latency.
    pub fn of(series: &[Series]) -> Metric {
        let sizes = || series.iter().flat_map(|s| &s.sizes);
        if sizes().any(|s| s.mean_ns.is_some())
            || !sizes().any(|s| s.average_bytes_per_sec.is_some())
        {
            Metric::Latency
        } else {
            Metric::Bandwidth
        }
    }
}

/// One measured configuration and its repetitions, in the order they were given.
#[derive(Debug, Clone)]
pub struct Series {
    /// What was measured.
    pub key: SeriesKey,
    /// Short name shown in tables, unique within the report.
    pub label: String,
    /// The repetitions.
    pub runs: Vec<LoadedRun>,
    /// Sizes measured by every repetition, ascending, with their figures.
    pub sizes: Vec<SizeAcrossRuns>,
}

/// Median of integers; the mean of the two middle values (rounded down) for even counts.
pub fn median(values: &[u64]) -> u64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    match sorted.len() {
        0 => 0,
        n if n % 2 == 1 => sorted[n / 2],
        n => ((u128::from(sorted[n / 2 - 1]) + u128::from(sorted[n / 2])) / 2) as u64,
    }
}

/// Median of real numbers (the mean of the two middle ones for even counts); 0 when empty.
pub fn median_f64(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

impl Series {
    /// Builds a series from its repetitions; `notes` collects what a reader must know, such as
    /// sizes not measured by every repetition.
    fn new(key: SeriesKey, runs: Vec<LoadedRun>, notes: &mut Vec<String>) -> Series {
        let common: BTreeSet<u64> = runs
            .iter()
            .map(|run| {
                run.results
                    .results
                    .iter()
                    .map(|row| row.size_bytes)
                    .collect::<BTreeSet<u64>>()
            })
            .reduce(|a, b| a.intersection(&b).copied().collect())
            .unwrap_or_default();
        let all: BTreeSet<u64> = runs
            .iter()
            .flat_map(|run| run.results.results.iter().map(|row| row.size_bytes))
            .collect();
        let label = default_label(&key);
        if all.len() > common.len() {
            let missing: Vec<String> = all.difference(&common).map(u64::to_string).collect();
            notes.push(format!(
                "{label}: size(s) {} B were not measured by every repetition and are left out of its figures",
                missing.join(", ")
            ));
        }
        let iteration_counts: BTreeSet<u64> = runs
            .iter()
            .flat_map(|run| run.results.results.iter().filter_map(|row| row.iterations))
            .collect();
        if iteration_counts.len() > 1 {
            let counts: Vec<String> = iteration_counts.iter().map(u64::to_string).collect();
            notes.push(format!(
                "{label}: repetitions used different iteration counts ({}); their means are still comparable, their tails less so",
                counts.join(", ")
            ));
        }
        let sizes = common
            .iter()
            .map(|&size| Self::across_runs(size, &runs))
            .collect();
        Series {
            key,
            label,
            runs,
            sizes,
        }
    }

    fn across_runs(size: u64, runs: &[LoadedRun]) -> SizeAcrossRuns {
        let rows: Vec<_> = runs
            .iter()
            .filter_map(|run| run.results.results.iter().find(|r| r.size_bytes == size))
            .collect();
        // The median of what the runs reported; None when none did.
        let pick = |f: &dyn Fn(&rdmabench_stats::SizeMeasurement) -> Option<u64>| {
            let values: Vec<u64> = rows.iter().filter_map(|r| f(r)).collect();
            (!values.is_empty()).then(|| median(&values))
        };
        let latency = |f: fn(&rdmabench_stats::LatencySummary) -> Option<u64>| {
            pick(&move |r| r.latency.as_ref().and_then(f))
        };
        let mean_ns_by_run: Vec<u64> = rows.iter().filter_map(|r| r.mean_ns()).collect();
        let rates: Vec<f64> = rows.iter().filter_map(|r| r.megabytes_per_sec()).collect();
        let average_bytes_per_sec_by_run: Vec<u64> = rows
            .iter()
            .filter_map(|r| r.bandwidth.map(|b| b.average_bytes_per_sec))
            .collect();
        SizeAcrossRuns {
            size_bytes: size,
            iterations: pick(&|r| r.iterations),
            total_ns: pick(&|r| r.total_ns),
            mean_ns: (!mean_ns_by_run.is_empty()).then(|| median(&mean_ns_by_run)),
            mean_ns_min: mean_ns_by_run.iter().copied().min(),
            mean_ns_max: mean_ns_by_run.iter().copied().max(),
            mean_ns_by_run,
            min_ns: latency(|l| l.min_ns),
            p50_ns: latency(|l| l.p50_ns),
            p90_ns: latency(|l| l.p90_ns),
            p99_ns: latency(|l| l.p99_ns),
            p999_ns: latency(|l| l.p999_ns),
            max_ns: latency(|l| l.max_ns),
            megabytes_per_sec: (!rates.is_empty()).then(|| median_f64(&rates)),
            average_bytes_per_sec: (!average_bytes_per_sec_by_run.is_empty())
                .then(|| median(&average_bytes_per_sec_by_run)),
            average_bytes_per_sec_min: average_bytes_per_sec_by_run.iter().copied().min(),
            average_bytes_per_sec_max: average_bytes_per_sec_by_run.iter().copied().max(),
            average_bytes_per_sec_by_run,
            peak_bytes_per_sec: pick(&|r| r.bandwidth.and_then(|b| b.peak_bytes_per_sec)),
            messages_per_sec: pick(&|r| r.bandwidth.and_then(|b| b.messages_per_sec)),
            rounded: rows
                .iter()
                .flat_map(|r| r.rounded.iter().copied())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            p50_ns_by_run: rows
                .iter()
                .filter_map(|r| r.latency.and_then(|l| l.p50_ns))
                .collect(),
            p99_ns_by_run: rows
                .iter()
                .filter_map(|r| r.latency.and_then(|l| l.p99_ns))
                .collect(),
            precision_by_run: rows
                .iter()
                .filter_map(|r| r.quality.as_ref()?.precision.clone())
                .collect(),
            noise_by_run: rows
                .iter()
                .map(|r| match &r.quality {
                    Some(q) if q.host.is_some() => q.noise.clone(),
                    _ => rdmabench_stats::noise_flags(r.latency.as_ref(), None),
                })
                .collect(),
        }
    }

    /// The figures of one size, if every repetition measured it.
    pub fn size(&self, size_bytes: u64) -> Option<&SizeAcrossRuns> {
        self.sizes.iter().find(|s| s.size_bytes == size_bytes)
    }
}

/// The longest name of a series: provider, API, mode and tool where they are not the
/// defaults. `Collection` shortens labels to what tells its series apart.
fn default_label(key: &SeriesKey) -> String {
    label_parts(key).join(" ")
}

fn label_parts(key: &SeriesKey) -> Vec<String> {
    let mut parts = Vec::new();
    if key.tool != "rdmabench" {
        parts.push(key.tool.clone());
    }
    parts.push(if key.transport == "socket" {
        "kernel TCP".to_string()
    } else {
        key.provider.clone()
    });
    if key.fabric_kind == "efa-direct" {
        parts.push(key.fabric_kind.clone());
    }
    if key.api != "msg" {
        parts.push(key.api.clone());
    }
    if let Some(mode) = &key.mode {
        parts.push(mode.clone());
    }
    if let Some(instance) = &key.instance_type {
        parts.push(instance.clone());
    }
    if let Some(shape) = &key.shape {
        parts.push(shape.clone());
    }
    parts
}

/// All series of one test, in the order their first files were given.
#[derive(Debug, Clone)]
pub struct TestGroup {
    /// Benchmark name.
    pub test: String,
    /// Its series.
    pub series: Vec<Series>,
}

/// Every file of a report, grouped by test then series.
#[derive(Debug, Clone)]
pub struct Collection {
    /// One group per test, in the order their first files were given.
    pub tests: Vec<TestGroup>,
    /// Things a reader must know that no table shows (partial runs, left-out sizes ...).
    pub notes: Vec<String>,
}

impl Collection {
    /// Groups runs into tests and series. Runs keep their given order within a series, which
    /// is their repetition order when a pipeline wrote them.
    pub fn new(runs: Vec<LoadedRun>) -> Collection {
        let mut notes = Vec::new();
        let mut grouped: Vec<(SeriesKey, Vec<LoadedRun>)> = Vec::new();
        for run in runs {
            if !run.results.complete {
                notes.push(format!(
                    "{} is a partial run ({}); its sizes count where present",
                    run.source,
                    run.results.note.as_deref().unwrap_or("it did not finish")
                ));
            }
            let key = SeriesKey::of(&run.results);
            match grouped.iter_mut().find(|(k, _)| *k == key) {
                Some((_, list)) => list.push(run),
                None => grouped.push((key, vec![run])),
            }
        }
        let mut tests: Vec<TestGroup> = Vec::new();
        for (key, runs) in grouped {
            let series = Series::new(key, runs, &mut notes);
            match tests.iter_mut().find(|t| t.test == series.key.test) {
                Some(group) => group.series.push(series),
                None => tests.push(TestGroup {
                    test: series.key.test.clone(),
                    series: vec![series],
                }),
            }
        }
        for group in &mut tests {
            shorten_labels(&mut group.series);
        }
        if tests.len() > 1 {
            let names: Vec<&str> = tests.iter().map(|t| t.test.as_str()).collect();
            notes.push(format!(
                "the files hold different tests ({}); each is reported on its own, never compared with another",
                names.join(", ")
            ));
        }
        Collection { tests, notes }
    }
}

/// Drops the label parts every series of a group shares, keeping at least one part, so tables
/// say "node" and "pod" rather than "efa node m7g.16xlarge" twice.
fn shorten_labels(series: &mut [Series]) {
    let parts: Vec<Vec<String>> = series.iter().map(|s| label_parts(&s.key)).collect();
    if parts.len() < 2 {
        return;
    }
    let shared: BTreeSet<&String> = parts
        .iter()
        .map(|p| p.iter().collect::<BTreeSet<_>>())
        .reduce(|a, b| a.intersection(&b).copied().collect())
        .unwrap_or_default();
    for (s, p) in series.iter_mut().zip(&parts) {
        let kept: Vec<&str> = p
            .iter()
            .filter(|part| !shared.contains(part))
            .map(String::as_str)
            .collect();
        if !kept.is_empty() {
            s.label = kept.join(" ");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::sample;

    fn run(source: &str, results: ResultsFile) -> LoadedRun {
        LoadedRun {
            source: source.into(),
            results,
        }
    }

    fn with_mode(mode: &str, scale: u64) -> ResultsFile {
        let mut r = sample::results();
        r.placement = Some(Placement {
            target: "eks".into(),
            cluster: "c".into(),
            mode: mode.into(),
            namespace: "rdmabench".into(),
            server_node: "a".into(),
            client_node: "b".into(),
            instance_type: "m7g.16xlarge".into(),
            image: "img".into(),
            repetition: 1,
            efa_devices: None,
            network_policy: None,
        });
        for row in &mut r.results {
            row.total_ns = row.total_ns.map(|t| t * scale / 100);
        }
        r
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[3, 1, 2]), 2);
        assert_eq!(median(&[4, 1, 3, 2]), 2);
        assert_eq!(median(&[u64::MAX, u64::MAX]), u64::MAX);
        assert_eq!(median(&[]), 0);
        assert_eq!(median_f64(&[1.0, 4.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn repetitions_of_one_configuration_form_one_series_with_its_spread() {
        let collection = Collection::new(vec![
            run("a.json", with_mode("node", 100)),
            run("b.json", with_mode("pod", 102)),
            run("c.json", with_mode("node", 104)),
            run("d.json", with_mode("pod", 101)),
            run("e.json", with_mode("node", 98)),
        ]);
        assert!(collection.notes.is_empty(), "{:?}", collection.notes);
        let group = &collection.tests[0];
        let labels: Vec<&str> = group.series.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["node", "pod"]);
        let node = &group.series[0];
        assert_eq!(node.runs.len(), 3);
        let four = node.size(4).unwrap();
        // 20.52 s over 1m round trips = 10.26 us; scaled by 0.98, 1.00 and 1.04.
        assert_eq!(four.mean_ns_by_run, [10_260, 10_670, 10_055]);
        assert_eq!(
            (four.mean_ns, four.mean_ns_min, four.mean_ns_max),
            (Some(10_260), Some(10_055), Some(10_670))
        );
        assert_eq!(four.total_ns, Some(20_520_000_000));
    }

    #[test]
    fn sizes_missing_from_a_repetition_and_partial_runs_are_explained() {
        let mut partial = sample::results();
        partial.results.truncate(1);
        partial.complete = false;
        partial.note = Some("interrupted".into());
        let collection = Collection::new(vec![
            run("full.json", sample::results()),
            run("partial.json", partial),
        ]);
        let series = &collection.tests[0].series[0];
        assert_eq!(
            series
                .sizes
                .iter()
                .map(|s| s.size_bytes)
                .collect::<Vec<_>>(),
            [4]
        );
        assert_eq!(
            collection.notes,
            [
                "partial.json is a partial run (interrupted); its sizes count where present",
                "efa: size(s) 102400 B were not measured by every repetition and are left out of its figures",
            ]
        );
    }

    #[test]
    fn different_tests_are_grouped_apart_and_said_so() {
        let mut other = sample::results();
        other.test = "bw".into();
        let collection = Collection::new(vec![run("a", sample::results()), run("b", other)]);
        assert_eq!(collection.tests.len(), 2);
        assert!(collection.notes[0].contains("different tests (pingpong, bw)"));
    }

    #[test]
    fn labels_keep_only_what_tells_series_apart() {
        let collection = Collection::new(vec![
            run("a", sample::results()),
            run("b", sample::socket_same_host()),
        ]);
        let labels: Vec<&str> = collection.tests[0]
            .series
            .iter()
            .map(|s| s.label.as_str())
            .collect();
        assert_eq!(labels, ["efa", "kernel TCP"]);
    }
}
