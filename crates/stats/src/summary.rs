//! From per-iteration round-trip samples to the numbers every report shows.

use serde::{Deserialize, Serialize};

/// One-way latency statistics of a size's timed iterations, so reports can show the tail and
/// not just fi_pingpong's average. All values are HALF round trips in integer nanoseconds
/// (one-way latency is what perftest and fabtests report).
///
/// Definitions, over the n per-iteration round trips r:
/// - percentiles (and min, max) are nearest-rank on the sorted round trips, i.e. the value at
///   index ceil(p/100 * n) - 1 (clamped to the slice), then halved rounding half up;
/// - the mean is round(sum(r) / 2n), rounding half up, with the sum taken exactly;
/// - the standard deviation is the population one (divide by n) of the values r/2, rounded.
///
/// rdmabench fills every field. Results imported from another tool hold only what that tool
/// printed (OSU's osu_latency, for one, prints the mean alone); the others are None, never
/// invented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LatencySummary {
    /// Fastest iteration: the floor the path can reach.
    pub min_ns: Option<u64>,
    /// Mean, which should agree with the seed table's usec unless timing overhead dominates.
    pub mean_ns: u64,
    /// Population standard deviation: how noisy the run was.
    pub stdev_ns: Option<u64>,
    /// Median: the typical iteration, robust against outliers.
    pub p50_ns: Option<u64>,
    /// 90th percentile: the start of the tail.
    pub p90_ns: Option<u64>,
    /// 99th percentile: the tail that applications waiting on many messages feel.
    pub p99_ns: Option<u64>,
    /// 99.9th percentile: the far tail (needs at least 1000 iterations to mean anything).
    pub p999_ns: Option<u64>,
    /// Slowest iteration: exposes stalls such as preemption or retransmits.
    pub max_ns: Option<u64>,
}

/// Bandwidth of a size as a bandwidth test (osu_bw, ib_send_bw) reports it, in bytes per
/// second so no MB definition (10^6 or 2^20) is baked into the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BandwidthSummary {
    /// Average over the test.
    pub average_bytes_per_sec: u64,
    /// Best interval, where the tool reports one (perftest's BW peak).
    pub peak_bytes_per_sec: Option<u64>,
    /// Messages per second, where reported.
    pub messages_per_sec: Option<u64>,
}

/// Half of a round trip, rounding half up without overflowing.
fn half(rtt: u64) -> u64 {
    rtt / 2 + rtt % 2
}

/// Nearest-rank percentile of sorted samples: the value at index ceil(p/100 * n) - 1.
fn nearest_rank(sorted: &[u64], per_mille: u64) -> u64 {
    let n = sorted.len() as u64;
    let rank = (per_mille * n).div_ceil(1000).clamp(1, n);
    sorted[(rank - 1) as usize]
}

impl LatencySummary {
    /// A summary that knows only the mean, as tools that print nothing else report it.
    pub fn mean_only(mean_ns: u64) -> LatencySummary {
        LatencySummary {
            min_ns: None,
            mean_ns,
            stdev_ns: None,
            p50_ns: None,
            p90_ns: None,
            p99_ns: None,
            p999_ns: None,
            max_ns: None,
        }
    }

    /// Summarises per-iteration round-trip times, sorting them in place so no copy of a
    /// million samples is needed; None when there are no samples to summarise.
    pub fn from_round_trips(round_trips_ns: &mut [u64]) -> Option<Self> {
        if round_trips_ns.is_empty() {
            return None;
        }
        round_trips_ns.sort_unstable();
        let n = round_trips_ns.len() as u128;
        let sum: u128 = round_trips_ns.iter().map(|&x| u128::from(x)).sum();
        let mean_half = sum as f64 / (2.0 * n as f64);
        let variance = round_trips_ns
            .iter()
            .map(|&x| {
                let d = x as f64 / 2.0 - mean_half;
                d * d
            })
            .sum::<f64>()
            / n as f64;
        let sorted = &*round_trips_ns;
        Some(LatencySummary {
            min_ns: Some(half(sorted[0])),
            mean_ns: ((sum + n) / (2 * n)) as u64,
            stdev_ns: Some(variance.sqrt().round() as u64),
            p50_ns: Some(half(nearest_rank(sorted, 500))),
            p90_ns: Some(half(nearest_rank(sorted, 900))),
            p99_ns: Some(half(nearest_rank(sorted, 990))),
            p999_ns: Some(half(nearest_rank(sorted, 999))),
            max_ns: Some(half(sorted[sorted.len() - 1])),
        })
    }
}

