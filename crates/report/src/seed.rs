//! The seed project's published ping-pong numbers (m7g.16xlarge, EFA, node and pod; in
//! fi_pingpong's output format, our inference: its README never names the tool), embedded
//! so every report can set an EFA run beside them — and only such a run: a number measured on
//! another provider, API or instance type is not comparable, and the report says why.

use serde::Serialize;

use crate::collection::Series;

/// Where the numbers come from, shown wherever they are.
pub const SEED_ATTRIBUTION: &str = "the seed project's README (cdktf EKS benchmark, graviton3 + EFA 2.0): a ping-pong between two m7g.16xlarge nodes in one placement group, 1m messages per size, in fi_pingpong's output format (our inference: the README does not name its tool)";
/// The instance type the seed measured on.
pub const SEED_INSTANCE_TYPE: &str = "m7g.16xlarge";

const SEED_CSV: &str = include_str!("../data/seed-pingpong-m7g16xlarge.csv");

/// One published row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SeedRow {
    /// Message size.
    pub size_bytes: u64,
    /// Messages (round trips).
    pub messages: u64,
    /// Mean half round trip as published (usec column), in ns.
    pub mean_ns: u64,
}

/// The seed's rows of one mode ("node" or "pod").
pub fn seed_rows(mode: &str) -> Vec<SeedRow> {
    SEED_CSV
        .lines()
        .filter(|line| !line.starts_with('#') && !line.starts_with("mode,"))
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            let [m, messages, size, _time, usec] = fields.as_slice() else {
                return None;
            };
            if *m != mode {
                return None;
            }
            Some(SeedRow {
                size_bytes: size.parse().ok()?,
                messages: messages.parse().ok()?,
                mean_ns: (usec.parse::<f64>().ok()? * 1000.0).round() as u64,
            })
        })
        .collect()
}

/// One size of a series beside the seed's number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeedComparisonRow {
    /// Message size.
    pub size_bytes: u64,
    /// This series' median mean half round trip.
    pub measured_ns: u64,
    /// The seed's.
    pub seed_ns: u64,
    /// measured / seed - 1, in percent.
    pub difference_percent: f64,
}

/// Whether a series can be set beside the seed's numbers, and the rows if so.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum SeedVerdict {
    /// Same provider, API and instance type: the rows.
    Compared {
        /// Series label.
        series: String,
        /// The seed's mode compared with ("node" or "pod").
        seed_mode: String,
        /// Sizes both measured.
        rows: Vec<SeedComparisonRow>,
    },
    /// Not comparable, and why.
    NotComparable {
        /// Series label.
        series: String,
        /// What differs from the seed's setup.
        reasons: Vec<String>,
    },
}

