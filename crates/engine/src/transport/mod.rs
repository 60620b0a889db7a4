//! The data paths a ping-pong can run over, behind one trait so the measurement loop is the
//! same code for libfabric and the kernel-TCP baseline.

pub mod fabric;
pub mod socket;

use crate::error::EngineError;

/// Called while waiting; returns false to abandon the wait (peer gone, stalled, Ctrl-C). The
/// reason is kept by the watchdog's owner.
pub type Watchdog<'a> = dyn FnMut() -> bool + 'a;

/// One end of a ping-pong data path. Methods follow the reference tools' order: the receive is
/// posted before the matching send can arrive, sends complete before the next receive is
/// awaited.
pub trait Transport {
    /// Largest message this transport was set up for.
    fn max_message(&self) -> usize;
    /// Makes a receive of `len` bytes ready (fabric: fi_recv; socket: nothing to do).
    fn post_receive(&mut self, len: usize, watchdog: &mut Watchdog) -> Result<(), EngineError>;
    /// Sends `len` bytes of the send buffer and waits until the buffer may be reused.
    fn send(&mut self, len: usize, watchdog: &mut Watchdog) -> Result<(), EngineError>;
    /// Waits for the posted receive of `len` bytes to complete.
    fn complete_receive(&mut self, len: usize, watchdog: &mut Watchdog) -> Result<(), EngineError>;
    /// The send buffer (for --verify patterns).
    fn send_buffer(&mut self) -> Result<&mut [u8], EngineError>;
    /// The receive buffer after a completed receive (for --verify checks).
    fn receive_buffer(&self) -> Result<&[u8], EngineError>;
}
