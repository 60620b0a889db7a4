//! Whether a row's numbers can be trusted: hyperfine's "statistical outliers were detected"
//! for RDMA benchmarks. On a busy host a mean can be five times the median and a comparison
//! can invert (fi_pingpong "41x slower" at one size, "0.07x" at the next); a number that comes
//! with the signs of its own disturbance is not a trap.
//!
//! Two kinds of sign are kept per row: what the distribution shows (the mean far above the
//! median, a p99 far above it) and what the host did during the timed loop (this process
//! descheduled by the kernel, CPU time stolen by the hypervisor). Each is a [`NoiseFlag`] with
//! its value and the limit it crossed, so a reader can judge it; [`ADVICE`] says what to do.

use serde::{Deserialize, Serialize};

use crate::precision::Precision;
use crate::summary::LatencySummary;

/// The mean this many times the median: a few iterations held up long enough to move the
/// seed table's figure (a quiet loopback run is within 1.1x).
pub const MEAN_OVER_MEDIAN_LIMIT: f64 = 1.25;
/// The 99th percentile this many times the median: a tail of stalls, not of the path (a quiet
/// run's p99 is within 2-4x its median on every provider measured here).
pub const P99_OVER_MEDIAN_LIMIT: f64 = 5.0;
/// Involuntary context switches per second of the timed loop: something else wanted this CPU
/// (a quiet host's kernel threads preempt a busy-polling process a few times a second).
pub const DESCHEDULED_PER_SECOND_LIMIT: f64 = 50.0;
/// Percent of the host's CPU time the hypervisor gave to other guests during the timed loop.
pub const STEAL_PERCENT_LIMIT: f64 = 2.0;

/// What to do about a noisy measurement, said with every warning.
pub const ADVICE: &str = "pin both ends to idle CPUs (--cpu A,B), repeat the run (--repeat 5) and compare medians, or measure on a quiet host";

/// Which sign of disturbance a flag is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum NoiseSign {
    /// The mean above [`MEAN_OVER_MEDIAN_LIMIT`] x the median.
    MeanAboveMedian,
    /// The p99 above [`P99_OVER_MEDIAN_LIMIT`] x the median.
    HeavyTail,
    /// More than [`DESCHEDULED_PER_SECOND_LIMIT`] involuntary context switches per second.
    Descheduled,
    /// More than [`STEAL_PERCENT_LIMIT`] percent of CPU time stolen.
    CpuSteal,
}

impl NoiseSign {
    /// A few words for a table cell.
    pub fn short(self) -> &'static str {
        match self {
            NoiseSign::MeanAboveMedian => "mean >> median",
            NoiseSign::HeavyTail => "heavy p99",
            NoiseSign::Descheduled => "descheduled",
            NoiseSign::CpuSteal => "CPU steal",
        }
    }
}

/// One sign that a row was disturbed: its value and the limit it crossed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NoiseFlag {
    /// Which sign.
    pub sign: NoiseSign,
    /// Its value: a ratio for the distribution's signs, switches per second, percent stolen.
    pub value: f64,
    /// The limit it is above.
    pub limit: f64,
}

impl NoiseFlag {
    /// The flag in words, for warnings and report cells ("mean 4.82x the median").
    pub fn describe(&self) -> String {
        match self.sign {
            NoiseSign::MeanAboveMedian => format!("mean {:.2}x the median", self.value),
            NoiseSign::HeavyTail => format!("p99 {:.1}x the median", self.value),
            NoiseSign::Descheduled => {
                format!("descheduled {:.0} times a second", self.value)
            }
            NoiseSign::CpuSteal => format!("{:.1} % of CPU time stolen", self.value),
        }
    }
}

