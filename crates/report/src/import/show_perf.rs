//! fabtests' benchmarks (fi_rdm_pingpong, fi_msg_pingpong, fi_msg_bw, fi_rdm_tagged_bw ...):
//! the table `show_perf()` prints, or with `-m` the lines of `show_perf_mr()`, both in
//! `fabtests/common/shared.c` (the same from libfabric v1.17.0 to main of 2026-08):
//!
//! ```text
//! bytes   iters   total       time     MB/sec    usec/xfer   Mxfers/sec
//! 64      1k      187k        0.31s      0.61     104.57       0.01
//! 11k     1k      34m         0.38s     94.79     126.60       0.01
//! ---
//! ./fi_rdm_pingpong -p shm -e rdm -I 1500 -S r:64,11936,12000 -m -s 127.0.0.1 -E=47108 127.0.0.1 :
//! - { xfer_size: 64, iterations: 1500, total: 192000, time: 0.004205, MB/sec: 45.659929, usec/xfer: 1.401667, Mxfers/sec: 0.713436 }
//! ```
//!
//! The header comes once, with the first size's row; each size of `-S all`, `-S r:...` or the
//! default sizes (64, 256, 1k, 4k, 64k, 1m) adds a row. A test that names itself (ubertest,
//! fi_rdm_atomic) puts a `name` column first. `bytes` is size_str() (1024-based, cut: 12000 B
//! is "11k"), `iters` cnt_str() (1000-based, cut: 1500 is "1k"; warm-up not counted), `total`
//! the bytes moved (size_str()), `time` the elapsed seconds to 10 ms, `MB/sec` bytes over
//! elapsed microseconds (so 10^6 B/s), `usec/xfer` elapsed microseconds / iters /
//! xfers_per_iter and `Mxfers/sec` its inverse, each to two decimals. pingpong()
//! (benchmarks/benchmark_shared.c) passes xfers_per_iter 2, so usec/xfer is half a round trip
//! and `total` counts both ways; bandwidth() and bandwidth_rma() pass 1, so usec/xfer is the
//! time per message and MB/sec the one-way rate. `-m` prints the same figures whole (time and
//! rates with six decimals), after the command line.
//!
//! The table does not say which test printed it: `--tool` (or `--command`, or `-m`'s command
//! line) does. Ping-pongs import usec/xfer as the mean; bandwidth tests MB/sec and Mxfers/sec.
//! As for fi_pingpong, the size, iters and time are kept as printed and listed in `rounded`,
//! and nothing is rebuilt from them.

use super::fabtests::{self, Table};
use super::{empty_row, seconds_to_ns, table_rows, usec_to_ns, ImportError, Parsed, Row, Tool};
use rdmabench_stats::{BandwidthSummary, LatencySummary, SizeMeasurement};

/// What fabtests' output must hold.
pub(super) const EXPECTED: &str = "rows under fabtests' header `bytes iters total time MB/sec usec/xfer Mxfers/sec`, or -m's `- { xfer_size: ... }` lines";

/// The shape of a `-m` row, for messages.
const MACHINE_ROW: &str =
    "- { xfer_size: N, iterations: N, total: N, time: S, MB/sec: R, usec/xfer: U, Mxfers/sec: R }";

/// The test of a fabtests command line's program: fi_*_pingpong or fi_*_bw (not libfabric's
/// util fi_pingpong, whose output differs).
pub(super) fn program_test(command: &str) -> Option<Tool> {
    let program = command
        .split_whitespace()
        .filter_map(|word| word.rsplit('/').next())
        .find(|program| program.starts_with("fi_"))?;
    if program == "fi_pingpong" {
        None
    } else if program.ends_with("_pingpong") {
        Some(Tool::FabtestsPingpong)
    } else if program.ends_with("_bw") {
        Some(Tool::FabtestsBw)
    } else {
        None
    }
}

/// `-m` output's command line: the line (0-based) after `---`, ending in " :".
fn machine_header(text: &str) -> Option<(usize, &str)> {
    let lines: Vec<&str> = text.lines().collect();
    lines.windows(2).enumerate().find_map(|(index, pair)| {
        (pair[0].trim() == "---" && pair[1].trim_end().ends_with(':'))
            .then_some((index + 1, pair[1]))
    })
}

/// True when the text is fabtests' output, of whichever test.
pub(super) fn is_table(text: &str) -> bool {
    fabtests::header(text, "iters").is_some() || machine_header(text).is_some()
}

/// The test of `-m` output, from the command line it starts with.
pub(super) fn detect(text: &str) -> Option<Tool> {
    machine_header(text).and_then(|(_, command)| program_test(command))
}

/// A rate as printed: a finite number, not negative.
fn rate(text: &str) -> Option<f64> {
    text.parse::<f64>()
        .ok()
        .filter(|value| value.is_finite() && *value >= 0.0)
}

