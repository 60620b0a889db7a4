//! The matrix for people: aligned text or markdown per size with what a reader must see under
//! it (median pair, slowest pairs, outliers, failures), CSV with integer nanoseconds, or the JSON
//! document itself.

use std::fmt::Write;

use rdmabench_report::collection::Statistic;
use rdmabench_report::tables::{self, Align};
use rdmabench_report::Format;
use rdmabench_stats::precision::{Precision, StopReason};
use rdmabench_stats::quality::ADVICE;
use rdmabench_stats::units::usec;
use rdmabench_stats::NoiseFlag;

use crate::document::{Matrix, Pair, SizeMatrix};

/// How many of the slowest pairs are named.
const SLOWEST_SHOWN: usize = 3;

/// The matrix in `format`; `width` is the terminal's, to fit the table format to (None for
/// pipes and files: one fixed, deterministic layout).
pub fn render(matrix: &Matrix, format: Format, width: Option<u16>) -> String {
    match format {
        Format::Table => text(matrix, Style::Aligned(width)),
        Format::Markdown => text(matrix, Style::Markdown),
        Format::Csv => csv(matrix),
        Format::Json => serde_json::to_string_pretty(matrix).expect("the matrix serializes") + "\n",
    }
}

/// The pair of hosts `a` and `b`, in either order.
fn find<'a>(pairs: &'a [Pair], a: &str, b: &str) -> Option<&'a Pair> {
    pairs
        .iter()
        .find(|p| (p.client == a && p.server == b) || (p.client == b && p.server == a))
}

/// A pair's cell: its figure, `!` when an outlier, `~` when measured with signs of noise.
fn cell(pair: Option<&Pair>, metric: Statistic) -> String {
    let Some(p) = pair else {
        return "-".into();
    };
    match p.figure(metric) {
        Some(figure) => format!(
            "{}{}{}",
            usec(figure),
            if p.outlier { "!" } else { "" },
            if p.is_noisy() { "~" } else { "" }
        ),
        None => "FAIL".into(),
    }
}

/// The human formats' tables.
#[derive(Clone, Copy)]
enum Style {
    /// Aligned text, fitted to the terminal's width when there is one.
    Aligned(Option<u16>),
    /// Markdown.
    Markdown,
}

