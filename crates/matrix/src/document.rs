//! The matrix document: what `--format json` writes and `k8s matrix` reads back, with the rule
//! that marks outliers.

use rdmabench_report::collection::Statistic;
use rdmabench_stats::Quality;
use serde::{Deserialize, Serialize};

use crate::MatrixError;

/// Version of the matrix document's layout: 2 added each pair's round trips and, with
/// `--precision`, how well its mean is known (`quality`); version-1 documents read with neither.
/// 3 added the statistic the outlier rule compares (`metric`, the median by default; older
/// documents compared means) and made each pair's `quality` the results file's (signs of noise,
/// host counts, the precision record under `precision`); version-2 qualities read as records.
pub const MATRIX_SCHEMA_VERSION: u32 = 3;
/// The `kind` of a matrix document, which tells it apart in a log full of other JSON.
pub(crate) const MATRIX_KIND: &str = "rdmabench-matrix";

/// One measured pair at one size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Pair {
    pub(crate) client: String,
    pub(crate) server: String,
    pub(crate) mean_ns: Option<u64>,
    pub(crate) p50_ns: Option<u64>,
    pub(crate) p99_ns: Option<u64>,
    /// The matrix's statistic above outlier_factor x the median pair's.
    pub(crate) outlier: bool,
    pub(crate) error: Option<String>,
    /// The provider this pair measured over (fabric transport); absent in older documents.
    #[serde(default)]
    pub(crate) provider: Option<String>,
    /// Timed round trips (with `--precision`, as many as its interval needed).
    #[serde(default)]
    pub(crate) round_trips: Option<u64>,
    /// Signs of noise, host counts and, with `--precision`, the interval reached.
    #[serde(default)]
    pub(crate) quality: Option<Quality>,
}

impl Pair {
    /// The pair's figure for `metric` (None when it failed).
    pub(crate) fn figure(&self, metric: Statistic) -> Option<u64> {
        match metric {
            Statistic::Mean => self.mean_ns,
            Statistic::Median => self.p50_ns,
            Statistic::P99 => self.p99_ns,
        }
    }

    /// Whether the pair was measured with signs of noise.
    pub(crate) fn is_noisy(&self) -> bool {
        self.quality.as_ref().is_some_and(Quality::is_noisy)
    }
}

/// One size's matrix.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SizeMatrix {
    pub(crate) size_bytes: u64,
    /// Median of the measured pairs' figures (the matrix's `metric`).
    pub(crate) median_ns: Option<u64>,
    pub(crate) pairs: Vec<Pair>,
}

/// The whole document, as JSON writes it (and `k8s matrix` reads back from the coordinator).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Matrix {
    pub(crate) schema_version: u32,
    pub(crate) kind: String,
    pub(crate) test: String,
    /// "socket", or "fabric (P)" with the providers the pairs used (not the one requested).
    pub(crate) transport: String,
    pub(crate) api: String,
    pub(crate) hosts: Vec<String>,
    pub(crate) outlier_factor: f64,
    /// What the outlier rule and the cells compare; documents before version 3 used means.
    #[serde(default = "means_before_version_3")]
    pub(crate) metric: Statistic,
    pub(crate) sizes: Vec<SizeMatrix>,
}

/// The statistic of documents written before `metric` existed.
fn means_before_version_3() -> Statistic {
    Statistic::Mean
}

impl Matrix {
    /// Finds the matrix document in a coordinator pod's log, where the kubelet interleaves
    /// progress lines: the JSON starts on a line of its own.
    pub fn from_log(log: &str) -> Result<Matrix, MatrixError> {
        let mut offset = 0;
        let mut last_error = "no line starts a JSON object".to_string();
        for line in log.split_inclusive('\n') {
            if line.trim_end() == "{" {
                let mut stream =
                    serde_json::Deserializer::from_str(&log[offset..]).into_iter::<Matrix>();
                match stream.next() {
                    Some(Ok(matrix)) if matrix.kind == MATRIX_KIND => return Ok(matrix),
                    Some(Ok(other)) => last_error = format!("a document of kind {}", other.kind),
                    Some(Err(e)) => last_error = e.to_string(),
                    None => {}
                }
            }
            offset += line.len();
        }
        Err(MatrixError::NotInLog(last_error))
    }