/// MB/sec (10^6 B/s) and Mxfers/sec as a bandwidth. A message rate printed "0.00" (below
/// 5000 per second at two decimals) is not known, not zero.
fn bandwidth(megabytes_per_sec: f64, mxfers_per_sec: f64) -> BandwidthSummary {
    BandwidthSummary {
        average_bytes_per_sec: (megabytes_per_sec * 1e6).round() as u64,
        peak_bytes_per_sec: None,
        messages_per_sec: (mxfers_per_sec > 0.0).then(|| (mxfers_per_sec * 1e6).round() as u64),
    }
}

pub(super) fn parse(text: &str, tool: Tool) -> Result<Parsed, ImportError> {
    let name = tool.name();
    let is_bandwidth = tool == Tool::FabtestsBw;
    let (rows, printed) = if let Some(table) = Table::find(name, text, "iters")? {
        let rows = table
            .rows
            .iter()
            .map(|row| {
                let mut measured = table.printed(row)?;
                if is_bandwidth {
                    measured.bandwidth = Some(bandwidth(
                        table.field(row, "MB/sec", "a rate", rate)?,
                        table.field(row, "Mxfers/sec", "a rate", rate)?,
                    ));
                } else {
                    measured.latency = Some(LatencySummary::mean_only(table.usec_per_xfer(row)?));
                }
                Ok(measured)
            })
            .collect::<Result<Vec<_>, ImportError>>()?;
        (rows, true)
    } else if let Some((header, _)) = machine_header(text) {
        let rows = table_rows(name, text, header, MACHINE_ROW, |f| f.first() == Some(&"-"))?
            .iter()
            .map(|row| machine_row(row, name, is_bandwidth))
            .collect::<Result<Vec<_>, ImportError>>()?;
        (rows, false)
    } else {
        (Vec::new(), true)
    };
    let what = match (is_bandwidth, printed) {
        (true, true) => "MB/sec is 10^6 B/s (bytes over elapsed microseconds) and messages/s its Mxfers/sec, which has two decimals (\"0.00\" is left empty)",
        (true, false) => "MB/sec is 10^6 B/s (bytes over elapsed microseconds) and messages/s its Mxfers/sec",
        (false, _) => "usec is its usec/xfer, half a round trip; no percentiles are printed",
    };
    let how = if printed {
        "bytes, iters and time are kept as printed (\"11k\" for 12000 B, \"1k\" for 1500, the time to 10 ms) and listed in each row's `rounded`"
    } else {
        "-m output: sizes and iterations exact, the time to the microsecond"
    };
    Ok(Parsed {
        test: if is_bandwidth { "bw" } else { "pingpong" }.into(),
        version: None,
        rows,
        note: Some(format!("fabtests' {what}; {how}")),
    })
}

/// A `-m` row: `- { xfer_size: 64, iterations: 1500, ... }`, every figure whole.
fn machine_row(
    row: &Row,
    tool: &'static str,
    is_bandwidth: bool,
) -> Result<SizeMeasurement, ImportError> {
    let body = row
        .text
        .trim()
        .strip_prefix("- {")
        .and_then(|rest| rest.strip_suffix('}'))
        .ok_or_else(|| row.bad(tool, format!("expected {MACHINE_ROW}")))?;
    let pairs = Pairs {
        row,
        tool,
        pairs: body
            .split(',')
            .filter_map(|pair| pair.split_once(':'))
            .map(|(key, value)| (key.trim(), value.trim()))
            .collect(),
    };
    let whole = |text: &str| text.parse::<u64>().ok();
    let mut measured = empty_row(pairs.figure("xfer_size", "a whole number", whole)?);
    measured.iterations = Some(pairs.figure("iterations", "a whole number", whole)?);
    measured.total_ns = Some(pairs.figure("time", "seconds", seconds_to_ns)?);
    if is_bandwidth {
        measured.bandwidth = Some(bandwidth(
            pairs.figure("MB/sec", "a rate", rate)?,
            pairs.figure("Mxfers/sec", "a rate", rate)?,
        ));
    } else {
        let mean = pairs.figure("usec/xfer", "microseconds", usec_to_ns)?;
        measured.latency = Some(LatencySummary::mean_only(mean));
    }
    Ok(measured)
}

/// The `key: value` pairs of a `-m` row.
struct Pairs<'a> {
    row: &'a Row<'a>,
    tool: &'static str,
    pairs: Vec<(&'a str, &'a str)>,
}

impl Pairs<'_> {
    /// The value of `key`, read by `read` (`what` it should be, for the message when not).
    fn figure<T>(
        &self,
        key: &str,
        what: &str,
        read: impl Fn(&str) -> Option<T>,
    ) -> Result<T, ImportError> {
        let (_, value) = self.pairs.iter().find(|(k, _)| *k == key).ok_or_else(|| {
            self.row
                .bad(self.tool, format!("no {key} (expected {MACHINE_ROW})"))
        })?;
        read(value).ok_or_else(|| {
            self.row
                .bad(self.tool, format!("{key} {value:?} is not {what}"))
        })
    }
}

