//! `rdmabench tool`: one end of fi_pingpong or a perftest tool between two real hosts (the
//! cluster's pods or nodes), so `run --target eks` measures with the reference tools beside
//! rdmabench in both modes. The client end makes the results file, as `rdmabench pingpong
//! --format json` does, so the cluster runner reads both the same way.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime};

use rdmabench_report::import::Tool;
use rdmabench_results::ResultsFile;
use rdmabench_stats::{parse_count, parse_duration, parse_size_list};

use crate::local::{Outcome, ToolMeasurement, TwoEndedTool, FI_PINGPONG_PORT, PERFTEST_PORT};
use crate::mpi::MpiTool;
use crate::reference::{installed, tool_context, tool_results};
use crate::tool_end::{serve_tool, tool_client};
use crate::tools::{self, discover, help_text};
use crate::PipelineError;

/// One end of a reference tool run, as `rdmabench tool` is asked for it.
pub struct ToolEndOptions {
    /// The tool's name.
    pub tool: String,
    /// The server's address for the client end; None for the server end.
    pub server: Option<String>,
    /// The first of the tool's ports [default: the tool's own].
    pub port: Option<u16>,
    /// Message sizes as typed.
    pub sizes: String,
    /// Round trips or exchanges per size as typed.
    pub iters: String,
    /// libfabric provider, or the RDMA devices' (efa, verbs) for perftest.
    pub provider: String,
    /// fi_pingpong's tagged API instead of msg.
    pub tagged: bool,
    /// fi_pingpong's efa fabric (-f).
    pub fabric: Option<String>,
    /// fi_pingpong's data check.
    pub verify: bool,
    /// OSU's warm-up repeats as typed.
    pub warmup: Option<String>,
    /// MPI tools: NAMESPACE/POD/CONTAINER of the server's pod.
    pub server_pod: Option<String>,
    /// MPI tools: the network Open MPI's own traffic stays on.
    pub mpi_network: Option<String>,
    /// How long the client keeps trying to reach the server, as typed.
    pub timeout: String,
    /// Limit for one size's run, as typed.
    pub limit: String,
}

/// What an end did: the client's results file (when any size ran) and how it ended.
pub struct EndReport {
    /// The client end's results; None for the server end or when no size ran.
    pub results: Option<ResultsFile>,
    /// How the end finished.
    pub outcome: Outcome,
}

/// Tools with a server and a client end.
const TWO_ENDED: &[&str] = &[
    "fi_pingpong",
    "ib_send_lat",
    "ib_send_bw",
    "ib_write_lat",
    "ib_write_bw",
];
/// A run uses this many ports from the first (a known range a firewall or a cluster's policies
/// can open): one per size, the last two for Open MPI's daemons (mpirun's and the other
/// host's, apart even on one machine).
const RUN_PORTS: u16 = rdmabench_engine::TOOL_PORTS;
/// The most sizes one run may have: each uses its own port.
pub const MAX_SIZES: usize = RUN_PORTS as usize - 2;

/// The ports Open MPI's daemons listen on, the last two of the run's range after `first`,
/// as `oob_tcp_static_ipv4_ports` takes them.
pub(crate) fn mpi_daemon_ports(first: u16) -> String {
    format!("{}-{}", first + RUN_PORTS - 2, first + RUN_PORTS - 1)
}

/// perftest on `provider`'s devices: on EFA (which has no RC) SRD, where this perftest offers it
/// for the tool, and GID index 0, without which the EFA server receives nothing
/// (linux-rdma/perftest#113, the EFA maintainers' answer); perftest's own defaults (RC, its GID
/// choice) on verbs devices; an error for providers perftest cannot use.
fn perftest_on(tool: &str, provider: &str, help: &str) -> Result<TwoEndedTool, PipelineError> {
    match provider {
        "efa" => {
            let offers_srd = help
                .lines()
                .any(|l| l.contains("--connection") && l.contains("SRD"));
            if !offers_srd {
                return Err(PipelineError::Refused(format!("{tool} is not supported here: this perftest offers no SRD connection type for it (its --connection list has none), and EFA only has SRD; ib_send_lat and ib_send_bw have it in perftest 4.5 and later")));
            }
            Ok(TwoEndedTool::Perftest {
                connection: Some("SRD".into()),
                gid_index: Some(0),
            })
        }
        "verbs" => Ok(TwoEndedTool::Perftest {
            connection: None,
            gid_index: None,
        }),
        other => Err(PipelineError::Refused(format!("{tool} runs on RDMA devices: provider efa (SRD) or verbs, not {other}; for {other} use fi_pingpong"))),
    }
}

/// The parsed and checked options of one end.
pub(crate) struct Planned {
    /// Message sizes, one run each.
    pub sizes: Vec<u64>,
    /// Repeats per size.
    pub iterations: u64,
    /// OSU's warm-up repeats.
    pub warmup: Option<u64>,
    /// How long the client keeps trying to reach the server.
    pub reach: Duration,
    /// Limit for one size's run.
    pub limit: Duration,
}

/// Checks the options as the ends will get them, so a bad suite fails before any pod exists.
pub fn check(args: &ToolEndOptions) -> Result<(), PipelineError> {
    planned(args).map(|_| ())
}

fn refuse<T>(message: String) -> Result<T, PipelineError> {
    Err(PipelineError::Refused(message))
}

