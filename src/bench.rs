//! `rdmabench pingpong` and `rdmabench bw`: turn arguments into an engine configuration, run
//! the chosen role (as often as `--repeat` says), and write the results.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use clap::Parser;
use rdmabench_engine::record::{results_file, RunRecord};
use rdmabench_engine::{
    run_client, run_server, Amount, BandwidthMethod, FabricChoice, ProviderChoice, RmaOp,
    RunConfig, RunOutput, Test, TransportChoice,
};
use rdmabench_fabric::{Completion, FabricError, Library, MessageApi};
use rdmabench_report::format::BandwidthUnit;
use rdmabench_report::model::ToolInfo;
use rdmabench_report::{render, Format, LoadedRun, Report};
use rdmabench_stats::{parse_count, parse_duration, parse_percent, parse_size_list, sweep_sizes};

use crate::cli::{
    ApiArg, BwArgs, BwMethodArg, CommonArgs, FabricArg, FormatArg, MeasureArgs, PingpongArgs,
    ProviderArg, RmaArgs, RmaOpArg, TransportArg, DEFAULT_BW_ITERS, DEFAULT_ITERS,
};
use crate::interrupt::EXIT_INTERRUPTED;
use crate::output::{check_output, emit_measured, terminal_width, write_exports};

fn fabric_choice(arg: FabricArg) -> FabricChoice {
    match arg {
        FabricArg::Auto => FabricChoice::Auto,
        FabricArg::Efa => FabricChoice::Efa,
        FabricArg::EfaDirect => FabricChoice::EfaDirect,
    }
}

fn provider_choice(arg: ProviderArg) -> ProviderChoice {
    match arg {
        ProviderArg::Auto => ProviderChoice::Auto,
        ProviderArg::Efa => ProviderChoice::Efa,
        ProviderArg::Verbs => ProviderChoice::Verbs,
        ProviderArg::Tcp => ProviderChoice::Tcp,
        ProviderArg::Net => ProviderChoice::Net,
        ProviderArg::Shm => ProviderChoice::Shm,
        ProviderArg::Udp => ProviderChoice::Udp,
    }
}

/// Maps the CLI's format choice onto the report crate's.
pub fn report_format(arg: FormatArg) -> Format {
    match arg {
        FormatArg::Table => Format::Table,
        FormatArg::Json => Format::Json,
        FormatArg::Csv => Format::Csv,
        FormatArg::Markdown => Format::Markdown,
    }
}

/// What `--cpu` asks for: CPUs by number (server first), or `numa`: CPUs next to the EFA device,
/// chosen on the host that runs the end (never where options are only checked).
enum CpuRequest {
    Cpus(Vec<usize>),
    Numa,
}

