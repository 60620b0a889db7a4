//! The kernel-TCP baseline: the same ping-pong over a plain TCP connection with TCP_NODELAY.
//! Busy-polling spins on a non-blocking socket (like polling a completion queue); `--wait` uses
//! blocking reads with a short timeout so the watchdog still runs.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use rdmabench_fabric::Completion;

use super::{Transport, Watchdog};
use crate::error::EngineError;

/// How often a blocking read or a busy spin hands control to the watchdog.
const WATCHDOG_INTERVAL: Duration = Duration::from_millis(100);
const SPINS_PER_WATCHDOG_CALL: u32 = 4096;

/// A ping-pong end over a TCP data connection (separate from the control connection).
pub struct SocketTransport {
    stream: TcpStream,
    tx: Vec<u8>,
    rx: Vec<u8>,
    completion: Completion,
}

impl SocketTransport {
    /// Prepares a connected data stream for `max_size`-byte messages.
    pub fn new(
        stream: TcpStream,
        max_size: u64,
        completion: Completion,
    ) -> Result<SocketTransport, EngineError> {
        let max = usize::try_from(max_size).map_err(|_| EngineError::SizeTooLarge {
            size: max_size,
            limit: usize::MAX as u64,
            transport: "socket".into(),
        })?;
        stream.set_nodelay(true).map_err(EngineError::io(
            "setting TCP_NODELAY on the data connection",
        ))?;
        match completion {
            Completion::BusyPoll => stream.set_nonblocking(true),
            Completion::Wait => stream.set_read_timeout(Some(WATCHDOG_INTERVAL)),
        }
        .map_err(EngineError::io("configuring the data connection"))?;
        Ok(SocketTransport {
            stream,
            tx: vec![0; max],
            rx: vec![0; max],
            completion,
        })
    }

    fn abandoned() -> EngineError {
        EngineError::Interrupted
    }
}

/// Runs `op` until it has moved `len` bytes, treating WouldBlock/TimedOut as "poll again".
fn transfer(
    len: usize,
    watchdog: &mut Watchdog,
    busy: bool,
    mut op: impl FnMut(usize) -> std::io::Result<usize>,
    what: &str,
) -> Result<(), EngineError> {
    let mut done = 0;
    let mut idle: u32 = 0;
    while done < len {
        match op(done) {
            Ok(0) => {
                return Err(EngineError::PeerGone {
                    during: format!("during the socket {what}"),
                })
            }
            Ok(n) => {
                done += n;
                idle = 0;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                idle += 1;
                if (!busy || idle.is_multiple_of(SPINS_PER_WATCHDOG_CALL)) && !watchdog() {
                    return Err(SocketTransport::abandoned());
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionReset
                        | ErrorKind::ConnectionAborted
                        | ErrorKind::BrokenPipe
                ) =>
            {
                return Err(EngineError::PeerGone {
                    during: format!("during the socket {what}"),
                })
            }
            Err(e) => {
                return Err(EngineError::Io {
                    context: format!("socket {what}"),
                    source: e,
                })
            }
        }
    }
    Ok(())
}

impl Transport for SocketTransport {
    fn max_message(&self) -> usize {
        self.tx.len()
    }

    fn post_receive(&mut self, _len: usize, _watchdog: &mut Watchdog) -> Result<(), EngineError> {
        Ok(())
    }

    fn send(&mut self, len: usize, watchdog: &mut Watchdog) -> Result<(), EngineError> {
        let busy = self.completion == Completion::BusyPoll;
        let (stream, tx) = (&mut self.stream, &self.tx);
        transfer(
            len,
            watchdog,
            busy,
            |done| stream.write(&tx[done..len]),
            "send",
        )
    }

    fn complete_receive(&mut self, len: usize, watchdog: &mut Watchdog) -> Result<(), EngineError> {
        let busy = self.completion == Completion::BusyPoll;
        let (stream, rx) = (&mut self.stream, &mut self.rx);
        transfer(
            len,
            watchdog,
            busy,
            |done| stream.read(&mut rx[done..len]),
            "receive",
        )
    }

    fn send_buffer(&mut self) -> Result<&mut [u8], EngineError> {
        Ok(&mut self.tx)
    }

    fn receive_buffer(&self) -> Result<&[u8], EngineError> {
        Ok(&self.rx)
    }
}
