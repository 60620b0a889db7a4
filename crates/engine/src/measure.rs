//! A run's measurement, whatever the test: per size a warm-up and a timed phase of round trips
//! or windows, one monotonic timestamp per unit stored in a preallocated buffer (no allocation
//! in the hot loop), coordinated over the control connection and watched for a dead or stalled
//! peer.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use rdmabench_fabric::{Library, MessageApi};
use rdmabench_results::{FabricInfo, HostFacts};
use rdmabench_stats::precision::{self, Precision, StopReason};
use rdmabench_stats::{LatencySummary, Quality, SizeMeasurement};

use crate::bandwidth::{self, Shape};
use crate::config::{
    Amount, BandwidthMethod, FabricChoice, ProviderChoice, RmaOp, RunConfig, Test, TransportChoice,
    MAX_SAMPLES, MAX_WINDOW,
};
use crate::error::EngineError;
use crate::interference::HostSample;
use crate::oob::{ControlChannel, Message};
use crate::pingpong;
use crate::rma;
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

/// Everything the watchdog needs to decide whether a wait should go on.
struct Watch<'a> {
    control: &'a mut ControlChannel,
    config: &'a RunConfig,
    completed: &'a Cell<u64>,
    reason: &'a RefCell<Option<EngineError>>,
    during: String,
    last_completed: u64,
    idle_since: Instant,
    /// A passive RMA target: the initiator's PhaseDone ends the wait (it sets `phase_done`),
    /// and no progress of our own is expected, so there is no stall limit.
    passive: bool,
    phase_done: &'a Cell<bool>,
    /// Units of the size done before this phase, for the progress shown.
    progress_base: u64,
}