// The samples were captured with fabtests v1.17.0 built here with gcc against Debian's
// libfabric 1.17.0, over tcp and shm on 127.0.0.1 (tests/fixtures/PROVENANCE.md).
#[cfg(test)]
mod tests {
    use super::super::parse as import;
    use super::super::tests::fixture;
    use super::*;
    use rdmabench_stats::Figure;

    /// The sample's rows, as a snapshot shows them: test, note, and the rows as JSON.
    fn snapshot(parsed: &Parsed) -> String {
        format!(
            "test: {}\nnote: {}\n{}",
            parsed.test,
            parsed.note.as_deref().unwrap_or_default(),
            serde_json::to_string_pretty(&parsed.rows).unwrap()
        )
    }

    #[test]
    fn every_captured_sample_reads_as_its_snapshot() {
        for (file, tool) in [
            (
                "fabtests-1.17-fi_rdm_pingpong-tcp.txt",
                Tool::FabtestsPingpong,
            ),
            (
                "fabtests-1.17-fi_msg_pingpong-tcp.txt",
                Tool::FabtestsPingpong,
            ),
            (
                "fabtests-1.17-fi_rdm_pingpong-shm.txt",
                Tool::FabtestsPingpong,
            ),
            (
                "fabtests-1.17-fi_rdm_pingpong-shm-default.txt",
                Tool::FabtestsPingpong,
            ),
            ("fabtests-1.17-fi_rdm_tagged_bw-tcp.txt", Tool::FabtestsBw),
            ("fabtests-1.17-fi_rdm_tagged_bw-shm.txt", Tool::FabtestsBw),
            ("fabtests-1.17-fi_msg_bw-tcp.txt", Tool::FabtestsBw),
            (
                "fabtests-1.17-fi_rdm_pingpong-shm-m.txt",
                Tool::FabtestsPingpong,
            ),
            ("fabtests-1.17-fi_rdm_tagged_bw-shm-m.txt", Tool::FabtestsBw),
        ] {
            let (_, parsed) = import(&fixture(file), Some(tool)).unwrap();
            insta::assert_snapshot!(file, snapshot(&parsed));
        }
    }

    #[test]
    fn captured_ping_pongs_keep_usec_per_xfer_and_the_printed_figures() {
        // -I 1500 -S r:64,11936,12000: "64" and "11k" bytes, "1k" iters, each marked.
        let parsed = parse(
            &fixture("fabtests-1.17-fi_rdm_pingpong-tcp.txt"),
            Tool::FabtestsPingpong,
        )
        .unwrap();
        assert_eq!(parsed.test, "pingpong");
        let [small, large] = &parsed.rows[..] else {
            panic!("{:?}", parsed.rows)
        };
        assert_eq!((small.size_bytes, small.iterations), (64, Some(1000)));
        assert_eq!(small.rounded, [Figure::Iterations, Figure::TotalNs]);
        assert_eq!(small.mean_ns(), Some(104_570));
        assert_eq!(
            (large.size_bytes, large.total_ns),
            (11 * 1024, Some(380_000_000))
        );
        assert_eq!(
            large.rounded,
            [Figure::SizeBytes, Figure::Iterations, Figure::TotalNs]
        );
        assert!(large.bandwidth.is_none());

        // The default sizes with -I 100: counts below 1000 are printed whole, "0.00s" is kept.
        let parsed = parse(
            &fixture("fabtests-1.17-fi_rdm_pingpong-shm-default.txt"),
            Tool::FabtestsPingpong,
        )
        .unwrap();
        let sizes: Vec<u64> = parsed.rows.iter().map(|r| r.size_bytes).collect();
        assert_eq!(sizes, [64, 256, 1024, 4096, 65536, 1 << 20]);
        assert!(parsed.rows.iter().all(|r| r.iterations == Some(100)));
        assert_eq!(parsed.rows[0].rounded, [Figure::TotalNs]);
        assert_eq!(parsed.rows[0].total_ns, Some(0));
        assert_eq!(parsed.rows[5].mean_ns(), Some(651_810));
    }

    #[test]
    fn captured_bandwidth_tests_keep_mb_per_sec_as_millions_of_bytes() {
        let parsed = parse(
            &fixture("fabtests-1.17-fi_rdm_tagged_bw-shm.txt"),
            Tool::FabtestsBw,
        )
        .unwrap();
        assert_eq!(parsed.test, "bw");
        let row = &parsed.rows[1];
        // "11k 1k 17m 0.18s 97.82 122.68 0.01".
        assert_eq!(row.size_bytes, 11 * 1024);
        let bw = row.bandwidth.unwrap();
        assert_eq!(bw.average_bytes_per_sec, 97_820_000);
        assert_eq!(bw.messages_per_sec, Some(10_000));
        assert!(
            row.latency.is_none(),
            "usec/xfer of a bandwidth test is no latency"
        );
        assert!(parsed.note.unwrap().contains("10^6 B/s"));
    }

