//! The data paths a benchmark can run over, behind one trait so the measurement loops are the
//! same code for libfabric and the kernel-TCP baseline.

pub mod fabric;
pub mod socket;

use rdmabench_fabric::RemoteMemory;

use crate::error::EngineError;

/// What a transport without RMA answers to RMA calls (validation refuses such runs first).
fn no_rma() -> EngineError {
    EngineError::InvalidParameters(
        "this transport has no RMA: rma needs --transport fabric with a provider that offers FI_RMA"
            .into(),
    )
}

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
    /// Waits until op's send, if one was started, has completed (its buffer may be reused).
    fn wait_send(&mut self, op: usize, watchdog: &mut Watchdog) -> Result<(), EngineError>;
    /// Waits until every started send has completed (its buffer may be reused).
    fn wait_sends(&mut self, watchdog: &mut Watchdog) -> Result<(), EngineError>;
    /// Waits for posted receive op to complete.
    fn wait_receive(&mut self, op: usize, watchdog: &mut Watchdog) -> Result<(), EngineError>;
    /// Op's send buffer (for --verify patterns).
    fn send_buffer(&mut self, op: usize) -> Result<&mut [u8], EngineError>;
    /// Op's receive buffer after its receive completed (for --verify checks).
    fn receive_buffer(&self, op: usize) -> Result<&[u8], EngineError>;

    /// Where the peer may read and write this end's memory; None without RMA.
    fn memory_for_peer(&self) -> Option<RemoteMemory> {
        None
    }
    /// Records where the peer's memory is.
    fn set_peer_memory(&mut self, _memory: RemoteMemory) -> Result<(), EngineError> {
        Err(no_rma())
    }
    /// Starts writing `len` bytes of op's send buffer into op's slot of the peer's memory;
    /// `notify` makes it an fi_writedata the peer sees complete. `wait_sends` waits for it.
    fn post_write(
        &mut self,
        _op: usize,
        _len: usize,
        _notify: bool,
        _watchdog: &mut Watchdog,
    ) -> Result<(), EngineError> {
        Err(no_rma())
    }
    /// Starts reading `len` bytes of op's slot of the peer's memory into op's receive buffer;
    /// `wait_sends` waits for it.
    fn post_read(
        &mut self,
        _op: usize,
        _len: usize,
        _watchdog: &mut Watchdog,
    ) -> Result<(), EngineError> {
        Err(no_rma())
    }
    /// Notifying writes of the peer that have landed here so far.
    fn remote_writes(&self) -> u64 {
        0
    }
    /// Progresses until `count` notifying writes have landed (or the watchdog gives up).
    fn wait_remote_writes(
        &mut self,
        _count: u64,
        _watchdog: &mut Watchdog,
    ) -> Result<(), EngineError> {
        Err(no_rma())
    }
    /// Op's slot of the memory the peer reads (to fill for --verify).
    fn exposed_buffer(&mut self, _op: usize) -> Result<&mut [u8], EngineError> {
        Err(no_rma())
    }

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
