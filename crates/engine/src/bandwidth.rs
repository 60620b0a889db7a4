//! The bandwidth loop: windows of messages in flight, like fabtests' bandwidth() behind
//! fi_msg_bw and perftest's ib_send_bw. Per window the sender posts `window` sends, waits for
//! their completions and, one way, for the receiver's one-byte acknowledgement (sent after it
//! has re-posted its receives), so it can never run ahead of the receiver into unexpected-message
//! buffering. Both ways, each end's window completes only when the peer's window arrived.

use rdmabench_stats::{BandwidthSummary, SizeMeasurement};

use crate::config::Test;
use crate::error::EngineError;
use crate::measure::{Phase, PhaseClock};
use crate::transport::{Transport, Watchdog};
use crate::verify::{check_in_window, fill};

/// Size of the acknowledgement that ends a one-way window.
const ACK_LEN: usize = 1;

/// The shape of a bandwidth test.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    /// Messages per window.
    pub window: usize,
    /// Both ends send.
    pub bidirectional: bool,
}

impl Shape {
    /// The shape of a bandwidth test; None for a ping-pong.
    pub(crate) fn of(test: Test) -> Option<Shape> {
        match test {
            Test::PingPong | Test::RmaLatency { .. } | Test::RmaBandwidth { .. } => None,
            Test::Bandwidth {
                window,
                bidirectional,
            } => Some(Shape {
                window,
                bidirectional,
            }),
        }
    }

    fn sends(self, initiator: bool) -> bool {
        initiator || self.bidirectional
    }

    fn receives(self, initiator: bool) -> bool {
        !initiator || self.bidirectional
    }

    /// Directions carrying data: what every figure counts.
    fn directions(self) -> u64 {
        if self.bidirectional {
            2
        } else {
            1
        }
    }
}

/// Posts the receives a phase starts with, before the peer may send: a window of them where
/// data arrives, the acknowledgement's on a one-way sender.
pub(crate) fn prepare(
    transport: &mut dyn Transport,
    shape: Shape,
    size: u64,
    initiator: bool,
    watchdog: &mut Watchdog,
) -> Result<(), EngineError> {
    if shape.receives(initiator) {
        for op in 0..shape.window {
            transport.post_receive(op, size as usize, watchdog)?;
        }
    } else {
        transport.post_receive(0, ACK_LEN, watchdog)?;
    }
    Ok(())
}

/// Runs `windows` windows starting at message `first`; the initiator times each window into
/// `samples`. Returns the wall-clock time of the phase in ns.
pub(crate) fn windows(
    transport: &mut dyn Transport,
    shape: Shape,
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
    let len = size as usize;
    let window = shape.window;
    let mut seen = vec![false; if config.verify { window } else { 0 }];
    let mut clock = PhaseClock::start(samples);
    for w in 0..windows {
        let base = first + w * window as u64;
        let last = w + 1 == windows;
        if shape.sends(initiator) {
            for op in 0..window {
                if config.verify {
                    fill(transport.send_buffer(op)?, len, base + op as u64);
                }
                transport.post_send(op, len, watchdog)?;
            }
        }
        if shape.receives(initiator) {
            seen.fill(false);
            for op in 0..window {
                transport.wait_receive(op, watchdog)?;
                if config.verify {
                    check_in_window(transport.receive_buffer(op)?, size, base, op, &mut seen)?;
                }
                if !last {
                    transport.post_receive(op, len, watchdog)?;
                }
            }
        }
        if shape.sends(initiator) {
            transport.wait_sends(watchdog)?;
        }
        if !shape.bidirectional {
            if initiator {
                transport.wait_receive(0, watchdog)?;
                if !last {
                    transport.post_receive(0, ACK_LEN, watchdog)?;
                }
            } else {
                transport.send(ACK_LEN, watchdog)?;
            }
        }
        clock.lap();
        completed.set(w + 1);
    }
    Ok(clock.stop())
}

/// `count` units of `bytes` each in `ns`, per second, without overflow or division by zero.
fn per_second(count: u64, ns: u64) -> u64 {
    let ns = u128::from(ns.max(1));
    u64::try_from(u128::from(count) * 1_000_000_000 / ns).unwrap_or(u64::MAX)
}

/// A size's row from its timed windows: average over the phase, peak = the fastest window (as
/// perftest's BW peak is its best interval), message rate over the phase; all counting every
/// direction that carried data.
pub(crate) fn row(
    shape: Shape,
    size: u64,
    warmup_messages: u64,
    total_ns: u64,
    window_ns: &[u64],
) -> SizeMeasurement {
    let messages = window_ns.len() as u64 * shape.window as u64;
    let moved = messages * shape.directions();
    let fastest = window_ns.iter().copied().min().unwrap_or(total_ns);
    SizeMeasurement {
        size_bytes: size,
        iterations: Some(messages),
        warmup_iterations: Some(warmup_messages),
        total_ns: Some(total_ns),
        latency: None,
        bandwidth: Some(BandwidthSummary {
            average_bytes_per_sec: per_second(moved.saturating_mul(size), total_ns),
            peak_bytes_per_sec: Some(per_second(
                (shape.window as u64 * shape.directions()).saturating_mul(size),
                fastest,
            )),
            messages_per_sec: Some(per_second(moved, total_ns)),
        }),
        rounded: Vec::new(),
        quality: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_count_bytes_per_second_in_every_direction_with_the_best_window_as_peak() {
        let one_way = Shape {
            window: 4,
            bidirectional: false,
        };
        // 2 windows of 4 x 1 MB in 8 ms: 1000 MB/s average; the faster window took 3 ms.
        let row = row(one_way, 1_000_000, 40, 8_000_000, &[5_000_000, 3_000_000]);
        let bw = row.bandwidth.unwrap();
        assert_eq!(row.iterations, Some(8));
        assert_eq!(bw.average_bytes_per_sec, 1_000_000_000);
        assert_eq!(bw.peak_bytes_per_sec, Some(1_333_333_333));
        assert_eq!(bw.messages_per_sec, Some(1000));
        assert_eq!(row.latency, None);
        let both = Shape {
            bidirectional: true,
            ..one_way
        };
        let bw = super::row(both, 1_000_000, 40, 8_000_000, &[5_000_000, 3_000_000])
            .bandwidth
            .unwrap();
        assert_eq!(bw.average_bytes_per_sec, 2_000_000_000);
        assert_eq!(bw.messages_per_sec, Some(2000));
    }
}
