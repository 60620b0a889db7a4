//! Buffers and memory registration: the op slots the data lives in, their descriptors, the
//! memory a peer may reach by RMA, and the limits every operation is checked against.

use super::*;

impl Endpoint {
    /// The provider's inject size: messages below it go out with fi_inject.
    pub fn inject_size(&self) -> usize {
        self.inject_size
    }

    /// The provider's limit for one message on this endpoint: max_msg_size, lowered for
    /// send/recv to what fi_getopt FI_OPT_MAX_MSG_SIZE says where the library has it.
    pub fn max_msg_size(&self) -> usize {
        self.max_msg_size
    }

    /// Largest message this endpoint can exchange: the smaller of its buffers and the
    /// provider's max_msg_size.
    pub fn max_message(&self) -> usize {
        self.options.buffer_size.min(self.max_msg_size)
    }

    /// Whether buffers are registered and descriptors passed on every operation.
    pub fn memory_registered(&self) -> bool {
        self.mrs.is_some()
    }

    /// How many operations each direction may have in flight.
    pub fn depth(&self) -> usize {
        self.options.depth
    }

    pub(super) fn check_op(&self, op: usize) -> Result<(), FabricError> {
        if op >= self.options.depth {
            return Err(FabricError::Usage(
                "operation number beyond the endpoint's depth",
            ));
        }
        Ok(())
    }

    /// Byte offset of op's buffer slot.
    pub(super) fn slot_offset(&self, op: usize) -> usize {
        if self.options.separate_buffers {
            op * self.options.buffer_size
        } else {
            0
        }
    }

    /// Whether another in-flight operation of the direction shares op's buffer.
    pub(super) fn shared_slot_busy(&self, op: usize, busy: impl Fn(usize) -> bool) -> bool {
        if self.options.separate_buffers {
            busy(op)
        } else {
            (0..self.options.depth).any(busy)
        }
    }

    /// Send op's buffer, to fill before the send; unavailable while a send using it is in
    /// flight.
    pub fn send_buffer(&mut self, op: usize) -> Result<&mut [u8], FabricError> {
        self.check_op(op)?;
        if self.shared_slot_busy(op, |o| self.tx_pending[o]) {
            return Err(FabricError::Usage(
                "send buffer used while a send is in flight",
            ));
        }
        let (start, len) = (self.slot_offset(op), self.options.buffer_size);
        Ok(&mut self.tx.as_mut_slice()[start..start + len])
    }

    /// Receive op's buffer, to check after its receive; unavailable while a receive into it is
    /// posted.
    pub fn receive_buffer(&self, op: usize) -> Result<&[u8], FabricError> {
        self.check_op(op)?;
        if self.shared_slot_busy(op, |o| self.rx_state[o] == ReceiveState::Posted) {
            return Err(FabricError::Usage(
                "receive buffer read while a receive is posted",
            ));
        }
        let (start, len) = (self.slot_offset(op), self.options.buffer_size);
        Ok(&self.rx.as_slice()[start..start + len])
    }

    pub(super) fn check_len(&self, len: usize) -> Result<(), FabricError> {
        if len > self.max_message() {
            return Err(FabricError::MessageTooLarge {
                len,
                limit: self.max_message(),
                what: "the endpoint's buffers",
            });
        }
        Ok(())
    }

    pub(super) fn descriptors(&self) -> (*mut c_void, *mut c_void) {
        match &self.mrs {
            // SAFETY: both regions are live; fi_mr_desc(mr) is mr->mem_desc.
            Some((tx, rx)) => unsafe { ((*tx.as_ptr()).mem_desc, (*rx.as_ptr()).mem_desc) },
            None => (std::ptr::null_mut(), std::ptr::null_mut()),
        }
    }

    /// Where the peer may read and write our memory: the receive buffer, by its key and (under
    /// FI_MR_VIRT_ADDR) its address. None unless the endpoint was opened for RMA.
    pub fn memory_for_peer(&self) -> Option<RemoteMemory> {
        if !self.options.rma {
            return None;
        }
        let (_, rx_mr) = self.mrs.as_ref()?;
        // SAFETY: rx_mr is a live registration; fi_mr_key(mr) is mr->key for non-raw keys,
        // which is all SUPPORTED_MR_MODE admits (no FI_MR_RAW).
        let key = unsafe { (*rx_mr.as_ptr()).key };
        let address = if self.virt_addr {
            self.rx.as_ptr() as u64
        } else {
            0
        };
        Some(RemoteMemory { address, key })
    }

    /// Records where the peer's memory is (from its `memory_for_peer`), for `write` and `read`.
    pub fn set_peer_memory(&mut self, memory: RemoteMemory) {
        self.peer_memory = Some(memory);
    }

    pub(super) fn peer_memory(&self) -> Result<RemoteMemory, FabricError> {
        self.peer_memory.ok_or(FabricError::Usage(
            "RMA before the peer's memory was known (or the endpoint has no RMA)",
        ))
    }

    /// The receive buffer slot the peer reads, to fill before its reads (--verify).
    pub fn exposed_buffer(&mut self, op: usize) -> Result<&mut [u8], FabricError> {
        self.check_op(op)?;
        let (start, len) = (self.slot_offset(op), self.options.buffer_size);
        Ok(&mut self.rx.as_mut_slice()[start..start + len])
    }
}

/// The start of the buffer slot at `offset`, as libfabric's calls take a buffer (slot_offset
/// and check_len keep offset + len inside the buffer). A raw pointer, never a reference: the
/// provider may be writing other slots of the same buffer meanwhile.
pub(super) fn slot(buffer: &mut AlignedBuffer, offset: usize) -> *mut c_void {
    assert!(offset < buffer.len(), "slot offset beyond the buffer");
    // SAFETY: offset is inside the buffer's allocation (asserted), so add stays in bounds.
    unsafe { buffer.as_mut_ptr().add(offset) }.cast()
}

pub(super) fn register(
    lib: &Library,
    domain: &Owned<ffi::FidDomain>,
    buffer: &AlignedBuffer,
    access: u64,
    requested_key: u64,
) -> Result<Owned<ffi::FidMr>, FabricError> {
    let mut mr_ptr = std::ptr::null_mut();
    // SAFETY: domain is live; fi_mr_reg is domain->mr->reg(&domain->fid, ...); the buffer
    // outlives the registration because Endpoint drops its regions before its buffers.
    let ret = unsafe {
        ((*(*domain.as_ptr()).mr).reg)(
            domain.fid(),
            buffer.as_ptr().cast(),
            buffer.len(),
            access,
            0,
            requested_key,
            0,
            &mut mr_ptr,
            std::ptr::null_mut(),
        )
    };
    lib.check("fi_mr_reg", ret as isize)?;
    Owned::new(mr_ptr, "memory region")
}