/// Compares a series with the seed when provider (efa), API (msg, fi_pingpong's: the seed's table
/// is in its output format) and instance
/// type match; node-mode and unplaced runs are set beside the seed's node numbers, pod-mode
/// runs beside its pod numbers.
pub fn seed_verdict(series: &Series) -> SeedVerdict {
    let key = &series.key;
    let mut reasons = Vec::new();
    if key.transport != "fabric" || key.provider.split(';').next() != Some("efa") {
        let provider = if key.transport == "socket" {
            "kernel TCP"
        } else {
            key.provider.as_str()
        };
        reasons.push(format!("provider {provider} (seed: efa)"));
    } else if key.fabric_kind != "efa" {
        // The seed predates efa-direct (libfabric 2.1): it can only have run efa's `efa` fabric.
        reasons.push(format!(
            "fabric {} (seed: efa, which predates efa-direct)",
            key.fabric_kind
        ));
    }
    if key.api != "msg" {
        reasons.push(format!(
            "api {} (seed: msg: its table is in fi_pingpong's output format, our inference)",
            key.api
        ));
    }
    match key.instance_type.as_deref() {
        Some(SEED_INSTANCE_TYPE) => {}
        Some(other) => reasons.push(format!(
            "instance type {other} (seed: {SEED_INSTANCE_TYPE})"
        )),
        None => reasons.push(format!(
            "no instance type recorded (seed: {SEED_INSTANCE_TYPE})"
        )),
    }
    if key.test != "pingpong" {
        reasons.push(format!("test {} (seed: pingpong)", key.test));
    }
    if !reasons.is_empty() {
        return SeedVerdict::NotComparable {
            series: series.label.clone(),
            reasons,
        };
    }
    let seed_mode = if key.mode.as_deref() == Some("pod") {
        "pod"
    } else {
        "node"
    };
    let rows = seed_rows(seed_mode)
        .into_iter()
        .filter_map(|seed| {
            let ours = series.size(seed.size_bytes)?.mean_ns?;
            Some(SeedComparisonRow {
                size_bytes: seed.size_bytes,
                measured_ns: ours,
                seed_ns: seed.mean_ns,
                difference_percent: (ours as f64 / seed.mean_ns as f64 - 1.0) * 100.0,
            })
        })
        .collect();
    SeedVerdict::Compared {
        series: series.label.clone(),
        seed_mode: seed_mode.into(),
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collection::{Collection, LoadedRun};
    use crate::format::sample;
    use crate::model::Placement;

    fn series_of(results: crate::model::ResultsFile) -> Series {
        Collection::new(vec![LoadedRun {
            source: "x".into(),
            results,
        }])
        .tests
        .remove(0)
        .series
        .remove(0)
    }

    /// An EKS placement on the seed's instance type.
    fn on_m7g(mode: &str) -> Placement {
        Placement {
            target: "eks".into(),
            cluster: "c".into(),
            mode: mode.into(),
            namespace: "n".into(),
            server_node: "a".into(),
            client_node: "b".into(),
            instance_type: "m7g.16xlarge".into(),
            image: "i".into(),
            repetition: 1,
            efa_devices: None,
            network_policy: None,
        }
    }

    #[test]
    fn the_embedded_reference_has_the_seed_tables() {
        let node = seed_rows("node");
        let pod = seed_rows("pod");
        assert_eq!(node.len(), 8);
        assert_eq!(pod.len(), 8);
        assert_eq!(
            node[0],
            SeedRow {
                size_bytes: 4,
                messages: 1_000_000,
                mean_ns: 10_260
            }
        );
        assert_eq!(pod[7].mean_ns, 45_270);
    }

    #[test]
    fn an_efa_pod_run_on_m7g_is_set_beside_the_seed_pods() {
        let mut results = sample::results();
        results.placement = Some(on_m7g("pod"));
        let SeedVerdict::Compared {
            seed_mode, rows, ..
        } = seed_verdict(&series_of(results))
        else {
            panic!("not compared");
        };
        assert_eq!(seed_mode, "pod");
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].measured_ns, rows[0].seed_ns), (10_260, 10_430));
        assert!((rows[0].difference_percent - (10_260.0 / 10_430.0 - 1.0) * 100.0).abs() < 1e-9);
    }

    #[test]
    fn efa_direct_is_not_set_beside_the_seed_which_predates_it() {
        let mut results = sample::results();
        results.placement = Some(on_m7g("node"));
        let fabric = results.fabric.as_mut().unwrap();
        fabric.fabric = "efa-direct".into();
        fabric.fabric_kind = "efa-direct".into();
        let SeedVerdict::NotComparable { series, reasons } = seed_verdict(&series_of(results))
        else {
            panic!("efa-direct compared with the seed");
        };
        assert_eq!(series, "efa efa-direct node m7g.16xlarge");
        assert_eq!(
            reasons,
            ["fabric efa-direct (seed: efa, which predates efa-direct)"]
        );
    }

    #[test]
    fn other_setups_say_every_reason_they_do_not_compare() {
        let mut results = sample::socket_same_host();
        results.parameters.api = "tagged".into();
        assert_eq!(
            seed_verdict(&series_of(results)),
            SeedVerdict::NotComparable {
                series: "kernel TCP tagged".into(),
                reasons: vec![
                    "provider kernel TCP (seed: efa)".into(),
                    "api tagged (seed: msg: its table is in fi_pingpong's output format, our inference)"
                        .into(),
                    "no instance type recorded (seed: m7g.16xlarge)".into(),
                ],
            }
        );
    }
}
