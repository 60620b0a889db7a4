//! The kernel-TCP baseline: the same benchmarks over a plain TCP connection with TCP_NODELAY.
//! Sends and receives are queues of numbered operations moved by non-blocking reads and
//! writes, so a bidirectional window never deadlocks on full socket buffers. Busy-polling
//! spins (like polling a completion queue); `--wait` sleeps in poll(2) with a short timeout so
//! the watchdog still runs.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsFd;
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags};
use rdmabench_fabric::{AlignedBuffer, Completion};

use super::{Buffers, Transport, Watchdog};
use crate::error::EngineError;

/// How long one poll(2) may sleep before the watchdog is consulted.
const WATCHDOG_INTERVAL: Duration = Duration::from_millis(100);
const SPINS_PER_WATCHDOG_CALL: u32 = 4096;

/// An operation in a queue: which op, how long, how far along.
#[derive(Debug, Clone, Copy)]
struct Pending {
    op: usize,
    len: usize,
    done: usize,
}

/// A benchmark end over a TCP data connection (separate from the control connection).
pub struct SocketTransport {
    stream: TcpStream,
    slot: usize,
    buffers: Buffers,
    tx: AlignedBuffer,
    rx: AlignedBuffer,
    sends: VecDeque<Pending>,
    receives: VecDeque<Pending>,
    received: Vec<bool>,
    completion: Completion,
}

/// What one attempt to move bytes did.
enum Moved {
    Bytes,
    Nothing,
}

impl SocketTransport {
    /// Prepares a connected data stream for `max_size`-byte messages, `buffers.depth` in flight.
    pub fn new(
        stream: TcpStream,
        max_size: u64,
        buffers: Buffers,
        completion: Completion,
    ) -> Result<SocketTransport, EngineError> {
        let too_large = || EngineError::SizeTooLarge {
            size: max_size,
            limit: usize::MAX as u64,
            transport: "socket".into(),
        };
        let slot = usize::try_from(max_size).map_err(|_| too_large())?;
        let slots = if buffers.separate { buffers.depth } else { 1 };
        let total = slot.checked_mul(slots).ok_or_else(too_large)?;
        stream.set_nodelay(true).map_err(EngineError::io(
            "setting TCP_NODELAY on the data connection",
        ))?;
        stream
            .set_nonblocking(true)
            .map_err(EngineError::io("configuring the data connection"))?;
        Ok(SocketTransport {
            stream,
            slot,
            buffers,
            tx: AlignedBuffer::new(total)?,
            rx: AlignedBuffer::new(total)?,
            sends: VecDeque::with_capacity(buffers.depth),
            receives: VecDeque::with_capacity(buffers.depth),
            received: vec![false; buffers.depth],
            completion,
        })
    }

    fn offset(&self, op: usize) -> usize {
        if self.buffers.separate {
            op * self.slot
        } else {
            0
        }
    }

    fn check(&self, op: usize, len: usize) -> Result<(), EngineError> {
        if op >= self.buffers.depth || len > self.slot {
            return Err(EngineError::Protocol(format!(
                "socket operation {op} of {len} bytes is outside the transport's {} operations of {} bytes",
                self.buffers.depth, self.slot
            )));
        }
        Ok(())
    }

    /// Writes what the socket takes of the first queued send.
    fn push_send(&mut self) -> Result<Moved, EngineError> {
        let Some(head) = self.sends.front().copied() else {
            return Ok(Moved::Nothing);
        };
        let start = self.offset(head.op);
        let result = self
            .stream
            .write(&self.tx.as_slice()[start + head.done..start + head.len]);
        let moved = classify(result, "send")?;
        advance(&mut self.sends, moved);
        Ok(moved.map_or(Moved::Nothing, |_| Moved::Bytes))
    }

    /// Reads what has arrived for the first queued receive.
    fn pull_receive(&mut self) -> Result<Moved, EngineError> {
        let Some(head) = self.receives.front().copied() else {
            return Ok(Moved::Nothing);
        };
        let start = self.offset(head.op);
        let result = self
            .stream
            .read(&mut self.rx.as_mut_slice()[start + head.done..start + head.len]);
        let moved = classify(result, "receive")?;
        if let Some(op) = advance(&mut self.receives, moved) {
            self.received[op] = true;
        }
        Ok(moved.map_or(Moved::Nothing, |_| Moved::Bytes))
    }

