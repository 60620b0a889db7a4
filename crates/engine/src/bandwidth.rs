//! The bandwidth loops, one per `--method`, each as its reference tool keeps messages in
//! flight (docs/engine.md, Bandwidth methods):
//! - osu (osu_bw, IMB Uniband): per window the sender posts `window` sends, waits for their
//!   completions and for the receiver's one-byte acknowledgement, which the receiver sends after
//!   re-posting its receives, so no message ever arrives before its receive;
//! - fabtests (fabtests/benchmarks/benchmark_shared.c `bandwidth()`, `bw_tx_comp()`,
//!   `bw_rx_comp()`): the same window and wait, a 4-byte acknowledgement, but the receiver posts
//!   a window's receives only when that window begins, after acknowledging the previous one, so
//!   the sender may overrun it and the provider's unexpected-message path is part of the figure;
//! - perftest (perftest_resources.c `run_iter_bw()`, `run_iter_bw_server()`): a sliding window,
//!   each send's slot reused as soon as its completion arrives, receives re-posted as they
//!   complete, one acknowledgement at the end of the phase only (so the time covers delivery).
//!
//! Both ways (`--bidirectional`), each end's window completes only when the peer's arrived.

use rdmabench_stats::{BandwidthSummary, SizeMeasurement};

use crate::config::{BandwidthMethod, Test};
use crate::error::EngineError;
use crate::measure::{Phase, PhaseClock};
use crate::transport::{Transport, Watchdog};
use crate::verify::{check_in_window, fill};

/// The shape of a bandwidth test.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    /// Messages per window.
    pub window: usize,
    /// Both ends send.
    pub bidirectional: bool,
    /// Whose loop.
    pub method: BandwidthMethod,
}

impl Shape {
    /// The shape of a bandwidth test; None for a ping-pong.
    pub(crate) fn of(test: Test) -> Option<Shape> {
        match test {
            Test::PingPong | Test::RmaLatency { .. } | Test::RmaBandwidth { .. } => None,
            Test::Bandwidth {
                window,
                bidirectional,
                method,
            } => Some(Shape {
                window,
                bidirectional,
                method,
            }),
        }
    }

    fn sends(self, initiator: bool) -> bool {
        initiator || self.bidirectional
    }

    fn receives(self, initiator: bool) -> bool {
        !initiator || self.bidirectional
    }

    /// Size of the acknowledgement that ends a one-way window (perftest: the phase): fabtests'
    /// is 4 bytes (`ft_rx(ep, 4)` in v1.17's `bw_tx_comp()`, FT_RMA_SYNC_MSG_BYTES later).
    fn ack_len(self) -> usize {
        match self.method {
            BandwidthMethod::Fabtests => 4,
            BandwidthMethod::Osu | BandwidthMethod::Perftest => 1,
        }
    }

    /// Whether the receives of the first window are posted before the phase starts and
    /// re-posted as they complete; fabtests posts each window's when it begins.
    fn preposts(self) -> bool {
        self.method != BandwidthMethod::Fabtests
    }
}

/// Posts the receives a phase starts with, before the peer may send: a window of them where
/// data arrives (not for fabtests, which posts them in its loop), the acknowledgement's on a
/// one-way sender.
pub(crate) fn prepare(
    transport: &mut dyn Transport,
    shape: Shape,
    size: u64,
    initiator: bool,
    watchdog: &mut Watchdog,
) -> Result<(), EngineError> {
    if shape.receives(initiator) {
        if shape.preposts() {
            for op in 0..shape.window {
                transport.post_receive(op, size as usize, watchdog)?;
            }
        }
    } else {
        transport.post_receive(0, shape.ack_len(), watchdog)?;
    }
    Ok(())
}

/// Runs `windows` windows starting at message `first` by the shape's method; the initiator
/// times each window into `samples`. Returns the wall-clock time of the phase in ns.
pub(crate) fn windows(
    transport: &mut dyn Transport,
    shape: Shape,
    phase: Phase<'_>,
    watchdog: &mut Watchdog,
) -> Result<u64, EngineError> {
    match shape.method {
        BandwidthMethod::Osu | BandwidthMethod::Fabtests => {
            acknowledged_windows(transport, shape, phase, watchdog)
        }
        BandwidthMethod::Perftest => sliding_window(transport, shape, phase, watchdog),
    }
}

/// osu and fabtests: windows that each end with every send completed and, one way, the
/// receiver's acknowledgement.
fn acknowledged_windows(
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
            if !shape.preposts() {
                for op in 0..window {
                    transport.post_receive(op, len, watchdog)?;
                }
            }
            seen.fill(false);
            for op in 0..window {
                transport.wait_receive(op, watchdog)?;
                if config.verify {
                    check_in_window(transport.receive_buffer(op)?, size, base, op, &mut seen)?;
                }
                if shape.preposts() && !last {
                    transport.post_receive(op, len, watchdog)?;
                }
            }
        }
        if shape.sends(initiator) {
            transport.wait_sends(watchdog)?;
        }
        if !shape.bidirectional {
            acknowledge(transport, shape, initiator, !last, watchdog)?;
        }
        clock.lap();
        completed.set(w + 1);
    }
    Ok(clock.stop())
}