/// A figure of a row that another tool may print rounded, named as its field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Figure {
    /// `size_bytes`.
    SizeBytes,
    /// `iterations`.
    Iterations,
    /// `total_ns`.
    TotalNs,
}

impl Figure {
    /// The field's name, as results files and CSV columns write it.
    pub fn name(self) -> &'static str {
        match self {
            Figure::SizeBytes => "size_bytes",
            Figure::Iterations => "iterations",
            Figure::TotalNs => "total_ns",
        }
    }
}

/// One row of results: a message size with its iteration counts, wall-clock time of the timed
/// loop (fi_pingpong's "time") and the latency summary, or a bandwidth test's figures. Fields a
/// tool did not report (results imported from OSU, perftest ...) are None.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SizeMeasurement {
    /// Message size, the key of the row.
    pub size_bytes: u64,
    /// Timed round trips (or messages, for bandwidth), the denominator of every average.
    pub iterations: Option<u64>,
    /// Untimed round trips before them, recorded so a run can be reproduced.
    pub warmup_iterations: Option<u64>,
    /// Wall-clock time of the whole timed loop, the basis of the seed table's columns.
    pub total_ns: Option<u64>,
    /// Half-round-trip statistics, for latency tests.
    pub latency: Option<LatencySummary>,
    /// Throughput, for bandwidth tests. Files of schema 1 have no such field.
    #[serde(default)]
    pub bandwidth: Option<BandwidthSummary>,
    /// Figures kept as another tool printed them, rounded (fi_pingpong prints 12000 B as "11k",
    /// 1500 round trips as "1k" and its time to 10 ms), so only as exact as printed and never
    /// the basis of another figure. Empty for rdmabench's rows and in files before schema 5.
    #[serde(default)]
    pub rounded: Vec<Figure>,
    /// How far the row can be trusted: signs of noise and the host counts behind them, and,
    /// when `--precision` drove how long it measured, the 95 % intervals reached. None for
    /// imported rows and in files before schema 5 (schema 5 held the precision record alone).
    #[serde(default)]
    pub quality: Option<crate::quality::Quality>,
}

impl SizeMeasurement {
    /// A ping-pong row as rdmabench measures it: everything known.
    pub fn pingpong(
        size_bytes: u64,
        iterations: u64,
        warmup_iterations: u64,
        total_ns: u64,
        latency: LatencySummary,
    ) -> SizeMeasurement {
        SizeMeasurement {
            size_bytes,
            iterations: Some(iterations),
            warmup_iterations: Some(warmup_iterations),
            total_ns: Some(total_ns),
            latency: Some(latency),
            bandwidth: None,
            rounded: Vec::new(),
            quality: None,
        }
    }

    /// Whether `figure` is held as a tool printed it, rounded.
    pub fn is_rounded(&self, figure: Figure) -> bool {
        self.rounded.contains(&figure)
    }

    /// The total and the round trips when both are known exactly: the basis of the seed
    /// table's "usec". Rounded ones (an imported fi_pingpong's "1k" for 1500) would make it up.
    fn exact_total_and_iterations(&self) -> Option<(u64, u64)> {
        let exact = !self.is_rounded(Figure::TotalNs) && !self.is_rounded(Figure::Iterations);
        match (self.total_ns, self.iterations) {
            (Some(total), Some(n)) if n > 0 && exact => Some((total, n)),
            _ => None,
        }
    }

