//! Posting operations: receives, sends (fi_inject below the inject size), RMA writes and reads,
//! each retried on -FI_EAGAIN after progressing the completion queues.

use super::*;

impl Endpoint {
    pub(super) fn peer(&self) -> Result<FiAddr, FabricError> {
        // Not ok_or(FabricError::Usage(..)): that builds and drops the error on every send
        // (callgrind: part of rdmabench's extra instructions per round trip against fi_pingpong).
        match self.peer {
            Some(peer) => Ok(peer),
            None => Err(FabricError::Usage(
                "no peer address inserted before sending",
            )),
        }
    }

    /// Checks that op may start a send-queue operation (send, write, read) of `len` bytes and
    /// returns what every such operation needs: the peer, op's slot offset and context.
    pub(super) fn tx_op(&mut self, op: usize, len: usize) -> Result<TxOp, FabricError> {
        self.check_len(len)?;
        self.check_op(op)?;
        if self.tx_pending[op] || (self.options.rma && self.rx_state[op] == ReceiveState::Posted) {
            return Err(FabricError::Usage("an operation on this slot is in flight"));
        }
        Ok(TxOp {
            peer: self.peer()?,
            offset: self.slot_offset(op),
            context: std::ptr::from_mut(&mut self.tx_contexts[op]).cast::<c_void>(),
        })
    }

    /// Op's send-queue operation was posted: its completion is awaited from now on.
    pub(super) fn tx_posted(&mut self, op: usize) {
        self.tx_pending[op] = true;
        self.sends_in_flight += 1;
    }

    /// Posts receive op of up to `len` bytes into its buffer slot (from any source), retrying
    /// on -FI_EAGAIN after progressing the completion queue.
    pub fn post_receive(
        &mut self,
        op: usize,
        len: usize,
        watchdog: &mut dyn FnMut() -> bool,
    ) -> Result<(), FabricError> {
        self.check_len(len)?;
        self.check_op(op)?;
        if self.rx_state[op] == ReceiveState::Posted {
            return Err(FabricError::Usage("a receive is already posted"));
        }
        let (_, rx_desc) = self.descriptors();
        let offset = self.slot_offset(op);
        let buf = slot(&mut self.rx, offset);
        let context = std::ptr::from_mut(&mut self.rx_contexts[op]).cast::<c_void>();
        let ep = self.ep.as_ptr();
        let api = self.options.api;
        self.retry_on_eagain("fi_recv", Queue::Receive, watchdog, |_| {
            // SAFETY: ep is live; buf has at least len bytes (check_len) and stays untouched
            // until the receive completes (rx_state guards receive_buffer); context is op's
            // fi_context2 in a boxed slice that lives as long as the endpoint.
            unsafe {
                match api {
                    MessageApi::Msg => {
                        ((*(*ep).msg).recv)(ep, buf, len, rx_desc, ffi::FI_ADDR_UNSPEC, context)
                    }
                    MessageApi::Tagged => ((*(*ep).tagged).recv)(
                        ep,
                        buf,
                        len,
                        rx_desc,
                        ffi::FI_ADDR_UNSPEC,
                        PINGPONG_TAG,
                        0,
                        context,
                    ),
                }
            }
        })?;
        self.rx_state[op] = ReceiveState::Posted;
        Ok(())
    }

    /// Sends `len` bytes from op's send buffer slot to the peer: with fi_inject when the
    /// message is smaller than the provider's inject size (nothing to wait for; strictly
    /// smaller, as fi_pingpong decides, unless `inject_at_inject_size`), otherwise with fi_send,
    /// whose completion `wait_sends` collects.
    pub fn send(
        &mut self,
        op: usize,
        len: usize,
        watchdog: &mut dyn FnMut() -> bool,
    ) -> Result<(), FabricError> {
        let TxOp {
            peer,
            offset,
            context,
        } = self.tx_op(op, len)?;
        let (tx_desc, _) = self.descriptors();
        let buf = slot(&mut self.tx, offset).cast_const();
        let ep = self.ep.as_ptr();
        let api = self.options.api;
        let injected = if self.options.inject_at_inject_size {
            len <= self.inject_size
        } else {
            len < self.inject_size
        };
        if injected {
            return self.retry_on_eagain("fi_inject", Queue::Send, watchdog, |_| {
                // SAFETY: ep is live; buf has len valid bytes; inject copies them before
                // returning, so the buffer is free again immediately.
                unsafe {
                    match api {
                        MessageApi::Msg => ((*(*ep).msg).inject)(ep, buf, len, peer),
                        MessageApi::Tagged => {
                            ((*(*ep).tagged).inject)(ep, buf, len, peer, PINGPONG_TAG)
                        }
                    }
                }
            });
        }
        self.retry_on_eagain("fi_send", Queue::Send, watchdog, |_| {
            // SAFETY: ep is live; buf has len valid bytes and is not written until the send
            // completes (tx_pending guards send_buffer); context is op's and lives as long as
            // the endpoint.
            unsafe {
                match api {
                    MessageApi::Msg => ((*(*ep).msg).send)(ep, buf, len, tx_desc, peer, context),
                    MessageApi::Tagged => {
                        ((*(*ep).tagged).send)(ep, buf, len, tx_desc, peer, PINGPONG_TAG, context)
                    }
                }
            }
        })?;
        self.tx_posted(op);
        Ok(())
    }

