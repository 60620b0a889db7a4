//! Reference tools beside rdmabench: a suite test of kind "tool" runs fi_pingpong, or an MPI
//! benchmark (NetPIPE, OSU) under mpirun over Open MPI's ofi MTL, or IMB (PingPong, Uniband)
//! under Intel MPI's mpiexec.hydra over the libfabric rdmabench loaded, between the same two
//! hosts as rdmabench's own tests, and its output lands in the same results model (through
//! `rdmabench import`'s parsers), tagged with the tool, its version and the exact command lines.
//! perftest needs RDMA devices, which the local hosts lack: said, not run.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rdmabench_fabric::{Library, MessageApi, Query};
use rdmabench_report::import::{self, Tool};
use rdmabench_results::{write_atomically, ResultsFile};
use rdmabench_stats::{parse_count, parse_size_list};

use crate::local::{measure_fi_pingpong, Outcome, ToolMeasurement, ToolRun, TwoEndedTool};
use crate::mpi::{measure_mpi, MpiMeasurement, MpiPlacement, MpiRuntime, MpiTool};
use crate::suite::{Target, TestSpec, ToolPlan};
use crate::tools::{discover, executable, ToolStatus, INTEL_MPI_LIBRARIES};
use crate::{LocalHosts, PipelineError};

/// How a tool test ended.
pub enum ToolOutcome {
    /// Not run, and why (the tool or libfabric is missing).
    Skipped(String),
    /// Ran; its results file is written when any size completed.
    Ran(Outcome),
}

/// The test's tool run on the local target, its provider resolved like rdmabench's tests'.
pub fn tool_plan(
    test: &TestSpec,
    provider: &Result<&'static str, String>,
    iters: Option<&str>,
) -> Result<ToolPlan, PipelineError> {
    test.tool_plan(
        Target::Local,
        provider.as_ref().map_or("tcp", |p| *p),
        iters,
    )
    .ok_or_else(|| PipelineError::Refused(format!("test '{}' names no tool", test.name)))
}

/// The plan's sizes and round trips, parsed as rdmabench's own options are.
pub fn tool_sizes(plan: &ToolPlan) -> Result<(Vec<u64>, u64), PipelineError> {
    let sizes = parse_size_list(&plan.sizes).map_err(PipelineError::parse("sizes"))?;
    let iterations = parse_count(&plan.iterations).map_err(PipelineError::parse("iterations"))?;
    Ok((sizes, iterations))
}

/// The provider name Open MPI's ofi MTL must be told (`mtl_ofi_provider_include`): what
/// libfabric reports for a tagged reliable-datagram endpoint of the core `provider`, e.g.
/// "tcp;ofi_rxm" for tcp in libfabric 1.17, "efa" on AWS.
pub fn mtl_provider(provider: &str) -> Result<String, PipelineError> {
    let answer = first_answer(provider, MessageApi::Tagged, None).map_err(
        PipelineError::fabric("the MPI tools' provider needs libfabric"),
    )?;
    answer.map(|(name, _)| name).ok_or_else(|| {
        PipelineError::Refused(format!("libfabric offers no tagged reliable-datagram endpoint over {provider}, which Open MPI's ofi MTL needs"))
    })
}

/// The first answer this host's libfabric gives for `provider`'s reliable-datagram endpoints
/// with `api` (on `fabric`, for efa, when given): its full provider name and max_msg_size.
fn first_answer(
    provider: &str,
    api: MessageApi,
    fabric: Option<&str>,
) -> Result<Option<(String, u64)>, rdmabench_fabric::FabricError> {
    let lib = Arc::new(Library::load()?);
    let list = lib.getinfo(&Query {
        provider: Some(provider.to_string()),
        api,
        node: None,
        rma: false,
    })?;
    let answer = list
        .iter()
        .find(|e| fabric.is_none_or(|f| e.fabric_name() == f))
        .map(|e| (e.provider(), e.max_msg_size() as u64));
    Ok(answer)
}

/// The tool's executable and version, or why it cannot run: not installed, with what
/// provides it.
pub fn installed(
    tools: &[ToolStatus],
    name: &str,
) -> std::result::Result<(PathBuf, Option<String>), String> {
    let status = tools
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| format!("{name} is not a known tool"))?;
    match &status.path {
        Some(program) => Ok((program.clone(), status.version.clone())),
        None => Err(format!(
            "{name} is not installed (it comes with {})",
            status.provided_by
        )),
    }
}

/// How much an MPI tool measures: one mpirun per size, each within the limit.
pub struct MpiCounts {
    /// Message sizes.
    pub sizes: Vec<u64>,
    /// Timed repeats per size.
    pub iterations: u64,
    /// Untimed repeats first, where the tool has them.
    pub warmup: Option<u64>,
    /// Limit for one size's mpirun.
    pub limit: Duration,
}

