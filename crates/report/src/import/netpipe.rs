//! NetPIPE 3.x (NPopenmpi, NPtcp ...): its output file (np.out, `-o`) or its progress log.
//!
//! ```text
//!        1 0.748713   0.00001019          np.out: bytes, Mbps, seconds
//!   0:       1 bytes   1000 times -->      0.75 Mbps in      10.19 usec      the log
//! ```
//!
//! NetPIPE's time is one-way: each trial's elapsed time / repeats / 2 for a ping-pong, and it
//! keeps the lowest of its trials (src/netpipe.c, "reports the lowest of the TRIALS times");
//! its Mbps divides bits by 2^20. So the latency imported is the mean half round trip of the
//! fastest trial, which the note says.

use super::{bad_row, empty_row, seconds_to_ns, usec_to_ns, ImportError, Parsed};
use rdmabench_stats::LatencySummary;

const TOOL: &str = "netpipe";

/// What NetPIPE's output must hold.
pub(super) const EXPECTED: &str = "np.out's `bytes Mbps seconds` lines, or the log's `N: SIZE bytes REPEATS times --> RATE Mbps in USEC usec` lines";

/// A progress-log row: `N: SIZE bytes REPEATS times --> RATE Mbps in USEC usec`.
fn log_row(fields: &[&str]) -> Option<(u64, u64, u64)> {
    match fields {
        [index, size, "bytes", repeats, "times", "-->", _, "Mbps", "in", usec, "usec"]
            if index.ends_with(':') =>
        {
            Some((size.parse().ok()?, repeats.parse().ok()?, usec_to_ns(usec)?))
        }
        _ => None,
    }
}

pub(super) fn parse(text: &str) -> Result<Parsed, ImportError> {
    let log = text.contains("times -->");
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let row = if log {
            if !fields.contains(&"-->") {
                continue;
            }
            // A size cut short (the run was stopped) ends with "-->": nothing to import.
            if fields.last() == Some(&"-->") {
                continue;
            }
            let (size, repeats, latency) = log_row(&fields).ok_or_else(|| {
                bad_row(
                    TOOL,
                    index + 1,
                    line,
                    "expected `N: SIZE bytes REPEATS times --> RATE Mbps in USEC usec`",
                )
            })?;
            let mut row = empty_row(size);
            row.iterations = Some(repeats);
            row.latency = Some(LatencySummary::mean_only(latency));
            row
        } else {
            if fields.is_empty() {
                continue;
            }
            let [size, _mbps, seconds] = fields[..] else {
                return Err(bad_row(
                    TOOL,
                    index + 1,
                    line,
                    "expected np.out's three columns: bytes, Mbps, seconds",
                ));
            };
            let size = size
                .parse()
                .map_err(|_| bad_row(TOOL, index + 1, line, "the first column is not a size"))?;
            let latency = seconds_to_ns(seconds)
                .ok_or_else(|| bad_row(TOOL, index + 1, line, "the third column is not seconds"))?;
            let mut row = empty_row(size);
            row.latency = Some(LatencySummary::mean_only(latency));
            row
        };
        rows.push(row);
    }
    Ok(Parsed {
        test: "pingpong".into(),
        version: None,
        rows,
        note: Some(
            "NetPIPE's time is the mean half round trip of the fastest of its trials; its Mbps \
             (not imported) is 2^20 bit/s"
                .into(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::fixture;
    use super::*;

    // Both samples come from one NPopenmpi 3.7.2 run over loopback on this machine, unchanged
    // (command and versions: tests/fixtures/PROVENANCE.md).
    #[test]
    fn the_output_file_gives_one_way_time_in_nanoseconds() {
        let parsed = parse(&fixture("netpipe-3.7.2-np.out")).unwrap();
        assert_eq!(parsed.test, "pingpong");
        let sizes: Vec<u64> = parsed.rows.iter().map(|r| r.size_bytes).collect();
        // -l 1 -u 65536 -p 0: NetPIPE's own sequence, 1 2 3 4 then 2^n and 1.5 x 2^n.
        assert_eq!(sizes.len(), 32);
        assert_eq!(sizes[..8], [1, 2, 3, 4, 6, 8, 12, 16]);
        assert_eq!(sizes.last(), Some(&65536));
        // "0.00003489" seconds, "0.00012643" seconds.
        assert_eq!(parsed.rows[0].latency.unwrap().mean_ns, 34_890);
        assert_eq!(parsed.rows[31].latency.unwrap().mean_ns, 126_430);
        assert_eq!(parsed.rows[0].iterations, None);
    }

    #[test]
    fn the_log_gives_time_and_repeats_the_same_as_the_output_file() {
        let log = parse(&fixture("netpipe-3.7.2-log.txt")).unwrap();
        let file = parse(&fixture("netpipe-3.7.2-np.out")).unwrap();
        assert_eq!(log.rows.len(), 32);
        assert_eq!(log.rows[31].size_bytes, 65536);
        assert_eq!(log.rows[31].latency.unwrap().mean_ns, 126_430);
        assert!(log.rows.iter().all(|r| r.iterations == Some(1000)));
        // One run: the log's usec and np.out's seconds are the same figures.
        for (l, f) in log.rows.iter().zip(&file.rows) {
            assert_eq!((l.size_bytes, l.latency), (f.size_bytes, f.latency));
        }
        assert!(log.note.unwrap().contains("fastest of its trials"));
    }

    #[test]
    fn an_unfinished_size_is_left_out_and_bad_lines_are_named() {
        let text = "  0:       1 bytes   100 times -->      0.75 Mbps in      10.19 usec\n  1:       2 bytes   100 times --> \n";
        assert_eq!(parse(text).unwrap().rows.len(), 1);
        let text = "  0:       1 bytes   100 times -->      fast\n";
        assert_eq!(
            parse(text).unwrap_err().to_string(),
            "netpipe output, line 1 (\"0: 1 bytes 100 times --> fast\"): expected `N: SIZE bytes REPEATS times --> RATE Mbps in USEC usec`"
        );
        assert_eq!(
            parse("       1 0.748713\n").unwrap_err().to_string(),
            "netpipe output, line 1 (\"1 0.748713\"): expected np.out's three columns: bytes, Mbps, seconds"
        );
    }
}
