//! The data paths a benchmark can run over, behind one trait so the measurement loops are the
//! same code for libfabric and the kernel-TCP baseline.

pub mod fabric;
pub mod socket;

use crate::error::EngineError;

/// Called while waiting; returns false to abandon the wait (peer gone, stalled, Ctrl-C). The
/// reason is kept by the watchdog's owner.
pub type Watchdog<'a> = dyn FnMut() -> bool + 'a;

/// One end of a data path. Operations are numbered per direction, `0..depth()`: a ping-pong
/// uses op 0 alone, a bandwidth window ops 0..window. Methods follow the reference tools'
/// order: receives are posted before the matching sends can arrive, and receives complete in
/// the order they were posted.
pub trait Transport {
    /// Largest message this transport was set up for.
    fn max_message(&self) -> usize;
    /// How many operations each direction may have in flight.
    fn depth(&self) -> usize;
    /// Makes receive op of `len` bytes ready (fabric: fi_recv; socket: queued).
    fn post_receive(
        &mut self,
        op: usize,
        len: usize,
        watchdog: &mut Watchdog,
    ) -> Result<(), EngineError>;
    /// Starts sending `len` bytes of op's send buffer; `wait_sends` waits for it.
    fn post_send(
        &mut self,
        op: usize,
        len: usize,
        watchdog: &mut Watchdog,
    ) -> Result<(), EngineError>;
    /// Waits until every started send has completed (its buffer may be reused).
    fn wait_sends(&mut self, watchdog: &mut Watchdog) -> Result<(), EngineError>;
    /// Waits for posted receive op to complete.
    fn wait_receive(&mut self, op: usize, watchdog: &mut Watchdog) -> Result<(), EngineError>;
    /// Op's send buffer (for --verify patterns).
    fn send_buffer(&mut self, op: usize) -> Result<&mut [u8], EngineError>;
    /// Op's receive buffer after its receive completed (for --verify checks).
    fn receive_buffer(&self, op: usize) -> Result<&[u8], EngineError>;

    /// Sends `len` bytes of op 0's buffer and waits until the buffer may be reused: a
    /// ping-pong's send.
    fn send(&mut self, len: usize, watchdog: &mut Watchdog) -> Result<(), EngineError> {
        self.post_send(0, len, watchdog)?;
        self.wait_sends(watchdog)
    }
}

/// How many operations a transport keeps in flight and whether each has its own buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffers {
    /// Operations in flight per direction.
    pub depth: usize,
    /// One buffer slot per operation (to verify a window), else one shared buffer.
    pub separate: bool,
}
