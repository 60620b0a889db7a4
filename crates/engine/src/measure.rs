//! The ping-pong measurement: warm-up and timed round trips per size, with one monotonic
//! timestamp per iteration stored in a preallocated buffer (no allocation in the hot loop).

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use rdmabench_fabric::Library;
use rdmabench_report::model::{FabricInfo, HostFacts};
use rdmabench_stats::{LatencySummary, SizeMeasurement};

use crate::config::{Amount, PingPongConfig, MAX_SAMPLES};
use crate::error::EngineError;
use crate::oob::{ControlChannel, Message};
use crate::session::{accept, connect, listen, Session};
use crate::transport::Transport;

/// What a run produced; `stopped` is set when it ended early and `measurements` are partial.
#[derive(Debug)]
pub struct RunOutput {
    /// One row per completed size.
    pub measurements: Vec<SizeMeasurement>,
    /// This end's host facts.
    pub local: HostFacts,
    /// The peer's host facts.
    pub peer: HostFacts,
    /// Whether both ends ran on one host.
    pub same_host: bool,
    /// The provider used (fabric transport only).
    pub fabric: Option<FabricInfo>,
    /// Why the run stopped before all sizes were measured.
    pub stopped: Option<EngineError>,
}

/// Called after each size completes: (index, number of sizes, the row).
pub type ProgressFn<'a> = dyn FnMut(usize, usize, &SizeMeasurement) + 'a;

/// Byte `offset` of the payload of round trip `iteration`: varies per iteration so a stale
/// buffer cannot pass verification.
fn pattern(iteration: u64, offset: usize) -> u8 {
    (iteration.wrapping_mul(131).wrapping_add(offset as u64) & 0xff) as u8
}

fn fill(buffer: &mut [u8], len: usize, iteration: u64) {
    for (offset, byte) in buffer[..len].iter_mut().enumerate() {
        *byte = pattern(iteration, offset);
    }
}

fn check(buffer: &[u8], size: u64, iteration: u64) -> Result<(), EngineError> {
    let len = size as usize;
    match buffer[..len]
        .iter()
        .enumerate()
        .find(|(offset, byte)| **byte != pattern(iteration, *offset))
    {
        None => Ok(()),
        Some((offset, &actual)) => Err(EngineError::Corrupted {
            size,
            iteration,
            offset,
            expected: pattern(iteration, offset),
            actual,
        }),
    }
}

/// Everything the watchdog needs to decide whether a wait should go on.
struct Watch<'a> {
    control: &'a mut ControlChannel,
    config: &'a PingPongConfig,
    completed: &'a Cell<u64>,
    reason: &'a RefCell<Option<EngineError>>,
    during: String,
    last_completed: u64,
    idle_since: Instant,
}

impl Watch<'_> {
    fn keep_waiting(&mut self) -> bool {
        let failure = if self.config.interrupted.load(Ordering::Relaxed) {
            Some(EngineError::Interrupted)
        } else if let Err(e) = self.control.check_alive(&self.during) {
            Some(e)
        } else {
            let now = self.completed.get();
            if now != self.last_completed {
                self.last_completed = now;
                self.idle_since = Instant::now();
                None
            } else if self.idle_since.elapsed() > self.config.timeout {
                Some(EngineError::Stalled {
                    timeout: self.config.timeout,
                    during: self.during.clone(),
                })
            } else {
                None
            }
        };
        match failure {
            None => true,
            Some(e) => {
                *self.reason.borrow_mut() = Some(e);
                false
            }
        }
    }
}

