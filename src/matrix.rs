//! `rdmabench matrix`: ping-pong latency between every pair of agents, one pair at a time,
//! printed as an N x N matrix (row = client, column = server) with the slowest pairs, the
//! outliers against the median pair, and every failed pair with its reason.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use anyhow::{bail, Context, Result};
use clap::Parser;
use rdmabench_engine::agent::measure_pair;
use rdmabench_engine::{Test, TransportChoice, DEFAULT_PORT};
use rdmabench_report::format::quote as quote_csv;
use rdmabench_stats::units::usec;
use rdmabench_stats::{parse_duration, SizeMeasurement};
use serde::{Deserialize, Serialize};

use crate::bench::measure_config;
use crate::cli::{FormatArg, MatrixArgs};
use crate::interrupt::{self, EXIT_INTERRUPTED};
use crate::output::emit;

/// Version of the matrix document's layout.
const MATRIX_SCHEMA_VERSION: u32 = 1;
/// How many of the slowest pairs are named.
const SLOWEST_SHOWN: usize = 3;

/// One measured pair at one size.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pair {
    client: String,
    server: String,
    mean_ns: Option<u64>,
    p50_ns: Option<u64>,
    p99_ns: Option<u64>,
    /// Mean above outlier_factor x the median pair.
    outlier: bool,
    error: Option<String>,
}

/// One size's matrix.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SizeMatrix {
    size_bytes: u64,
    /// Median of the measured pairs' means.
    median_ns: Option<u64>,
    pairs: Vec<Pair>,
}

/// The whole document, as JSON writes it (and `k8s matrix` reads back from the coordinator).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Matrix {
    schema_version: u32,
    kind: String,
    test: String,
    transport: String,
    api: String,
    hosts: Vec<String>,
    outlier_factor: f64,
    sizes: Vec<SizeMatrix>,
}

/// HOST or HOST:PORT (IPv6 as [ADDR]:PORT) with the default port made explicit, so one agent
/// written two ways is still found twice.
fn normalise(host: &str) -> Result<String> {
    let host = host.trim();
    if host.is_empty() {
        bail!("an empty host name was given");
    }
    if host.parse::<std::net::Ipv6Addr>().is_ok() {
        return Ok(format!("[{host}]:{DEFAULT_PORT}"));
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') || name.ends_with(']') => {
            port.parse::<u16>()
                .with_context(|| format!("host '{host}': '{port}' is not a port"))?;
            Ok(host.to_string())
        }
        _ => Ok(format!("{host}:{DEFAULT_PORT}")),
    }
}

/// The agents from the arguments and the hosts file, in order, each exactly once.
fn hosts(args: &MatrixArgs) -> Result<Vec<String>> {
    let mut given: Vec<String> = args.hosts.clone();
    if let Some(path) = &args.hosts_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the hosts file {}", path.display()))?;
        given.extend(
            text.lines()
                .map(|line| line.split('#').next().unwrap_or_default().trim())
                .filter(|line| !line.is_empty())
                .map(str::to_string),
        );
    }
    let mut hosts: Vec<String> = Vec::new();
    for host in &given {
        let host = normalise(host)?;
        if hosts.contains(&host) {
            bail!("{host} is given twice: list each agent once (a pair of one host with itself measures nothing)");
        }
        hosts.push(host);
    }
    if hosts.len() < 2 {
        bail!(
            "a matrix needs at least two agents (got {}): start `rdmabench agent` on each host and list them",
            hosts.len()
        );
    }
    Ok(hosts)
}

fn pair_figures(rows: &[SizeMeasurement], size: u64) -> (Option<u64>, Option<u64>, Option<u64>) {
    let row = rows.iter().find(|r| r.size_bytes == size);
    let latency = row.and_then(|r| r.latency);
    (
        row.and_then(SizeMeasurement::mean_ns),
        latency.and_then(|l| l.p50_ns),
        latency.and_then(|l| l.p99_ns),
    )
}