    /// The seed table's "usec" in ns: total / (2 x iterations) rounded half up when both are
    /// known exactly (fi_pingpong's usec/xfer), else the reported mean; None for a bandwidth
    /// row, whose messages overlap and have no latency of their own.
    pub fn mean_ns(&self) -> Option<u64> {
        let latency = self.latency?;
        Some(match self.exact_total_and_iterations() {
            Some((total, n)) => ((u128::from(total) + u128::from(n)) / (2 * u128::from(n))) as u64,
            None => latency.mean_ns,
        })
    }

    /// fi_pingpong's usec/xfer and the seed table's "usec", in µs.
    pub fn seed_usec(&self) -> Option<f64> {
        let latency = self.latency?;
        Some(match self.exact_total_and_iterations() {
            Some((total, n)) => total as f64 / (2.0 * n as f64) / 1000.0,
            None => latency.mean_ns as f64 / 1000.0,
        })
    }

    /// MB/s with MB = 10^6 B: a bandwidth test's average, else a ping-pong's bytes in both
    /// directions over the time (fi_pingpong's MB/sec).
    pub fn megabytes_per_sec(&self) -> Option<f64> {
        if let Some(bw) = self.bandwidth {
            return Some(bw.average_bytes_per_sec as f64 / 1e6);
        }
        let mean = self.mean_ns()?;
        (mean > 0).then(|| self.size_bytes as f64 * 1000.0 / mean as f64)
    }

