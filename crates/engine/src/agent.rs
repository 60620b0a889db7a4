//! `rdmabench agent` and the matrix coordinator: agents wait on the out-of-band port; the
//! coordinator measures one pair at a time by telling one agent to serve the next run and the
//! other to run a client against it, so pairs never disturb each other. Every wait is bounded.

use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdmabench_fabric::Library;
use rdmabench_stats::SizeMeasurement;

use crate::config::{RunConfig, RunSpec};
use crate::error::EngineError;
use crate::measure::{run_client, serve, validate};
use crate::oob::{ControlChannel, Message};
use crate::session::connect_within;

/// How long an agent waits for a connected coordinator's request, and the coordinator for an
/// agent's answer that needs no measurement.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the coordinator tries to reach an agent: agents are already listening, so a
/// refused or silent connection means the host is down.
const AGENT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the agent's accept loop looks at Ctrl-C and its idle limit.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Why an agent stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentExit {
    /// Ctrl-C or SIGTERM.
    Interrupted,
    /// No coordinator came for the idle limit.
    Idle,
}

/// Serves coordinators on `listener` until Ctrl-C or `idle_limit` without a request. A failed
/// request is reported to its coordinator and logged; the agent goes on.
pub fn run_agent(
    listener: &TcpListener,
    lib: Option<&Arc<Library>>,
    idle_limit: Duration,
    interrupted: &Arc<AtomicBool>,
    log: &mut dyn FnMut(&str),
) -> Result<AgentExit, EngineError> {
    let mut idle_since = Instant::now();
    loop {
        listener
            .set_nonblocking(true)
            .map_err(EngineError::io("configuring the agent's listening socket"))?;
        match listener.accept() {
            Ok((stream, from)) => {
                stream
                    .set_nonblocking(false)
                    .map_err(EngineError::io("configuring a coordinator's connection"))?;
                if let Err(e) = handle_request(stream, listener, lib, interrupted, log) {
                    log(&format!("request from {from} failed: {e}"));
                }
                idle_since = Instant::now();
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(EngineError::io("accepting a coordinator")(e)),
        }
        if interrupted.load(Ordering::Relaxed) {
            return Ok(AgentExit::Interrupted);
        }
        if idle_since.elapsed() >= idle_limit {
            return Ok(AgentExit::Idle);
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

fn handle_request(
    stream: TcpStream,
    listener: &TcpListener,
    lib: Option<&Arc<Library>>,
    interrupted: &Arc<AtomicBool>,
    log: &mut dyn FnMut(&str),
) -> Result<(), EngineError> {
    let mut control = ControlChannel::new(stream, REQUEST_TIMEOUT)?;
    match control.receive("waiting for the coordinator's request")? {
        Message::Serve { spec } => {
            let config = RunConfig::from_spec(&spec, Arc::clone(interrupted));
            control.abort_on_error(validate(&config))?;
            control.send(&Message::Serving)?;
            log(&format!("serving a {} run", spec.test.name()));
            let error = match serve(listener, &config, lib) {
                Ok(output) => output.stopped.map(|e| e.to_string()),
                Err(e) => Some(e.to_string()),
            };
            control.send(&Message::Served { error })
        }
        Message::Measure { peer, spec } => {
            let config = RunConfig::from_spec(&spec, Arc::clone(interrupted));
            log(&format!("measuring {} against {peer}", spec.test.name()));
            let (results, error, provider) =
                match run_client(&peer, &config, lib, &mut |_, _, _| {}) {
                    Ok(output) => (
                        output.measurements,
                        output.stopped.map(|e| e.to_string()),
                        output.fabric.map(|f| f.provider),
                    ),
                    Err(e) => (Vec::new(), Some(e.to_string()), None),
                };
            control.send(&Message::Measured {
                results,
                error,
                provider,
            })
        }
        Message::Hello { .. } => {
            control.abort(
                "this is an rdmabench agent: measure against it with `rdmabench matrix`, or start `rdmabench pingpong --server` for a single run",
            );
            Ok(())
        }
        other => Err(EngineError::Protocol(format!(
            "unexpected request {other:?}"
        ))),
    }
}

/// What one pair of a matrix produced.
#[derive(Debug, Clone, PartialEq)]
pub struct PairOutcome {
    /// One row per size the client agent completed.
    pub results: Vec<SizeMeasurement>,
    /// Why the pair failed or stopped early, None when complete.
    pub error: Option<String>,
    /// The provider the pair measured over (fabric transport), None on the socket transport or
    /// when no endpoint was opened.
    pub provider: Option<String>,
}

fn reach(
    agent: &str,
    spec: &RunSpec,
    interrupted: &Arc<AtomicBool>,
) -> Result<TcpStream, EngineError> {
    let mut config = RunConfig::from_spec(spec, Arc::clone(interrupted));
    config.timeout = AGENT_CONNECT_TIMEOUT;
    connect_within(agent, &config).map_err(|e| match e {
        EngineError::PeerUnreachable { last_error, .. } => EngineError::AgentUnreachable {
            agent: agent.to_string(),
            last_error,
        },
        other => other,
    })
}

/// Measures `client` against `server` (both agents): the client agent is reached first, so an
/// unreachable client never leaves the server waiting; the server's own report is awaited
/// before returning, so the next pair finds both agents idle. `limit` bounds the measurement.
pub fn measure_pair(
    client: &str,
    server: &str,
    spec: &RunSpec,
    limit: Duration,
    interrupted: &Arc<AtomicBool>,
) -> PairOutcome {
    match try_pair(client, server, spec, limit, interrupted) {
        Ok(outcome) => outcome,
        Err(e) => PairOutcome {
            results: Vec::new(),
            error: Some(e.to_string()),
            provider: None,
        },
    }
}

fn try_pair(
    client: &str,
    server: &str,
    spec: &RunSpec,
    limit: Duration,
    interrupted: &Arc<AtomicBool>,
) -> Result<PairOutcome, EngineError> {
    let timeout = Duration::from_nanos(spec.timeout_ns);
    let mut measuring = ControlChannel::new(reach(client, spec, interrupted)?, limit)?;
    // The server reports after its run ends, which a failing client takes up to its timeout.
    let mut serving =
        ControlChannel::new(reach(server, spec, interrupted)?, timeout + REQUEST_TIMEOUT)?;
    serving.send(&Message::Serve { spec: spec.clone() })?;
    match serving.receive(&format!("waiting for agent {server} to serve"))? {
        Message::Serving => {}
        other => {
            return Err(EngineError::Protocol(format!(
                "agent {server} answered {other:?} instead of serving"
            )))
        }
    }
    measuring.send(&Message::Measure {
        peer: server.to_string(),
        spec: spec.clone(),
    })?;
    let measured = measuring.receive(&format!(
        "waiting for agent {client}'s measurement against {server}"
    ))?;
    let served = serving.receive(&format!("waiting for agent {server}'s end of the run"));
    let Message::Measured {
        results,
        error,
        provider,
    } = measured
    else {
        return Err(EngineError::Protocol(format!(
            "agent {client} answered {measured:?} instead of its measurement"
        )));
    };
    let server_error = match served {
        Ok(Message::Served { error }) => error,
        Ok(other) => Some(format!("agent {server} answered {other:?}")),
        Err(e) => Some(e.to_string()),
    };
    Ok(PairOutcome {
        results,
        error: error.or(server_error.map(|e| format!("server side: {e}"))),
        provider,
    })
}
