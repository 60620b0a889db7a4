//! Output formats, one module each (like hyperfine's exporters).

mod csv;
mod json;
mod markdown;
mod table;

use std::fmt;
use std::str::FromStr;

use crate::error::ReportError;
use crate::model::{Figure, ResultsFile, SizeMeasurement};

/// How results are printed: people read tables, scripts read JSON or CSV, READMEs take
/// markdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned text for terminals.
    Table,
    /// The results file itself, for archiving and later comparison.
    Json,
    /// One row per size, integer nanoseconds, for spreadsheets and scripts.
    Csv,
    /// The seed README's table, then percentiles, to paste into documentation.
    Markdown,
}

impl Format {
    /// Every format, so parsing can list and match them all.
    const ALL: [Format; 4] = [Format::Table, Format::Json, Format::Csv, Format::Markdown];

    /// The name users type and see; Display and FromStr both use it so they cannot disagree.
    fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Markdown => "markdown",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = ReportError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Format::ALL
            .into_iter()
            .find(|format| format.name() == wanted)
            .ok_or_else(|| ReportError::UnknownFormat(s.to_string()))
    }
}

/// Renders results in `format`, so every caller (live output, re-rendering a saved file) shows
/// them the same way; `unit` is for the text formats' bandwidth columns, `width` is the
/// terminal's to fit the table to (None for pipes and files: a fixed, deterministic layout).
pub fn render(
    results: &ResultsFile,
    format: Format,
    unit: BandwidthUnit,
    width: Option<u16>,
) -> String {
    match format {
        Format::Table => table::render(results, unit, width),
        Format::Json => json::render(results),
        Format::Csv => csv::render(results),
        Format::Markdown => markdown::render(results, unit),
    }
}

/// Whether the results are a bandwidth test's: rows with bandwidth and no latency.
pub(crate) fn is_bandwidth(results: &ResultsFile) -> bool {
    !results.results.is_empty()
        && results
            .results
            .iter()
            .all(|r| r.latency.is_none() && r.bandwidth.is_some())
}

/// Headings of a bandwidth test's rows, perftest's names with the unit.
pub(crate) fn bandwidth_headers(unit: BandwidthUnit) -> Vec<String> {
    vec![
        "Message size".into(),
        "Messages".into(),
        "Time spent".into(),
        format!("BW peak [{}]", unit.name()),
        format!("BW average [{}]", unit.name()),
        "MsgRate [Mpps]".into(),
    ]
}

/// A bandwidth row's cells under `bandwidth_headers`.
pub(crate) fn bandwidth_cells(r: &SizeMeasurement, unit: BandwidthUnit) -> Vec<String> {
    use rdmabench_stats::units::{seed_count, seed_time};
    let bw = r.bandwidth.as_ref();
    vec![
        size_cell(r.size_bytes, r.is_rounded(Figure::SizeBytes)),
        cell(
            r.iterations.map(seed_count),
            r.is_rounded(Figure::Iterations),
        ),
        cell(r.total_ns.map(seed_time), r.is_rounded(Figure::TotalNs)),
        unit.or_dash(bw.and_then(|b| b.peak_bytes_per_sec)),
        unit.or_dash(bw.map(|b| b.average_bytes_per_sec)),
        bw.and_then(|b| b.messages_per_sec)
            .map_or_else(|| NOT_REPORTED.into(), |m| format!("{:.3}", m as f64 / 1e6)),
    ]
}

/// The line under a bandwidth table saying what its figures count.
pub(crate) fn bandwidth_legend(results: &ResultsFile) -> String {
    let both = results.parameters.bidirectional.unwrap_or(false);
    format!(
        "Messages = timed messages per direction (whole windows of {}); BW average = bytes over the timed loop, BW peak = the fastest window{}",
        results
            .parameters
            .window
            .map_or_else(|| "-".to_string(), |w| w.to_string()),
        if both {
            "; bidirectional: both directions summed, as ib_send_bw -b"
        } else {
            ""
        }
    )
}

/// How tables show bandwidth: MB/s with MB = 10^6 B (fabtests', OSU's and iperf3's MB; perftest
/// divides by 2^20 and is converted when imported), or Gbit/s (perftest's --report_gbits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BandwidthUnit {
    /// 10^6 bytes per second.
    #[default]
    MegabytesPerSec,
    /// 10^9 bits per second.
    GigabitsPerSec,
}

