//! Intel MPI Benchmarks' PingPong and Uniband (IMB-MPI1 PingPong, IMB-MPI1 Uniband):
//!
//! ```text
//! # Benchmarking PingPong
//!        #bytes #repetitions      t[usec]   Mbytes/sec
//!             4         1000        16.11         0.25
//!
//! # Benchmarking Uniband
//!        #bytes #repetitions   Mbytes/sec      Msg/sec
//!             4         1000         0.29        72497
//! ```
//!
//! PingPong's t[usec] is half a round trip, averaged over the repetitions; its Mbytes/sec column
//! is not imported (its megabyte changed between IMB releases; the report derives MB/s from t).
//! IMB prints no total time, and none is made up.
//! Uniband's #repetitions counts windows (of `-window_size` messages, 64 by default), its
//! Mbytes/sec is 10^6 B/s in IMB 2021: src_c/IMB_output.c, IMB_display_times(), sets
//! `MEGA = 1.0 / 1e6` and for Uniband (ParallelTransferMsgRate) computes
//! `msgrate = MAX_WIN_SIZE * peers / time` and `throughput = MEGA * msgrate * size`.

use super::{empty_row, starts_with_number, table_rows, usec_to_ns, ImportError, Parsed};
use rdmabench_stats::{BandwidthSummary, LatencySummary};

const TOOL: &str = "imb";

/// The benchmarks imported, by the name IMB's banner gives them.
pub(super) const BENCHMARKS: [&str; 2] = ["PingPong", "Uniband"];

/// What IMB's output must hold.
pub(super) const EXPECTED: &str =
    "`# Benchmarking PingPong` or `# Benchmarking Uniband`, then rows under `#bytes #repetitions ...`";

/// The error for output without a table to read.
const NO_ROWS: ImportError = ImportError::NoRows {
    tool: TOOL,
    expected: EXPECTED,
};