/// The table (aligned text) or markdown: per size the matrix, then the median pair, the
/// slowest pairs, outliers and failures.
fn text(matrix: &Matrix, style: Style) -> String {
    let markdown = matches!(style, Style::Markdown);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}rdmabench matrix: {} hosts, {}, transport {}, api {}; {} half round trip in usec, row = client, column = server, each pair measured once (both cells show it), ! = outlier, ~ = noisy{}",
        if markdown { "" } else { "# " },
        matrix.hosts.len(),
        match matrix.sizes.first().map_or(0, |s| s.pairs.len()) {
            1 => "1 pair".to_string(),
            n => format!("{n} pairs"),
        },
        matrix.transport,
        matrix.api,
        matrix.metric.name(),
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
                            cell(find(&size.pairs, row, column), matrix.metric)
                        }
                    }))
                    .collect()
            })
            .collect();
        match style {
            Style::Markdown => {
                out.push_str(&tables::markdown(&header, &rows, |_| Align::Right));
                out.push('\n');
            }
            Style::Aligned(width) => {
                out.push_str(&tables::text(&header, &rows, |_| Align::Right, width));
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
    let metric = matrix.metric;
    if let Some(median) = size.median_ns {
        lines.push(format!(
            "median pair: {} usec ({})",
            usec(median),
            metric.name()
        ));
    }
    let mut measured: Vec<&Pair> = size
        .pairs
        .iter()
        .filter(|p| p.figure(metric).is_some())
        .collect();
    measured.sort_by_key(|p| std::cmp::Reverse(p.figure(metric)));
    let slowest: Vec<String> = measured
        .iter()
        .take(SLOWEST_SHOWN)
        .map(|p| {
            format!(
                "{} <-> {} {} usec",
                p.client,
                p.server,
                p.figure(metric).map(usec).unwrap_or_default()
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
    let noisy: Vec<String> = size
        .pairs
        .iter()
        .filter(|p| p.is_noisy())
        .map(|p| {
            let signs: Vec<String> = p
                .quality
                .iter()
                .flat_map(|q| q.noise.iter().map(NoiseFlag::describe))
                .collect();
            format!("{} <-> {} ({})", p.client, p.server, signs.join(", "))
        })
        .collect();
    if !noisy.is_empty() {
        lines.push(format!(
            "NOISY (~): {}; their figures may be the host's: {ADVICE}",
            noisy.join(", ")
        ));
    }
    if let Some(line) = precision_finding(size) {
        lines.push(line);
    }
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

/// With `--precision`: how many pairs reached the target, and those that stopped at a ceiling
/// first, with the interval they got.
fn precision_finding(size: &SizeMatrix) -> Option<String> {
    let judged: Vec<(&Pair, &Precision)> = size
        .pairs
        .iter()
        .filter_map(|p| Some((p, p.quality.as_ref()?.precision.as_ref()?)))
        .collect();
    let target = judged.first()?.1.target_percent;
    let short: Vec<String> = judged
        .iter()
        .filter(|(_, q)| q.stopped != StopReason::PrecisionReached)
        .map(|(p, q)| {
            let reached = q
                .mean_ci95_percent
                .map_or_else(|| "no interval".to_string(), |c| format!("+-{c:.2} %"));
            format!(
                "{} <-> {} ({reached} after {} round trips)",
                p.client,
                p.server,
                p.round_trips.unwrap_or_default()
            )
        })
        .collect();
    let reached = judged.len() - short.len();
    let mut line = format!(
        "precision +-{target} % (mean's 95 % interval): {reached} of {} pairs reached it",
        judged.len()
    );
    if !short.is_empty() {
        let _ = write!(line, "; stopped at the ceiling first: {}", short.join(", "));
    }
    Some(line)
}

/// One row per size and pair, integer nanoseconds; columns named as the JSON's fields.
fn csv(matrix: &Matrix) -> String {
    let or_empty = |v: Option<u64>| v.map_or(String::new(), |v| v.to_string());
    let rows: Vec<Vec<String>> = matrix
        .sizes
        .iter()
        .flat_map(|size| size.pairs.iter().map(move |p| (size.size_bytes, p)))
        .map(|(size_bytes, p)| {
            vec![
                size_bytes.to_string(),
                p.client.clone(),
                p.server.clone(),
                or_empty(p.mean_ns),
                or_empty(p.p50_ns),
                or_empty(p.p99_ns),
                p.outlier.to_string(),
                p.error.clone().unwrap_or_default(),
                or_empty(p.round_trips),
                p.quality
                    .as_ref()
                    .and_then(|q| q.precision.as_ref()?.mean_ci95_percent)
                    .map_or(String::new(), |c| format!("{c:.3}")),
            ]
        })
        .collect();
    tables::csv(
        &[
            "size_bytes",
            "client",
            "server",
            "mean_ns",
            "p50_ns",
            "p99_ns",
            "outlier",
            "error",
            "round_trips",
            "mean_ci95_percent",
        ],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::MATRIX_SCHEMA_VERSION;

    #[test]
    fn two_hosts_make_one_pair_and_the_header_says_so() {
        let pair = Pair {
            client: "a:1".into(),
            server: "b:1".into(),
            mean_ns: Some(5_000),
            p50_ns: Some(4_000),
            p99_ns: Some(9_000),
            outlier: false,
            error: None,
            provider: Some("tcp;ofi_rxm".into()),
            round_trips: Some(1000),
            quality: None,
        };
        let matrix = Matrix {
            schema_version: MATRIX_SCHEMA_VERSION,
            kind: "rdmabench-matrix".into(),
            test: "pingpong".into(),
            transport: "fabric (tcp;ofi_rxm)".into(),
            api: "msg".into(),
            hosts: vec!["a:1".into(), "b:1".into()],
            outlier_factor: 1.5,
            metric: Statistic::Median,
            sizes: vec![SizeMatrix {
                size_bytes: 4,
                median_ns: Some(5_000),
                pairs: vec![pair],
            }],
        };
        let table = render(&matrix, Format::Table, None);
        assert!(
            table
                .starts_with("# rdmabench matrix: 2 hosts, 1 pair, transport fabric (tcp;ofi_rxm)"),
            "{table}"
        );
        let csv = render(&matrix, Format::Csv, None);
        assert!(
            csv.ends_with("4,a:1,b:1,5000,4000,9000,false,,1000,\n"),
            "{csv}"
        );
    }
}