    #[test]
    fn machine_readable_output_names_its_test_and_is_exact() {
        let text = fixture("fabtests-1.17-fi_rdm_tagged_bw-shm-m.txt");
        assert_eq!(Tool::detect(&text), Some(Tool::FabtestsBw));
        let (_, parsed) = import(&text, None).unwrap();
        let row = &parsed.rows[1];
        assert_eq!((row.size_bytes, row.iterations), (12000, Some(1500)));
        assert_eq!(row.total_ns, Some(4_822_000));
        assert!(row.rounded.is_empty());
        let bw = row.bandwidth.unwrap();
        assert_eq!(
            (bw.average_bytes_per_sec, bw.messages_per_sec),
            (3_732_890_917, Some(311_074))
        );

        let text = fixture("fabtests-1.17-fi_rdm_pingpong-shm-m.txt");
        let (tool, parsed) = import(&text, None).unwrap();
        assert_eq!(
            (tool, parsed.test.as_str()),
            (Tool::FabtestsPingpong, "pingpong")
        );
        assert_eq!(parsed.rows[0].mean_ns(), Some(1_402));
    }

    #[test]
    fn the_table_alone_does_not_say_its_test() {
        let text = fixture("fabtests-1.17-fi_msg_bw-tcp.txt");
        assert_eq!(Tool::detect(&text), None);
        assert_eq!(import(&text, None).unwrap_err(), ImportError::WhichFabtest);
        for (command, tool) in [
            (
                "./fi_rdm_pingpong -p tcp 127.0.0.1",
                Some(Tool::FabtestsPingpong),
            ),
            (
                "timeout 60 /opt/fabtests/bin/fi_rdm_tagged_bw -W 64",
                Some(Tool::FabtestsBw),
            ),
            ("fi_msg_bw", Some(Tool::FabtestsBw)),
            ("fi_pingpong -p tcp", None),
            ("fi_rdm_atomic -o all", None),
            ("osu_bw", None),
        ] {
            assert_eq!(Tool::from_command(command), tool, "{command}");
        }
    }

    #[test]
    fn a_named_table_is_read_after_its_name_column() {
        let text = "name                                              bytes   iters   total       time     MB/sec    usec/xfer   Mxfers/sec\n\
                    lat                                               64      1k      125k        0.01s     10.67      6.00       0.17\n";
        let parsed = parse(text, Tool::FabtestsPingpong).unwrap();
        assert_eq!(parsed.rows[0].size_bytes, 64);
        assert_eq!(parsed.rows[0].mean_ns(), Some(6_000));
    }

    #[test]
    fn malformed_lines_are_named_with_their_number_and_text() {
        let header = "bytes   iters   total       time     MB/sec    usec/xfer   Mxfers/sec\n";
        let bad_rate =
            format!("{header}64      1k      93k         0.20s      n/a     130.62       0.01\n");
        assert_eq!(
            parse(&bad_rate, Tool::FabtestsBw).unwrap_err().to_string(),
            "fabtests-bw output, line 2 (\"64 1k 93k 0.20s n/a 130.62 0.01\"): MB/sec \"n/a\" is not a rate"
        );
        let error = format!("{header}fi_tsend(): common/shared.c:2143, ret=-11 (Resource temporarily unavailable)\n");
        assert_eq!(
            parse(&error, Tool::FabtestsPingpong).unwrap_err().to_string(),
            "fabtests-pingpong output, line 2 (\"fi_tsend(): common/shared.c:2143, ret=-11 (Resource temporarily unavaila...\"): expected the first row of the table whose header is line 1 (7 columns: bytes iters total time MB/sec usec/xfer Mxfers/sec)"
        );
        let machine = "---\n./fi_msg_bw -m 127.0.0.1 :\n- { xfer_size: 64, iterations: 1500, total: 96000, time: soon }\n";
        assert_eq!(
            parse(machine, Tool::FabtestsBw).unwrap_err().to_string(),
            "fabtests-bw output, line 3 (\"- { xfer_size: 64, iterations: 1500, total: 96000, time: soon }\"): time \"soon\" is not seconds"
        );
        // Nothing under the header: no rows, and what was expected.
        assert_eq!(
            import(header, Some(Tool::FabtestsBw)).unwrap_err(),
            ImportError::NoRows {
                tool: "fabtests-bw",
                expected: EXPECTED
            }
        );
    }
}
