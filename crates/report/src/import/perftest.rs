//! perftest (linux-rdma/perftest): the latency tests' table
//!
//! ```text
//! #bytes #iterations t_min[usec] t_max[usec] t_typical[usec] t_avg[usec] t_stdev[usec] 99% percentile[usec] 99.9% percentile[usec]
//! ```
//!
//! (older versions stop after t_stdev; `-D` runs print `#bytes #iterations t_avg[usec] tps
//! average`), the bandwidth tests' table
//!
//! ```text
//! #bytes #iterations BW peak[MiB/sec] BW average[MiB/sec] MsgRate[Mpps]
//! ```
//!
//! and the `--out_json` file ({"test_info": {"test": ...}, "results": {...}}). perftest's MB
//! is 2^20 bytes (its format factor 0x100000, labelled MiB since 2023, MB before); with
//! `--report_gbits` the unit is 10^9 bit. t_typical is the median. ib_send_lat and
//! ib_write_lat report half a round trip, ib_read_lat a whole read.

use serde_json::Value;

use super::{empty_row, starts_with_number, table_rows, usec_to_ns, ImportError, Parsed};
use rdmabench_stats::BandwidthSummary;
use rdmabench_stats::LatencySummary;

const TOOL: &str = "perftest";

/// What perftest's output must hold.
pub(super) const EXPECTED: &str =
    "rows under `#bytes #iterations ...` (ib_*_lat, ib_*_bw), or an --out_json file";
const MIB: f64 = 1_048_576.0;
const GBIT: f64 = 1e9 / 8.0;

/// The test in rdmabench's terms from perftest's verb and kind ("Send", "Latency").
fn test_name(verb: &str, latency: bool) -> String {
    let verb = verb.to_ascii_lowercase();
    match (verb.as_str(), latency) {
        (v, true) if v.starts_with("send") => "pingpong".into(),
        (v, false) if v.starts_with("send") => "bw".into(),
        (v, true) if v.starts_with("rdma_write") => "write-lat".into(),
        (v, false) if v.starts_with("rdma_write") => "write-bw".into(),
        (v, true) if v.starts_with("rdma_read") => "read-lat".into(),
        (v, false) if v.starts_with("rdma_read") => "read-bw".into(),
        (v, true) => format!("{v}-lat"),
        (v, false) => format!("{v}-bw"),
    }
}

/// The verb of the banner line, e.g. "                    Send Latency Test" -> "Send".
fn banner_verb(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let rest = line.trim().strip_suffix(" Test")?;
        if !rest.ends_with("Latency") && !rest.ends_with("BW") {
            return None;
        }
        Some(rest.split_whitespace().next()?.to_string())
    })
}

pub(super) fn parse(text: &str) -> Result<Parsed, ImportError> {
    if text.trim_start().starts_with('{') {
        return parse_json(text);
    }
    let verb = banner_verb(text).unwrap_or_else(|| "Send".into());
    let (header_line, header) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("#bytes") && l.contains("#iterations"))
        .ok_or(ImportError::NoRows {
            tool: TOOL,
            expected: EXPECTED,
        })?;
    let latency = header.contains("t_avg");
    let unit = if header.contains("Gb/sec") { GBIT } else { MIB };
    let duration_mode = latency && !header.contains("t_min");
    let mut rows = Vec::new();
    let shape = if latency {
        "#bytes #iterations and the latencies in usec"
    } else {
        "#bytes #iterations BW peak BW average MsgRate"
    };
    for line in table_rows(TOOL, text, header_line, shape, starts_with_number)? {
        let fields = &line.fields;
        let bad = |problem: &str| line.bad(TOOL, problem);
        let number = |i: usize| fields.get(i).and_then(|f| usec_to_ns(f));
        let mut row = empty_row(fields[0].parse().map_err(|_| bad("no message size"))?);
        row.iterations = Some(
            fields
                .get(1)
                .and_then(|f| f.parse().ok())
                .ok_or_else(|| bad("no iteration count"))?,
        );
        if duration_mode {
            row.latency = Some(LatencySummary::mean_only(
                number(2).ok_or_else(|| bad("no t_avg"))?,
            ));
        } else if latency {
            let mut summary =
                LatencySummary::mean_only(number(5).ok_or_else(|| bad("no t_avg (6th column)"))?);
            summary.min_ns = number(2);
            summary.max_ns = number(3);
            summary.p50_ns = number(4);
            summary.stdev_ns = number(6);
            summary.p99_ns = number(7);
            summary.p999_ns = number(8);
            row.latency = Some(summary);
        } else {
            let rate = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
            let average = rate(3).ok_or_else(|| bad("no BW average (4th column)"))?;
            row.bandwidth = Some(bandwidth(average, rate(2), rate(4), unit));
        }
        rows.push(row);
    }
    Ok(Parsed {
        test: test_name(&verb, latency),
        version: None,
        rows,
        note: Some(note(latency, unit)),
    })
}