/// Marks the outliers of one size and returns the median pair's mean.
fn mark_outliers(pairs: &mut [Pair], factor: f64) -> Option<u64> {
    let means: Vec<u64> = pairs.iter().filter_map(|p| p.mean_ns).collect();
    if means.is_empty() {
        return None;
    }
    let median = rdmabench_report::collection::median(&means);
    for pair in pairs.iter_mut() {
        pair.outlier = pair
            .mean_ns
            .is_some_and(|mean| mean as f64 > factor * median as f64);
    }
    Some(median)
}

/// Runs `rdmabench matrix`; exit code 1 when a pair failed (the matrix is still printed).
pub fn run(args: &MatrixArgs) -> Result<i32> {
    let hosts = hosts(args)?;
    if !(args.outlier_factor > 1.0 && args.outlier_factor.is_finite()) {
        bail!(
            "--outlier-factor {} must be above 1 (e.g. 1.5: a pair 50% slower than the median pair)",
            args.outlier_factor
        );
    }
    let limit = parse_duration(&args.limit).context("--limit")?;
    // The agents load libfabric and resolve the provider; the coordinator only drives them.
    let config = measure_config(&args.measure, Test::PingPong, None)?;
    let interrupted = interrupt::flag()?;
    let spec = config.spec();
    let pairs: Vec<(usize, usize)> = (0..hosts.len())
        .flat_map(|i| (i + 1..hosts.len()).map(move |j| (i, j)))
        .collect();
    let mut outcomes = Vec::new();
    for (n, &(i, j)) in pairs.iter().enumerate() {
        if interrupted.load(Ordering::Relaxed) {
            break;
        }
        eprintln!(
            "rdmabench: [{}/{}] {} -> {}",
            n + 1,
            pairs.len(),
            hosts[i],
            hosts[j]
        );
        let outcome = measure_pair(&hosts[i], &hosts[j], &spec, limit, &interrupted);
        if let Some(error) = &outcome.error {
            eprintln!("rdmabench: {} -> {} failed: {error}", hosts[i], hosts[j]);
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
                    let (mean_ns, p50_ns, p99_ns) = pair_figures(&outcome.results, size);
                    Pair {
                        client: hosts[i].clone(),
                        server: hosts[j].clone(),
                        mean_ns,
                        p50_ns,
                        p99_ns,
                        outlier: false,
                        error: mean_ns.is_none().then(|| {
                            outcome
                                .error
                                .clone()
                                .unwrap_or_else(|| "no result for this size".into())
                        }),
                    }
                })
                .collect();
            let median_ns = mark_outliers(&mut pairs, args.outlier_factor);
            SizeMatrix {
                size_bytes: size,
                median_ns,
                pairs,
            }
        })
        .collect();
    let matrix = Matrix {
        schema_version: MATRIX_SCHEMA_VERSION,
        kind: MATRIX_KIND.into(),
        test: "pingpong".into(),
        transport: match &config.transport {
            TransportChoice::Fabric(p) => format!("fabric ({})", p.label()),
            TransportChoice::Socket => "socket".into(),
        },
        api: if spec.tagged { "tagged" } else { "msg" }.into(),
        hosts,
        outlier_factor: args.outlier_factor,
        sizes,
    };
    emit(
        &render(&matrix, args.measure.format)?,
        args.measure.output.as_deref(),
    )?;
    let incomplete = interrupted.load(Ordering::Relaxed) || outcomes.len() < pairs.len();
    let failed = outcomes.iter().any(|(_, o)| o.error.is_some());
    Ok(if incomplete {
        EXIT_INTERRUPTED
    } else if failed {
        1
    } else {
        0
    })
}

/// The `kind` of a matrix document.
const MATRIX_KIND: &str = "rdmabench-matrix";

