//! `rdmabench import`: the output of the tools our users already trust (libfabric's fi_pingpong,
//! fabtests' fi_*_pingpong and fi_*_bw, perftest, OSU micro-benchmarks, Intel MPI Benchmarks,
//! NetPIPE) read into the same results model, so
//! their numbers stand beside rdmabench's in one report. Each parser keeps exactly what the
//! tool printed; what it does not print stays empty.

mod fabtests;
mod imb;
mod netpipe;
mod osu;
mod perftest;
mod show_perf;

use std::collections::BTreeMap;

use crate::model::{
    Endpoints, HostFacts, Parameters, Placement, ResultsFile, SizeMeasurement, ToolInfo,
    SCHEMA_VERSION,
};

/// The tools whose output can be imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// libfabric's fi_pingpong (util/pingpong.c), in whose output format the seed published.
    FiPingpong,
    /// perftest's ib_*_lat and ib_*_bw, text or `--out_json`.
    Perftest,
    /// OSU micro-benchmarks' osu_latency and osu_bw.
    Osu,
    /// Intel MPI Benchmarks' PingPong and Uniband.
    Imb,
    /// NetPIPE's np.out or its log (NPopenmpi where OSU is absent).
    NetPipe,
    /// fabtests' ping-pongs (fi_rdm_pingpong, fi_msg_pingpong ...): show_perf()'s table, whose
    /// usec/xfer is half a round trip.
    FabtestsPingpong,
    /// fabtests' bandwidth tests (fi_msg_bw, fi_rdm_tagged_bw ...): the same table, read for its
    /// MB/sec and Mxfers/sec.
    FabtestsBw,
}

impl Tool {
    /// Every tool, for detection and messages.
    pub const ALL: [Tool; 7] = [
        Tool::FiPingpong,
        Tool::Perftest,
        Tool::Osu,
        Tool::Imb,
        Tool::NetPipe,
        Tool::FabtestsPingpong,
        Tool::FabtestsBw,
    ];

    /// The name users type and results record.
    pub fn name(self) -> &'static str {
        match self {
            Tool::FiPingpong => "fi_pingpong",
            Tool::Perftest => "perftest",
            Tool::Osu => "osu",
            Tool::Imb => "imb",
            Tool::NetPipe => "netpipe",
            Tool::FabtestsPingpong => "fabtests-pingpong",
            Tool::FabtestsBw => "fabtests-bw",
        }
    }

    /// What its output must hold, for the message about output that holds none of it.
    fn expected(self) -> &'static str {
        match self {
            Tool::FiPingpong => fabtests::EXPECTED,
            Tool::Perftest => perftest::EXPECTED,
            Tool::Osu => osu::EXPECTED,
            Tool::Imb => imb::EXPECTED,
            Tool::NetPipe => netpipe::EXPECTED,
            Tool::FabtestsPingpong | Tool::FabtestsBw => show_perf::EXPECTED,
        }
    }

    /// The fabtests test a command line runs ("./fi_rdm_tagged_bw -p tcp ..." is
    /// [`Tool::FabtestsBw`]): show_perf()'s table is the same for a ping-pong and a bandwidth
    /// test, so the program named by `--command` (or by `-m` output's first line) tells them apart.
    pub fn from_command(command: &str) -> Option<Tool> {
        show_perf::program_test(command)
    }

    /// Recognises a tool by the header it prints, for imports without `--tool`.
    pub fn detect(text: &str) -> Option<Tool> {
        if text.contains("usec/xfer") && text.contains("#sent") {
            Some(Tool::FiPingpong)
        } else if text.contains("#iterations") || text.contains("\"test_info\"") {
            Some(Tool::Perftest)
        } else if text.contains("# OSU MPI") {
            Some(Tool::Osu)
        } else if imb::BENCHMARKS
            .iter()
            .any(|b| text.contains(&format!("# Benchmarking {b}")))
        {
            Some(Tool::Imb)
        } else if text.contains(" bytes ") && text.contains(" times --> ") {
            // NetPIPE's log; its np.out (bare numbers) needs --tool netpipe.
            Some(Tool::NetPipe)
        } else {
            // Only fabtests' -m output names its program; its table needs --tool or --command.
            show_perf::detect(text)
        }
    }
}

