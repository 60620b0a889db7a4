//! Measuring the matrix: every pair once, one pair at a time (two pairs at once would share the
//! hosts' links and CPUs and measure each other), stopping at an interruption.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdmabench_engine::agent::{measure_pair, PairOutcome};
use rdmabench_engine::{RunConfig, TransportChoice};
use rdmabench_report::collection::Statistic;
use rdmabench_stats::SizeMeasurement;

use crate::document::{
    mark_outliers, Matrix, Pair, SizeMatrix, MATRIX_KIND, MATRIX_SCHEMA_VERSION,
};
use crate::MatrixError;

/// A measured matrix and how the measurement ended.
pub struct MatrixRun {
    /// Every pair measured, with the failed ones and their reasons.
    pub matrix: Matrix,
    /// Not every pair was measured (an interruption stopped it).
    pub incomplete: bool,
    /// Some pair failed.
    pub failed: bool,
}

/// A pair's row for `size`, if it measured one.
fn row_of(rows: &[SizeMeasurement], size: u64) -> Option<&SizeMeasurement> {
    rows.iter().find(|r| r.size_bytes == size)
}

/// The transport as measured: on the fabric, the providers the pairs opened (what
/// `--provider auto` chose), not the one requested, which is named only when no pair got as far
/// as opening one.
fn transport_used(
    transport: &TransportChoice,
    outcomes: &[((usize, usize), PairOutcome)],
) -> String {
    let TransportChoice::Fabric(requested) = transport else {
        return "socket".into();
    };
    let mut used: Vec<&str> = outcomes
        .iter()
        .filter_map(|(_, outcome)| outcome.provider.as_deref())
        .collect();
    used.sort_unstable();
    used.dedup();
    if used.is_empty() {
        format!("fabric ({} requested, none opened)", requested.label())
    } else {
        format!("fabric ({})", used.join(", "))
    }
}

/// Measures ping-pong between every pair of `hosts` (agents) as `config` says, each pair within
/// `limit`; a pair whose `metric` is above `outlier_factor` x the median pair's is an outlier.
/// `progress` hears each pair as it starts and fails.
pub fn measure(
    hosts: Vec<String>,
    config: &RunConfig,
    outlier_factor: f64,
    metric: Statistic,
    limit: Duration,
    interrupted: &Arc<AtomicBool>,
    progress: &mut dyn FnMut(&str),
) -> Result<MatrixRun, MatrixError> {
    if !(outlier_factor > 1.0 && outlier_factor.is_finite()) {
        return Err(MatrixError::OutlierFactor(outlier_factor));
    }
    let spec = config.spec();
    let pairs: Vec<(usize, usize)> = (0..hosts.len())
        .flat_map(|i| (i + 1..hosts.len()).map(move |j| (i, j)))
        .collect();
    let mut outcomes: Vec<((usize, usize), PairOutcome)> = Vec::new();
    for (n, &(i, j)) in pairs.iter().enumerate() {
        if interrupted.load(Ordering::Relaxed) {
            break;
        }
        progress(&format!(
            "[{}/{}] {} -> {}",
            n + 1,
            pairs.len(),
            hosts[i],
            hosts[j]
        ));
        let outcome = measure_pair(&hosts[i], &hosts[j], &spec, limit, interrupted);
        if let Some(error) = &outcome.error {
            progress(&format!("{} -> {} failed: {error}", hosts[i], hosts[j]));
        }
        outcomes.push(((i, j), outcome));
    }
    let sizes = config
        .sizes
        .iter()
        .map(|&size| {
            let mut pairs: Vec<Pair> = outcomes
                .iter()
                .map(|&((i, j), ref outcome)| {
                    let row = row_of(&outcome.results, size);
                    let latency = row.and_then(|r| r.latency);
                    let mean_ns = row.and_then(SizeMeasurement::mean_ns);
                    Pair {
                        client: hosts[i].clone(),
                        server: hosts[j].clone(),
                        mean_ns,
                        p50_ns: latency.and_then(|l| l.p50_ns),
                        p99_ns: latency.and_then(|l| l.p99_ns),
                        outlier: false,
                        error: mean_ns.is_none().then(|| {
                            outcome
                                .error
                                .clone()
                                .unwrap_or_else(|| "no result for this size".into())
                        }),
                        provider: outcome.provider.clone(),
                        round_trips: row.and_then(|r| r.iterations),
                        quality: row.and_then(|r| r.quality.clone()),
                    }
                })
                .collect();
            let median_ns = mark_outliers(&mut pairs, outlier_factor, metric);
            SizeMatrix {
                size_bytes: size,
                median_ns,
                pairs,
            }
        })
        .collect();
    let incomplete = interrupted.load(Ordering::Relaxed) || outcomes.len() < pairs.len();
    let failed = outcomes.iter().any(|(_, o)| o.error.is_some());
    let matrix = Matrix {
        schema_version: MATRIX_SCHEMA_VERSION,
        kind: MATRIX_KIND.into(),
        test: "pingpong".into(),
        transport: transport_used(&config.transport, &outcomes),
        api: if spec.tagged { "tagged" } else { "msg" }.into(),
        hosts,
        outlier_factor,
        metric,
        sizes,
    };
    Ok(MatrixRun {
        matrix,
        incomplete,
        failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdmabench_engine::ProviderChoice;

    fn outcome(provider: Option<&str>) -> ((usize, usize), PairOutcome) {
        (
            (0, 1),
            PairOutcome {
                results: Vec::new(),
                error: provider
                    .is_none()
                    .then(|| "agent b:1 is unreachable".into()),
                provider: provider.map(str::to_string),
            },
        )
    }

    #[test]
    fn the_matrix_names_the_provider_the_pairs_used_not_the_one_requested() {
        let auto = TransportChoice::Fabric(ProviderChoice::Auto);
        let used = [
            outcome(Some("tcp;ofi_rxm")),
            outcome(None),
            outcome(Some("tcp;ofi_rxm")),
        ];
        assert_eq!(transport_used(&auto, &used), "fabric (tcp;ofi_rxm)");
        let mixed = [outcome(Some("net")), outcome(Some("efa"))];
        assert_eq!(transport_used(&auto, &mixed), "fabric (efa, net)");
        assert_eq!(
            transport_used(&auto, &[outcome(None)]),
            "fabric (auto requested, none opened)"
        );
        assert_eq!(transport_used(&TransportChoice::Socket, &used), "socket");
    }
}