/// What Intel MPI must be told to run over the libfabric rdmabench loads: that library's file
/// (I_MPI_OFI_LIBRARY), and Intel MPI's lib directory beside the real mpiexec.hydra's bin.
pub fn intel_mpi_runtime(hydra: &Path) -> Result<MpiRuntime, PipelineError> {
    let lib = Library::load().map_err(PipelineError::fabric(
        "Intel MPI is pointed at rdmabench's libfabric",
    ))?;
    let ofi_library = lib.file().ok_or_else(|| {
        PipelineError::Refused(format!(
            "finding the file of the libfabric rdmabench loaded ({})",
            lib.path().display()
        ))
    })?;
    let bin = hydra
        .parent()
        .ok_or_else(|| PipelineError::Refused("mpiexec.hydra's path has no directory".into()))?;
    let libraries = std::fs::canonicalize(bin.join(INTEL_MPI_LIBRARIES)).map_err(
        PipelineError::io(format!(
            "Intel MPI's libraries are not at {}",
            bin.join(INTEL_MPI_LIBRARIES).display()
        )),
    )?;
    Ok(MpiRuntime::IntelMpi {
        ofi_library,
        libraries,
    })
}

/// An MPI tool's measurement as both the local suite and `rdmabench tool` run it: this
/// executable as the launcher's remote agent; for Open MPI the provider under the name
/// libfabric gives its tagged endpoint (what the ofi MTL matches), for Intel MPI
/// (`mpirun` is then mpiexec.hydra) the libfabric rdmabench loads.
pub fn mpi_measurement(
    tool: MpiTool,
    program: PathBuf,
    mpirun: PathBuf,
    provider: &str,
    counts: MpiCounts,
) -> Result<MpiMeasurement, PipelineError> {
    let (mpirun, runtime) = if tool.intel() {
        // hydra starts the proxies beside the path it was called by: its real one.
        let hydra = std::fs::canonicalize(&mpirun)
            .map_err(PipelineError::io(format!("resolving {}", mpirun.display())))?;
        let runtime = intel_mpi_runtime(&hydra)?;
        (hydra, runtime)
    } else {
        let mtl_provider = mtl_provider(provider)?;
        (mpirun, MpiRuntime::OpenMpi { mtl_provider })
    };
    Ok(MpiMeasurement {
        mpirun,
        program,
        tool,
        launcher: std::env::current_exe().map_err(PipelineError::io(
            "locating the rdmabench executable (the MPI launcher's remote agent)",
        ))?,
        provider: provider.to_string(),
        runtime,
        sizes: counts.sizes,
        iterations: counts.iterations,
        warmup: counts.warmup,
        limit: counts.limit,
    })
}

/// The `rdmabench import` parser of an MPI tool's output.
pub fn mpi_format(tool: MpiTool) -> Tool {
    match tool {
        MpiTool::NetPipe => Tool::NetPipe,
        MpiTool::OsuLatency | MpiTool::OsuBw => Tool::Osu,
        MpiTool::ImbPingPong | MpiTool::ImbUniband => Tool::Imb,
    }
}

/// The launcher that runs an MPI tool: Intel MPI's for IMB, Open MPI's for the others.
pub fn mpi_launcher(tool: MpiTool) -> &'static str {
    if tool.intel() {
        "mpiexec.hydra"
    } else {
        "mpirun"
    }
}

/// Why perftest cannot run here, when this host has no RDMA (verbs) device.
fn perftest_unsupported_here(tool: &str) -> Option<String> {
    let devices = std::fs::read_dir(RDMA_DEVICES).map_or(0, |entries| entries.count());
    (devices == 0).then(|| {
        format!(
            "{tool} is not supported here: it needs an RDMA (verbs) device and this host has none ({RDMA_DEVICES} is empty or absent); perftest measures on EFA or InfiniBand nodes"
        )
    })
}

/// Where the kernel lists RDMA devices.
const RDMA_DEVICES: &str = "/sys/class/infiniband";