/// Output that could not be imported; the message names the line and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// No tool's header was found.
    #[error("cannot tell which tool wrote this: no fi_pingpong, fabtests, perftest, OSU, IMB PingPong/Uniband or NetPIPE header found; pass --tool (NetPIPE's np.out has none: --tool netpipe)")]
    Unrecognised,
    /// fabtests' show_perf() table, which is the same for ping-pongs and bandwidth tests.
    #[error("fabtests output (show_perf's `bytes iters total time MB/sec usec/xfer Mxfers/sec`) does not say which test printed it: pass --tool fabtests-pingpong for fi_*_pingpong (usec/xfer is half a round trip) or --tool fabtests-bw for fi_*_bw (MB/sec), or --command with the fabtests command line")]
    WhichFabtest,
    /// Neither a header nor a row: nothing to import. (A line that is not a row is a
    /// [`ImportError::BadRow`].)
    #[error("{tool} output without any result row: expected {expected}")]
    NoRows {
        /// The tool.
        tool: &'static str,
        /// What the output should hold.
        expected: &'static str,
    },
    /// A line where a row belongs did not parse.
    #[error("{tool} output, line {line} ({text:?}): {problem}")]
    BadRow {
        /// The tool.
        tool: &'static str,
        /// 1-based line number.
        line: usize,
        /// The line, its spaces collapsed, cut to [`LINE_EXCERPT`] characters.
        text: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The format is known but this variant is not.
    #[error("{tool} output: {problem}")]
    Unsupported {
        /// The tool.
        tool: &'static str,
        /// What is not supported, and what to do.
        problem: String,
    },
}

/// What a tool's output says: its test, version and rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The test in rdmabench's terms: "pingpong" (one-way latency of a send/receive ping-pong),
    /// "bw", "write-lat", "read-lat", "write-bw", "read-bw".
    pub test: String,
    /// The tool's version, when it prints one.
    pub version: Option<String>,
    /// One row per message size.
    pub rows: Vec<SizeMeasurement>,
    /// Caveats about how the tool defines its numbers.
    pub note: Option<String>,
}

/// What the user knows about the run that the output does not say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// libfabric provider or fabric ("efa", "verbs", "tcp" ...); "unknown" when not given.
    pub provider: Option<String>,
    /// Which of efa's fabrics the tool ran on ("efa", "efa-direct", as fi_pingpong -f names
    /// them), when known.
    pub fabric: Option<String>,
    /// "msg" or "tagged" (MPI tools match tags: tagged).
    pub api: Option<String>,
    /// "node" or "pod", when the run was on a cluster.
    pub mode: Option<String>,
    /// EC2 instance type, for the comparison with the seed's numbers.
    pub instance_type: Option<String>,
    /// Host that ran it.
    pub host: Option<String>,
    /// The exact command line that produced the output.
    pub command_line: Option<String>,
    /// When the output was written (RFC 3339), e.g. the file's modification time.
    pub timestamp: String,
    /// Where the output came from, for the note.
    pub source: String,
}

/// Microseconds as printed (e.g. "15.83") to integer nanoseconds.
fn usec_to_ns(text: &str) -> Option<u64> {
    let value: f64 = text.parse().ok()?;
    (value.is_finite() && value >= 0.0).then(|| (value * 1000.0).round() as u64)
}

/// Seconds as printed (np.out's "0.00001019", fi_pingpong's "0.21") to integer nanoseconds.
fn seconds_to_ns(text: &str) -> Option<u64> {
    let value: f64 = text.parse().ok()?;
    (value.is_finite() && value >= 0.0).then(|| (value * 1e9).round() as u64)
}

