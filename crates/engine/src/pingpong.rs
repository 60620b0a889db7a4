//! The ping-pong loop: one message in flight, the initiator timing each round trip, as
//! fi_pingpong and ib_send_lat do.

use crate::error::EngineError;
use crate::measure::{Phase, PhaseClock};
use crate::transport::{Transport, Watchdog};
use crate::verify::{check, echo_verified, fill};

/// Posts the receive a phase starts with, before the peer may send.
pub(crate) fn prepare(
    transport: &mut dyn Transport,
    size: u64,
    watchdog: &mut Watchdog,
) -> Result<(), EngineError> {
    transport.post_receive(0, size as usize, watchdog)
}

/// Runs `round_trips` round trips; the initiator times each one into `samples`. Returns the
/// wall-clock time of the phase in ns.
pub(crate) fn round_trips(
    transport: &mut dyn Transport,
    phase: Phase<'_>,
    watchdog: &mut Watchdog,
) -> Result<u64, EngineError> {
    let Phase {
        config,
        size,
        units: round_trips,
        first: first_iteration,
        initiator,
        samples,
        completed,
    } = phase;
    let len = size as usize;
    let mut clock = PhaseClock::start(samples);
    for i in 0..round_trips {
        let iteration = first_iteration + i;
        let last = i + 1 == round_trips;
        if initiator {
            if config.verify {
                fill(transport.send_buffer(0)?, len, iteration);
            }
            transport.send(len, watchdog)?;
            transport.wait_receive(0, watchdog)?;
            if config.verify {
                check(transport.receive_buffer(0)?, size, iteration)?;
            }
            if !last {
                transport.post_receive(0, len, watchdog)?;
            }
        } else {
            transport.wait_receive(0, watchdog)?;
            if config.verify {
                echo_verified(transport, size, iteration)?;
            }
            if !last {
                transport.post_receive(0, len, watchdog)?;
            }
            transport.send(len, watchdog)?;
        }
        clock.lap();
        completed.set(i + 1);
    }
    Ok(clock.stop())
}