/// Runs the plan between `hosts` and writes its results to `output`.
pub fn run_tool(
    hosts: &LocalHosts,
    plan: &ToolPlan,
    output: &Path,
    limit: Duration,
    interrupted: &AtomicBool,
    libfabric: &Result<&'static str, String>,
) -> Result<ToolOutcome, PipelineError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let tools = discover(&path);
    let installed = |name: &str| installed(&tools, name);
    let (program, version) = match installed(executable(&plan.tool)) {
        Ok(found) => found,
        Err(why) => return Ok(ToolOutcome::Skipped(why)),
    };
    // Said once by the run (the fallback note, with the fix); each skip only refers to it.
    if libfabric.is_err() {
        return Ok(ToolOutcome::Skipped(format!(
            "{} needs libfabric, which could not be loaded",
            plan.tool
        )));
    }
    if plan.tool.starts_with("ib_") {
        if let Some(why) = perftest_unsupported_here(&plan.tool) {
            return Ok(ToolOutcome::Skipped(why));
        }
        return Ok(ToolOutcome::Skipped(format!(
            "{} runs between RDMA devices, which the local target's two hosts (network namespaces or loopback) do not have; run it on the eks target",
            plan.tool
        )));
    }
    let (sizes, iterations) = tool_sizes(plan)?;
    let started = SystemTime::now();
    let mpi = MpiTool::from_name(&plan.tool);
    let mut source = format!("{}, run by rdmabench between the local hosts", plan.tool);
    let (run, format, api) = match mpi {
        Some(tool) => {
            let mpirun = match installed(mpi_launcher(tool)) {
                Ok((mpirun, launcher_version)) => {
                    if tool.intel() {
                        source = format!(
                            "{} under Intel MPI {} (mpiexec.hydra), run by rdmabench between the local hosts",
                            plan.tool,
                            launcher_version.as_deref().unwrap_or("of unknown version")
                        );
                    }
                    mpirun
                }
                Err(why) => return Ok(ToolOutcome::Skipped(format!("{} needs {why}", plan.tool))),
            };
            let warmup = plan.warmup.as_deref().map(parse_count).transpose();
            let counts = MpiCounts {
                sizes: sizes.clone(),
                iterations,
                warmup: warmup.map_err(PipelineError::parse("warmup"))?,
                limit,
            };
            let measurement = mpi_measurement(tool, program, mpirun, &plan.provider, counts)?;
            (
                measure_mpi(
                    hosts,
                    &MpiPlacement::local(hosts, &plan.provider),
                    &measurement,
                    interrupted,
                )?,
                mpi_format(tool),
                "tagged",
            )
        }
        None => {
            let measurement = ToolMeasurement {
                program,
                tool: TwoEndedTool::FiPingpong,
                provider: plan.provider.clone(),
                tagged: plan.tagged,
                sizes: sizes.clone(),
                iterations,
                verify: plan.verify,
                fabric: plan.fabric.clone(),
                limit,
            };
            let api = if plan.tagged { "tagged" } else { "msg" };
            (
                measure_fi_pingpong(hosts, &measurement, interrupted)?,
                Tool::FiPingpong,
                api,
            )
        }
    };
    let context = tool_context(
        (&plan.provider, plan.fabric.as_deref()),
        api,
        Some(hosts.end_names().1),
        started,
        source,
    );
    let Some(results) = tool_results(&run, format, version, context, (&sizes, iterations))? else {
        return Ok(ToolOutcome::Ran(run.outcome));
    };
    write_atomically(output, results.to_json_pretty().as_bytes())
        .map_err(PipelineError::io(format!("writing {}", output.display())))?;
    Ok(ToolOutcome::Ran(run.outcome))
}

/// The largest message `provider` (on `fabric`, for efa) carries, as this host's libfabric
/// reports it; None when libfabric or the provider is not here.
fn provider_limit(provider: &str, fabric: Option<&str>) -> Option<u64> {
    let answer = first_answer(provider, MessageApi::Msg, fabric).ok()?;
    answer.map(|(_, limit)| limit)
}

/// What `rdmabench import` records of a tool run rdmabench made itself: the provider and API
/// it ran over, the host whose results these are, when it started, and how it was run.
pub fn tool_context(
    (provider, fabric): (&str, Option<&str>),
    api: &str,
    host: Option<String>,
    started: SystemTime,
    source: String,
) -> import::Context {
    import::Context {
        provider: Some(provider.to_string()),
        fabric: fabric.map(str::to_string),
        api: Some(api.to_string()),
        mode: None,
        instance_type: None,
        host,
        command_line: None,
        timestamp: humantime::format_rfc3339_seconds(started).to_string(),
        source,
    }
}