/// perftest's bandwidth figures (in `unit` bytes per second, message rate in Mpps) in bytes
/// and messages per second.
fn bandwidth(
    average: f64,
    peak: Option<f64>,
    rate_mpps: Option<f64>,
    unit: f64,
) -> BandwidthSummary {
    BandwidthSummary {
        average_bytes_per_sec: (average * unit).round() as u64,
        peak_bytes_per_sec: peak.map(|p| (p * unit).round() as u64),
        messages_per_sec: rate_mpps.map(|m| (m * 1e6).round() as u64),
    }
}

fn note(latency: bool, unit: f64) -> String {
    if latency {
        "perftest's t_typical is the median (p50); read latency is a whole read".into()
    } else if unit == MIB {
        "perftest's MB/sec is 2^20 B/s; converted to bytes per second".into()
    } else {
        "perftest's Gb/sec is 10^9 bit/s; converted to bytes per second".into()
    }
}

fn parse_json(text: &str) -> Result<Parsed, ImportError> {
    let unsupported = |problem: String| ImportError::Unsupported {
        tool: TOOL,
        problem,
    };
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| unsupported(format!("not valid --out_json output: {e}")))?;
    let test = doc["test_info"]["test"]
        .as_str()
        .unwrap_or("Send_Latency_Test");
    let latency = test.contains("Latency");
    let verb = test
        .split('_')
        .take_while(|w| *w != "Latency" && *w != "BW")
        .collect::<Vec<_>>()
        .join("_");
    let results: Vec<&Value> = match &doc["results"] {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![&doc["results"]],
        _ => return Err(unsupported("no \"results\" object".into())),
    };
    let mut rows = Vec::new();
    for item in results {
        let ns = |key: &str| item[key].as_f64().map(|v| (v * 1000.0).round() as u64);
        let Some(size) = item["MsgSize"].as_u64() else {
            return Err(unsupported(
                "a result without MsgSize (perftest --output=latency|bandwidth prints only one number; run it without --output)".into(),
            ));
        };
        let mut row = empty_row(size);
        row.iterations = item["n_iterations"].as_u64();
        if latency {
            let Some(mean) = ns("t_avg") else {
                return Err(unsupported(format!("size {size}: no t_avg")));
            };
            let mut summary = LatencySummary::mean_only(mean);
            summary.min_ns = ns("t_min");
            summary.max_ns = ns("t_max");
            summary.p50_ns = ns("t_typical");
            summary.stdev_ns = ns("t_stdev");
            summary.p99_ns = ns("percentile_99");
            summary.p999_ns = ns("percentile_99.9");
            row.latency = Some(summary);
        } else {
            let Some(average) = item["BW_average"].as_f64() else {
                return Err(unsupported(format!("size {size}: no BW_average")));
            };
            row.bandwidth = Some(bandwidth(
                average,
                item["BW_peak"].as_f64(),
                item["MsgRate"].as_f64(),
                MIB,
            ));
        }
        rows.push(row);
    }
    Ok(Parsed {
        test: test_name(&verb, latency),
        version: None,
        rows,
        note: Some(note(latency, MIB)),
    })
}