impl BandwidthUnit {
    /// The unit as column headings name it.
    pub fn name(self) -> &'static str {
        match self {
            BandwidthUnit::MegabytesPerSec => "MB/s",
            BandwidthUnit::GigabitsPerSec => "Gbit/s",
        }
    }

    /// Bytes per second in this unit, two decimals.
    pub fn show(self, bytes_per_sec: u64) -> String {
        match self {
            BandwidthUnit::MegabytesPerSec => format!("{:.2}", bytes_per_sec as f64 / 1e6),
            BandwidthUnit::GigabitsPerSec => format!("{:.2}", bytes_per_sec as f64 * 8.0 / 1e9),
        }
    }

    /// Like `show`, or "-" when not reported.
    pub(crate) fn or_dash(self, bytes_per_sec: Option<u64>) -> String {
        bytes_per_sec.map_or_else(|| NOT_REPORTED.into(), |b| self.show(b))
    }
}

/// What a table shows where a tool did not report a figure.
pub(crate) const NOT_REPORTED: &str = "-";

/// The per-iteration columns of a single run's latency table, after the size (and, in the
/// text table, after the seed's columns), shared by the text and markdown renderers.
pub(crate) const PERCENTILE_HEADERS: [&str; 9] = [
    "min", "p50", "p90", "p99", "p99.9", "max", "stdev", "MB/s", "Mmsg/s",
];

/// The footnote of a table whose figures carry ROUNDED_MARK.
pub(crate) const ROUNDED_FOOTNOTE: &str = "~ = as the tool printed it, rounded: fi_pingpong and fabtests cut bytes to KiB or MiB (to a tenth below 10) and #sent or iters to thousands, and print the time to 10 ms; MB/s from a rounded size is as rough; usec is the tool's own mean";

/// What a table puts before a figure kept rounded as a tool printed it.
const ROUNDED_MARK: &str = "~";

/// A figure's cell: "-" when not reported, marked when kept rounded as a tool printed it.
pub(crate) fn cell(value: Option<String>, rounded: bool) -> String {
    match value {
        None => NOT_REPORTED.into(),
        Some(text) if rounded => format!("{ROUNDED_MARK}{text}"),
        Some(text) => text,
    }
}

/// A message size's cell, marked when rounded.
pub(crate) fn size_cell(size_bytes: u64, rounded: bool) -> String {
    cell(Some(size_bytes.to_string()), rounded)
}

/// Whether any row holds a rounded figure, so its table needs ROUNDED_FOOTNOTE.
pub(crate) fn any_rounded(results: &ResultsFile) -> bool {
    results.results.iter().any(|r| !r.rounded.is_empty())
}

/// Nanoseconds as usec with two decimals, or "-" when not reported.
pub(crate) fn or_dash(ns: Option<u64>) -> String {
    ns.map_or_else(|| NOT_REPORTED.into(), rdmabench_stats::units::usec)
}

/// A row's cells in the seed table's four columns, then min..stdev in usec, then MB/s and
/// Mmsg/s: what the table and markdown formats show, with "-" for what was not reported.
pub(crate) fn row_cells(r: &SizeMeasurement) -> (Vec<String>, Vec<String>) {
    use rdmabench_stats::units::{seed_count, seed_time};
    let seed = vec![
        cell(
            r.iterations.map(seed_count),
            r.is_rounded(Figure::Iterations),
        ),
        size_cell(r.size_bytes, r.is_rounded(Figure::SizeBytes)),
        cell(r.total_ns.map(seed_time), r.is_rounded(Figure::TotalNs)),
        r.seed_usec()
            .map_or_else(|| NOT_REPORTED.into(), |u| format!("{u:.2}")),
    ];
    let l = r.latency.as_ref();
    let mut detail: Vec<String> = [
        l.and_then(|l| l.min_ns),
        l.and_then(|l| l.p50_ns),
        l.and_then(|l| l.p90_ns),
        l.and_then(|l| l.p99_ns),
        l.and_then(|l| l.p999_ns),
        l.and_then(|l| l.max_ns),
        l.and_then(|l| l.stdev_ns),
    ]
    .into_iter()
    .map(or_dash)
    .collect();
    detail.push(cell(
        r.megabytes_per_sec().map(|m| format!("{m:.1}")),
        r.is_rounded(Figure::SizeBytes),
    ));
    detail.push(
        r.messages_per_sec()
            .map_or_else(|| NOT_REPORTED.into(), |m| format!("{:.3}", m / 1e6)),
    );
    (seed, detail)
}

/// The provider as the text formats name it: what was opened (or, for imported results,
/// what the user named), not what was asked for.
fn provider_name(results: &ResultsFile) -> &str {
    match (&results.fabric, results.parameters.transport.as_str()) {
        (Some(fabric), _) => fabric.provider.as_str(),
        (None, "socket") => "socket (kernel TCP)",
        (None, _) => results.parameters.provider.as_str(),
    }
}

