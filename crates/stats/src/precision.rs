//! When a latency is known well enough to stop: the batch-means confidence interval, as
//! netperf's `-i max,min -I 99,5` is for throughput, instead of a guessed iteration count (the
//! seed ran 1M round trips per size because nobody knew how many were enough).
//!
//! Round trips are not independent (a slow period slows many in a row), so the interval of
//! their mean cannot come from the samples' own spread. The samples are cut into consecutive
//! batches, at least [`MIN_BATCHES`] of at least [`MIN_BATCH`] samples; the batch size doubles
//! until the batch means' lag-1 autocorrelation is below [`MAX_LAG1`] (or, with few batches,
//! indistinguishable from zero: below two of its standard errors, 2/sqrt(batches), since a
//! lag-1 estimate from k independent values scatters by about 1/sqrt(k)), and the Student-t
//! interval of those means is the mean's. The median's interval comes the same way from the
//! batch medians. A stream whose batch means stay correlated at every size the samples allow
//! (a drift, a slow oscillation) has no interval yet: more samples are needed.

use serde::{Deserialize, Serialize};

/// Fewest batches an interval is computed from.
pub const MIN_BATCHES: usize = 30;
/// Smallest batch: enough samples for a batch median to mean something.
pub const MIN_BATCH: usize = 16;
/// Batch means this correlated (lag 1) are not taken as independent.
pub const MAX_LAG1: f64 = 0.1;
/// Fewest samples an assessment needs.
pub const MIN_SAMPLES: usize = MIN_BATCHES * MIN_BATCH;

/// How well a stream of round trips pins down its mean and median.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// Batches the interval comes from.
    pub batches: u64,
    /// Samples per batch.
    pub batch_size: u64,
    /// Lag-1 autocorrelation of the batch means.
    pub lag1: f64,
    /// Half-width of the mean's 95 % interval, in percent of the mean; None while the batch
    /// means are still correlated (no batch size left with enough batches).
    pub mean_ci95_percent: Option<f64>,
    /// The same for the median, from the batch medians.
    pub median_ci95_percent: Option<f64>,
}

impl Assessment {
    /// Whether the mean is known within `target_percent`: the stopping rule. The median's
    /// interval is recorded beside it, not required: batch medians of a bimodal stream (polling
    /// against descheduled round trips) flip between the modes, so it can stay wide while the
    /// mean, the seed table's figure, is already known.
    pub fn meets(&self, target_percent: f64) -> bool {
        self.mean_ci95_percent
            .is_some_and(|mean| mean <= target_percent)
    }
}

/// Why a size stopped measuring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The mean's 95 % interval reached the target.
    PrecisionReached,
    /// The iteration ceiling (`--iters`) came first.
    IterationCeiling,
    /// The time ceiling (`--duration`) came first.
    TimeCeiling,
}

/// What a results row records of a precision-driven measurement (`quality.precision`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Precision {
    /// The requested half-width of the 95 % intervals, in percent.
    pub target_percent: f64,
    /// The mean's 95 % interval half-width reached, in percent of the mean (None: the batch
    /// means never became independent enough to give one).
    pub mean_ci95_percent: Option<f64>,
    /// The median's, from the batch medians.
    pub median_ci95_percent: Option<f64>,
    /// Batches the last assessment used.
    pub batches: u64,
    /// Round trips per batch.
    pub batch_size: u64,
    /// Lag-1 autocorrelation of the batch means.
    pub lag1_autocorrelation: f64,
    /// Why the measurement stopped.
    pub stopped: StopReason,
}

impl Precision {
    /// The record of `assessment` against `target_percent`, stopped for `stopped`.
    pub fn new(target_percent: f64, assessment: &Assessment, stopped: StopReason) -> Precision {
        Precision {
            target_percent,
            mean_ci95_percent: assessment.mean_ci95_percent,
            median_ci95_percent: assessment.median_ci95_percent,
            batches: assessment.batches,
            batch_size: assessment.batch_size,
            lag1_autocorrelation: assessment.lag1,
            stopped,
        }
    }
}

/// The assessment of `samples` (in measurement order), or None below [`MIN_SAMPLES`].
pub fn assess(samples: &[u64]) -> Option<Assessment> {
    if samples.len() < MIN_SAMPLES {
        return None;
    }
    let mut batch = MIN_BATCH;
    let mut last = None;
    while samples.len() / batch >= MIN_BATCHES {
        let count = samples.len() / batch;
        let means: Vec<f64> = samples
            .chunks_exact(batch)
            .take(count)
            .map(|b| b.iter().map(|&s| s as f64).sum::<f64>() / batch as f64)
            .collect();
        let lag1 = lag1_autocorrelation(&means);
        if lag1 < MAX_LAG1.max(2.0 / (count as f64).sqrt()) {
            let medians: Vec<f64> = samples
                .chunks_exact(batch)
                .take(count)
                .map(median_of)
                .collect();
            return Some(Assessment {
                batches: count as u64,
                batch_size: batch as u64,
                lag1,
                mean_ci95_percent: Some(half_width_percent(&means)),
                median_ci95_percent: Some(half_width_percent(&medians)),
            });
        }
        last = Some(Assessment {
            batches: count as u64,
            batch_size: batch as u64,
            lag1,
            mean_ci95_percent: None,
            median_ci95_percent: None,
        });
        batch *= 2;
    }
    last
}