/// One way, the end of a window (perftest: of the phase): the receiver sends the
/// acknowledgement; the sender waits for it and, if `more` follow, posts the next one's receive.
fn acknowledge(
    transport: &mut dyn Transport,
    shape: Shape,
    initiator: bool,
    more: bool,
    watchdog: &mut Watchdog,
) -> Result<(), EngineError> {
    if initiator {
        transport.wait_receive(0, watchdog)?;
        if more {
            transport.post_receive(0, shape.ack_len(), watchdog)?;
        }
        Ok(())
    } else {
        transport.send(shape.ack_len(), watchdog)
    }
}

/// perftest: `windows` x `window` messages through a sliding window. Message i uses slot
/// i % window; a sender reuses a slot once its previous send completed, a receiver re-posts it
/// as soon as its message is in (and checked). Both ways, each end takes its i-th message
/// right after posting its own i-th, so neither can wait on a send the other has not received.
/// A lap ends every `window` messages, the last one after the final acknowledgement.
fn sliding_window(
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
    let window = shape.window as u64;
    let messages = windows * window;
    let mut seen = vec![false; if config.verify { shape.window } else { 0 }];
    let mut clock = PhaseClock::start(samples);
    for i in 0..messages {
        let op = (i % window) as usize;
        let base = first + i - i % window;
        if shape.sends(initiator) {
            if i >= window {
                transport.wait_send(op, watchdog)?;
            }
            if config.verify {
                fill(transport.send_buffer(op)?, len, first + i);
            }
            transport.post_send(op, len, watchdog)?;
        }
        if shape.receives(initiator) {
            if op == 0 {
                seen.fill(false);
            }
            transport.wait_receive(op, watchdog)?;
            if config.verify {
                check_in_window(transport.receive_buffer(op)?, size, base, op, &mut seen)?;
            }
            if i + window < messages {
                transport.post_receive(op, len, watchdog)?;
            }
        }
        if op + 1 == shape.window && i + 1 < messages {
            clock.lap();
            completed.set((i + 1) / window);
        }
    }
    if shape.sends(initiator) {
        transport.wait_sends(watchdog)?;
    }
    if !shape.bidirectional {
        acknowledge(transport, shape, initiator, false, watchdog)?;
    }
    clock.lap();
    completed.set(windows);
    Ok(clock.stop())
}

/// `count` units of `bytes` each in `ns`, per second, without overflow or division by zero.
fn per_second(count: u64, ns: u64) -> u64 {
    let ns = u128::from(ns.max(1));
    u64::try_from(u128::from(count) * 1_000_000_000 / ns).unwrap_or(u64::MAX)
}

