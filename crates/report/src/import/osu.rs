//! OSU micro-benchmarks' osu_latency and osu_bw:
//!
//! ```text
//! # OSU MPI Latency Test v7.3
//! # Size       Avg Latency(us)            (v5: "# Size          Latency (us)")
//! 1                      16.41
//! ```
//!
//! With `-f` the latency table adds "Min Latency(us)  Max Latency(us)  Iterations".
//! osu_latency reports half a round trip; osu_bw's MB/s is 10^6 B/s.

use super::{empty_row, starts_with_number, table_rows, usec_to_ns, ImportError, Parsed};
use rdmabench_stats::BandwidthSummary;
use rdmabench_stats::LatencySummary;

const TOOL: &str = "osu";

/// What OSU's output must hold.
pub(super) const EXPECTED: &str =
    "a `# OSU MPI Latency Test` or `# OSU MPI Bandwidth Test` title, then rows under `# Size ...`";

pub(super) fn parse(text: &str) -> Result<Parsed, ImportError> {
    const NO_ROWS: ImportError = ImportError::NoRows {
        tool: TOOL,
        expected: EXPECTED,
    };
    let title = text
        .lines()
        .find_map(|l| l.strip_prefix("# OSU MPI"))
        .ok_or(NO_ROWS)?;
    let version = title
        .split_whitespace()
        .find_map(|w| w.strip_prefix('v'))
        .map(str::to_string);
    let bandwidth = title.contains("Bandwidth");
    if !bandwidth && !title.contains("Latency Test") {
        return Err(ImportError::Unsupported {
            tool: TOOL,
            problem: format!(
                "OSU MPI{title}: only osu_latency and osu_bw are imported (run those, or import the other tools' output)"
            ),
        });
    }
    if title.contains("Bi-Directional") || title.contains("Multi") {
        return Err(ImportError::Unsupported {
            tool: TOOL,
            problem: format!("OSU MPI{title}: only osu_latency and osu_bw are imported"),
        });
    }
    let (header_line, header) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.starts_with("# Size"))
        .ok_or(NO_ROWS)?;
    let full = header.contains("Min Latency");
    let shape = if bandwidth {
        "a size and a bandwidth"
    } else {
        "a size and a latency"
    };
    let mut rows = Vec::new();
    for line in table_rows(TOOL, text, header_line, shape, starts_with_number)? {
        let fields = &line.fields;
        let mut row = empty_row(
            fields[0]
                .parse()
                .map_err(|_| line.bad(TOOL, "the first column is not a size"))?,
        );
        if bandwidth {
            let rate: f64 = fields
                .get(1)
                .and_then(|f| f.parse().ok())
                .ok_or_else(|| line.bad(TOOL, "no bandwidth"))?;
            row.bandwidth = Some(BandwidthSummary {
                average_bytes_per_sec: (rate * 1e6).round() as u64,
                peak_bytes_per_sec: None,
                messages_per_sec: None,
            });
        } else {
            let mean = fields
                .get(1)
                .and_then(|f| usec_to_ns(f))
                .ok_or_else(|| line.bad(TOOL, "no latency"))?;
            let mut summary = LatencySummary::mean_only(mean);
            if full {
                summary.min_ns = fields.get(2).and_then(|f| usec_to_ns(f));
                summary.max_ns = fields.get(3).and_then(|f| usec_to_ns(f));
                row.iterations = fields.get(4).and_then(|f| f.parse().ok());
            }
            row.latency = Some(summary);
        }
        rows.push(row);
    }
    Ok(Parsed {
        test: if bandwidth { "bw" } else { "pingpong" }.into(),
        version,
        rows,
        note: Some(if bandwidth {
            "osu_bw's MB/s is 10^6 B/s".into()
        } else {
            "osu_latency prints the mean (and with -f min, max, iterations) only".into()
        }),
    })
}

// The samples are written from OSU's documented output format, not captured from a run
// (tests/fixtures/PROVENANCE.md).
#[cfg(test)]
mod tests {
    use super::super::tests::fixture;
    use super::*;

    #[test]
    fn osu_latency_tables_short_and_full() {
        let parsed = parse(&fixture("osu_latency-7.3.txt")).unwrap();
        assert_eq!(
            (parsed.test.as_str(), parsed.version.as_deref()),
            ("pingpong", Some("7.3"))
        );
        assert_eq!(parsed.rows.len(), 6);
        assert_eq!(parsed.rows[5].size_bytes, 65536);
        assert_eq!(parsed.rows[5].latency.unwrap().mean_ns, 34_120);
        assert_eq!(parsed.rows[5].iterations, None);
        let full = parse(&fixture("osu_latency-5.6-full.txt")).unwrap();
        let l = full.rows[2].latency.unwrap();
        assert_eq!(
            (l.mean_ns, l.min_ns, l.max_ns),
            (34_120, Some(32_880), Some(80_770))
        );
        assert_eq!(full.rows[2].iterations, Some(1000));
    }

    #[test]
    fn osu_bw_is_in_megabytes_of_a_million() {
        let parsed = parse(&fixture("osu_bw-7.3.txt")).unwrap();
        assert_eq!(parsed.test, "bw");
        let bw = parsed.rows[3].bandwidth.unwrap();
        assert_eq!(bw.average_bytes_per_sec, 11_810_930_000);
        assert_eq!(parsed.rows[3].megabytes_per_sec(), Some(11_810.93));
    }

    #[test]
    fn other_osu_tests_are_refused_by_name() {
        let text = "# OSU MPI Broadcast Latency Test v5.9\n# Size       Avg Latency(us)\n1 7.61\n";
        assert!(parse(text).is_ok(), "a latency test imports");
        let text =
            "# OSU MPI Bi-Directional Bandwidth Test v7.3\n# Size      Bandwidth (MB/s)\n1 1.0\n";
        assert!(parse(text)
            .unwrap_err()
            .to_string()
            .contains("only osu_latency and osu_bw"));
        let text = "# OSU MPI Latency Test v7.3\n# Size       Avg Latency(us)\n1 fast\n";
        assert_eq!(
            parse(text).unwrap_err().to_string(),
            "osu output, line 3 (\"1 fast\"): no latency"
        );
        let text = "# OSU MPI Latency Test v7.3\n# Size       Avg Latency(us)\n[node-a:1234] *** An error occurred in MPI_Recv\n";
        assert_eq!(
            parse(text).unwrap_err().to_string(),
            "osu output, line 3 (\"[node-a:1234] *** An error occurred in MPI_Recv\"): expected the first row of the table whose header is line 2 (a size and a latency)"
        );
    }
}