pub(super) fn parse(text: &str) -> Result<Parsed, ImportError> {
    let version = text.lines().find_map(|l| {
        let rest = l.split("Intel(R) MPI Benchmarks ").nth(1)?;
        Some(rest.split([',', ' ']).next()?.to_string())
    });
    let (start, uniband) = text
        .lines()
        .enumerate()
        .find_map(|(i, l)| {
            let name = l.strip_prefix("# Benchmarking ")?.trim();
            BENCHMARKS.contains(&name).then_some((i, name == "Uniband"))
        })
        .ok_or(NO_ROWS)?;
    let header = text
        .lines()
        .enumerate()
        .skip(start)
        .find(|(_, l)| l.trim_start().starts_with("#bytes"))
        .map(|(i, _)| i)
        .ok_or(NO_ROWS)?;
    let mut rows = Vec::new();
    let shape = if uniband {
        "#bytes #repetitions Mbytes/sec Msg/sec"
    } else {
        "#bytes #repetitions t[usec] Mbytes/sec"
    };
    for line in table_rows(TOOL, text, header, shape, |f| {
        f.len() >= 3 && starts_with_number(f)
    })? {
        let fields = &line.fields;
        let mut row = empty_row(fields[0].parse().map_err(|_| line.bad(TOOL, "no size"))?);
        row.iterations = Some(
            fields[1]
                .parse()
                .map_err(|_| line.bad(TOOL, "no #repetitions"))?,
        );
        if uniband {
            let rate: f64 = fields[2]
                .parse()
                .map_err(|_| line.bad(TOOL, "no Mbytes/sec"))?;
            let messages: Option<f64> = fields.get(3).and_then(|f| f.parse().ok());
            row.bandwidth = Some(BandwidthSummary {
                average_bytes_per_sec: (rate * 1e6).round() as u64,
                peak_bytes_per_sec: None,
                messages_per_sec: messages.map(|m| m.round() as u64),
            });
        } else {
            let mean = usec_to_ns(fields[2]).ok_or_else(|| line.bad(TOOL, "no t[usec]"))?;
            row.latency = Some(LatencySummary::mean_only(mean));
        }
        rows.push(row);
    }
    Ok(Parsed {
        test: if uniband { "bw" } else { "pingpong" }.into(),
        version,
        rows,
        note: Some(if uniband {
            "IMB Uniband's Mbytes/sec is 10^6 B/s; #repetitions counts windows of -window_size messages (64 by default)".into()
        } else {
            "IMB's Mbytes/sec column is not imported; MB/s is derived from t[usec]".into()
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::fixture;
    use super::*;

    // Written from IMB's documented output format, not captured from a run.
    #[test]
    fn the_pingpong_table_is_read_until_it_ends() {
        let parsed = parse(&fixture("imb-pingpong-2021.txt")).unwrap();
        assert_eq!(parsed.version.as_deref(), Some("2021.7"));
        assert_eq!(parsed.rows.len(), 5);
        let last = &parsed.rows[4];
        assert_eq!((last.size_bytes, last.iterations), (65536, Some(640)));
        assert_eq!(last.latency.unwrap().mean_ns, 33_910);
        // IMB prints no total time, so none is made up from t[usec] x 2 x #repetitions.
        assert_eq!(last.total_ns, None);
        assert_eq!(parse("# Benchmarking PingPong\n").unwrap_err(), NO_ROWS);
    }

    // Captured from IMB 2021.10 (Intel MPI 2021.17, pip impi-rt 2021.17.2) between two network
    // namespaces on the development machine (Debian 12 VM, 2 cores); the commands are in
    // tests/fixtures/PROVENANCE.md.
    #[test]
    fn a_captured_pingpong_is_latency_and_a_captured_uniband_is_bandwidth() {
        let parsed = parse(&fixture("imb-2021.10-pingpong.txt")).unwrap();
        assert_eq!(
            (parsed.test.as_str(), parsed.version.as_deref()),
            ("pingpong", Some("2021.10"))
        );
        let sizes: Vec<u64> = parsed.rows.iter().map(|r| r.size_bytes).collect();
        assert_eq!(sizes, [4, 1024, 102400]);
        assert_eq!(parsed.rows[0].latency.unwrap().mean_ns, 14_590);
        assert_eq!(parsed.rows[2].iterations, Some(1000));

        let parsed = parse(&fixture("imb-2021.10-uniband.txt")).unwrap();
        assert_eq!(
            (parsed.test.as_str(), parsed.version.as_deref()),
            ("bw", Some("2021.10"))
        );
        assert_eq!(parsed.rows.len(), 3);
        let last = &parsed.rows[2];
        assert_eq!((last.size_bytes, last.iterations), (102400, Some(1000)));
        let bw = last.bandwidth.unwrap();
        assert_eq!(bw.average_bytes_per_sec, 2_520_820_000);
        assert_eq!(bw.messages_per_sec, Some(24617));
        assert!(last.latency.is_none());
        assert!(parsed.note.unwrap().contains("10^6 B/s"));
    }

    #[test]
    fn other_benchmarks_and_failed_rows_are_refused() {
        let text = "# Benchmarking Biband\n       #bytes #repetitions   Mbytes/sec      Msg/sec\n4 1000 0.29 72497\n";
        assert_eq!(parse(text).unwrap_err(), NO_ROWS);
        let text = "# Benchmarking Uniband\n       #bytes #repetitions   Mbytes/sec      Msg/sec\n            4 time-out.; Time limit is over\n";
        assert_eq!(
            parse(text).unwrap_err().to_string(),
            "imb output, line 3 (\"4 time-out.; Time limit is over\"): no #repetitions"
        );
        // A line where the first row belongs that is none is named, not "no result row".
        let text = "# Benchmarking PingPong\n       #bytes #repetitions      t[usec]   Mbytes/sec\nAbort(1) on node 1: Fatal error in PMPI_Recv\n";
        assert_eq!(
            parse(text).unwrap_err().to_string(),
            "imb output, line 3 (\"Abort(1) on node 1: Fatal error in PMPI_Recv\"): expected the first row of the table whose header is line 2 (#bytes #repetitions t[usec] Mbytes/sec)"
        );
    }
}