/// Runs one phase of `round_trips` round trips with the transport; the client times them into
/// `samples` when given. Returns the wall-clock time of the phase in ns.
#[allow(clippy::too_many_arguments)]
fn run_phase(
    transport: &mut dyn Transport,
    control: &mut ControlChannel,
    config: &PingPongConfig,
    size: u64,
    round_trips: u64,
    first_iteration: u64,
    initiator: bool,
    mut samples: Option<&mut Vec<u64>>,
) -> Result<u64, EngineError> {
    let len = size as usize;
    let completed = Cell::new(0u64);
    let reason = RefCell::new(None);
    let mut watch = Watch {
        control,
        config,
        completed: &completed,
        reason: &reason,
        during: format!("during the {size}-byte round trips"),
        last_completed: 0,
        idle_since: Instant::now(),
    };
    let mut watchdog = || watch.keep_waiting();
    let result = (|| {
        let start = Instant::now();
        let mut previous = start;
        for i in 0..round_trips {
            let iteration = first_iteration + i;
            let last = i + 1 == round_trips;
            if initiator {
                if config.verify {
                    fill(transport.send_buffer()?, len, iteration);
                }
                transport.send(len, &mut watchdog)?;
                transport.complete_receive(len, &mut watchdog)?;
                if config.verify {
                    check(transport.receive_buffer()?, size, iteration)?;
                }
                if !last {
                    transport.post_receive(len, &mut watchdog)?;
                }
            } else {
                transport.complete_receive(len, &mut watchdog)?;
                if config.verify {
                    check(transport.receive_buffer()?, size, iteration)?;
                    let echo = transport.receive_buffer()?[..len].to_vec();
                    transport.send_buffer()?[..len].copy_from_slice(&echo);
                }
                if !last {
                    transport.post_receive(len, &mut watchdog)?;
                }
                transport.send(len, &mut watchdog)?;
            }
            // Only the initiator times iterations; the responder's clock stays off the path.
            if let Some(samples) = samples.as_deref_mut() {
                let now = Instant::now();
                samples.push(nanos(now.duration_since(previous)));
                previous = now;
            }
            completed.set(i + 1);
        }
        if samples.is_none() {
            previous = Instant::now();
        }
        Ok(nanos(previous.duration_since(start)))
    })();
    result.map_err(|e| {
        // After Ctrl-C the other end may notice first and hang up; report the cause, not that.
        if config.interrupted.load(Ordering::Relaxed) {
            EngineError::Interrupted
        } else {
            reason.borrow_mut().take().unwrap_or(e)
        }
    })
}

