//! `rdmabench agent`: one per host, waiting for `rdmabench matrix` coordinators.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::{Context, Result};
use rdmabench_engine::agent::{run_agent, AgentExit};
use rdmabench_engine::session::listen;
use rdmabench_fabric::{FabricError, Library};
use rdmabench_stats::parse_duration;

use crate::cli::AgentArgs;
use crate::interrupt::{self, EXIT_INTERRUPTED};

/// Runs the agent until Ctrl-C or its idle limit; returns the exit code.
pub fn run(args: &AgentArgs) -> Result<i32> {
    let ip: IpAddr = args.bind.parse().with_context(|| {
        format!(
            "invalid --bind '{}': expected an IP address such as 0.0.0.0 or 127.0.0.1",
            args.bind
        )
    })?;
    let idle = parse_duration(&args.idle_timeout).context("--idle-timeout")?;
    // Coordinators may ask for fabric or socket runs: without libfabric only socket ones work.
    let lib = match Library::load() {
        Ok(lib) => Some(Arc::new(lib)),
        Err(e @ FabricError::LibraryNotFound { .. }) => {
            eprintln!("rdmabench: {e}; this agent serves kernel-TCP (socket) runs only");
            None
        }
        Err(e) => return Err(e).context("loading libfabric"),
    };
    let interrupted = interrupt::flag()?;
    let listener = listen(SocketAddr::new(ip, args.port))?;
    eprintln!(
        "rdmabench: agent listening on {ip}:{} (exits after {} without a request)",
        args.port, args.idle_timeout
    );
    let exit = run_agent(&listener, lib.as_ref(), idle, &interrupted, &mut |line| {
        eprintln!("rdmabench agent: {line}")
    })?;
    match exit {
        AgentExit::Interrupted => {
            eprintln!("rdmabench: agent stopped");
            Ok(EXIT_INTERRUPTED)
        }
        AgentExit::Idle => {
            eprintln!(
                "rdmabench: agent exiting: no request for {}",
                args.idle_timeout
            );
            Ok(0)
        }
    }
}
