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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Fastest iteration: the floor the path can reach.
    pub min_ns: u64,
    /// Mean, which should agree with the seed table's usec unless timing overhead dominates.
    pub mean_ns: u64,
    /// Population standard deviation: how noisy the run was.
    pub stdev_ns: u64,
    /// Median: the typical iteration, robust against outliers.
    pub p50_ns: u64,
    /// 90th percentile: the start of the tail.
    pub p90_ns: u64,
    /// 99th percentile: the tail that applications waiting on many messages feel.
    pub p99_ns: u64,
    /// 99.9th percentile: the far tail (needs at least 1000 iterations to mean anything).
    pub p999_ns: u64,
    /// Slowest iteration: exposes stalls such as preemption or retransmits.
    pub max_ns: u64,
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
            min_ns: half(sorted[0]),
            mean_ns: ((sum + n) / (2 * n)) as u64,
            stdev_ns: variance.sqrt().round() as u64,
            p50_ns: half(nearest_rank(sorted, 500)),
            p90_ns: half(nearest_rank(sorted, 900)),
            p99_ns: half(nearest_rank(sorted, 990)),
            p999_ns: half(nearest_rank(sorted, 999)),
            max_ns: half(sorted[sorted.len() - 1]),
        })
    }
}

/// One row of results: a message size with its iteration counts, wall-clock time of the timed
/// loop (fi_pingpong's "time") and the per-iteration latency summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizeMeasurement {
    /// Message size, the key of the row.
    pub size_bytes: u64,
    /// Timed round trips, the denominator of every average.
    pub iterations: u64,
    /// Untimed round trips before them, recorded so a run can be reproduced.
    pub warmup_iterations: u64,
    /// Wall-clock time of the whole timed loop, the basis of the seed table's columns.
    pub total_ns: u64,
    /// Half-round-trip statistics over the per-iteration samples, for the tail.
    pub latency: LatencySummary,
}

impl SizeMeasurement {
    /// fi_pingpong's usec/xfer and the seed table's "usec": total / (2 x iterations), in µs.
    pub fn seed_usec(&self) -> f64 {
        if self.iterations == 0 {
            return 0.0;
        }
        self.total_ns as f64 / (2.0 * self.iterations as f64) / 1000.0
    }

    /// Bytes moved in both directions per µs (MB/s with MB = 10^6 B), as fi_pingpong's MB/sec.
    pub fn megabytes_per_sec(&self) -> f64 {
        if self.total_ns == 0 {
            return 0.0;
        }
        2.0 * self.iterations as f64 * self.size_bytes as f64 / (self.total_ns as f64 / 1000.0)
    }

    /// Messages per second counting both directions, to compare small-message rates across
    /// providers.
    pub fn messages_per_sec(&self) -> f64 {
        if self.total_ns == 0 {
            return 0.0;
        }
        2.0 * self.iterations as f64 / (self.total_ns as f64 / 1e9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_of_half_round_trips() {
        let mut rtts: Vec<u64> = (1..=1000).rev().map(|x| x * 2).collect();
        let s = LatencySummary::from_round_trips(&mut rtts).unwrap();
        assert_eq!((s.min_ns, s.p50_ns, s.p90_ns), (1, 500, 900));
        assert_eq!((s.p99_ns, s.p999_ns, s.max_ns), (990, 999, 1000));
        assert_eq!(s.mean_ns, 501); // 500.5 rounds half up
        assert_eq!(s.stdev_ns, 289); // sqrt((1000^2 - 1) / 12)
    }

    #[test]
    fn single_and_constant_samples() {
        let s = LatencySummary::from_round_trips(&mut [21]).unwrap();
        assert_eq!(
            (s.min_ns, s.mean_ns, s.p999_ns, s.max_ns, s.stdev_ns),
            (11, 11, 11, 11, 0)
        );
        let s = LatencySummary::from_round_trips(&mut [8; 10]).unwrap();
        assert_eq!((s.min_ns, s.mean_ns, s.max_ns, s.stdev_ns), (4, 4, 4, 0));
        assert!(LatencySummary::from_round_trips(&mut []).is_none());
    }

    #[test]
    fn nearest_rank_rounds_the_rank_up_and_halving_rounds_half_up() {
        // Ten samples: p50 is rank 5, p90 rank 9, p99 and p99.9 round up to rank 10.
        let mut rtts = [19, 1, 17, 3, 15, 5, 13, 7, 11, 9];
        let s = LatencySummary::from_round_trips(&mut rtts).unwrap();
        assert_eq!(rtts, [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
        assert_eq!((s.min_ns, s.p50_ns, s.p90_ns), (1, 5, 9));
        assert_eq!((s.p99_ns, s.p999_ns, s.max_ns), (10, 10, 10));
        // Mean round trip 10 -> 5; half values 0.5, 1.5, ..., 9.5 have stdev sqrt(8.25) = 2.87.
        assert_eq!((s.mean_ns, s.stdev_ns), (5, 3));
    }

    #[test]
    fn huge_samples_do_not_overflow() {
        let s = LatencySummary::from_round_trips(&mut [u64::MAX, u64::MAX]).unwrap();
        assert_eq!((s.mean_ns, s.max_ns, s.stdev_ns), (1 << 63, 1 << 63, 0));
    }

    #[test]
    fn seed_usec_and_rates_match_fi_pingpong_definitions() {
        // The seed's first row: 1m messages of 4 bytes in 20.52 s -> 10.26 usec.
        let row = SizeMeasurement {
            size_bytes: 4,
            iterations: 1_000_000,
            warmup_iterations: 10_000,
            total_ns: 20_520_000_000,
            latency: LatencySummary::from_round_trips(&mut [20_520]).unwrap(),
        };
        assert!((row.seed_usec() - 10.26).abs() < 1e-9);
        assert!((row.megabytes_per_sec() - 8_000_000.0 / 20_520_000.0).abs() < 1e-9);
        assert!((row.messages_per_sec() - 2e6 / 20.52).abs() < 1e-6);
        let empty = SizeMeasurement {
            iterations: 0,
            total_ns: 0,
            ..row
        };
        assert_eq!((empty.seed_usec(), empty.megabytes_per_sec()), (0.0, 0.0));
    }
}