fn planned(args: &ToolEndOptions) -> Result<Planned, PipelineError> {
    let tool = args.tool.as_str();
    if MpiTool::from_name(tool).is_some_and(MpiTool::intel) {
        return refuse(format!("--tool {tool}: IMB runs under Intel MPI on the local target only (`rdmabench run`); the rdmabench image has no Intel MPI"));
    }
    let mpi = MpiTool::from_name(tool).is_some();
    if !TWO_ENDED.contains(&tool) && !mpi {
        return refuse(format!(
            "--tool {tool}: use one of {}, NPopenmpi, osu_latency, osu_bw",
            TWO_ENDED.join(", ")
        ));
    }
    if args.warmup.is_some() && !tools::has_warmup(tool) {
        return refuse(format!(
            "--warmup: {tool} has no warm-up option (OSU's -x is the only one); remove it"
        ));
    }
    if args.verify && !tools::has_verify(tool) {
        return refuse(format!(
            "--verify: {tool} has no data check that runs while it measures; remove the flag"
        ));
    }
    if args.fabric.is_some() && tool != "fi_pingpong" {
        return refuse(format!(
            "--fabric: only fi_pingpong chooses a libfabric fabric (-f); remove it for {tool}"
        ));
    }
    if !mpi && (args.server_pod.is_some() || args.mpi_network.is_some()) {
        return refuse("--server-pod and --mpi-network belong to the MPI tools (NPopenmpi, osu_latency, osu_bw)".into());
    }
    let sizes = parse_size_list(&args.sizes).map_err(PipelineError::parse("--sizes"))?;
    if sizes.len() > MAX_SIZES {
        return refuse(format!(
            "--sizes: {} sizes, at most {MAX_SIZES} per run (each uses its own port)",
            sizes.len()
        ));
    }
    Ok(Planned {
        sizes,
        iterations: parse_count(&args.iters).map_err(PipelineError::parse("--iters"))?,
        warmup: args
            .warmup
            .as_deref()
            .map(parse_count)
            .transpose()
            .map_err(PipelineError::parse("--warmup"))?,
        reach: parse_duration(&args.timeout).map_err(PipelineError::parse("--timeout"))?,
        limit: parse_duration(&args.limit).map_err(PipelineError::parse("--limit"))?,
    })
}

/// Runs one end of `args.tool`: the server end serves every size and reports how it ended;
/// the client end runs every size against the server and makes the results file. `progress`
/// hears what the end is doing.
pub fn run_end(
    args: &ToolEndOptions,
    interrupted: &AtomicBool,
    progress: &mut dyn FnMut(&str),
) -> Result<EndReport, PipelineError> {
    let tool = args.tool.as_str();
    let planned = planned(args)?;
    if let Some(mpi) = MpiTool::from_name(tool) {
        return crate::mpi_end::run_end(args, mpi, &planned, interrupted, progress);
    }
    let Planned {
        sizes,
        iterations,
        reach,
        limit,
        ..
    } = planned;
    let perftest = tool.starts_with("ib_");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let (program, version) = installed(&discover(&path), tool).map_err(PipelineError::Refused)?;
    let (kind, format, default_port) = if perftest {
        let help = help_text(&program, &path).unwrap_or_default();
        (
            perftest_on(tool, &args.provider, &help)?,
            Tool::Perftest,
            PERFTEST_PORT,
        )
    } else {
        (TwoEndedTool::FiPingpong, Tool::FiPingpong, FI_PINGPONG_PORT)
    };
    let port = args.port.unwrap_or(default_port);
    let measurement = ToolMeasurement {
        program,
        tool: kind,
        provider: args.provider.clone(),
        tagged: args.tagged,
        sizes: sizes.clone(),
        iterations,
        verify: args.verify,
        fabric: args.fabric.clone(),
        limit,
    };
    let Some(server) = &args.server else {
        progress(&format!(
            "{tool} server for {} sizes from port {port}",
            sizes.len()
        ));
        let outcome = serve_tool(&measurement, port, interrupted)?;
        return Ok(EndReport {
            results: None,
            outcome,
        });
    };
    progress(&format!(
        "{tool} client of {server} for {} sizes",
        sizes.len()
    ));
    let started = SystemTime::now();
    let run = tool_client(&measurement, server, port, reach, interrupted)?;
    let context = tool_context(
        (&args.provider, args.fabric.as_deref()),
        if args.tagged { "tagged" } else { "msg" },
        hostname(),
        started,
        format!("{tool}, run by rdmabench tool against {server}"),
    );
    Ok(EndReport {
        results: tool_results(&run, format, version, context, (&sizes, iterations))?,
        outcome: run.outcome,
    })
}

/// This host's name, for the results.
pub(crate) fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perftest_uses_srd_and_gid_index_zero_on_efa_only_where_it_offers_srd() {
        let with_srd = "  -c, --connection=<RC/XRC/UC/UD/DC/SRD>  Connection type RC/XRC/UC/UD/DC/SRD (default RC)";
        let without =
            "  -c, --connection=<RC/XRC/UC/DC>  Connection type RC/XRC/UC/DC (default RC)";
        assert_eq!(
            perftest_on("ib_send_lat", "efa", with_srd).unwrap(),
            TwoEndedTool::Perftest {
                connection: Some("SRD".into()),
                gid_index: Some(0)
            }
        );
        let err = perftest_on("ib_write_lat", "efa", without)
            .unwrap_err()
            .to_string();
        assert!(err.contains("ib_write_lat is not supported here"), "{err}");
        assert_eq!(
            perftest_on("ib_send_lat", "verbs", without).unwrap(),
            TwoEndedTool::Perftest {
                connection: None,
                gid_index: None
            }
        );
        let err = perftest_on("ib_send_lat", "tcp", with_srd)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not tcp; for tcp use fi_pingpong"), "{err}");
    }
}