fn median_of(batch: &[u64]) -> f64 {
    let mut sorted = batch.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2] as f64
    } else {
        (sorted[n / 2 - 1] as f64 + sorted[n / 2] as f64) / 2.0
    }
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Lag-1 autocorrelation; 0 for a constant series (nothing varies, nothing correlates).
fn lag1_autocorrelation(values: &[f64]) -> f64 {
    let m = mean(values);
    let variance: f64 = values.iter().map(|v| (v - m) * (v - m)).sum();
    if variance == 0.0 {
        return 0.0;
    }
    let covariance: f64 = values.windows(2).map(|w| (w[0] - m) * (w[1] - m)).sum();
    covariance / variance
}

/// Half-width of the Student-t 95 % interval of the mean of `values`, in percent of it.
fn half_width_percent(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let m = mean(values);
    let variance = values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0);
    let half_width = t_975(n - 1.0) * (variance / n).sqrt();
    if m == 0.0 {
        return 0.0;
    }
    half_width / m * 100.0
}

/// Student's t 0.975 quantile for `df` degrees of freedom (Cornish-Fisher expansion around the
/// normal quantile; within 0.1 % of the table from 29 degrees, the fewest used here).
fn t_975(df: f64) -> f64 {
    let z: f64 = 1.959_963_985;
    let z3 = z.powi(3);
    let z5 = z.powi(5);
    z + (z3 + z) / (4.0 * df) + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * df * df)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift64*), so the streams are the same every run.
    struct Stream(u64);

    impl Stream {
        fn uniform(&mut self) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
        }

        /// Standard normal (Box-Muller).
        fn normal(&mut self) -> f64 {
            let u = self.uniform().max(f64::MIN_POSITIVE);
            let v = self.uniform();
            (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        }
    }

    const MEAN_NS: f64 = 10_000.0;

    /// iid: latency 10 us plus noise with a long right tail (exponential, mean 1 us).
    fn iid(seed: u64, n: usize) -> Vec<u64> {
        let mut s = Stream(seed);
        (0..n)
            .map(|_| (MEAN_NS - 1000.0 - 1000.0 * (1.0 - s.uniform()).ln()) as u64)
            .collect()
    }

    /// AR(1) with phi = 0.9: slow and fast periods that last tens of round trips.
    fn ar1(seed: u64, n: usize) -> Vec<u64> {
        let mut s = Stream(seed);
        let mut x = 0.0;
        (0..n)
            .map(|_| {
                x = 0.9 * x + s.normal() * 300.0;
                (MEAN_NS + x) as u64
            })
            .collect()
    }

    /// The share of `runs` streams whose mean interval holds the true mean.
    fn coverage(make: fn(u64, usize) -> Vec<u64>, n: usize, runs: u64) -> f64 {
        let held = (1..=runs)
            .filter(|&seed| {
                let samples = make(seed * 7919, n);
                let a = assess(&samples).expect("enough samples");
                let m = samples.iter().sum::<u64>() as f64 / samples.len() as f64;
                let half_width = a.mean_ci95_percent.expect("independent batches") / 100.0 * m;
                (m - MEAN_NS).abs() <= half_width
            })
            .count();
        held as f64 / runs as f64
    }

    #[test]
    fn intervals_of_independent_round_trips_hold_the_true_mean_about_95_percent_of_the_time() {
        let covered = coverage(iid, 4_000, 400);
        assert!((0.92..=0.98).contains(&covered), "{covered}");
    }

    #[test]
    fn correlated_round_trips_get_larger_batches_and_still_honest_intervals() {
        let a = assess(&ar1(1, 20_000)).unwrap();
        assert!(a.batch_size > MIN_BATCH as u64, "{a:?}");
        assert!(a.lag1 < MAX_LAG1);
        let covered = coverage(ar1, 20_000, 300);
        // Batch means of an AR(1) stream are slightly correlated within the threshold, so the
        // coverage may fall a little short of 95 %, never far.
        assert!((0.88..=0.99).contains(&covered), "{covered}");
    }

    #[test]
    fn a_drifting_stream_gets_no_interval() {
        let drifting: Vec<u64> = (0..20_000u64).map(|i| 10_000 + i / 4).collect();
        let a = assess(&drifting).unwrap();
        assert_eq!(a.mean_ci95_percent, None, "{a:?}");
        assert!(!a.meets(50.0));
    }

    #[test]
    fn intervals_narrow_as_samples_grow_and_too_few_give_none() {
        assert_eq!(assess(&iid(3, MIN_SAMPLES - 1)), None);
        let short = assess(&iid(3, 1_000)).unwrap().mean_ci95_percent.unwrap();
        let long = assess(&iid(3, 64_000)).unwrap().mean_ci95_percent.unwrap();
        assert!(long < short / 4.0, "{short} then {long}");
        let a = assess(&iid(3, 64_000)).unwrap();
        assert!(a.meets(1.0) && !a.meets(0.01), "{a:?}");
    }

    #[test]
    fn t_quantiles_match_the_table() {
        for (df, table) in [(29.0, 2.0452), (60.0, 2.0003), (1000.0, 1.9623)] {
            assert!((t_975(df) - table).abs() < 0.002, "{df}: {}", t_975(df));
        }
    }
}