    /// Progresses until op's send (if one is in flight) has completed, so its slot may be
    /// reused: a sliding window's step.
    pub fn wait_send(
        &mut self,
        op: usize,
        watchdog: &mut dyn FnMut() -> bool,
    ) -> Result<(), FabricError> {
        self.check_op(op)?;
        self.progress_until(Queue::Send, watchdog, |ep| !ep.tx_pending[op])
    }

    /// Progresses until every outstanding send has completed. Inlined so that the common case
    /// after fi_inject (nothing in flight) costs one comparison, not a call.
    #[inline]
    pub fn wait_sends(&mut self, watchdog: &mut dyn FnMut() -> bool) -> Result<(), FabricError> {
        if self.sends_in_flight == 0 {
            return Ok(());
        }
        self.progress_until(Queue::Send, watchdog, |ep| ep.sends_in_flight == 0)
    }

    /// Progresses until posted receive op has completed.
    pub fn wait_receive(
        &mut self,
        op: usize,
        watchdog: &mut dyn FnMut() -> bool,
    ) -> Result<(), FabricError> {
        self.check_op(op)?;
        if self.rx_state[op] == ReceiveState::Idle {
            return Err(FabricError::Usage(
                "waiting for a receive that was never posted",
            ));
        }
        self.progress_until(Queue::Receive, watchdog, |ep| {
            ep.rx_state[op] == ReceiveState::Completed
        })
    }

    /// Writes `len` bytes of op's send buffer into op's slot of the peer's memory; with
    /// `notify` as fi_writedata with FI_REMOTE_CQ_DATA, so the write completes on the peer's
    /// queue too. The local completion is collected by `wait_sends`.
    pub fn write(
        &mut self,
        op: usize,
        len: usize,
        notify: bool,
        watchdog: &mut dyn FnMut() -> bool,
    ) -> Result<(), FabricError> {
        let memory = self.peer_memory()?;
        let TxOp {
            peer,
            offset,
            context,
        } = self.tx_op(op, len)?;
        let (tx_desc, _) = self.descriptors();
        let buf = slot(&mut self.tx, offset).cast_const();
        let remote = memory.address + offset as u64;
        let ep = self.ep.as_ptr();
        let call = if notify { "fi_writedata" } else { "fi_write" };
        self.retry_on_eagain(call, Queue::Send, watchdog, |_| {
            // SAFETY: ep is live and was opened with FI_RMA (rma ops present); buf has len valid
            // bytes, untouched until the write completes (tx_pending); the peer's slot at remote
            // has the same size as ours (both ends open the same buffers); context is op's.
            unsafe {
                let rma = (*ep).rma;
                if notify {
                    ((*rma).writedata)(
                        ep, buf, len, tx_desc, op as u64, peer, remote, memory.key, context,
                    )
                } else {
                    ((*rma).write)(ep, buf, len, tx_desc, peer, remote, memory.key, context)
                }
            }
        })?;
        self.tx_posted(op);
        Ok(())
    }

    /// Reads `len` bytes of op's slot of the peer's memory into op's receive buffer slot; the
    /// completion is collected by `wait_sends` (it reports on the send queue).
    pub fn read(
        &mut self,
        op: usize,
        len: usize,
        watchdog: &mut dyn FnMut() -> bool,
    ) -> Result<(), FabricError> {
        let memory = self.peer_memory()?;
        let TxOp {
            peer,
            offset,
            context,
        } = self.tx_op(op, len)?;
        let (_, rx_desc) = self.descriptors();
        let buf = slot(&mut self.rx, offset);
        let remote = memory.address + offset as u64;
        let ep = self.ep.as_ptr();
        self.retry_on_eagain("fi_read", Queue::Send, watchdog, |_| {
            // SAFETY: ep is live with FI_RMA; buf has len writable bytes not read until the
            // read completes (tx_pending); the peer's slot has our slot's size; context is op's.
            unsafe { ((*(*ep).rma).read)(ep, buf, len, rx_desc, peer, remote, memory.key, context) }
        })?;
        self.tx_posted(op);
        Ok(())
    }

    /// How many of the peer's notifying writes (fi_writedata) have landed in our memory.
    pub fn remote_writes(&self) -> u64 {
        self.remote_writes
    }

    /// Progresses the receive queue until `count` notifying writes have landed, or the watchdog
    /// gives up. Also how a passive RMA target keeps software providers moving the peer's
    /// reads and writes (with a count that is never reached).
    pub fn wait_remote_writes(
        &mut self,
        count: u64,
        watchdog: &mut dyn FnMut() -> bool,
    ) -> Result<(), FabricError> {
        self.progress_until(Queue::Receive, watchdog, |ep| ep.remote_writes >= count)
    }

    pub(super) fn retry_on_eagain(
        &mut self,
        call: &'static str,
        queue: Queue,
        watchdog: &mut dyn FnMut() -> bool,
        mut post: impl FnMut(&mut Self) -> isize,
    ) -> Result<(), FabricError> {
        let mut polls: u32 = 0;
        loop {
            let ret = post(self);
            if ret != -ffi::FI_EAGAIN {
                return self.lib.check(call, ret);
            }
            self.progress(queue)?;
            polls += 1;
            if polls.is_multiple_of(POLLS_PER_WATCHDOG_CALL) && !watchdog() {
                return Err(FabricError::Abandoned);
            }
        }
    }
}