fn nanos(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Client: one size = a warm-up phase, then the timed phase.
fn measure_size(
    session: &mut Session,
    config: &PingPongConfig,
    size: u64,
    samples: &mut Vec<u64>,
) -> Result<SizeMeasurement, EngineError> {
    let warmup = match config.amount {
        Amount::Iterations(n) => config.warmup_for(n),
        Amount::Duration(_) => config.warmup.unwrap_or(1000),
    };
    let warmup_ns = client_phase(session, config, size, warmup, 0, None)?;
    let iterations = match config.amount {
        Amount::Iterations(n) => n,
        Amount::Duration(d) => {
            let per_round_trip = (warmup_ns / warmup.max(1)).max(1);
            (nanos(d) / per_round_trip).clamp(1, MAX_SAMPLES)
        }
    };
    // Touch every sample slot now, so page faults happen before the clock starts.
    samples.clear();
    samples.resize(iterations as usize, 0);
    samples.clear();
    let total_ns = client_phase(session, config, size, iterations, warmup, Some(samples))?;
    let latency = LatencySummary::from_round_trips(samples)
        .ok_or_else(|| EngineError::Protocol("no samples were recorded".into()))?;
    Ok(SizeMeasurement::pingpong(
        size, iterations, warmup, total_ns, latency,
    ))
}

fn client_phase(
    session: &mut Session,
    config: &PingPongConfig,
    size: u64,
    round_trips: u64,
    first_iteration: u64,
    samples: Option<&mut Vec<u64>>,
) -> Result<u64, EngineError> {
    if round_trips == 0 {
        return Ok(0);
    }
    session.control.send(&Message::Phase {
        size,
        round_trips,
        first_iteration,
    })?;
    match session
        .control
        .receive("waiting for the server to post its receive")?
    {
        Message::Ready => {}
        other => {
            return Err(EngineError::Protocol(format!(
                "expected Ready, got {other:?}"
            )))
        }
    }
    if config.interrupted.load(Ordering::Relaxed) {
        return Err(EngineError::Interrupted);
    }
    session.transport.post_receive(size as usize, &mut || {
        !config.interrupted.load(Ordering::Relaxed)
    })?;
    run_phase(
        session.transport.as_mut(),
        &mut session.control,
        config,
        size,
        round_trips,
        first_iteration,
        true,
        samples,
    )
}

fn finish(
    session: Session,
    measurements: Vec<SizeMeasurement>,
    stopped: Option<EngineError>,
) -> RunOutput {
    let same_host = session.same_host();
    RunOutput {
        measurements,
        same_host,
        local: session.local,
        peer: session.peer,
        fabric: session.fabric,
        stopped,
    }
}

/// Checks parameters that would otherwise fail deep inside a run; public so a caller that
/// starts the run elsewhere (another process, a pod) can refuse them before it starts.
pub fn validate(config: &PingPongConfig) -> Result<(), EngineError> {
    if config.sizes.is_empty() {
        return Err(EngineError::InvalidParameters(
            "no message sizes given".into(),
        ));
    }
    if matches!(config.amount, Amount::Duration(_)) && config.warmup == Some(0) {
        return Err(EngineError::InvalidParameters(
            "--duration estimates the iteration count from the warm-up, so --warmup must be at least 1".into(),
        ));
    }
    if let Amount::Iterations(n) = config.amount {
        if n > MAX_SAMPLES {
            return Err(EngineError::InvalidParameters(format!(
                "--iters {n} is above the limit of {MAX_SAMPLES} per size (every round trip is kept in memory); use fewer iterations or --repeat runs"
            )));
        }
    }
    Ok(())
}

/// Client role: connect, measure every size, tell the server we are done.
pub fn run_client(
    server: &str,
    config: &PingPongConfig,
    lib: Option<&Arc<Library>>,
    progress: &mut ProgressFn,
) -> Result<RunOutput, EngineError> {
    validate(config)?;
    crate::pinning::pin(config.cpu)?;
    let mut session = connect(server, config, lib)?;
    let capacity = match config.amount {
        Amount::Iterations(n) => n,
        Amount::Duration(_) => MAX_SAMPLES,
    };
    let mut samples = Vec::with_capacity(capacity as usize);
    let mut measurements = Vec::with_capacity(config.sizes.len());
    for (index, &size) in config.sizes.iter().enumerate() {
        match measure_size(&mut session, config, size, &mut samples) {
            Ok(row) => {
                progress(index, config.sizes.len(), &row);
                measurements.push(row);
            }
            Err(e) => {
                session.control.abort(&e.to_string());
                return Ok(finish(session, measurements, Some(e)));
            }
        }
    }
    let done = session.control.send(&Message::Finished {
        results: measurements.clone(),
    });
    Ok(finish(session, measurements, done.err()))
}

/// Server role on an already-bound listener: serve one client's run.
fn serve(
    listener: &std::net::TcpListener,
    config: &PingPongConfig,
    lib: Option<&Arc<Library>>,
) -> Result<RunOutput, EngineError> {
    validate(config)?;
    crate::pinning::pin(config.cpu)?;
    let mut session = accept(listener, config, lib)?;
    loop {
        let message = match session
            .control
            .receive("waiting for the client's next request")
        {
            Ok(m) => m,
            Err(e) => return Ok(finish(session, Vec::new(), Some(e))),
        };
        match message {
            Message::Phase {
                size,
                round_trips,
                first_iteration,
            } => {
                if !config.sizes.contains(&size) {
                    return session
                        .control
                        .abort_on_error(Err(EngineError::Protocol(format!(
                        "the client asked for size {size}, which is not in this server's --sizes"
                    ))));
                }
                let served = session
                    .transport
                    .post_receive(size as usize, &mut || {
                        !config.interrupted.load(Ordering::Relaxed)
                    })
                    .and_then(|()| session.control.send(&Message::Ready))
                    .and_then(|()| {
                        run_phase(
                            session.transport.as_mut(),
                            &mut session.control,
                            config,
                            size,
                            round_trips,
                            first_iteration,
                            false,
                            None,
                        )
                    });
                if let Err(e) = served {
                    session.control.abort(&e.to_string());
                    return Ok(finish(session, Vec::new(), Some(e)));
                }
            }
            Message::Finished { results } => return Ok(finish(session, results, None)),
            other => {
                return Err(EngineError::Protocol(format!(
                    "unexpected message from the client: {other:?}"
                )))
            }
        }
    }
}

/// Server role: listen on `bind` and serve one client's run.
pub fn run_server(
    bind: SocketAddr,
    config: &PingPongConfig,
    lib: Option<&Arc<Library>>,
) -> Result<RunOutput, EngineError> {
    let listener = listen(bind)?;
    serve(&listener, config, lib)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_catches_a_stale_or_corrupted_payload() {
        let mut buffer = vec![0u8; 64];
        fill(&mut buffer, 64, 7);
        assert!(check(&buffer, 64, 7).is_ok());
        assert!(matches!(
            check(&buffer, 64, 8),
            Err(EngineError::Corrupted { iteration: 8, .. })
        ));
        buffer[10] ^= 0xff;
        assert!(matches!(
            check(&buffer, 64, 7),
            Err(EngineError::Corrupted { offset: 10, .. })
        ));
    }
}