fn parse_cpus(text: &str) -> Result<CpuRequest> {
    if text.trim() == "numa" {
        return Ok(CpuRequest::Numa);
    }
    let cpus: Vec<usize> = text
        .split(',')
        .map(|c| c.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .with_context(|| {
            format!("invalid --cpu '{text}': expected A or A,B with CPU numbers, or numa")
        })?;
    if cpus.is_empty() || cpus.len() > 2 {
        bail!("invalid --cpu '{text}': give one CPU (this end) or two (server,client)");
    }
    Ok(CpuRequest::Cpus(cpus))
}

/// The CPUs (server first) a `--cpu` request means on this host: for `numa`, one per end that
/// runs here (two with --local) on the EFA device's NUMA node, among the CPUs this process may
/// use (a pod's cpuset); a choice off that node is warned about and shows in the results.
fn resolve_cpus(request: CpuRequest, local: bool) -> Result<Vec<usize>> {
    match request {
        CpuRequest::Cpus(cpus) => Ok(cpus),
        CpuRequest::Numa => {
            let allowed = rdmabench_engine::numa::allowed_cpus()?;
            let ends = if local { 2 } else { 1 };
            let choice =
                rdmabench_engine::numa::near_efa(std::path::Path::new("/"), &allowed, ends)?;
            if let Some(warning) = &choice.warning {
                eprintln!("rdmabench: {warning}");
            }
            Ok(choice.cpus)
        }
    }
}

/// Loads libfabric if the run needs it. With `--provider auto` and no libfabric, falls back to
/// the socket transport, returning a note that says so (a named provider insists instead).
pub fn load_library(
    transport: &mut TransportChoice,
) -> Result<(Option<Arc<Library>>, Option<String>)> {
    let TransportChoice::Fabric(choice) = *transport else {
        return Ok((None, None));
    };
    match Library::load() {
        Ok(lib) => Ok((Some(Arc::new(lib)), None)),
        // Only a libfabric that is not installed falls back: one named by RDMABENCH_LIBFABRIC
        // that does not load is an error, whatever the provider choice.
        Err(e @ FabricError::LibraryNotFound { .. }) if choice == ProviderChoice::Auto => {
            let note = format!("fell back to the socket transport (kernel TCP): {e}");
            eprintln!("rdmabench: {note}");
            *transport = TransportChoice::Socket;
            Ok((None, Some(note)))
        }
        Err(e) => Err(e).context(format!("--provider {} needs libfabric", choice.label())),
    }
}

struct Plan {
    config: RunConfig,
    cpus: Option<CpuRequest>,
    port: u16,
}

/// The test `rdmabench bw` options describe.
fn bandwidth_test(args: &BwArgs) -> Test {
    let method = match args.method {
        BwMethodArg::Osu => BandwidthMethod::Osu,
        BwMethodArg::Fabtests => BandwidthMethod::Fabtests,
        BwMethodArg::Perftest => BandwidthMethod::Perftest,
    };
    Test::Bandwidth {
        window: args.window.unwrap_or_else(|| method.default_window()),
        bidirectional: args.bidirectional,
        method,
    }
}

/// The test `rdmabench rma` options describe.
fn rma_test(args: &RmaArgs) -> Test {
    let op = match args.op {
        RmaOpArg::Write => RmaOp::Write,
        RmaOpArg::Read => RmaOp::Read,
    };
    if args.bw {
        Test::RmaBandwidth {
            op,
            window: args.window,
        }
    } else {
        Test::RmaLatency { op }
    }
}

fn plan(args: &CommonArgs, test: Test) -> Result<Plan> {
    let cpus = args.cpu.as_deref().map(parse_cpus).transpose()?;
    if args.local && matches!(&cpus, Some(CpuRequest::Cpus(c)) if c.len() != 2) {
        bail!("--local runs both ends: give two CPUs, --cpu SERVER,CLIENT (or --cpu numa)");
    }
    let config = measure_config(&args.measure, test)?;
    let port = args.port.unwrap_or(if args.local {
        0
    } else {
        crate::cli::DEFAULT_SERVER_PORT
    });
    Ok(Plan { config, cpus, port })
}

/// The engine configuration the measurement options describe, checked as the engine would;
/// shared by every command that measures (pingpong, bw, matrix). Unpinned: callers that pin
/// set `cpu` once they know this host's CPUs.
pub fn measure_config(m: &MeasureArgs, test: Test) -> Result<RunConfig> {
    let sizes = if m.sweep {
        sweep_sizes()
    } else {
        parse_size_list(&m.sizes).context("--sizes")?
    };
    let precision = m
        .precision
        .as_deref()
        .map(parse_percent)
        .transpose()
        .context("--precision")?;
    let amount = match (&m.iters, &m.duration) {
        (_, Some(d)) => Amount::Duration(parse_duration(d).context("--duration")?),
        (Some(n), None) => Amount::Iterations(parse_count(n).context("--iters")?),
        (None, None) => Amount::Iterations(parse_count(match test {
            _ if precision.is_some() => crate::cli::DEFAULT_PRECISION_CEILING,
            Test::PingPong | Test::RmaLatency { .. } => DEFAULT_ITERS,
            Test::Bandwidth { .. } | Test::RmaBandwidth { .. } => DEFAULT_BW_ITERS,
        })?),
    };
    let warmup = m
        .warmup
        .as_deref()
        .map(|w| match w.trim() {
            "0" => Ok(0),
            other => parse_count(other),
        })
        .transpose()
        .context("--warmup")?;
    let transport = match m.transport {
        TransportArg::Socket => {
            if m.provider != ProviderArg::Auto {
                bail!("--provider applies to --transport fabric only; drop it or use --transport fabric");
            }
            TransportChoice::Socket
        }
        TransportArg::Fabric => TransportChoice::Fabric(provider_choice(m.provider)),
    };
    let config = RunConfig {
        test,
        transport,
        api: match m.api {
            ApiArg::Msg => MessageApi::Msg,
            ApiArg::Tagged => MessageApi::Tagged,
        },
        sizes,
        amount,
        warmup,
        verify: m.verify,
        completion: if m.wait {
            Completion::Wait
        } else {
            Completion::BusyPoll
        },
        force_mr_local: m.force_mr_local,
        fabric: fabric_choice(m.fabric),
        require_device_rdma: m.require_device_rdma,
        cpu: None,
        precision,
        loop_timed: false,
        timeout: parse_duration(&m.timeout).context("--timeout")?,
        interrupted: Arc::new(AtomicBool::new(false)),
        progress: Arc::default(),
    };
    rdmabench_engine::validate(&config)?;
    Ok(config)
}

/// Checks `rdmabench <kind>` options (kind = pingpong or bw) that another process will run (a
/// server and client started by `rdmabench run`, or pods) with the same parser and rules as the
/// command itself, so a mistake is reported before anything is started or created.
pub fn check_options(kind: &str, options: &[String]) -> Result<()> {
    let argv = ["rdmabench", kind, "--server"]
        .into_iter()
        .map(String::from)
        .chain(options.iter().cloned());
    let cli = crate::cli::Cli::try_parse_from(argv)
        .map_err(|e| crate::cli::forwarded_options_error(kind, &e))?;
    let planned = match cli.command {
        crate::cli::Command::Pingpong(args) => plan(&args.common, Test::PingPong),
        crate::cli::Command::Bw(args) => plan(&args.common, bandwidth_test(&args)),
        crate::cli::Command::Rma(args) => plan(&args.common, rma_test(&args)),
        crate::cli::Command::Tool(args) => {
            return crate::tool_end::check(&args).with_context(|| format!("invalid {kind} options"))
        }
        _ => bail!("invalid {kind} options: {kind} is not a measurement"),
    };
    planned.with_context(|| format!("invalid {kind} options"))?;
    Ok(())
}

/// Options the Kubernetes runner sets itself on each end.
#[cfg(feature = "cloud")]
const SET_BY_RUNNER: &[&str] = &[
    "--server", "--local", "--bind", "--port", "--format", "--output",
];

/// Checks `rdmabench pingpong` options meant for remote ends (the pods of a Kubernetes run) with
/// the same parser and rules as a local run, so a typo fails here and not minutes later in a
/// pod. Returns them with `--provider efa` added when no provider or transport was chosen.
#[cfg(feature = "cloud")]
pub fn remote_options(kind: &str, options: &[String]) -> Result<Vec<String>> {
    for option in options {
        let flag = option.split('=').next().unwrap_or_default();
        if SET_BY_RUNNER.contains(&flag) {
            bail!("{option}: `rdmabench k8s` sets this itself on each end; remove it");
        }
    }
    check_options(kind, options)?;
    Ok(with_default_provider(options))
}

/// `options` for the cluster's ends, with `--provider efa` first when they choose neither a
/// provider nor a transport: EFA is what the cluster's nodes are for.
#[cfg(feature = "cloud")]
pub fn with_default_provider(options: &[String]) -> Vec<String> {
    let chosen = |flag: &str| {
        options
            .iter()
            .any(|o| o == flag || o.starts_with(&format!("{flag}=")))
    };
    let mut remote = Vec::new();
    if !chosen("--provider") && !chosen("--transport") {
        remote.extend(["--provider".to_string(), "efa".to_string()]);
    }
    remote.extend(options.iter().cloned());
    remote
}

/// Runs `rdmabench pingpong`; returns the process exit code.
pub fn run_pingpong(args: &PingpongArgs) -> Result<i32> {
    run(
        &args.common,
        Test::PingPong,
        BandwidthUnit::default(),
        args.loop_timed,
    )
}

/// Runs `rdmabench bw`; returns the process exit code.
pub fn run_bw(args: &BwArgs) -> Result<i32> {
    let unit = if args.gbits {
        BandwidthUnit::GigabitsPerSec
    } else {
        BandwidthUnit::MegabytesPerSec
    };
    run(&args.common, bandwidth_test(args), unit, false)
}

/// Runs `rdmabench rma`; returns the process exit code.
pub fn run_rma(args: &RmaArgs) -> Result<i32> {
    let unit = if args.gbits {
        BandwidthUnit::GigabitsPerSec
    } else {
        BandwidthUnit::MegabytesPerSec
    };
    run(&args.common, rma_test(args), unit, false)
}

/// The progress line of a finished size.
fn size_summary(row: &rdmabench_stats::SizeMeasurement, unit: BandwidthUnit) -> String {
    match (row.seed_usec(), row.bandwidth) {
        (Some(usec), _) => format!("{} B: {usec:.2} usec", row.size_bytes),
        (None, Some(bw)) => format!(
            "{} B: {} {}",
            row.size_bytes,
            unit.show(bw.average_bytes_per_sec),
            unit.name()
        ),
        (None, None) => format!("{} B", row.size_bytes),
    }
}

fn run(args: &CommonArgs, test: Test, unit: BandwidthUnit, loop_timed: bool) -> Result<i32> {
    let Plan {
        mut config,
        cpus,
        port,
    } = plan(args, test)?;
    config.loop_timed = loop_timed;
    check_output(
        args.measure.output.as_deref(),
        &args.measure.exports,
        "nothing was measured",
    )?;
    let cpus = cpus.map(|c| resolve_cpus(c, args.local)).transpose()?;
    config.cpu = cpus
        .as_ref()
        .map(|c| if args.server { c[0] } else { c[c.len() - 1] });
    let (lib, fallback_note) = load_library(&mut config.transport)?;
    config.interrupted = crate::interrupt::flag()?;
    let mut runs = Vec::new();
    let mut exit = 0;
    for repetition in 1..=args.repeat {
        if args.repeat > 1 {
            eprintln!("rdmabench: repetition {repetition} of {}", args.repeat);
        }
        let started = SystemTime::now();
        let (role, output) =
            measure_once(args, &config, cpus.as_deref(), port, lib.as_ref(), unit)?;
        let stopped = output.stopped.as_ref().map(|e| e.to_string());
        let interrupted = matches!(
            output.stopped,
            Some(rdmabench_engine::EngineError::Interrupted)
        );
        if let Some(selected) = output.fabric.as_ref().and_then(|f| f.selected.as_ref()) {
            if repetition == 1 {
                eprintln!("rdmabench: {selected}");
            }
        }
        if output.same_host && !args.local && repetition == 1 {
            eprintln!(
                "rdmabench: both ends are on the same host (same boot id): the results measure this host's stack, not a link between two machines"
            );
        }
        let commit = env!("RDMABENCH_GIT_COMMIT");
        let record = RunRecord {
            tool: ToolInfo {
                name: "rdmabench".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                git_commit: (!commit.is_empty()).then(|| commit.to_string()),
            },
            timestamp: humantime::format_rfc3339_seconds(started).to_string(),
            role: role.into(),
            cpus: cpus.clone(),
            port,
            note: fallback_note.clone(),
        };
        let results = results_file(&config, record, output);
        for note in precision_shortfalls(&results.results) {
            eprintln!("rdmabench: {note}");
        }
        if let Some(warning) = rdmabench_stats::noise_warning(&results.results) {
            eprintln!("rdmabench: warning: {warning}");
        }
        let measured = results.results.len();
        runs.push(LoadedRun {
            source: format!("repetition {repetition}"),
            results,
        });
        if let Some(reason) = stopped {
            eprintln!(
                "error: the run stopped early after {measured} of {} sizes: {reason}",
                config.sizes.len()
            );
            exit = if interrupted { EXIT_INTERRUPTED } else { 1 };
            break;
        }
    }
    let output = args.measure.output.as_deref();
    // Files are not terminals: exports get the fixed layout.
    let exported = write_exports(&args.measure.exports, |format| {
        render_runs(&runs, format, unit, None)
    });
    emit_measured(
        &render_runs(&runs, args.measure.format, unit, terminal_width(output))?,
        output,
    )?;
    exported?;
    Ok(exit)
}

/// What `--precision` did not reach, size by size: the interval it got and the ceiling that
/// stopped it, so a number is never taken as known better than it is.
fn precision_shortfalls(rows: &[rdmabench_stats::SizeMeasurement]) -> Vec<String> {
    use rdmabench_stats::StopReason;
    let interval = |percent: Option<f64>| {
        percent.map_or(
            "none yet (the batches are still correlated)".to_string(),
            |p| format!("+-{p:.2} %"),
        )
    };
    rows.iter()
        .filter_map(|row| {
            let q = row.quality.as_ref()?.precision.as_ref()?;
            let ceiling = match q.stopped {
                StopReason::PrecisionReached => return None,
                StopReason::IterationCeiling => "the iteration ceiling (--iters)",
                StopReason::TimeCeiling => "the time ceiling (--duration)",
            };
            Some(format!(
                "{} B: stopped at {ceiling} after {} round trips with the mean's 95 % interval {} and the median's {}, not the +-{} % asked for",
                row.size_bytes,
                row.iterations.unwrap_or(0),
                interval(q.mean_ci95_percent),
                interval(q.median_ci95_percent),
                q.target_percent
            ))
        })
        .collect()
}

/// One repetition in the chosen role.
fn measure_once(
    args: &CommonArgs,
    config: &RunConfig,
    cpus: Option<&[usize]>,
    port: u16,
    lib: Option<&Arc<Library>>,
    unit: BandwidthUnit,
) -> Result<(&'static str, RunOutput)> {
    crate::progress::with_bar(
        config.sizes.len(),
        &config.progress,
        |row| size_summary(row, unit),
        |on_size| measure_in_role(args, config, cpus, port, lib, on_size),
    )
}

/// One repetition in the chosen role, `on_size` hearing of each finished size.
fn measure_in_role(
    args: &CommonArgs,
    config: &RunConfig,
    cpus: Option<&[usize]>,
    port: u16,
    lib: Option<&Arc<Library>>,
    on_size: &mut dyn FnMut(usize, usize, &rdmabench_stats::SizeMeasurement),
) -> Result<(&'static str, RunOutput)> {
    let (role, output) = if args.local {
        let server_cpu = cpus.map(|c| c[0]);
        (
            "local",
            crate::local::run_local(args, config, server_cpu, lib, on_size),
        )
    } else if args.server {
        let ip: IpAddr = args.bind.parse().with_context(|| {
            format!(
                "invalid --bind '{}': expected an IP address such as 0.0.0.0 or 127.0.0.1",
                args.bind
            )
        })?;
        eprintln!(
            "rdmabench: waiting for a client on {ip}:{port} (timeout {:?})",
            config.timeout
        );
        (
            "server",
            run_server(SocketAddr::new(ip, port), config, lib).map_err(Into::into),
        )
    } else {
        let host = args.host.as_deref().unwrap_or_default();
        let server =
            if host.contains(':') && !host.starts_with('[') && host.parse::<IpAddr>().is_err() {
                host.to_string()
            } else if host.parse::<std::net::Ipv6Addr>().is_ok() {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            };
        (
            "client",
            run_client(&server, config, lib, on_size).map_err(Into::into),
        )
    };
    Ok((role, output.context(crate::local::RUN_FAILED)?))
}

/// One run as its results in `format`; repetitions as the report over them (median of the
/// runs with min..max), in the same format; tables fitted to `width` (the terminal's).
fn render_runs(
    runs: &[LoadedRun],
    format: FormatArg,
    unit: BandwidthUnit,
    width: Option<u16>,
) -> Result<String> {
    if let [run] = runs {
        return Ok(render(&run.results, report_format(format), unit, width));
    }
    let mut report = Report::build(runs.to_vec(), None, Default::default())
        .context("summarising the repetitions")?;
    report.bandwidth_unit = unit;
    report.terminal_width = width;
    Ok(report.render(report_format(format).into()))
}
