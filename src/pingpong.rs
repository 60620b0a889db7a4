//! `rdmabench pingpong`: turns arguments into an engine configuration, runs the chosen role,
//! and writes the results.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rdmabench_engine::{
    run_client, run_server, Amount, PingPongConfig, ProviderChoice, RunOutput, TransportChoice,
};
use rdmabench_fabric::{Completion, FabricError, Library, MessageApi};
use rdmabench_report::model::{Endpoints, Parameters, ToolInfo};
use rdmabench_report::{render, Format, ResultsFile, SCHEMA_VERSION};
use rdmabench_stats::{parse_count, parse_duration, parse_size_list, sweep_sizes};

use crate::cli::{ApiArg, FormatArg, PingpongArgs, ProviderArg, TransportArg, DEFAULT_ITERS};
use crate::output::emit;

/// Environment variable that turns "libfabric missing" into an error instead of a fallback to
/// the socket transport (set in CI so a missing install cannot hide behind the fallback).
const REQUIRE_LIBFABRIC_ENV: &str = "RDMABENCH_REQUIRE_LIBFABRIC";
/// Context put on every failure to start or finish a run.
pub const RUN_FAILED: &str = "the ping-pong could not run";
/// Exit status after Ctrl-C, as shells use for SIGINT.
const EXIT_INTERRUPTED: i32 = 130;

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

fn parse_cpus(text: &str) -> Result<Vec<usize>> {
    let cpus: Vec<usize> = text
        .split(',')
        .map(|c| c.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("invalid --cpu '{text}': expected A or A,B with CPU numbers"))?;
    if cpus.is_empty() || cpus.len() > 2 {
        bail!("invalid --cpu '{text}': give one CPU (this end) or two (server,client)");
    }
    Ok(cpus)
}

/// Loads libfabric if the run needs it. With `--provider auto` and no libfabric, falls back to
/// the socket transport (returning a note that says so) unless RDMABENCH_REQUIRE_LIBFABRIC is set.
fn load_library(transport: &mut TransportChoice) -> Result<(Option<Arc<Library>>, Option<String>)> {
    let TransportChoice::Fabric(choice) = *transport else {
        return Ok((None, None));
    };
    match Library::load() {
        Ok(lib) => Ok((Some(Arc::new(lib)), None)),
        // Only a libfabric that is not installed falls back: one named by RDMABENCH_LIBFABRIC
        // that does not load is an error, whatever the provider choice.
        Err(e @ FabricError::LibraryNotFound { .. })
            if choice == ProviderChoice::Auto
                && std::env::var_os(REQUIRE_LIBFABRIC_ENV).is_none() =>
        {
            let note = format!("fell back to the socket transport (kernel TCP): {e}");
            eprintln!("rdmabench: {note}");
            *transport = TransportChoice::Socket;
            Ok((None, Some(note)))
        }
        Err(e) => Err(e).context(if choice == ProviderChoice::Auto {
            format!("{REQUIRE_LIBFABRIC_ENV} is set, so a missing libfabric is an error")
        } else {
            format!("--provider {} needs libfabric", choice.label())
        }),
    }
}

fn interrupt_flag() -> Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = Arc::clone(&flag);
    ctrlc::set_handler(move || {
        if handler_flag.swap(true, Ordering::SeqCst) {
            eprintln!("rdmabench: second Ctrl-C, exiting immediately");
            std::process::exit(EXIT_INTERRUPTED);
        }
        eprintln!("rdmabench: Ctrl-C, stopping (press again to exit immediately)");
    })
    .context("installing the Ctrl-C handler")?;
    Ok(flag)
}

struct Plan {
    config: PingPongConfig,
    cpus: Option<Vec<usize>>,
    port: u16,
}