/// A row with nothing but its size; parsers fill in what their tool prints.
fn empty_row(size_bytes: u64) -> SizeMeasurement {
    SizeMeasurement {
        size_bytes,
        iterations: None,
        warmup_iterations: None,
        total_ns: None,
        latency: None,
        bandwidth: None,
        rounded: Vec::new(),
        quality: None,
    }
}

/// How much of a line an error message quotes: enough to recognise it, not a screenful.
pub const LINE_EXCERPT: usize = 72;

/// A line of a tool's table, kept whole so that an error about it can quote it.
struct Row<'a> {
    /// 1-based line number.
    number: usize,
    /// The line as written.
    text: &'a str,
    /// Its whitespace-separated fields.
    fields: Vec<&'a str>,
}

impl Row<'_> {
    /// This row did not parse: `problem` says why.
    fn bad(&self, tool: &'static str, problem: impl Into<String>) -> ImportError {
        bad_row(tool, self.number, self.text, problem)
    }
}

/// The rows of `tool`'s table below line `header` (0-based): lines whose whitespace-separated
/// fields satisfy `is_row`. Blank lines before the first row are skipped, and the first other
/// line after it ends the table (a log line, the next benchmark's banner). A line before the
/// first row that is not one (an error the tool printed, a cut-off line) is refused with its
/// number and text, `row` saying what a row holds; a header with nothing under it gives no rows.
fn table_rows<'a>(
    tool: &'static str,
    text: &'a str,
    header: usize,
    row: &str,
    is_row: impl Fn(&[&str]) -> bool,
) -> Result<Vec<Row<'a>>, ImportError> {
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate().skip(header + 1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if is_row(&fields) {
            rows.push(Row {
                number: index + 1,
                text: line,
                fields,
            });
        } else if !rows.is_empty() {
            break;
        } else if !fields.is_empty() {
            return Err(bad_row(
                tool,
                index + 1,
                line,
                format!(
                    "expected the first row of the table whose header is line {} ({row})",
                    header + 1
                ),
            ));
        }
    }
    Ok(rows)
}

/// True when the first field is a whole number: how every tool's data rows start.
fn starts_with_number(fields: &[&str]) -> bool {
    fields.first().is_some_and(|f| f.parse::<u64>().is_ok())
}

/// A line that does not parse, with its number and (the start of) its text, its columns'
/// padding collapsed to one space.
fn bad_row(tool: &'static str, line: usize, text: &str, problem: impl Into<String>) -> ImportError {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = match text.char_indices().nth(LINE_EXCERPT) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    };
    ImportError::BadRow {
        tool,
        line,
        text,
        problem: problem.into(),
    }
}

/// Parses `text` as `tool`'s output (detected when None).
pub fn parse(text: &str, tool: Option<Tool>) -> Result<(Tool, Parsed), ImportError> {
    let tool = match tool.or_else(|| Tool::detect(text)) {
        Some(tool) => tool,
        None if show_perf::is_table(text) => return Err(ImportError::WhichFabtest),
        None => return Err(ImportError::Unrecognised),
    };
    let parsed = match tool {
        Tool::FiPingpong => fabtests::parse(text),
        Tool::Perftest => perftest::parse(text),
        Tool::Osu => osu::parse(text),
        Tool::Imb => imb::parse(text),
        Tool::NetPipe => netpipe::parse(text),
        Tool::FabtestsPingpong | Tool::FabtestsBw => show_perf::parse(text, tool),
    }?;
    if parsed.rows.is_empty() {
        return Err(ImportError::NoRows {
            tool: tool.name(),
            expected: tool.expected(),
        });
    }
    Ok((tool, parsed))
}

/// What rdmabench passed to a tool it ran itself: the exact figures behind output that prints
/// them rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invocation {
    /// The message size (fi_pingpong's -S).
    pub size_bytes: u64,
    /// The round trips (fi_pingpong's -I).
    pub iterations: u64,
}