/// One line describing the run, shared by the text formats.
pub(crate) fn describe(results: &ResultsFile) -> String {
    let mut line = format!(
        "{} {} {}, transport {}, provider {}",
        results.tool.name,
        results.tool.version,
        results.test,
        results.parameters.transport,
        provider_name(results)
    );
    if let Some(f) = &results.fabric {
        line.push_str(&format!(" (fabric {}, domain {})", f.fabric, f.domain));
        if let Some(emulated) = f.rma_emulated {
            line.push_str(&match (emulated.read, emulated.write) {
                (false, false) => ", RMA on the device".to_string(),
                (true, true) => ", RMA emulated over send/recv".to_string(),
                (read, _) => format!(
                    ", RMA {} emulated over send/recv",
                    if read { "reads" } else { "writes" }
                ),
            });
        }
    }
    line.push_str(&format!(", api {}", results.parameters.api));
    if results.endpoints.same_host {
        line.push_str(", same host");
    }
    line
}

/// The notice shared by the text formats: partial results must never pass for complete ones,
/// and a caveat such as a transport fallback must be seen.
fn notice(results: &ResultsFile) -> Option<String> {
    match (results.complete, results.note.as_deref()) {
        (false, note) => Some(format!(
            "PARTIAL RESULTS: {}",
            note.unwrap_or("the run did not finish")
        )),
        (true, Some(note)) => Some(format!("Note: {note}")),
        (true, None) => None,
    }
}

#[cfg(test)]
pub(crate) mod sample {
    use std::collections::BTreeMap;

    use crate::model::*;

    pub fn results() -> ResultsFile {
        let host = HostFacts {
            hostname: "node-a".into(),
            boot_id: Some("b0".into()),
            kernel: Some("6.1.0".into()),
            cpu_model: Some("Test CPU".into()),
            cpu_governor: Some("performance".into()),
            pinned_cpu: None,
            libfabric_version: Some("1.17".into()),
            fi_env: BTreeMap::from([("FI_LOG_LEVEL".to_string(), "warn".to_string())]),
            clock_overhead_ns: 21,
            efa: None,
            cpu_set: Some("32-35".into()),
            cpu_numa_nodes: vec![1],
            efa_numa_node: None,
        };
        let row = |size: u64, total_ns: u64, base: u64| {
            SizeMeasurement::pingpong(
                size,
                1_000_000,
                10_000,
                total_ns,
                LatencySummary {
                    min_ns: Some(base - 500),
                    mean_ns: base,
                    stdev_ns: Some(310),
                    p50_ns: Some(base - 100),
                    p90_ns: Some(base + 400),
                    p99_ns: Some(base + 1_900),
                    p999_ns: Some(base + 8_000),
                    max_ns: Some(base + 90_000),
                },
            )
        };
        ResultsFile {
            schema_version: SCHEMA_VERSION,
            tool: ToolInfo {
                name: "rdmabench".into(),
                version: "0.1.0".into(),
                git_commit: Some("abc1234".into()),
            },
            timestamp: "2026-11-25T08:00:00Z".into(),
            test: "pingpong".into(),
            complete: true,
            note: None,
            parameters: Parameters {
                role: "client".into(),
                transport: "fabric".into(),
                provider: "efa".into(),
                api: "msg".into(),
                sizes_bytes: vec![4, 102400],
                iterations: Some(1_000_000),
                duration_ns: None,
                warmup_iterations: None,
                verify: false,
                completion: "busy-poll".into(),
                force_mr_local: false,
                fabric: "auto".into(),
                require_device_rdma: false,
                cpu: None,
                timeout_ns: 30_000_000_000,
                port: 18515,
                window: None,
                bidirectional: None,
                method: None,
                loop_timed: false,
            },
            endpoints: Endpoints {
                local: host.clone(),
                peer: Some(HostFacts {
                    hostname: "node-b".into(),
                    boot_id: Some("b1".into()),
                    ..host
                }),
                same_host: false,
            },
            fabric: Some(FabricInfo {
                provider: "efa".into(),
                fabric: "efa".into(),
                fabric_kind: "efa".into(),
                domain: "rdmap0s6-rdm".into(),
                api_version: "1.17".into(),
                mr_mode: vec!["FI_MR_LOCAL".into(), "FI_MR_PROV_KEY".into()],
                memory_registered: true,
                inject_size: 32,
                max_msg_size: 8_388_608,
                rma_emulated: None,
                selected: None,
            }),
            results: vec![
                row(4, 20_520_000_000, 10_260),
                row(102400, 89_790_000_000, 44_895),
            ],
            placement: None,
            command_line: None,
        }
    }