    /// Moves bytes in both directions until `done`, sends first (a ping-pong's send usually
    /// completes in one write, so it costs no read attempt).
    fn progress_until(
        &mut self,
        watchdog: &mut Watchdog,
        done: impl Fn(&Self) -> bool,
    ) -> Result<(), EngineError> {
        let mut idle: u32 = 0;
        while !done(self) {
            let sent = self.push_send()?;
            if done(self) {
                break;
            }
            let received = self.pull_receive()?;
            if matches!((sent, received), (Moved::Nothing, Moved::Nothing)) {
                idle += 1;
                let check_now = match self.completion {
                    Completion::BusyPoll => idle.is_multiple_of(SPINS_PER_WATCHDOG_CALL),
                    Completion::Wait => {
                        self.sleep_until_ready()?;
                        true
                    }
                };
                if check_now && !watchdog() {
                    return Err(EngineError::Interrupted);
                }
            } else {
                idle = 0;
            }
        }
        Ok(())
    }

    /// Sleeps until the socket can move bytes for a queued operation, or the interval ends.
    fn sleep_until_ready(&self) -> Result<(), EngineError> {
        let mut events = PollFlags::empty();
        if !self.sends.is_empty() {
            events |= PollFlags::POLLOUT;
        }
        if !self.receives.is_empty() {
            events |= PollFlags::POLLIN;
        }
        let mut fds = [PollFd::new(self.stream.as_fd(), events)];
        let interval = u16::try_from(WATCHDOG_INTERVAL.as_millis()).unwrap_or(u16::MAX);
        match poll(&mut fds, interval) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
            Err(e) => Err(EngineError::Io {
                context: "waiting for the data connection".into(),
                source: e.into(),
            }),
        }
    }
}

/// Counts `moved` bytes against the queue's first operation; returns its op when that completed
/// it (and removes it).
fn advance(queue: &mut VecDeque<Pending>, moved: Option<usize>) -> Option<usize> {
    let head = queue.front_mut()?;
    head.done += moved?;
    if head.done < head.len {
        return None;
    }
    queue.pop_front().map(|done| done.op)
}

/// Bytes moved, None for "try again", or the error a user should see.
fn classify(result: std::io::Result<usize>, what: &str) -> Result<Option<usize>, EngineError> {
    match result {
        Ok(0) => Err(EngineError::PeerGone {
            during: format!("during the socket {what}"),
        }),
        Ok(n) => Ok(Some(n)),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
            ) =>
        {
            Ok(None)
        }
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
            ) =>
        {
            Err(EngineError::PeerGone {
                during: format!("during the socket {what}"),
            })
        }
        Err(e) => Err(EngineError::Io {
            context: format!("socket {what}"),
            source: e,
        }),
    }
}

impl Transport for SocketTransport {
    fn max_message(&self) -> usize {
        self.slot
    }

    fn depth(&self) -> usize {
        self.buffers.depth
    }

    fn post_receive(
        &mut self,
        op: usize,
        len: usize,
        _watchdog: &mut Watchdog,
    ) -> Result<(), EngineError> {
        self.check(op, len)?;
        self.received[op] = false;
        self.receives.push_back(Pending { op, len, done: 0 });
        Ok(())
    }

    fn post_send(
        &mut self,
        op: usize,
        len: usize,
        _watchdog: &mut Watchdog,
    ) -> Result<(), EngineError> {
        self.check(op, len)?;
        self.sends.push_back(Pending { op, len, done: 0 });
        // Start at once, as a NIC would: the bytes are on their way while the caller posts more.
        self.push_send()?;
        Ok(())
    }

    fn wait_send(&mut self, op: usize, watchdog: &mut Watchdog) -> Result<(), EngineError> {
        self.check(op, 0)?;
        self.progress_until(watchdog, |t| t.sends.iter().all(|p| p.op != op))
    }

    fn wait_sends(&mut self, watchdog: &mut Watchdog) -> Result<(), EngineError> {
        self.progress_until(watchdog, |t| t.sends.is_empty())
    }

    fn wait_receive(&mut self, op: usize, watchdog: &mut Watchdog) -> Result<(), EngineError> {
        self.check(op, 0)?;
        if !self.received[op] && !self.receives.iter().any(|p| p.op == op) {
            return Err(EngineError::Protocol(format!(
                "waiting for socket receive {op}, which was never posted"
            )));
        }
        self.progress_until(watchdog, |t| t.received[op])
    }

    fn send_buffer(&mut self, op: usize) -> Result<&mut [u8], EngineError> {
        self.check(op, 0)?;
        let start = self.offset(op);
        Ok(&mut self.tx.as_mut_slice()[start..start + self.slot])
    }

    fn receive_buffer(&self, op: usize) -> Result<&[u8], EngineError> {
        self.check(op, 0)?;
        let start = self.offset(op);
        Ok(&self.rx.as_slice()[start..start + self.slot])
    }
}
