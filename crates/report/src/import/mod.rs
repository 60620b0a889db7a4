//! `rdmabench import`: the output of the tools our users already trust (fabtests' fi_pingpong,
//! perftest, OSU micro-benchmarks, Intel MPI Benchmarks) read into the same results model, so
//! their numbers stand beside rdmabench's in one report. Each parser keeps exactly what the
//! tool printed; what it does not print stays empty.

mod fabtests;
mod imb;
mod netpipe;
mod osu;
mod perftest;

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
}

impl Tool {
    /// Every tool, for detection and messages.
    pub const ALL: [Tool; 5] = [
        Tool::FiPingpong,
        Tool::Perftest,
        Tool::Osu,
        Tool::Imb,
        Tool::NetPipe,
    ];

    /// The name users type and results record.
    pub fn name(self) -> &'static str {
        match self {
            Tool::FiPingpong => "fi_pingpong",
            Tool::Perftest => "perftest",
            Tool::Osu => "osu",
            Tool::Imb => "imb",
            Tool::NetPipe => "netpipe",
        }
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
            None
        }
    }
}

/// Output that could not be imported; the message names the line and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// No tool's header was found.
    #[error("cannot tell which tool wrote this: no fi_pingpong, perftest, OSU, IMB PingPong/Uniband or NetPIPE header found; pass --tool (NetPIPE's np.out has none: --tool netpipe)")]
    Unrecognised,
    /// The header was found but no row under it.
    #[error("{tool} output without any result row under its header")]
    NoRows {
        /// The tool.
        tool: &'static str,
    },
    /// A row did not parse.
    #[error("{tool} output, line {line}: {problem}")]
    BadRow {
        /// The tool.
        tool: &'static str,
        /// 1-based line number.
        line: usize,
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

/// The rows of the table below line `header` (0-based): lines whose whitespace-separated
/// fields satisfy `is_row`. Lines before the first row are skipped; the first other line after
/// it ends the table (a log line, the next benchmark's banner). Rows come with their 1-based
/// line numbers, for error messages.
fn table_rows(
    text: &str,
    header: usize,
    is_row: impl Fn(&[&str]) -> bool,
) -> Vec<(usize, Vec<&str>)> {
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate().skip(header + 1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if is_row(&fields) {
            rows.push((index + 1, fields));
        } else if !rows.is_empty() {
            break;
        }
    }
    rows
}

/// True when the first field is a whole number: how every tool's data rows start.
fn starts_with_number(fields: &[&str]) -> bool {
    fields.first().is_some_and(|f| f.parse::<u64>().is_ok())
}

/// A row that does not parse, with its line.
fn bad_row(tool: &'static str, line: usize, problem: impl Into<String>) -> ImportError {
    ImportError::BadRow {
        tool,
        line,
        problem: problem.into(),
    }
}

/// Parses `text` as `tool`'s output (detected when None).
pub fn parse(text: &str, tool: Option<Tool>) -> Result<(Tool, Parsed), ImportError> {
    let tool = tool
        .or_else(|| Tool::detect(text))
        .ok_or(ImportError::Unrecognised)?;
    let parsed = match tool {
        Tool::FiPingpong => fabtests::parse(text),
        Tool::Perftest => perftest::parse(text),
        Tool::Osu => osu::parse(text),
        Tool::Imb => imb::parse(text),
        Tool::NetPipe => netpipe::parse(text),
    }?;
    if parsed.rows.is_empty() {
        return Err(ImportError::NoRows { tool: tool.name() });
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
                Tool::FiPingpong | Tool::Perftest => "msg".into(),
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

    /// A sample in tests/fixtures/import. fi_pingpong's, NetPIPE's and IMB 2021.10's were
    /// captured from runs on this machine (libfabric-bin 1.17, netpipe-openmpi 3.7.2, impi-rt
    /// 2021.17.2); perftest's, OSU's and IMB 2021.7's were written by hand from those tools'
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
        ] {
            assert_eq!(Tool::detect(&fixture(file)), Some(tool), "{file}");
        }
        assert_eq!(
            parse("hello\n", None).unwrap_err(),
            ImportError::Unrecognised
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