impl Watch<'_> {
    fn keep_waiting(&mut self) -> bool {
        let failure = if self.config.interrupted.load(Ordering::Relaxed) {
            Some(EngineError::Interrupted)
        } else if self.passive {
            match self.control.poll(&self.during) {
                Ok(None) => None,
                Ok(Some(Message::PhaseDone)) => {
                    self.phase_done.set(true);
                    return false;
                }
                Ok(Some(other)) => Some(EngineError::Protocol(format!(
                    "unexpected control message {}: {other:?}",
                    self.during
                ))),
                Err(e) => Some(e),
            }
        } else if let Err(e) = self.control.check_alive(&self.during) {
            Some(e)
        } else {
            let now = self.completed.get();
            if now != self.last_completed {
                self.last_completed = now;
                self.config.progress.set_done(self.progress_base + now);
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

/// Runs one phase of `units` round trips or windows with the transport, the watchdog keeping
/// an eye on the peer; the initiator times units into `samples` when given. Returns the
/// wall-clock time of the phase in ns.
/// One phase of a size, as every test's loop takes it: `units` round trips or windows from
/// iteration `first`, on the initiating end or the other, timed into `samples` (initiator,
/// timed phase), with the count of finished units that the watchdog reads to tell a stall.
pub(crate) struct Phase<'a> {
    /// The run.
    pub config: &'a RunConfig,
    /// Message size in bytes.
    pub size: u64,
    /// Round trips or windows in this phase.
    pub units: u64,
    /// Iteration number of the first unit (warm-up and timed phases continue one count, which
    /// --verify's patterns follow).
    pub first: u64,
    /// This end starts each unit.
    pub initiator: bool,
    /// Where each unit's time goes, when timed here.
    pub samples: Option<&'a mut Vec<u64>>,
    /// Units finished so far.
    pub completed: &'a Cell<u64>,
}

#[allow(clippy::too_many_arguments)]
fn run_phase(
    transport: &mut dyn Transport,
    control: &mut ControlChannel,
    config: &RunConfig,
    size: u64,
    units: u64,
    first_iteration: u64,
    initiator: bool,
    samples: Option<&mut Vec<u64>>,
    progress_base: u64,
) -> Result<u64, EngineError> {
    let completed = Cell::new(0u64);
    let reason = RefCell::new(None);
    let phase_done = Cell::new(false);
    let mut watch = Watch {
        control,
        config,
        completed: &completed,
        reason: &reason,
        during: format!("during the {size}-byte {}", config.test.unit_plural()),
        last_completed: 0,
        idle_since: Instant::now(),
        passive: !initiator && config.test.passive_target(),
        phase_done: &phase_done,
        progress_base,
    };
    let mut watchdog = || watch.keep_waiting();
    let phase = Phase {
        config,
        size,
        units,
        first: first_iteration,
        initiator,
        samples,
        completed: &completed,
    };
    let result = match config.test {
        Test::RmaLatency { op } => rma::latency(transport, op, phase, &mut watchdog),
        Test::RmaBandwidth { op, .. } => rma::windows(transport, op, phase, &mut watchdog),
        Test::PingPong => pingpong::round_trips(transport, phase, &mut watchdog),
        Test::Bandwidth { .. } => bandwidth::windows(
            transport,
            Shape::of(config.test).expect("a bandwidth test has a shape"),
            phase,
            &mut watchdog,
        ),
    };
    if phase_done.get() {
        return Ok(0);
    }
    result.map_err(|e| {
        // After Ctrl-C the other end may notice first and hang up; report the cause, not that.
        if config.interrupted.load(Ordering::Relaxed) {
            EngineError::Interrupted
        } else {
            reason.borrow_mut().take().unwrap_or(e)
        }
    })
}

/// Posts what a phase starts with on this end, before the peer may send.
fn prepare(
    transport: &mut dyn Transport,
    config: &RunConfig,
    size: u64,
    first: u64,
    initiator: bool,
) -> Result<(), EngineError> {
    let watchdog = &mut || !config.interrupted.load(Ordering::Relaxed);
    match config.test {
        Test::PingPong => pingpong::prepare(transport, size, watchdog),
        Test::Bandwidth { .. } => bandwidth::prepare(
            transport,
            Shape::of(config.test).expect("a bandwidth test has a shape"),
            size,
            initiator,
            watchdog,
        ),
        Test::RmaLatency { op } | Test::RmaBandwidth { op, .. } => {
            rma::prepare(transport, config, op, size, first, initiator)
        }
    }
}

/// A phase's clock: one monotonic timestamp per unit, each gap pushed into the initiator's
/// samples (the responder keeps its clock off the path). Reads CLOCK_MONOTONIC (what Instant
/// reads) as plain nanoseconds: a lap is then one subtraction, not Instant::duration_since's
/// checked arithmetic and a u128 conversion (about 70 instructions per round trip under
/// callgrind).
pub(crate) struct PhaseClock<'a> {
    start: u64,
    previous: u64,
    samples: Option<&'a mut Vec<u64>>,
}

/// CLOCK_MONOTONIC in ns: the per-unit timestamp (its cost is `host::clock_overhead_ns`).
#[inline]
pub(crate) fn monotonic_ns() -> u64 {
    use nix::time::{clock_gettime, ClockId};
    // CLOCK_MONOTONIC cannot fail on Linux; a 0 would only make one lap saturate to 0.
    match clock_gettime(ClockId::CLOCK_MONOTONIC) {
        Ok(ts) => u64::try_from(ts.tv_sec())
            .unwrap_or(0)
            .wrapping_mul(1_000_000_000)
            .wrapping_add(u64::try_from(ts.tv_nsec()).unwrap_or(0)),
        Err(_) => 0,
    }
}

impl<'a> PhaseClock<'a> {
    /// Starts the clock.
    pub(crate) fn start(samples: Option<&'a mut Vec<u64>>) -> Self {
        let start = monotonic_ns();
        PhaseClock {
            start,
            previous: start,
            samples,
        }
    }

    /// Ends a unit (round trip or window).
    #[inline]
    pub(crate) fn lap(&mut self) {
        if let Some(samples) = self.samples.as_deref_mut() {
            let now = monotonic_ns();
            samples.push(now.saturating_sub(self.previous));
            self.previous = now;
        }
    }

    /// The phase's wall-clock time in ns: exactly the sum of the laps when timed.
    pub(crate) fn stop(self) -> u64 {
        let end = if self.samples.is_some() {
            self.previous
        } else {
            monotonic_ns()
        };
        end.saturating_sub(self.start)
    }
}

/// Nanoseconds of a duration, saturating.
pub(crate) fn nanos(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Client: one size = a warm-up phase, then the timed phase, in units of round trips
/// (ping-pong) or windows (bandwidth), with what the host did during the timed phase.
fn measure_size(
    session: &mut Session,
    config: &RunConfig,
    size: u64,
    samples: &mut Vec<u64>,
) -> Result<SizeMeasurement, EngineError> {
    let per_unit = config.test.depth() as u64;
    let iterations = match config.amount {
        Amount::Iterations(n) => Some(n),
        Amount::Duration(_) => None,
    };
    let warmup = config.warmup_for(iterations, size).div_ceil(per_unit);
    let first = warmup * per_unit;
    // Until --duration's warm-up gives a rate, its plan is the warm-up itself.
    let planned = match (config.precision, config.amount) {
        (None, Amount::Duration(_)) => 0,
        (_, Amount::Iterations(n)) => n.clamp(1, MAX_SAMPLES).div_ceil(per_unit),
        (Some(_), Amount::Duration(_)) => MAX_SAMPLES,
    };
    config.progress.start(warmup + planned);
    // --duration sizes its first timed phase from the warm-up's median unit.
    samples.clear();
    let warmup_samples =
        (iterations.is_none() && config.precision.is_none()).then_some(&mut *samples);
    client_phase(session, config, size, warmup, 0, warmup_samples)?;
    let host = HostSample::now();
    let (units, total_ns, precision) = match (config.precision, config.amount) {
        (Some(target), _) => to_precision(session, config, size, first, target, samples)?,
        (None, Amount::Duration(d)) => {
            // The mean warm-up unit without the first, which can carry a provider's lazy
            // connection setup (tens of ms for tcp;ofi_rxm): on a busy host the mean is many
            // times the median, and only the mean predicts how long a phase takes.
            let rest = samples
                .get(1..)
                .filter(|r| !r.is_empty())
                .unwrap_or(samples);
            let per_unit_ns = (rest.iter().sum::<u64>() / rest.len().max(1) as u64).max(1);
            let (units, total_ns) =
                for_duration(session, config, size, first, nanos(d), per_unit_ns, samples)?;
            (units, total_ns, None)
        }
        (None, Amount::Iterations(n)) => {
            let units = n.div_ceil(per_unit).max(1);
            let total_ns = if config.loop_timed {
                samples.clear();
                client_phase(session, config, size, units, first, None)?
            } else {
                touch(samples, units);
                client_phase(session, config, size, units, first, Some(samples))?
            };
            (units, total_ns, None)
        }
    };
    let host = host.since();
    let row = measured_row(config, size, units, warmup, first, total_ns, samples)?;
    let quality = Quality::measured(row.latency.as_ref(), Some(host), precision);
    Ok(SizeMeasurement {
        quality: Some(quality),
        ..row
    })
}

/// A `--duration` phase takes at most this fraction of the budget at the rate seen so far.
const DURATION_PHASES: u64 = 8;

/// `--duration`: timed units in phases until `budget_ns` of timed time has passed (or
/// MAX_SAMPLES units). The first phase is a sixteenth of what the warm-up's `per_unit_ns` (its
/// mean) predicts, each next one half of what the rate measured so far leaves room for, and
/// at most an eighth of the budget: on a busy machine, where the mean unit is many times the
/// median, the clock and not the warm-up's guess ends the run. Returns the units and their
/// total time.
fn for_duration(
    session: &mut Session,
    config: &RunConfig,
    size: u64,
    first: u64,
    budget_ns: u64,
    per_unit_ns: u64,
    samples: &mut Vec<u64>,
) -> Result<(u64, u64), EngineError> {
    let per_unit = config.test.depth() as u64;
    let estimate = (budget_ns / per_unit_ns).clamp(1, MAX_SAMPLES);
    touch(samples, estimate);
    let warmup = first / per_unit;
    config.progress.replan(warmup + estimate);
    let (mut done, mut total_ns) = (0u64, 0u64);
    let mut phase = estimate.div_ceil(16);
    while total_ns < budget_ns && done < MAX_SAMPLES {
        let units = phase.min(MAX_SAMPLES - done);
        let timed = (!config.loop_timed).then_some(&mut *samples);
        total_ns += client_phase(session, config, size, units, first + done * per_unit, timed)?;
        done += units;
        let measured_per_unit = (total_ns / done).max(1);
        let left = budget_ns.saturating_sub(total_ns) / measured_per_unit;
        config.progress.replan(warmup + done + left);
        // Half of what is left, but no phase longer than an eighth of the budget at the rate
        // seen: when the host slows down mid-phase, the overshoot is one short phase.
        phase = (left / 2)
            .min(budget_ns / DURATION_PHASES / measured_per_unit)
            .max(1);
    }
    Ok((done, total_ns))
}

/// Touches `units` sample slots now, so page faults happen before the clock starts.
fn touch(samples: &mut Vec<u64>, units: u64) {
    samples.clear();
    samples.resize(units as usize, 0);
    samples.clear();
}

/// Timed round trips in phases that grow by half of what was measured, until the mean's 95 %
/// interval is within `target` percent (rdmabench_stats::precision) or the ceiling (`--iters`,
/// or `--duration` of timed time) comes first. Returns the round trips, their total time and
/// the precision record.
fn to_precision(
    session: &mut Session,
    config: &RunConfig,
    size: u64,
    first: u64,
    target: f64,
    samples: &mut Vec<u64>,
) -> Result<(u64, u64, Option<Precision>), EngineError> {
    let (ceiling, time_ceiling) = match config.amount {
        Amount::Iterations(n) => (n.clamp(1, MAX_SAMPLES), None),
        Amount::Duration(d) => (MAX_SAMPLES, Some(nanos(d))),
    };
    touch(samples, ceiling);
    let (mut done, mut total_ns) = (0, 0);
    let mut phase = precision::MIN_SAMPLES as u64;
    loop {
        let units = phase.min(ceiling - done);
        total_ns += client_phase(session, config, size, units, first + done, Some(samples))?;
        done += units;
        let assessment = precision::assess(samples);
        let stopped = match &assessment {
            Some(a) if a.meets(target) => Some(StopReason::PrecisionReached),
            _ if done >= ceiling => Some(StopReason::IterationCeiling),
            _ if time_ceiling.is_some_and(|t| total_ns >= t) => Some(StopReason::TimeCeiling),
            _ => None,
        };
        if let Some(stopped) = stopped {
            let precision = assessment.map_or_else(
                || Precision {
                    target_percent: target,
                    mean_ci95_percent: None,
                    median_ci95_percent: None,
                    batches: 0,
                    batch_size: 0,
                    lag1_autocorrelation: 0.0,
                    stopped,
                },
                |a| Precision::new(target, &a, stopped),
            );
            return Ok((done, total_ns, Some(precision)));
        }
        phase = phase.max(done / 2);
    }
}

/// The row of one size's timed phase(s): the summary of its samples, by test.
fn measured_row(
    config: &RunConfig,
    size: u64,
    units: u64,
    warmup: u64,
    first: u64,
    total_ns: u64,
    samples: &mut [u64],
) -> Result<SizeMeasurement, EngineError> {
    let summary = |samples: &mut [u64]| {
        LatencySummary::from_round_trips(samples)
            .ok_or_else(|| EngineError::Protocol("no samples were recorded".into()))
    };
    match config.test {
        // One clock read at each end of the loop: the mean half round trip (rounded as the
        // samples' mean is) is all there is.
        Test::PingPong if config.loop_timed => Ok(SizeMeasurement::pingpong(
            size,
            units,
            warmup,
            total_ns,
            LatencySummary::mean_only(
                u64::try_from(
                    (u128::from(total_ns) + u128::from(units)) / (2 * u128::from(units.max(1))),
                )
                .unwrap_or(u64::MAX),
            ),
        )),
        Test::PingPong | Test::RmaLatency { op: RmaOp::Write } => Ok(SizeMeasurement::pingpong(
            size,
            units,
            warmup,
            total_ns,
            summary(samples)?,
        )),
        // One read is a whole round trip and is reported whole, as ib_read_lat does: the
        // samples are doubled so the summary's halving gives each read's time, and there is no
        // total to halve.
        Test::RmaLatency { op: RmaOp::Read } => {
            samples.iter_mut().for_each(|s| *s = s.saturating_mul(2));
            let mut row =
                SizeMeasurement::pingpong(size, units, warmup, total_ns, summary(samples)?);
            row.total_ns = None;
            Ok(row)
        }
        Test::Bandwidth {
            window,
            bidirectional,
            ..
        } => Ok(bandwidth::row(
            window,
            if bidirectional { 2 } else { 1 },
            size,
            first,
            total_ns,
            samples,
        )),
        Test::RmaBandwidth { window, .. } => {
            Ok(bandwidth::row(window, 1, size, first, total_ns, samples))
        }
    }
}

fn client_phase(
    session: &mut Session,
    config: &RunConfig,
    size: u64,
    units: u64,
    first_iteration: u64,
    samples: Option<&mut Vec<u64>>,
) -> Result<u64, EngineError> {
    if units == 0 {
        return Ok(0);
    }
    // This end's receives go first, so that when the server has posted its own and answers
    // Ready, both ends have: a bidirectional window can then start on both at once.
    prepare(
        session.transport.as_mut(),
        config,
        size,
        first_iteration,
        true,
    )?;
    session.control.send(&Message::Phase {
        size,
        units,
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
    let before = first_iteration / config.test.depth() as u64;
    let elapsed = run_phase(
        session.transport.as_mut(),
        &mut session.control,
        config,
        size,
        units,
        first_iteration,
        true,
        samples,
        before,
    )?;
    config.progress.set_done(before + units);
    if config.test.passive_target() {
        session.control.send(&Message::PhaseDone)?;
    }
    Ok(elapsed)
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

/// Largest buffer per direction a verified bandwidth window may need (1 GiB).
const MAX_VERIFY_BUFFERS: u64 = 1 << 30;

/// Checks parameters that would otherwise fail deep inside a run; public so a caller that
/// starts the run elsewhere (another process, a pod) can refuse them before it starts.
pub fn validate(config: &RunConfig) -> Result<(), EngineError> {
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
    if config.test.is_rma() && config.transport == TransportChoice::Socket {
        return Err(EngineError::InvalidParameters(
            "the socket transport (kernel TCP) has no RMA: run rma with --transport fabric and a provider that offers FI_RMA".into(),
        ));
    }
    if matches!(
        config.test,
        Test::RmaBandwidth {
            op: RmaOp::Write,
            ..
        }
    ) && config.verify
    {
        return Err(EngineError::InvalidParameters(
            "--verify checks RMA writes in the latency test (rma --op write), where each write completes at the target; bandwidth writes complete only at the initiator: drop --verify or --bw".into(),
        ));
    }
    if let Test::Bandwidth {
        bidirectional: true,
        method: BandwidthMethod::Fabtests,
        ..
    } = config.test
    {
        return Err(EngineError::InvalidParameters(
            "--method fabtests measures one way, as fabtests' bandwidth() does (it has no bidirectional mode): drop --bidirectional, or use --method osu or perftest (ib_send_bw -b)".into(),
        ));
    }
    if let Test::Bandwidth { window, .. } | Test::RmaBandwidth { window, .. } = config.test {
        if !(1..=MAX_WINDOW).contains(&window) {
            return Err(EngineError::InvalidParameters(format!(
                "--window {window}: a bandwidth window holds 1 to {MAX_WINDOW} messages in flight (perftest's tx-depth); try 64"
            )));
        }
        let largest = config.sizes.iter().copied().max().unwrap_or(0);
        let buffers = largest.saturating_mul(window as u64);
        if config.verify && buffers > MAX_VERIFY_BUFFERS {
            return Err(EngineError::InvalidParameters(format!(
                "--verify gives every message of the window its own buffer: --window {window} x {largest} B = {buffers} B per direction, above the {MAX_VERIFY_BUFFERS} B limit; lower --window or the largest size"
            )));
        }
    }
    let provider = match &config.transport {
        TransportChoice::Fabric(choice) => Some(*choice),
        TransportChoice::Socket => None,
    };
    let efa_or_auto = matches!(provider, Some(ProviderChoice::Efa | ProviderChoice::Auto));
    if config.fabric != FabricChoice::Auto && !efa_or_auto {
        return Err(EngineError::InvalidParameters(format!(
            "--fabric {} chooses between the efa provider's fabrics; {} has one fabric: drop --fabric or use --provider efa",
            config.fabric.label(),
            provider.map_or("the socket transport", |p| p.label())
        )));
    }
    if config.require_device_rdma && !efa_or_auto {
        return Err(EngineError::InvalidParameters(format!(
            "--require-device-rdma applies to the efa provider (FI_OPT_EFA_USE_DEVICE_RDMA); {} has no such option: drop it or use --provider efa",
            provider.map_or("the socket transport", |p| p.label())
        )));
    }
    if config.fabric == FabricChoice::EfaDirect && config.api == MessageApi::Tagged {
        return Err(EngineError::InvalidParameters(
            "--fabric efa-direct has no tagged API (FI_TAGGED): use --api msg, or --fabric efa for tagged messages".into(),
        ));
    }
    if config.loop_timed {
        if config.test != Test::PingPong {
            return Err(EngineError::InvalidParameters(
                "--loop-timed times a ping-pong's loop as fi_pingpong does; other tests keep their per-unit samples".into(),
            ));
        }
        if config.precision.is_some() {
            return Err(EngineError::InvalidParameters(
                "--precision judges each size by its round trips' samples, which --loop-timed does not take: drop one".into(),
            ));
        }
    }
    if let Some(target) = config.precision {
        if !(target > 0.0 && target < 100.0) {
            return Err(EngineError::InvalidParameters(format!(
                "--precision {target}%: the 95 % interval's half-width must be above 0 and below 100 % of the mean; try 1%"
            )));
        }
        if !matches!(config.test, Test::PingPong | Test::RmaLatency { .. }) {
            return Err(EngineError::InvalidParameters(
                "--precision stops a latency measurement (pingpong, rma without --bw) once its mean is known well enough; bandwidth runs take --iters or --duration".into(),
            ));
        }
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
    config: &RunConfig,
    lib: Option<&Arc<Library>>,
    progress: &mut ProgressFn,
) -> Result<RunOutput, EngineError> {
    validate(config)?;
    crate::pinning::pin(config.cpu)?;
    let mut session = connect(server, config, lib)?;
    let mut samples = Vec::new();
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
pub(crate) fn serve(
    listener: &std::net::TcpListener,
    config: &RunConfig,
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
                units,
                first_iteration,
            } => {
                if !config.sizes.contains(&size) {
                    return session
                        .control
                        .abort_on_error(Err(EngineError::Protocol(format!(
                        "the client asked for size {size}, which is not in this server's --sizes"
                    ))));
                }
                let served = prepare(
                    session.transport.as_mut(),
                    config,
                    size,
                    first_iteration,
                    false,
                )
                .and_then(|()| session.control.send(&Message::Ready))
                .and_then(|()| {
                    run_phase(
                        session.transport.as_mut(),
                        &mut session.control,
                        config,
                        size,
                        units,
                        first_iteration,
                        false,
                        None,
                        0,
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
    config: &RunConfig,
    lib: Option<&Arc<Library>>,
) -> Result<RunOutput, EngineError> {
    let listener = listen(bind)?;
    serve(&listener, config, lib)
}