/// Parses the output of one run rdmabench made of `tool` with `invocation`: figures the tool
/// prints rounded (fi_pingpong's bytes and #sent) become the exact ones it was given, so only
/// what the tool alone knows (its time) stays marked rounded.
pub fn parse_run(text: &str, tool: Tool, invocation: Invocation) -> Result<Parsed, ImportError> {
    let (_, mut parsed) = parse(text, Some(tool))?;
    if tool == Tool::FiPingpong {
        fabtests::exact(&mut parsed, invocation)?;
    }
    Ok(parsed)
}

/// Builds the results file of an imported run.
pub fn results_file(tool: Tool, parsed: Parsed, context: &Context) -> ResultsFile {
    let iterations: Vec<u64> = parsed.rows.iter().filter_map(|r| r.iterations).collect();
    let common_iterations = (iterations.len() == parsed.rows.len()
        && iterations.windows(2).all(|w| w[0] == w[1]))
    .then(|| iterations.first().copied())
    .flatten();
    let mut note = format!(
        "imported from {} ({} output); figures the tool does not print are empty",
        context.source,
        tool.name()
    );
    if let Some(caveat) = &parsed.note {
        note.push_str("; ");
        note.push_str(caveat);
    }
    let placement =
        (context.mode.is_some() || context.instance_type.is_some()).then(|| Placement {
            target: "imported".into(),
            cluster: String::new(),
            mode: context.mode.clone().unwrap_or_else(|| "node".into()),
            namespace: String::new(),
            server_node: String::new(),
            client_node: String::new(),
            instance_type: context.instance_type.clone().unwrap_or_default(),
            image: String::new(),
            repetition: 1,
            efa_devices: None,
            network_policy: None,
        });
    ResultsFile {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: tool.name().into(),
            version: parsed.version.unwrap_or_else(|| "unknown".into()),
            git_commit: None,
        },
        timestamp: context.timestamp.clone(),
        test: parsed.test,
        complete: true,
        note: Some(note),
        parameters: Parameters {
            role: "imported".into(),
            transport: "fabric".into(),
            provider: context.provider.clone().unwrap_or_else(|| "unknown".into()),
            api: context.api.clone().unwrap_or_else(|| match tool {
                Tool::Osu | Tool::Imb | Tool::NetPipe => "tagged".into(),
                Tool::FiPingpong | Tool::Perftest | Tool::FabtestsPingpong | Tool::FabtestsBw => {
                    "msg".into()
                }
            }),
            sizes_bytes: parsed.rows.iter().map(|r| r.size_bytes).collect(),
            iterations: common_iterations,
            duration_ns: None,
            warmup_iterations: None,
            verify: false,
            completion: "unknown".into(),
            force_mr_local: false,
            fabric: context.fabric.clone().unwrap_or_else(|| "auto".into()),
            require_device_rdma: false,
            cpu: None,
            timeout_ns: 0,
            port: 0,
            window: None,
            bidirectional: None,
            method: None,
            loop_timed: false,
        },
        endpoints: Endpoints {
            local: HostFacts {
                hostname: context.host.clone().unwrap_or_else(|| "unknown".into()),
                boot_id: None,
                kernel: None,
                cpu_model: None,
                cpu_governor: None,
                pinned_cpu: None,
                libfabric_version: None,
                fi_env: BTreeMap::new(),
                clock_overhead_ns: 0,
                efa: None,
                cpu_set: None,
                cpu_numa_nodes: Vec::new(),
                efa_numa_node: None,
            },
            peer: None,
            same_host: false,
        },
        fabric: None,
        results: parsed.rows,
        placement,
        command_line: context.command_line.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sample in tests/fixtures/import. fi_pingpong's, fabtests', NetPIPE's and IMB 2021.10's
    /// were captured from runs on this machine (libfabric-bin 1.17, fabtests v1.17.0 built
    /// against it, netpipe-openmpi 3.7.2, impi-rt 2021.17.2); perftest's, OSU's and IMB 2021.7's were written by hand from those tools'
    /// documented output formats, not captured from runs: there is no RDMA device or OSU here.
    /// Per file: tests/fixtures/PROVENANCE.md.
    pub(super) fn fixture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/import")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn every_sample_is_recognised_as_its_tool() {
        for (file, tool) in [
            ("fi_pingpong-1.17-tcp-rdm-all.txt", Tool::FiPingpong),
            (
                "fi_pingpong-1.17-tcp-rdm-I1500-S12000.txt",
                Tool::FiPingpong,
            ),
            ("perftest-ib_send_lat.txt", Tool::Perftest),
            ("perftest-ib_send_bw.txt", Tool::Perftest),
            ("perftest-ib_write_lat.json", Tool::Perftest),
            ("osu_latency-7.3.txt", Tool::Osu),
            ("osu_latency-5.6-full.txt", Tool::Osu),
            ("osu_bw-7.3.txt", Tool::Osu),
            ("imb-pingpong-2021.txt", Tool::Imb),
            ("imb-2021.10-pingpong.txt", Tool::Imb),
            ("imb-2021.10-uniband.txt", Tool::Imb),
            ("netpipe-3.7.2-log.txt", Tool::NetPipe),
            (
                "fabtests-1.17-fi_rdm_pingpong-shm-m.txt",
                Tool::FabtestsPingpong,
            ),
            ("fabtests-1.17-fi_rdm_tagged_bw-shm-m.txt", Tool::FabtestsBw),
        ] {
            assert_eq!(Tool::detect(&fixture(file)), Some(tool), "{file}");
        }
        assert_eq!(
            parse("hello\n", None).unwrap_err(),
            ImportError::Unrecognised
        );
        // fabtests' table is recognised as fabtests', but names no test: the message says so.
        assert_eq!(
            parse(&fixture("fabtests-1.17-fi_rdm_pingpong-tcp.txt"), None).unwrap_err(),
            ImportError::WhichFabtest
        );
    }

    #[test]
    fn output_without_rows_says_what_it_should_have_held() {
        // NetPIPE's np.out has no header, so there every line is a row: "Connection refused"
        // is a bad one (netpipe.rs); an empty file has none.
        for tool in Tool::ALL {
            let text = if tool == Tool::NetPipe {
                ""
            } else {
                "Connection refused\n"
            };
            let message = parse(text, Some(tool)).unwrap_err().to_string();
            assert_eq!(
                message,
                format!(
                    "{} output without any result row: expected {}",
                    tool.name(),
                    tool.expected()
                )
            );
        }
        assert_eq!(
            parse("", Some(Tool::FabtestsBw)).unwrap_err().to_string(),
            "fabtests-bw output without any result row: expected rows under fabtests' header `bytes iters total time MB/sec usec/xfer Mxfers/sec`, or -m's `- { xfer_size: ... }` lines"
        );
    }

    #[test]
    fn imported_files_carry_the_users_context_and_read_back() {
        let (tool, parsed) = parse(&fixture("osu_latency-7.3.txt"), None).unwrap();
        let context = Context {
            provider: Some("efa".into()),
            mode: Some("pod".into()),
            instance_type: Some("m7g.16xlarge".into()),
            command_line: Some("mpirun -np 2 osu_latency".into()),
            timestamp: "2026-12-01T08:00:00Z".into(),
            source: "osu.txt".into(),
            ..Context::default()
        };
        let results = results_file(tool, parsed, &context);
        assert_eq!(results.tool.name, "osu");
        assert_eq!(results.tool.version, "7.3");
        assert_eq!(results.parameters.api, "tagged");
        assert_eq!(results.placement.as_ref().unwrap().mode, "pod");
        assert_eq!(
            results.command_line.as_deref(),
            Some("mpirun -np 2 osu_latency")
        );
        assert!(results
            .note
            .as_deref()
            .unwrap()
            .starts_with("imported from osu.txt"));
        let text = results.to_json_pretty();
        assert_eq!(ResultsFile::from_json(&text).unwrap(), results);
        insta::assert_snapshot!(text);
    }
}