fn plan(args: &PingpongArgs) -> Result<Plan> {
    let sizes = if args.sweep {
        sweep_sizes()
    } else {
        parse_size_list(&args.sizes).context("--sizes")?
    };
    let amount = match (&args.iters, &args.duration) {
        (_, Some(d)) => Amount::Duration(parse_duration(d).context("--duration")?),
        (Some(n), None) => Amount::Iterations(parse_count(n).context("--iters")?),
        (None, None) => Amount::Iterations(parse_count(DEFAULT_ITERS)?),
    };
    let warmup = args
        .warmup
        .as_deref()
        .map(|w| match w.trim() {
            "0" => Ok(0),
            other => parse_count(other),
        })
        .transpose()
        .context("--warmup")?;
    let cpus = args.cpu.as_deref().map(parse_cpus).transpose()?;
    if args.local && cpus.as_ref().is_some_and(|c| c.len() != 2) {
        bail!("--local runs both ends: give two CPUs, --cpu SERVER,CLIENT");
    }
    let this_end_cpu = cpus
        .as_ref()
        .map(|c| if args.server { c[0] } else { c[c.len() - 1] });
    let transport = match args.transport {
        TransportArg::Socket => {
            if args.provider != ProviderArg::Auto {
                bail!("--provider applies to --transport fabric only; drop it or use --transport fabric");
            }
            TransportChoice::Socket
        }
        TransportArg::Fabric => TransportChoice::Fabric(provider_choice(args.provider)),
    };
    let timeout = parse_duration(&args.timeout).context("--timeout")?;
    let port = args.port.unwrap_or(if args.local {
        0
    } else {
        crate::cli::DEFAULT_SERVER_PORT
    });
    let config = PingPongConfig {
        transport,
        api: match args.api {
            ApiArg::Msg => MessageApi::Msg,
            ApiArg::Tagged => MessageApi::Tagged,
        },
        sizes,
        amount,
        warmup,
        verify: args.verify,
        completion: if args.wait {
            Completion::Wait
        } else {
            Completion::BusyPoll
        },
        force_mr_local: args.force_mr_local,
        cpu: this_end_cpu,
        timeout,
        interrupted: Arc::new(AtomicBool::new(false)),
    };
    rdmabench_engine::validate(&config)?;
    Ok(Plan { config, cpus, port })
}

/// Checks `rdmabench pingpong` options that another process will run (a server and client
/// started by `rdmabench run`, or pods) with the same parser and rules as `pingpong` itself,
/// so a mistake is reported before anything is started or created.
pub fn check_options(options: &[String]) -> Result<()> {
    let argv = ["rdmabench", "pingpong", "--server"]
        .into_iter()
        .map(String::from)
        .chain(options.iter().cloned());
    let cli = crate::cli::Cli::try_parse_from(argv)
        .map_err(|e| anyhow::anyhow!("invalid pingpong options:\n{e}"))?;
    let crate::cli::Command::Pingpong(args) = cli.command else {
        bail!("invalid pingpong options");
    };
    plan(&args).context("invalid pingpong options")?;
    Ok(())
}

/// Options the Kubernetes runner sets itself on each end.
const SET_BY_RUNNER: &[&str] = &[
    "--server", "--local", "--bind", "--port", "--format", "--output",
];

/// Checks `rdmabench pingpong` options meant for remote ends (the pods of a Kubernetes run) with
/// the same parser and rules as a local run, so a typo fails here and not minutes later in a
/// pod. Returns them with `--provider efa` added when no provider or transport was chosen.
pub fn remote_options(options: &[String]) -> Result<Vec<String>> {
    for option in options {
        let flag = option.split('=').next().unwrap_or_default();
        if SET_BY_RUNNER.contains(&flag) {
            bail!("{option}: `rdmabench k8s` sets this itself on each end; remove it");
        }
    }
    check_options(options)?;
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
    Ok(remote)
}