/// The matrix in `format`.
pub fn render(matrix: &Matrix, format: FormatArg) -> Result<String> {
    Ok(match format {
        FormatArg::Table => text(matrix, false),
        FormatArg::Markdown => text(matrix, true),
        FormatArg::Csv => csv(matrix),
        FormatArg::Json => {
            serde_json::to_string_pretty(matrix).context("encoding the matrix")? + "\n"
        }
    })
}

impl Matrix {
    /// Finds the matrix document in a coordinator pod's log, where the kubelet interleaves
    /// progress lines: the JSON starts on a line of its own.
    pub fn from_log(log: &str) -> Result<Matrix> {
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
        bail!("the coordinator's log holds no matrix: {last_error}")
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

/// Checks `rdmabench matrix` options for a coordinator that another process runs (the
/// cluster's), with the matrix's own parser and rules; returns them with `--provider efa` added
/// when no provider or transport was chosen. The hosts are the runner's.
pub fn cluster_options(options: &[String]) -> Result<Vec<String>> {
    for option in options {
        let flag = option.split('=').next().unwrap_or_default();
        if ["--hosts-file", "--format", "--output"].contains(&flag) {
            bail!("{option}: `rdmabench k8s matrix` sets this itself; remove it");
        }
    }
    let argv = ["rdmabench", "matrix", "agent-a:1", "agent-b:1"]
        .into_iter()
        .map(String::from)
        .chain(options.iter().cloned());
    let cli = crate::cli::Cli::try_parse_from(argv)
        .map_err(|e| anyhow::anyhow!("invalid matrix options:\n{e}"))?;
    let crate::cli::Command::Matrix(args) = cli.command else {
        bail!("invalid matrix options");
    };
    if args.hosts.len() != 2 {
        bail!(
            "{}: the agents are the cluster's EFA nodes; do not list hosts",
            args.hosts[2..].join(" ")
        );
    }
    measure_config(&args.measure, Test::PingPong, None).context("invalid matrix options")?;
    let chosen = |flag: &str| {
        options
            .iter()
            .any(|o| o == flag || o.starts_with(&format!("{flag}=")))
    };
    let mut checked = Vec::new();
    if !chosen("--provider") && !chosen("--transport") {
        checked.extend(["--provider".to_string(), "efa".to_string()]);
    }
    checked.extend(options.iter().cloned());
    Ok(checked)
}

/// The pair of hosts `a` and `b`, in either order.
fn find<'a>(pairs: &'a [Pair], a: &str, b: &str) -> Option<&'a Pair> {
    pairs
        .iter()
        .find(|p| (p.client == a && p.server == b) || (p.client == b && p.server == a))
}

fn cell(pair: Option<&Pair>) -> String {
    match pair {
        None => "-".into(),
        Some(p) => match p.mean_ns {
            Some(mean) if p.outlier => format!("{}!", usec(mean)),
            Some(mean) => usec(mean),
            None => "FAIL".into(),
        },
    }
}

/// The table (aligned text) or markdown: per size the matrix, then the median pair, the
/// slowest pairs, outliers and failures.
fn text(matrix: &Matrix, markdown: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}rdmabench matrix: {} hosts, {} pairs, transport {}, api {}; mean half round trip in usec, row = client, column = server, each pair measured once (both cells show it), ! = outlier{}",
        if markdown { "" } else { "# " },
        matrix.hosts.len(),
        matrix.sizes.first().map_or(0, |s| s.pairs.len()),
        matrix.transport,
        matrix.api,
        if markdown { "\n" } else { "" }
    );
    for size in &matrix.sizes {
        let header: Vec<String> = std::iter::once(format!("{} B", size.size_bytes))
            .chain(matrix.hosts.iter().cloned())
            .collect();
        let rows: Vec<Vec<String>> = matrix
            .hosts
            .iter()
            .map(|row| {
                std::iter::once(row.clone())
                    .chain(matrix.hosts.iter().map(|column| {
                        if row == column {
                            "-".into()
                        } else {
                            cell(find(&size.pairs, row, column))
                        }
                    }))
                    .collect()
            })
            .collect();
        if markdown {
            let _ = writeln!(out, "| {} |", header.join(" | "));
            let _ = writeln!(out, "|{}", " ---: |".repeat(header.len()));
            for row in &rows {
                let _ = writeln!(out, "| {} |", row.join(" | "));
            }
            out.push('\n');
        } else {
            let widths: Vec<usize> = (0..header.len())
                .map(|i| {
                    rows.iter()
                        .map(|r| r[i].len())
                        .fold(header[i].len(), usize::max)
                })
                .collect();
            for line in std::iter::once(&header).chain(&rows) {
                let cells: Vec<String> = line
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{c:>w$}"))
                    .collect();
                let _ = writeln!(out, "{}", cells.join("  "));
            }
        }
        for line in findings(matrix, size) {
            let _ = writeln!(out, "{}{line}", if markdown { "- " } else { "# " });
        }
        out.push('\n');
    }
    out.pop();
    out
}

