//! The matrix for people: aligned text or markdown per size with what a reader must see under
//! it (median pair, slowest pairs, outliers, failures), CSV with integer nanoseconds, or the JSON
//! document itself.

use std::fmt::Write;

use rdmabench_report::format::quote as quote_csv;
use rdmabench_report::Format;
use rdmabench_stats::units::usec;

use crate::document::{Matrix, Pair, SizeMatrix};

/// How many of the slowest pairs are named.
const SLOWEST_SHOWN: usize = 3;

/// The matrix in `format`.
pub fn render(matrix: &Matrix, format: Format) -> String {
    match format {
        Format::Table => text(matrix, false),
        Format::Markdown => text(matrix, true),
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