fn progress_bar(total: usize) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} sizes {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Runs `rdmabench pingpong`; returns the process exit code.
pub fn run(args: &PingpongArgs) -> Result<i32> {
    let Plan {
        mut config,
        cpus,
        port,
    } = plan(args)?;
    let (lib, fallback_note) = load_library(&mut config.transport)?;
    config.interrupted = interrupt_flag()?;
    let started = SystemTime::now();
    let bar = progress_bar(config.sizes.len());
    let mut on_size = |_index: usize, _total: usize, row: &rdmabench_stats::SizeMeasurement| {
        bar.inc(1);
        bar.set_message(format!(
            "{} B: {:.2} usec",
            row.size_bytes,
            row.seed_usec().unwrap_or_default()
        ));
    };
    let (role, output) = if args.local {
        let server_cpu = cpus.as_ref().map(|c| c[0]);
        (
            "local",
            crate::local::run_local(args, &config, server_cpu, lib.as_ref(), &mut on_size),
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
            run_server(SocketAddr::new(ip, port), &config, lib.as_ref()).map_err(Into::into),
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
            run_client(&server, &config, lib.as_ref(), &mut on_size).map_err(Into::into),
        )
    };
    bar.finish_and_clear();
    let output: RunOutput = output.context(RUN_FAILED)?;
    let stopped = output.stopped.as_ref().map(|e| e.to_string());
    let interrupted = matches!(
        output.stopped,
        Some(rdmabench_engine::EngineError::Interrupted)
    );
    if output.same_host && !args.local {
        eprintln!(
            "rdmabench: both ends are on the same host (same boot id): the results measure this host's stack, not a link between two machines"
        );
    }
    let results = results_file(
        args,
        &config,
        cpus,
        port,
        role,
        started,
        output,
        fallback_note,
        stopped.as_deref(),
    );
    emit(
        &render(&results, report_format(args.format)),
        args.output.as_deref(),
    )?;
    match stopped {
        None => Ok(0),
        Some(reason) => {
            eprintln!(
                "error: the run stopped early after {} of {} sizes: {reason}",
                results.results.len(),
                config.sizes.len()
            );
            Ok(if interrupted { EXIT_INTERRUPTED } else { 1 })
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn results_file(
    args: &PingpongArgs,
    config: &PingPongConfig,
    cpus: Option<Vec<usize>>,
    port: u16,
    role: &str,
    started: SystemTime,
    output: RunOutput,
    fallback_note: Option<String>,
    stopped: Option<&str>,
) -> ResultsFile {
    let commit = env!("RDMABENCH_GIT_COMMIT");
    let (transport, provider) = match &config.transport {
        TransportChoice::Fabric(p) => ("fabric", p.label()),
        TransportChoice::Socket => ("socket", "none"),
    };
    let note = match (stopped, fallback_note) {
        (Some(reason), _) => Some(format!(
            "stopped after {} of {} sizes: {reason}",
            output.measurements.len(),
            config.sizes.len()
        )),
        (None, note) => note,
    };
    ResultsFile {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "rdmabench".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            git_commit: (!commit.is_empty()).then(|| commit.to_string()),
        },
        timestamp: humantime::format_rfc3339_seconds(started).to_string(),
        test: "pingpong".into(),
        complete: stopped.is_none(),
        note,
        parameters: Parameters {
            role: role.into(),
            transport: transport.into(),
            provider: provider.into(),
            api: match config.api {
                MessageApi::Msg => "msg".into(),
                MessageApi::Tagged => "tagged".into(),
            },
            sizes_bytes: config.sizes.clone(),
            iterations: match config.amount {
                Amount::Iterations(n) => Some(n),
                Amount::Duration(_) => None,
            },
            duration_ns: match config.amount {
                Amount::Duration(d) => Some(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
                Amount::Iterations(_) => None,
            },
            warmup_iterations: config.warmup,
            verify: config.verify,
            completion: match config.completion {
                Completion::BusyPoll => "busy-poll".into(),
                Completion::Wait => "wait".into(),
            },
            force_mr_local: args.force_mr_local,
            cpu: cpus,
            timeout_ns: u64::try_from(config.timeout.as_nanos()).unwrap_or(u64::MAX),
            port,
        },
        endpoints: Endpoints {
            local: output.local,
            peer: Some(output.peer),
            same_host: output.same_host,
        },
        fabric: output.fabric,
        results: output.measurements,
        placement: None,
        command_line: None,
    }
}