    /// fi_pingpong's output for -I 1500 -S 12000, imported as `rdmabench import` does: bytes,
    /// #sent and time rounded as printed.
    pub fn imported_fi_pingpong() -> ResultsFile {
        let text =
            include_str!("../../tests/fixtures/import/fi_pingpong-1.17-tcp-rdm-I1500-S12000.txt");
        let (tool, parsed) = crate::import::parse(text, None).unwrap();
        let context = crate::import::Context {
            provider: Some("tcp".into()),
            timestamp: "2026-12-02T14:52:35Z".into(),
            source: "fi_pingpong.txt".into(),
            ..Default::default()
        };
        crate::import::results_file(tool, parsed, &context)
    }

    /// The same run over the socket transport between two processes on one host.
    pub fn socket_same_host() -> ResultsFile {
        let mut results = results();
        results.parameters.transport = "socket".into();
        results.parameters.provider = "none".into();
        results.fabric = None;
        results.endpoints.same_host = true;
        results.note = Some("fell back to the socket transport: libfabric not found".into());
        results
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RmaEmulated;

    #[test]
    fn efa_rma_says_whether_it_was_emulated() {
        let mut results = sample::results();
        results.test = "read-lat".into();
        results.fabric.as_mut().unwrap().rma_emulated = Some(RmaEmulated {
            read: true,
            write: false,
        });
        let line = describe(&results);
        assert!(
            line.contains("domain rdmap0s6-rdm), RMA reads emulated over send/recv, api msg"),
            "{line}"
        );
        results.fabric.as_mut().unwrap().rma_emulated = Some(RmaEmulated {
            read: false,
            write: false,
        });
        assert!(describe(&results).contains(", RMA on the device,"));
    }

    #[test]
    fn format_names_round_trip_and_unknown_names_list_the_valid_ones() {
        let names: Vec<String> = Format::ALL.iter().map(Format::to_string).collect();
        assert_eq!(names, ["table", "json", "csv", "markdown"]);
        for format in Format::ALL {
            assert_eq!(format.to_string().parse::<Format>().unwrap(), format);
        }
        assert_eq!("Markdown".parse::<Format>().unwrap(), Format::Markdown);
        assert_eq!(
            "yaml".parse::<Format>().unwrap_err().to_string(),
            "unknown format 'yaml': use one of table, json, csv, markdown"
        );
    }

    #[test]
    fn figures_a_tool_printed_rounded_are_marked_and_explained() {
        let results = sample::imported_fi_pingpong();
        let markdown = render(&results, Format::Markdown, BandwidthUnit::default(), None);
        // #sent "1k", bytes "11k" (11264), time "0.21s"; usec is usec/xfer as printed.
        assert!(
            markdown.contains("| ~1k | ~11264 | ~0.21s | 70.52 |"),
            "{markdown}"
        );
        assert!(markdown.contains("| ~11264 | - |"), "{markdown}");
        assert!(markdown.contains(ROUNDED_FOOTNOTE), "{markdown}");
        insta::assert_snapshot!(markdown);
        let table = render(&results, Format::Table, BandwidthUnit::default(), None);
        assert!(table.contains(&format!("# {ROUNDED_FOOTNOTE}")), "{table}");
        let csv = render(&results, Format::Csv, BandwidthUnit::default(), None);
        assert!(
            csv.ends_with(",true,size_bytes iterations total_ns\n"),
            "{csv}"
        );
        // rdmabench's own rows carry no mark and no footnote.
        let ours = render(
            &sample::results(),
            Format::Markdown,
            BandwidthUnit::default(),
            None,
        );
        assert!(
            !ours.contains('~') && !ours.contains(ROUNDED_FOOTNOTE),
            "{ours}"
        );
    }

    #[test]
    fn the_run_line_names_transport_provider_api_and_same_host() {
        assert_eq!(
            describe(&sample::results()),
            "rdmabench 0.1.0 pingpong, transport fabric, provider efa (fabric efa, domain \
             rdmap0s6-rdm), api msg"
        );
        assert_eq!(
            describe(&sample::socket_same_host()),
            "rdmabench 0.1.0 pingpong, transport socket, provider socket (kernel TCP), api msg, \
             same host"
        );
    }

    #[test]
    fn notices_flag_partial_runs_and_show_caveats() {
        let mut results = sample::results();
        assert_eq!(notice(&results), None);
        results.complete = false;
        assert_eq!(
            notice(&results).as_deref(),
            Some("PARTIAL RESULTS: the run did not finish")
        );
        assert_eq!(
            notice(&sample::socket_same_host()).as_deref(),
            Some("Note: fell back to the socket transport: libfabric not found")
        );
    }
}