// The samples are written from perftest's documented output format, not captured from a run
// (tests/fixtures/PROVENANCE.md).
#[cfg(test)]
mod tests {
    use super::super::tests::fixture;
    use super::*;

    #[test]
    fn latency_tables_keep_every_statistic_perftest_prints() {
        let parsed = parse(&fixture("perftest-ib_send_lat.txt")).unwrap();
        assert_eq!(parsed.test, "pingpong");
        assert_eq!(parsed.rows.len(), 3);
        let row = &parsed.rows[0];
        assert_eq!((row.size_bytes, row.iterations), (2, Some(1000)));
        let l = row.latency.unwrap();
        assert_eq!(l.mean_ns, 15_830);
        assert_eq!(
            (l.min_ns, l.max_ns, l.p50_ns),
            (Some(15_210), Some(36_920), Some(15_700))
        );
        assert_eq!(
            (l.stdev_ns, l.p99_ns, l.p999_ns),
            (Some(840), Some(18_040), Some(36_920))
        );
        assert_eq!(l.p90_ns, None);
        assert_eq!(row.total_ns, None);
    }

    #[test]
    fn bandwidth_tables_convert_perftest_mib_to_bytes_per_second() {
        let parsed = parse(&fixture("perftest-ib_send_bw.txt")).unwrap();
        assert_eq!(parsed.test, "bw");
        let bw = parsed.rows[1].bandwidth.unwrap();
        assert_eq!(bw.average_bytes_per_sec, (3049.87 * MIB).round() as u64);
        assert_eq!(bw.peak_bytes_per_sec, Some((3051.21 * MIB).round() as u64));
        assert_eq!(bw.messages_per_sec, Some(48_798));
        assert!(parsed.rows[1].latency.is_none());
        let gbits = fixture("perftest-ib_send_bw.txt").replace("[MiB/sec]", "[Gb/sec]");
        let bw = parse(&gbits).unwrap().rows[1].bandwidth.unwrap();
        assert_eq!(bw.average_bytes_per_sec, (3049.87 * GBIT).round() as u64);
    }

    #[test]
    fn out_json_files_are_read_with_their_test_name() {
        let parsed = parse(&fixture("perftest-ib_write_lat.json")).unwrap();
        assert_eq!(parsed.test, "write-lat");
        let l = parsed.rows[0].latency.unwrap();
        assert_eq!(
            (parsed.rows[0].size_bytes, l.mean_ns, l.p999_ns),
            (64, 15_600, Some(29_830))
        );
        let only_number =
            "{\"test_info\": {\"test\": \"Send_Latency_Test\"}, \"results\": {\"avg_lat\": 1.5}}";
        assert!(parse(only_number)
            .unwrap_err()
            .to_string()
            .contains("run it without --output"));
    }

    #[test]
    fn older_and_duration_mode_tables() {
        let old = " #bytes #iterations    t_min[usec]    t_max[usec]  t_typical[usec]    t_avg[usec]    t_stdev[usec]\n 2       1000          1.21          5.67         1.30               1.35           0.10\n";
        let l = parse(old).unwrap().rows[0].latency.unwrap();
        assert_eq!((l.mean_ns, l.stdev_ns, l.p99_ns), (1_350, Some(100), None));
        let duration = "                    Send Latency Test\n #bytes        #iterations       t_avg[usec]    tps average\n 2             123456            1.52           657894.74\n";
        let parsed = parse(duration).unwrap();
        assert_eq!(parsed.test, "pingpong");
        assert_eq!(parsed.rows[0].latency.unwrap().mean_ns, 1_520);
    }
}