/// A size's row from its timed windows of `window` messages in each of `directions`: average
/// over the phase, peak = the fastest window (as perftest's BW peak is its best interval),
/// message rate over the phase; all counting every direction that carried data.
pub(crate) fn row(
    window: usize,
    directions: u64,
    size: u64,
    warmup_messages: u64,
    total_ns: u64,
    window_ns: &[u64],
) -> SizeMeasurement {
    let messages = window_ns.len() as u64 * window as u64;
    let moved = messages * directions;
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
                (window as u64 * directions).saturating_mul(size),
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
    use std::cell::Cell;

    use super::*;
    use crate::config::RunConfig;

    /// A transport whose operations complete at once and are written down, so a loop's order
    /// of posts and waits can be compared with its reference tool's.
    #[derive(Default)]
    struct Recorder {
        calls: Vec<String>,
        buffer: Vec<u8>,
    }

    impl Transport for Recorder {
        fn max_message(&self) -> usize {
            64
        }
        fn depth(&self) -> usize {
            4
        }
        fn post_receive(
            &mut self,
            op: usize,
            len: usize,
            _: &mut Watchdog,
        ) -> Result<(), EngineError> {
            self.calls.push(format!("recv{op}:{len}"));
            Ok(())
        }
        fn post_send(
            &mut self,
            op: usize,
            len: usize,
            _: &mut Watchdog,
        ) -> Result<(), EngineError> {
            self.calls.push(format!("send{op}:{len}"));
            Ok(())
        }
        fn wait_send(&mut self, op: usize, _: &mut Watchdog) -> Result<(), EngineError> {
            self.calls.push(format!("wait-send{op}"));
            Ok(())
        }
        fn wait_sends(&mut self, _: &mut Watchdog) -> Result<(), EngineError> {
            self.calls.push("wait-sends".into());
            Ok(())
        }
        fn wait_receive(&mut self, op: usize, _: &mut Watchdog) -> Result<(), EngineError> {
            self.calls.push(format!("wait-recv{op}"));
            Ok(())
        }
        fn send_buffer(&mut self, _: usize) -> Result<&mut [u8], EngineError> {
            Ok(&mut self.buffer)
        }
        fn receive_buffer(&self, _: usize) -> Result<&[u8], EngineError> {
            Ok(&self.buffer)
        }
    }

    /// The calls one end makes for a phase of `units` windows of 2 messages of 8 bytes.
    fn calls(method: BandwidthMethod, bidirectional: bool, initiator: bool, units: u64) -> String {
        let test = Test::Bandwidth {
            window: 2,
            bidirectional,
            method,
        };
        let config = RunConfig::for_tests(test);
        let shape = Shape::of(test).unwrap();
        let mut t = Recorder {
            buffer: vec![0; 64],
            ..Recorder::default()
        };
        let watchdog = &mut || true;
        prepare(&mut t, shape, 8, initiator, watchdog).unwrap();
        t.calls.push("|".into());
        let completed = Cell::new(0);
        let phase = Phase {
            config: &config,
            size: 8,
            units,
            first: 0,
            initiator,
            samples: None,
            completed: &completed,
        };
        windows(&mut t, shape, phase, watchdog).unwrap();
        assert_eq!(completed.get(), units);
        t.calls.join(" ")
    }

    #[test]
    fn each_method_posts_and_waits_in_its_reference_tools_order() {
        use BandwidthMethod::*;
        // osu_bw: a window of sends, wait for them, a 1-byte acknowledgement; the receiver
        // re-posts each receive as it completes, before acknowledging.
        assert_eq!(
            calls(Osu, false, true, 2),
            "recv0:1 | send0:8 send1:8 wait-sends wait-recv0 recv0:1 \
             send0:8 send1:8 wait-sends wait-recv0"
        );
        assert_eq!(
            calls(Osu, false, false, 2),
            "recv0:8 recv1:8 | wait-recv0 recv0:8 wait-recv1 recv1:8 send0:1 wait-sends \
             wait-recv0 wait-recv1 send0:1 wait-sends"
        );
        // fabtests' bandwidth(): the same sender with a 4-byte acknowledgement; the receiver
        // posts nothing before the phase and each window's receives only as it begins.
        assert_eq!(
            calls(Fabtests, false, true, 2),
            "recv0:4 | send0:8 send1:8 wait-sends wait-recv0 recv0:4 \
             send0:8 send1:8 wait-sends wait-recv0"
        );
        assert_eq!(
            calls(Fabtests, false, false, 2),
            "| recv0:8 recv1:8 wait-recv0 wait-recv1 send0:4 wait-sends \
             recv0:8 recv1:8 wait-recv0 wait-recv1 send0:4 wait-sends"
        );
        // ib_send_bw: each slot reused once its own send completed, no acknowledgement until
        // the end of the phase; the receiver re-posts only what more messages will fill.
        assert_eq!(
            calls(Perftest, false, true, 2),
            "recv0:1 | send0:8 send1:8 wait-send0 send0:8 wait-send1 send1:8 wait-sends wait-recv0"
        );
        assert_eq!(
            calls(Perftest, false, false, 2),
            "recv0:8 recv1:8 | wait-recv0 recv0:8 wait-recv1 recv1:8 wait-recv0 wait-recv1 \
             send0:1 wait-sends"
        );
        // Both ways, every end sends its i-th message before it waits for the peer's i-th.
        assert_eq!(
            calls(Perftest, true, true, 1),
            "recv0:8 recv1:8 | send0:8 wait-recv0 send1:8 wait-recv1 wait-sends"
        );
        assert_eq!(
            calls(Osu, true, false, 1),
            "recv0:8 recv1:8 | send0:8 send1:8 wait-recv0 wait-recv1 wait-sends"
        );
    }

    #[test]
    fn figures_count_bytes_per_second_in_every_direction_with_the_best_window_as_peak() {
        // 2 windows of 4 x 1 MB in 8 ms: 1000 MB/s average; the faster window took 3 ms.
        let row = row(4, 1, 1_000_000, 40, 8_000_000, &[5_000_000, 3_000_000]);
        let bw = row.bandwidth.unwrap();
        assert_eq!(row.iterations, Some(8));
        assert_eq!(bw.average_bytes_per_sec, 1_000_000_000);
        assert_eq!(bw.peak_bytes_per_sec, Some(1_333_333_333));
        assert_eq!(bw.messages_per_sec, Some(1000));
        assert_eq!(row.latency, None);
        let bw = super::row(4, 2, 1_000_000, 40, 8_000_000, &[5_000_000, 3_000_000])
            .bandwidth
            .unwrap();
        assert_eq!(bw.average_bytes_per_sec, 2_000_000_000);
        assert_eq!(bw.messages_per_sec, Some(2000));
    }
}