/// What the host did to this end's process during a size's timed loop, counted by the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HostInterference {
    /// Wall-clock time the counts cover, in ns.
    pub wall_ns: u64,
    /// Times the kernel took the CPU away from this process (getrusage's ru_nivcsw).
    pub involuntary_context_switches: u64,
    /// CPU time the hypervisor gave to other guests, summed over the host's CPUs, in ns
    /// (/proc/stat's steal).
    pub cpu_steal_ns: u64,
    /// Online CPUs, over which the steal is summed.
    pub cpus: u32,
}

/// Rounds a flag's value to two decimals, so files and their diffs stay readable.
fn rounded(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// The flags a row's distribution and host counts raise, in [`NoiseSign`] order; empty when
/// nothing was seen. A summary without a median (another tool's, a `--loop-timed` run's) or a
/// row without host counts raises only what it can.
pub fn noise_flags(
    latency: Option<&LatencySummary>,
    host: Option<&HostInterference>,
) -> Vec<NoiseFlag> {
    let mut flags = Vec::new();
    let mut check = |sign, value: f64, limit| {
        if value.is_finite() && value > limit {
            flags.push(NoiseFlag {
                sign,
                value: rounded(value),
                limit,
            });
        }
    };
    if let Some(l) = latency {
        if let Some(median) = l.p50_ns.filter(|&m| m > 0) {
            let ratio = |x: u64| x as f64 / median as f64;
            check(
                NoiseSign::MeanAboveMedian,
                ratio(l.mean_ns),
                MEAN_OVER_MEDIAN_LIMIT,
            );
            if let Some(p99) = l.p99_ns {
                check(NoiseSign::HeavyTail, ratio(p99), P99_OVER_MEDIAN_LIMIT);
            }
        }
    }
    if let Some(h) = host.filter(|h| h.wall_ns > 0) {
        let seconds = h.wall_ns as f64 / 1e9;
        check(
            NoiseSign::Descheduled,
            h.involuntary_context_switches as f64 / seconds,
            DESCHEDULED_PER_SECOND_LIMIT,
        );
        check(
            NoiseSign::CpuSteal,
            h.cpu_steal_ns as f64 * 100.0 / (h.wall_ns as f64 * f64::from(h.cpus.max(1))),
            STEAL_PERCENT_LIMIT,
        );
    }
    flags
}

/// How far a row's numbers can be trusted (`results[].quality`): the signs of noise seen, the
/// host counts behind them, and with `--precision` how well the mean is known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(from = "QualityInFile")]
pub struct Quality {
    /// Signs of disturbance; empty when none was seen.
    pub noise: Vec<NoiseFlag>,
    /// What the host did during the timed loop; None where nobody counted (imports).
    pub host: Option<HostInterference>,
    /// `--precision`'s record; None without it.
    pub precision: Option<Precision>,
}

impl Quality {
    /// The quality of a row measured here: its flags from `latency` and `host`.
    pub fn measured(
        latency: Option<&LatencySummary>,
        host: Option<HostInterference>,
        precision: Option<Precision>,
    ) -> Quality {
        Quality {
            noise: noise_flags(latency, host.as_ref()),
            host,
            precision,
        }
    }

    /// Whether any sign of noise was seen.
    pub fn is_noisy(&self) -> bool {
        !self.noise.is_empty()
    }
}

/// `quality` as files hold it: schema 6's object, or schema 5's precision record, which was
/// the whole of `quality` then (those rows read with no noise flags and no host counts).
#[derive(Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
enum QualityInFile {
    Schema5(Precision),
    Current {
        #[serde(default)]
        noise: Vec<NoiseFlag>,
        #[serde(default)]
        host: Option<HostInterference>,
        #[serde(default)]
        precision: Option<Precision>,
    },
}

impl From<QualityInFile> for Quality {
    fn from(file: QualityInFile) -> Quality {
        match file {
            QualityInFile::Schema5(precision) => Quality {
                noise: Vec::new(),
                host: None,
                precision: Some(precision),
            },
            QualityInFile::Current {
                noise,
                host,
                precision,
            } => Quality {
                noise,
                host,
                precision,
            },
        }
    }
}

/// The one warning a run's noisy rows deserve, hyperfine-style: which sizes showed which signs
/// and what to do; None when no row showed any.
pub fn noise_warning(rows: &[crate::SizeMeasurement]) -> Option<String> {
    let noisy: Vec<String> = rows
        .iter()
        .filter_map(|row| {
            let flags = &row.quality.as_ref()?.noise;
            (!flags.is_empty()).then(|| {
                let signs: Vec<String> = flags.iter().map(NoiseFlag::describe).collect();
                format!("{} B: {}", row.size_bytes, signs.join(", "))
            })
        })
        .collect();
    (!noisy.is_empty()).then(|| {
        format!(
            "{} of {} sizes were measured with signs of noise, so their numbers may be the host's, not the path's ({}): {ADVICE}",
            noisy.len(),
            rows.len(),
            noisy.join("; ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::precision::StopReason;

    fn latency(mean: u64, p50: u64, p99: u64) -> LatencySummary {
        LatencySummary {
            min_ns: Some(p50 / 2),
            mean_ns: mean,
            stdev_ns: Some(1),
            p50_ns: Some(p50),
            p90_ns: Some(p50),
            p99_ns: Some(p99),
            p999_ns: Some(p99),
            max_ns: Some(p99),
        }
    }

    fn quiet_host() -> HostInterference {
        HostInterference {
            wall_ns: 2_000_000_000,
            involuntary_context_switches: 6,
            cpu_steal_ns: 0,
            cpus: 2,
        }
    }

    #[test]
    fn a_quiet_row_raises_nothing() {
        let quiet = latency(9_560, 9_070, 18_970);
        assert!(noise_flags(Some(&quiet), Some(&quiet_host())).is_empty());
    }

    #[test]
    fn a_busy_hosts_row_raises_every_sign_it_shows() {
        // The issue's busy machine: mean 40.78 us over a median of 8.46 us.
        let busy = latency(40_780, 8_460, 542_000);
        let host = HostInterference {
            wall_ns: 2_000_000_000,
            involuntary_context_switches: 1_800,
            cpu_steal_ns: 200_000_000,
            cpus: 2,
        };
        let flags = noise_flags(Some(&busy), Some(&host));
        let signs: Vec<NoiseSign> = flags.iter().map(|f| f.sign).collect();
        assert_eq!(
            signs,
            [
                NoiseSign::MeanAboveMedian,
                NoiseSign::HeavyTail,
                NoiseSign::Descheduled,
                NoiseSign::CpuSteal
            ]
        );
        assert_eq!(flags[0].value, 4.82);
        assert_eq!(flags[0].describe(), "mean 4.82x the median");
        assert_eq!(flags[2].value, 900.0);
        assert_eq!(flags[3].value, 5.0);
    }

    #[test]
    fn a_mean_only_summary_is_judged_by_its_host_counts_alone() {
        let flags = noise_flags(
            Some(&LatencySummary::mean_only(40_780)),
            Some(&quiet_host()),
        );
        assert!(flags.is_empty());
    }

    #[test]
    fn schema_5_quality_reads_as_a_precision_record_without_noise() {
        let old = r#"{"target_percent":1.0,"mean_ci95_percent":0.8,"median_ci95_percent":null,
            "batches":30,"batch_size":16,"lag1_autocorrelation":0.01,"stopped":"precision_reached"}"#;
        let q: Quality = serde_json::from_str(old).unwrap();
        assert!(q.noise.is_empty() && q.host.is_none());
        assert_eq!(
            q.precision.unwrap().stopped,
            StopReason::PrecisionReached,
            "the old record is kept whole"
        );
    }

    #[test]
    fn current_quality_round_trips() {
        let q = Quality::measured(
            Some(&latency(40_780, 8_460, 9_000)),
            Some(quiet_host()),
            None,
        );
        let text = serde_json::to_string(&q).unwrap();
        assert_eq!(serde_json::from_str::<Quality>(&text).unwrap(), q);
        assert!(q.is_noisy());
    }
}
