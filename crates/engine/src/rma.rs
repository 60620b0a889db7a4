//! RMA latency and bandwidth, as perftest's ib_write_lat, ib_read_lat, ib_write_bw and
//! ib_read_bw measure them, over libfabric RMA.
//!
//! Write latency is a ping-pong of fi_writedata: each end waits for the other's write to
//! complete on its own completion queue (FI_REMOTE_CQ_DATA; no polling of memory), so a round
//! trip is two writes and the figure is half of it. Read latency is one whole fi_read, as
//! ib_read_lat reports it. Bandwidth keeps a window of fi_write or fi_read in flight; the target
//! only keeps its endpoint progressing (software providers move RMA data in the target's
//! progress calls) until the initiator says the phase is done.

use crate::config::{RmaOp, RunConfig};
use crate::error::EngineError;
use crate::measure::{Phase, PhaseClock};
use crate::transport::{Transport, Watchdog};
use crate::verify::{check, echo_verified, fill};

/// What a phase's target does before the initiator starts: for verified reads, put the
/// expected patterns (message `first + slot`) where the initiator will read them.
pub(crate) fn prepare(
    transport: &mut dyn Transport,
    config: &RunConfig,
    op: RmaOp,
    size: u64,
    first: u64,
    initiator: bool,
) -> Result<(), EngineError> {
    if !initiator && op == RmaOp::Read && config.verify {
        for slot in 0..transport.depth() {
            fill(
                transport.exposed_buffer(slot)?,
                size as usize,
                first + slot as u64,
            );
        }
    }
    Ok(())
}

/// A target with nothing to do but progress: returns when the watchdog stops it (the
/// initiator's PhaseDone, or a failure the caller finds in its watch).
pub(crate) fn passive(
    transport: &mut dyn Transport,
    watchdog: &mut Watchdog,
) -> Result<u64, EngineError> {
    transport.wait_remote_writes(u64::MAX, watchdog).map(|()| 0)
}

/// `round_trips` RMA latency units from message `first`; the initiator times each into
/// `samples`. Returns the phase's wall-clock time in ns.
pub(crate) fn latency(
    transport: &mut dyn Transport,
    op: RmaOp,
    phase: Phase<'_>,
    watchdog: &mut Watchdog,
) -> Result<u64, EngineError> {
    let Phase {
        config,
        size,
        units: round_trips,
        first,
        initiator,
        samples,
        completed,
    } = phase;
    if !initiator && op == RmaOp::Read {
        return passive(transport, watchdog);
    }
    let len = size as usize;
    let landed = transport.remote_writes();
    let mut clock = PhaseClock::start(samples);
    for i in 0..round_trips {
        let iteration = first + i;
        match op {
            RmaOp::Write if initiator => {
                if config.verify {
                    fill(transport.send_buffer(0)?, len, iteration);
                }
                transport.post_write(0, len, true, watchdog)?;
                transport.wait_sends(watchdog)?;
                transport.wait_remote_writes(landed + i + 1, watchdog)?;
                if config.verify {
                    check(transport.receive_buffer(0)?, size, iteration)?;
                }
            }
            RmaOp::Write => {
                transport.wait_remote_writes(landed + i + 1, watchdog)?;
                if config.verify {
                    echo_verified(transport, size, iteration)?;
                }
                transport.post_write(0, len, true, watchdog)?;
                transport.wait_sends(watchdog)?;
            }
            RmaOp::Read => {
                transport.post_read(0, len, watchdog)?;
                transport.wait_sends(watchdog)?;
                if config.verify {
                    check(transport.receive_buffer(0)?, size, first)?;
                }
            }
        }
        clock.lap();
        completed.set(i + 1);
    }
    Ok(clock.stop())
}

/// `windows` windows of RMA operations from message `first`, the initiator timing each
/// window; the target is passive. Returns the phase's wall-clock time in ns.
pub(crate) fn windows(
    transport: &mut dyn Transport,
    op: RmaOp,
    phase: Phase<'_>,
    watchdog: &mut Watchdog,
) -> Result<u64, EngineError> {
    let Phase {
        config,
        size,
        units: windows,
        first,
        initiator,
        samples,
        completed,
    } = phase;
    if !initiator {
        return passive(transport, watchdog);
    }
    let len = size as usize;
    let window = transport.depth();
    let mut clock = PhaseClock::start(samples);
    for w in 0..windows {
        for slot in 0..window {
            match op {
                RmaOp::Write => transport.post_write(slot, len, false, watchdog)?,
                RmaOp::Read => transport.post_read(slot, len, watchdog)?,
            }
        }
        transport.wait_sends(watchdog)?;
        if config.verify && op == RmaOp::Read {
            for slot in 0..window {
                check(transport.receive_buffer(slot)?, size, first + slot as u64)?;
            }
        }
        clock.lap();
        completed.set(w + 1);
    }
    Ok(clock.stop())
}