    /// Messages per second counting both directions (a bandwidth test's message rate), to
    /// compare small-message rates across providers.
    pub fn messages_per_sec(&self) -> Option<f64> {
        if let Some(bw) = self.bandwidth {
            return bw.messages_per_sec.map(|m| m as f64);
        }
        let mean = self.mean_ns()?;
        (mean > 0).then(|| 1e9 / mean as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_of_half_round_trips() {
        let mut rtts: Vec<u64> = (1..=1000).rev().map(|x| x * 2).collect();
        let s = LatencySummary::from_round_trips(&mut rtts).unwrap();
        assert_eq!(
            (s.min_ns, s.p50_ns, s.p90_ns),
            (Some(1), Some(500), Some(900))
        );
        assert_eq!(
            (s.p99_ns, s.p999_ns, s.max_ns),
            (Some(990), Some(999), Some(1000))
        );
        assert_eq!(s.mean_ns, 501); // 500.5 rounds half up
        assert_eq!(s.stdev_ns, Some(289)); // sqrt((1000^2 - 1) / 12)
    }

    #[test]
    fn single_and_constant_samples() {
        let s = LatencySummary::from_round_trips(&mut [21]).unwrap();
        assert_eq!(
            (s.min_ns, s.mean_ns, s.p999_ns, s.max_ns, s.stdev_ns),
            (Some(11), 11, Some(11), Some(11), Some(0))
        );
        let s = LatencySummary::from_round_trips(&mut [8; 10]).unwrap();
        assert_eq!(
            (s.min_ns, s.mean_ns, s.max_ns, s.stdev_ns),
            (Some(4), 4, Some(4), Some(0))
        );
        assert!(LatencySummary::from_round_trips(&mut []).is_none());
    }

    #[test]
    fn nearest_rank_rounds_the_rank_up_and_halving_rounds_half_up() {
        // Ten samples: p50 is rank 5, p90 rank 9, p99 and p99.9 round up to rank 10.
        let mut rtts = [19, 1, 17, 3, 15, 5, 13, 7, 11, 9];
        let s = LatencySummary::from_round_trips(&mut rtts).unwrap();
        assert_eq!(rtts, [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
        assert_eq!((s.min_ns, s.p50_ns, s.p90_ns), (Some(1), Some(5), Some(9)));
        assert_eq!(
            (s.p99_ns, s.p999_ns, s.max_ns),
            (Some(10), Some(10), Some(10))
        );
        // Mean round trip 10 -> 5; half values 0.5, 1.5, ..., 9.5 have stdev sqrt(8.25) = 2.87.
        assert_eq!((s.mean_ns, s.stdev_ns), (5, Some(3)));
    }

    #[test]
    fn huge_samples_do_not_overflow() {
        let s = LatencySummary::from_round_trips(&mut [u64::MAX, u64::MAX]).unwrap();
        assert_eq!(
            (s.mean_ns, s.max_ns, s.stdev_ns),
            (1 << 63, Some(1 << 63), Some(0))
        );
    }

    #[test]
    fn seed_usec_and_rates_match_fi_pingpong_definitions() {
        // The seed's first row: 1m messages of 4 bytes in 20.52 s -> 10.26 usec.
        let row = SizeMeasurement::pingpong(
            4,
            1_000_000,
            10_000,
            20_520_000_000,
            LatencySummary::from_round_trips(&mut [20_520]).unwrap(),
        );
        assert!((row.seed_usec().unwrap() - 10.26).abs() < 1e-9);
        assert_eq!(row.mean_ns(), Some(10_260));
        assert!((row.megabytes_per_sec().unwrap() - 8_000_000.0 / 20_520_000.0).abs() < 1e-9);
        assert!((row.messages_per_sec().unwrap() - 1e9 / 10_260.0).abs() < 1e-6);
    }

    #[test]
    fn rows_of_other_tools_use_what_they_reported() {
        // osu_latency: the mean only.
        let osu = SizeMeasurement {
            size_bytes: 8,
            iterations: None,
            warmup_iterations: None,
            total_ns: None,
            latency: Some(LatencySummary::mean_only(2_500)),
            bandwidth: None,
            rounded: Vec::new(),
            quality: None,
        };
        assert_eq!(osu.mean_ns(), Some(2_500));
        assert_eq!(osu.seed_usec(), Some(2.5));
        // osu_bw: bandwidth only, no latency.
        let bw = SizeMeasurement {
            latency: None,
            bandwidth: Some(BandwidthSummary {
                average_bytes_per_sec: 12_500_000_000,
                peak_bytes_per_sec: None,
                messages_per_sec: None,
            }),
            ..osu
        };
        assert_eq!(bw.mean_ns(), None);
        assert_eq!(bw.megabytes_per_sec(), Some(12_500.0));
        assert_eq!(bw.messages_per_sec(), None);
    }

    #[test]
    fn rounded_counts_and_times_never_make_the_mean() {
        // An imported fi_pingpong row of -I 1500 -S 12000: "11k", "1k", "0.21s", 70.52 usec/xfer.
        let mut row = SizeMeasurement::pingpong(
            11 * 1024,
            1000,
            0,
            210_000_000,
            LatencySummary::mean_only(70_520),
        );
        row.rounded = vec![Figure::SizeBytes, Figure::Iterations, Figure::TotalNs];
        // Not 0.21 s / (2 x 1000) = 105 usec: the tool's own usec/xfer.
        assert_eq!(row.mean_ns(), Some(70_520));
        assert_eq!(row.seed_usec(), Some(70.52));
        // With the exact -I 1500 and the time still rounded: the printed mean, not 70 usec.
        row.iterations = Some(1500);
        row.rounded = vec![Figure::TotalNs];
        assert_eq!(row.mean_ns(), Some(70_520));
        assert!(row.is_rounded(Figure::TotalNs) && !row.is_rounded(Figure::Iterations));
    }

    #[test]
    fn rounded_figures_are_named_as_their_fields() {
        let row = SizeMeasurement {
            rounded: vec![Figure::SizeBytes, Figure::Iterations, Figure::TotalNs],
            quality: None,
            ..SizeMeasurement::pingpong(4, 1, 0, 1, LatencySummary::mean_only(1))
        };
        let json = serde_json::to_value(&row).unwrap();
        let names: Vec<&str> = row.rounded.iter().map(|f| f.name()).collect();
        assert_eq!(json["rounded"], serde_json::json!(names));
        for name in names {
            assert!(json.get(name).is_some(), "{name}");
        }
    }
}