/// What a reader must see under a size's matrix.
fn findings(matrix: &Matrix, size: &SizeMatrix) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(median) = size.median_ns {
        lines.push(format!("median pair: {} usec", usec(median)));
    }
    let mut measured: Vec<&Pair> = size.pairs.iter().filter(|p| p.mean_ns.is_some()).collect();
    measured.sort_by_key(|p| std::cmp::Reverse(p.mean_ns));
    let slowest: Vec<String> = measured
        .iter()
        .take(SLOWEST_SHOWN)
        .map(|p| {
            format!(
                "{} <-> {} {} usec",
                p.client,
                p.server,
                p.mean_ns.map(usec).unwrap_or_default()
            )
        })
        .collect();
    if !slowest.is_empty() {
        lines.push(format!("slowest: {}", slowest.join(", ")));
    }
    let outliers: Vec<String> = size
        .pairs
        .iter()
        .filter(|p| p.outlier)
        .map(|p| format!("{} <-> {}", p.client, p.server))
        .collect();
    lines.push(if outliers.is_empty() {
        format!(
            "outliers (> {} x the median pair): none",
            matrix.outlier_factor
        )
    } else {
        format!(
            "OUTLIERS (> {} x the median pair): {}",
            matrix.outlier_factor,
            outliers.join(", ")
        )
    });
    for p in size.pairs.iter().filter(|p| p.mean_ns.is_none()) {
        lines.push(format!(
            "FAILED {} <-> {}: {}",
            p.client,
            p.server,
            p.error.as_deref().unwrap_or("no result")
        ));
    }
    lines
}

/// One row per size and pair, integer nanoseconds.
fn csv(matrix: &Matrix) -> String {
    let mut out = String::from("size_bytes,client,server,mean_ns,p50_ns,p99_ns,outlier,error\n");
    let or_empty = |v: Option<u64>| v.map_or(String::new(), |v| v.to_string());
    for size in &matrix.sizes {
        for p in &size.pairs {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{}",
                size.size_bytes,
                quote_csv(&p.client),
                quote_csv(&p.server),
                or_empty(p.mean_ns),
                or_empty(p.p50_ns),
                or_empty(p.p99_ns),
                p.outlier,
                quote_csv(p.error.as_deref().unwrap_or_default())
            );
        }
    }
    out
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
        assert_eq!(mark_outliers(&mut pairs, 1.5), Some(10_750));
        let outliers: Vec<bool> = pairs.iter().map(|p| p.outlier).collect();
        assert_eq!(outliers, [false, false, true, false, false]);
    }

    #[test]
    fn hosts_get_the_default_port_and_ports_must_be_numbers() {
        assert_eq!(normalise("node-a").unwrap(), "node-a:18515");
        assert_eq!(normalise("10.0.0.5:9000").unwrap(), "10.0.0.5:9000");
        assert_eq!(normalise("fe80::1").unwrap(), "[fe80::1]:18515");
        assert_eq!(normalise("[fe80::1]:7").unwrap(), "[fe80::1]:7");
        assert!(normalise("node-a:http").is_err());
    }
}
