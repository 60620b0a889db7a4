//! `pingpong --local` and `bw --local`: both ends on this machine as two processes, like two hosts would be.
//! Two processes rather than two threads because that is how every real run looks, and because
//! libfabric's shm provider crashes when both ends share one process.

use std::io::Read;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::ValueEnum;
use rdmabench_engine::{run_client, EngineError, RunConfig, RunOutput, Test, TransportChoice};
use rdmabench_fabric::Library;

use crate::cli::{CommonArgs, FabricArg};

/// Context put on every failure to start or finish a run; the server's own errors are shown
/// without it.
pub const RUN_FAILED: &str = "the measurement could not run";

/// How long the server process may take to exit after the client is done.
const SERVER_EXIT_GRACE: Duration = Duration::from_secs(10);

fn value_name<T: ValueEnum>(value: &T) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

/// The test's own options, which the other end must be given too.
fn test_flags(test: Test) -> Vec<String> {
    match test {
        Test::PingPong => Vec::new(),
        Test::RmaLatency { op } => vec!["--op".into(), op.name().into()],
        Test::RmaBandwidth { op, window } => vec![
            "--op".into(),
            op.name().into(),
            "--bw".into(),
            "--window".into(),
            window.to_string(),
        ],
        Test::Bandwidth {
            window,
            bidirectional,
            method,
        } => {
            let mut flags = vec![
                "--window".to_string(),
                window.to_string(),
                "--method".into(),
                method.name().into(),
            ];
            if bidirectional {
                flags.push("--bidirectional".into());
            }
            flags
        }
    }
}

/// The options the server must share with the client (the handshake checks them).
fn server_args(
    args: &CommonArgs,
    config: &RunConfig,
    port: u16,
    cpu: Option<usize>,
) -> Vec<String> {
    let mut out: Vec<String> = vec![config.test.subcommand().into()];
    out.extend(test_flags(config.test));
    out.extend([
        "--server".into(),
        "--bind".into(),
        "127.0.0.1".into(),
        "--port".into(),
        port.to_string(),
        "--format".into(),
        "json".into(),
        "--timeout".into(),
        args.measure.timeout.clone(),
        "--api".into(),
        value_name(&args.measure.api),
    ]);
    match config.transport {
        // Follow the client's resolution, including a fallback to kernel TCP.
        TransportChoice::Socket => out.extend(["--transport".into(), "socket".into()]),
        TransportChoice::Fabric(_) => {
            out.extend(["--provider".into(), value_name(&args.measure.provider)]);
        }
    }
    if args.measure.sweep {
        out.push("--sweep".into());
    } else {
        out.extend(["--sizes".into(), args.measure.sizes.clone()]);
    }
    let optional = [
        ("--iters", &args.measure.iters),
        ("--duration", &args.measure.duration),
        ("--precision", &args.measure.precision),
        ("--warmup", &args.measure.warmup),
    ];
    for (flag, value) in optional {
        if let Some(value) = value {
            out.extend([flag.to_string(), value.clone()]);
        }
    }
    if args.measure.fabric != FabricArg::Auto {
        out.extend(["--fabric".into(), value_name(&args.measure.fabric)]);
    }
    for (flag, on) in [
        ("--verify", args.measure.verify),
        ("--wait", args.measure.wait),
        ("--force-mr-local", args.measure.force_mr_local),
        ("--require-device-rdma", args.measure.require_device_rdma),
    ] {
        if on {
            out.push(flag.into());
        }
    }
    if let Some(cpu) = cpu {
        out.extend(["--cpu".into(), cpu.to_string()]);
    }
    out
}

fn free_loopback_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port on 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}

/// Waits for the server process to exit, killing it after the grace period; returns its stderr
/// when it failed.
fn reap(mut child: Child) -> Option<String> {
    let deadline = Instant::now() + SERVER_EXIT_GRACE;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                break child.wait().ok();
            }
        }
    };
    let mut text = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = stderr.read_to_string(&mut text);
    }
    match status {
        Some(s) if s.success() => None,
        // Keep the server's error lines; its progress messages would only repeat ours.
        _ => Some(
            text.lines()
                .filter_map(|line| line.strip_prefix("error: "))
                .map(|line| {
                    line.strip_prefix(RUN_FAILED)
                        .map_or(line, |rest| rest.trim_start_matches(": "))
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
    }
}

/// Runs the server as a child process on a free loopback port (or `--port`) and the client here.
pub fn run_local(
    args: &CommonArgs,
    config: &RunConfig,
    server_cpu: Option<usize>,
    lib: Option<&Arc<Library>>,
    progress: &mut dyn FnMut(usize, usize, &rdmabench_stats::SizeMeasurement),
) -> Result<RunOutput> {
    let port = match args.port {
        Some(port) => port,
        None => free_loopback_port()?,
    };
    let exe = std::env::current_exe().context("locating the rdmabench executable")?;
    let child = Command::new(exe)
        .args(server_args(args, config, port, server_cpu))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting the local server process")?;
    let client = run_client(&format!("127.0.0.1:{port}"), config, lib, progress);
    let server_failure = reap(child);
    match (client, server_failure) {
        (Ok(output), _) => Ok(output),
        // The server's own message explains a failed handshake best (e.g. no such provider).
        (Err(EngineError::Handshake(_) | EngineError::PeerUnreachable { .. }), Some(server))
            if !server.is_empty() =>
        {
            Err(anyhow::anyhow!("the local server failed: {server}"))
        }
        (Err(e), _) => Err(e.into()),
    }
}