/// The results file of a tool's runs: every size's output read by `rdmabench import`'s parser
/// for `format`, tagged with the version the tool printed (else `installed_version`) and every
/// command line; marked incomplete when fewer than the `planned` sizes ran. The planned sizes
/// and round trips are what the tool was given, so they stand for the rounded ones fi_pingpong
/// prints ("11k" for 12000 B, "1k" for 1500). None when no size ran. fi_pingpong prints no row
/// (and exits 0) for a size above the provider's max_msg_size: that is an error naming the size
/// and the limit, not a silently shorter table.
pub fn tool_results(
    run: &ToolRun,
    format: Tool,
    installed_version: Option<String>,
    mut context: import::Context,
    (planned, iterations): (&[u64], u64),
) -> Result<Option<ResultsFile>, PipelineError> {
    let planned_sizes = planned.len();
    let mut rows = Vec::new();
    let (mut test, mut note, mut printed_version) = ("pingpong".to_string(), None, None);
    for (text, size) in run.outputs.iter().zip(planned) {
        let invocation = import::Invocation {
            size_bytes: *size,
            iterations,
        };
        let parsed = import::parse_run(text, format, invocation);
        if format == Tool::FiPingpong && matches!(parsed, Err(import::ImportError::NoRows { .. })) {
            let provider = context.provider.as_deref().unwrap_or("unknown");
            return Err(PipelineError::Refused(format!(
                "fi_pingpong printed no result for {size} B over {provider}{}: it prints none for a size above the provider's max_msg_size ({}); use smaller sizes{}",
                context.fabric.as_deref().map(|f| format!(" (fabric {f})")).unwrap_or_default(),
                provider_limit(provider, context.fabric.as_deref())
                    .map_or("unknown here".to_string(), |limit| format!("{limit} B")),
                if context.fabric.as_deref() == Some("efa-direct") { ", or fabric efa" } else { "" }
            )));
        }
        let parsed = parsed.map_err(|source| PipelineError::Import {
            what: format!("reading {}'s output:\n{text}", format.name()),
            source,
        })?;
        (test, note, printed_version) = (parsed.test, parsed.note, parsed.version);
        rows.extend(parsed.rows);
    }
    if rows.is_empty() {
        return Ok(None);
    }
    let parsed = import::Parsed {
        test,
        // What the tool printed (OSU's banner) over what its installation said.
        version: printed_version.or(installed_version),
        rows,
        note,
    };
    context.command_line = Some(run.command_lines.join(" ; "));
    let mut results = import::results_file(format, parsed, &context);
    if run.outcome != Outcome::Complete {
        results.complete = false;
        results.note = Some(format!(
            "stopped after {} of {planned_sizes} sizes; {}",
            run.outputs.len(),
            results.note.take().unwrap_or_default()
        ));
    }
    Ok(Some(results))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdmabench_results::Figure;

    /// fi_pingpong 1.17's output of `-I 1500 -S 12000` over tcp on loopback (its provenance is
    /// beside it): "11k" bytes, "1k" #sent, "0.21s", 70.52 usec/xfer.
    const CAPTURED: &str = include_str!(
        "../../report/tests/fixtures/import/fi_pingpong-1.17-tcp-rdm-I1500-S12000.txt"
    );

    fn captured_run() -> ToolRun {
        ToolRun {
            outcome: Outcome::Complete,
            outputs: vec![CAPTURED.into()],
            command_lines: vec![
                "fi_pingpong -p tcp -e rdm -m msg -I 1500 -S 12000 -P 47592 127.0.0.1".into(),
            ],
        }
    }

    fn results(sizes: &[u64], iterations: u64) -> Result<Option<ResultsFile>, PipelineError> {
        let context = tool_context(
            ("tcp", None),
            "msg",
            Some("client".into()),
            SystemTime::UNIX_EPOCH,
            "fi_pingpong, run by rdmabench".into(),
        );
        tool_results(
            &captured_run(),
            Tool::FiPingpong,
            Some("1.17.0".into()),
            context,
            (sizes, iterations),
        )
    }

    #[test]
    fn fi_pingpong_runs_record_the_size_and_round_trips_rdmabench_passed() {
        let results = results(&[12000], 1500).unwrap().unwrap();
        let row = &results.results[0];
        // Not the printed 11264 B and 1000 round trips.
        assert_eq!((row.size_bytes, row.iterations), (12000, Some(1500)));
        assert_eq!(results.parameters.sizes_bytes, [12000]);
        assert_eq!(results.parameters.iterations, Some(1500));
        // Only the time stays as printed, to 10 ms, and marked so; usec is usec/xfer.
        assert_eq!(row.total_ns, Some(210_000_000));
        assert_eq!(row.rounded, [Figure::TotalNs]);
        assert_eq!(row.mean_ns(), Some(70_520));
        assert!(
            results
                .note
                .as_deref()
                .unwrap()
                .contains("the -S and -I rdmabench passed"),
            "{:?}",
            results.note
        );
    }

    #[test]
    fn output_that_is_not_of_the_planned_run_is_refused() {
        let error = results(&[4096], 1500).unwrap_err();
        let cause = std::error::Error::source(&error).map(ToString::to_string);
        assert_eq!(
            cause.as_deref(),
            Some("fi_pingpong output: a row for 11264 B and 1000 round trips, where -S 4096 -I 1500 print as 4k and 1k"),
            "{error}"
        );
    }
}