    /// Shows hosts by the names in `names` (node names for the agents' addresses).
    pub fn rename_hosts(&mut self, names: &std::collections::BTreeMap<String, String>) {
        let rename = |host: &mut String| {
            if let Some(name) = names.get(host.as_str()) {
                *host = name.clone();
            }
        };
        self.hosts.iter_mut().for_each(rename);
        for size in &mut self.sizes {
            for pair in &mut size.pairs {
                rename(&mut pair.client);
                rename(&mut pair.server);
            }
        }
    }

    /// Whether a pair failed at some size.
    pub fn failed(&self) -> bool {
        self.sizes
            .iter()
            .any(|s| s.pairs.iter().any(|p| p.mean_ns.is_none()))
    }
}

/// Marks the outliers of one size on `metric` and returns the median pair's figure.
pub(crate) fn mark_outliers(pairs: &mut [Pair], factor: f64, metric: Statistic) -> Option<u64> {
    let figures: Vec<u64> = pairs.iter().filter_map(|p| p.figure(metric)).collect();
    if figures.is_empty() {
        return None;
    }
    let median = rdmabench_report::collection::median(&figures);
    for pair in pairs.iter_mut() {
        pair.outlier = pair
            .figure(metric)
            .is_some_and(|figure| figure as f64 > factor * median as f64);
    }
    Some(median)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(client: &str, server: &str, mean_ns: Option<u64>) -> Pair {
        Pair {
            client: client.into(),
            server: server.into(),
            mean_ns,
            p50_ns: mean_ns,
            p99_ns: mean_ns,
            outlier: false,
            error: mean_ns.is_none().then(|| "agent c:1 is unreachable".into()),
            provider: None,
            round_trips: None,
            quality: None,
        }
    }

    #[test]
    fn a_pair_well_above_the_median_is_an_outlier_and_failures_do_not_count() {
        let mut pairs = vec![
            pair("a:1", "b:1", Some(10_000)),
            pair("a:1", "c:1", Some(11_000)),
            pair("b:1", "c:1", Some(16_600)),
            pair("a:1", "d:1", Some(10_500)),
            pair("b:1", "d:1", None),
        ];
        assert_eq!(
            mark_outliers(&mut pairs, 1.5, Statistic::Mean),
            Some(10_750)
        );
        let outliers: Vec<bool> = pairs.iter().map(|p| p.outlier).collect();
        assert_eq!(outliers, [false, false, true, false, false]);
    }

    #[test]
    fn the_median_rule_flags_a_slow_path_not_a_descheduled_run() {
        // The busy matrix: one pair's mean 513 us over a median of 0.35 us.
        let mut pairs = vec![
            pair("a:1", "b:1", Some(350)),
            pair("a:1", "c:1", Some(360)),
            pair("b:1", "c:1", Some(900)),
        ];
        pairs[0].mean_ns = Some(513_000);
        assert_eq!(mark_outliers(&mut pairs, 1.5, Statistic::Median), Some(360));
        let outliers: Vec<bool> = pairs.iter().map(|p| p.outlier).collect();
        assert_eq!(outliers, [false, false, true], "the slow path is b <-> c");
        mark_outliers(&mut pairs, 1.5, Statistic::Mean);
        let outliers: Vec<bool> = pairs.iter().map(|p| p.outlier).collect();
        assert_eq!(outliers, [true, false, false], "means blame the noise");
    }

    #[test]
    fn the_document_is_found_among_log_lines_and_other_json_is_skipped() {
        let matrix = Matrix {
            schema_version: MATRIX_SCHEMA_VERSION,
            kind: MATRIX_KIND.into(),
            test: "pingpong".into(),
            transport: "socket".into(),
            api: "msg".into(),
            hosts: vec!["a:1".into(), "b:1".into()],
            outlier_factor: 1.5,
            metric: Statistic::Median,
            sizes: vec![SizeMatrix {
                size_bytes: 4,
                median_ns: Some(1000),
                pairs: vec![pair("a:1", "b:1", Some(1000))],
            }],
        };
        let log = format!(
            "rdmabench: [1/1] a:1 -> b:1\n{{\n\"kind\": \"other\"}}\n{}\n",
            serde_json::to_string_pretty(&matrix).unwrap()
        );
        let read = Matrix::from_log(&log).unwrap();
        assert_eq!(read.hosts, matrix.hosts);
        let err = Matrix::from_log("rdmabench: failed\n").unwrap_err();
        assert!(
            err.to_string().contains("no line starts a JSON object"),
            "{err}"
        );
    }
}
