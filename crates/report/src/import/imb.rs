//! Intel MPI Benchmarks' PingPong (IMB-MPI1 PingPong):
//!
//! ```text
//! # Benchmarking PingPong
//!        #bytes #repetitions      t[usec]   Mbytes/sec
//!             4         1000        16.11         0.25
//! ```
//!
//! t[usec] is half a round trip, averaged over the repetitions. The Mbytes/sec column is not
//! imported: its megabyte changed between IMB releases; the report derives MB/s from t.

use super::{bad_row, empty_row, starts_with_number, table_rows, usec_to_ns, ImportError, Parsed};
use rdmabench_stats::LatencySummary;

const TOOL: &str = "imb";

pub(super) fn parse(text: &str) -> Result<Parsed, ImportError> {
    let version = text.lines().find_map(|l| {
        let rest = l.split("Intel(R) MPI Benchmarks ").nth(1)?;
        Some(rest.split([',', ' ']).next()?.to_string())
    });
    let start = text
        .lines()
        .position(|l| l.contains("# Benchmarking PingPong"))
        .ok_or(ImportError::NoRows { tool: TOOL })?;
    let header = text
        .lines()
        .enumerate()
        .skip(start)
        .find(|(_, l)| l.trim_start().starts_with("#bytes"))
        .map(|(i, _)| i)
        .ok_or(ImportError::NoRows { tool: TOOL })?;
    let mut rows = Vec::new();
    for (line, fields) in table_rows(text, header, |f| f.len() >= 3 && starts_with_number(f)) {
        let mut row = empty_row(
            fields[0]
                .parse()
                .map_err(|_| bad_row(TOOL, line, "no size"))?,
        );
        row.iterations = Some(
            fields[1]
                .parse()
                .map_err(|_| bad_row(TOOL, line, "no #repetitions"))?,
        );
        let mean = usec_to_ns(fields[2]).ok_or_else(|| bad_row(TOOL, line, "no t[usec]"))?;
        row.total_ns = row.iterations.map(|n| mean * 2 * n);
        row.latency = Some(LatencySummary::mean_only(mean));
        rows.push(row);
    }
    Ok(Parsed {
        test: "pingpong".into(),
        version,
        rows,
        note: Some("IMB's Mbytes/sec column is not imported; MB/s is derived from t[usec]".into()),
    })
}

// The samples are written from IMB's documented output format, not captured from a run
// (see `fixture`).
#[cfg(test)]
mod tests {
    use super::super::tests::fixture;
    use super::*;

    #[test]
    fn the_pingpong_table_is_read_until_it_ends() {
        let parsed = parse(&fixture("imb-pingpong-2021.txt")).unwrap();
        assert_eq!(parsed.version.as_deref(), Some("2021.7"));
        assert_eq!(parsed.rows.len(), 5);
        let last = &parsed.rows[4];
        assert_eq!((last.size_bytes, last.iterations), (65536, Some(640)));
        assert_eq!(last.latency.unwrap().mean_ns, 33_910);
        assert_eq!(last.total_ns, Some(33_910 * 2 * 640));
        assert_eq!(
            parse("# Benchmarking PingPong\n").unwrap_err(),
            ImportError::NoRows { tool: TOOL }
        );
    }
}
