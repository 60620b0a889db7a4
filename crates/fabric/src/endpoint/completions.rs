//! Completion queues: opening them (with or without a wait object), polling or blocking on
//! them, matching completions to ops by context, and reading error entries.

use super::*;

impl Endpoint {
    pub(super) fn progress_until(
        &mut self,
        queue: Queue,
        watchdog: &mut dyn FnMut() -> bool,
        done: impl Fn(&Self) -> bool,
    ) -> Result<(), FabricError> {
        let mut polls: u32 = 0;
        if self.options.completion == Completion::BusyPoll {
            // Busy polling: a tight loop around the provider's read; only a non-empty read
            // (or an error) goes through the completion bookkeeping of poll_cq.
            let cq = self.cq(queue);
            // SAFETY: cq is live for the endpoint's lifetime; ops is its provider table.
            let read = unsafe { (*(*cq).ops).read };
            while !done(self) {
                let buf = self.entry_buffer();
                // SAFETY: as in poll_cq: buf has room for CQ_BATCH entries of the queue's format.
                let ret = unsafe { read(cq, buf, CQ_BATCH) };
                if ret != -ffi::FI_EAGAIN && self.apply_read(queue, ret)? {
                    continue;
                }
                polls += 1;
                if polls.is_multiple_of(POLLS_PER_WATCHDOG_CALL) && !watchdog() {
                    return Err(FabricError::Abandoned);
                }
            }
            return Ok(());
        }
        while !done(self) {
            let progressed = match self.options.completion {
                Completion::BusyPoll => self.progress(queue)?,
                Completion::Wait => self.wait_progress(queue)?,
            };
            if progressed {
                continue;
            }
            polls += 1;
            let check_now = match self.options.completion {
                Completion::BusyPoll => polls.is_multiple_of(POLLS_PER_WATCHDOG_CALL),
                Completion::Wait => true,
            };
            if check_now && !watchdog() {
                return Err(FabricError::Abandoned);
            }
        }
        Ok(())
    }

    pub(super) fn cq(&self, queue: Queue) -> *mut ffi::FidCq {
        match queue {
            Queue::Send => self.tx_cq.as_ptr(),
            Queue::Receive => self.rx_cq.as_ptr(),
        }
    }

    /// Reads completions without blocking; returns whether any arrived.
    pub(super) fn progress(&mut self, queue: Queue) -> Result<bool, FabricError> {
        self.poll_cq(queue, false)
    }

    /// Blocks up to SREAD_TIMEOUT_MS for completions; returns whether any arrived.
    pub(super) fn wait_progress(&mut self, queue: Queue) -> Result<bool, FabricError> {
        self.poll_cq(queue, true)
    }

    /// Reads up to CQ_BATCH completions of `queue` (fi_cq_read, or fi_cq_sread when
    /// `blocking`) into the endpoint's entry buffer of the queue's format, and applies them.
    pub(super) fn poll_cq(&mut self, queue: Queue, blocking: bool) -> Result<bool, FabricError> {
        let cq = self.cq(queue);
        let buf: *mut c_void = if self.options.rma {
            self.data_entries.as_mut_ptr().cast()
        } else {
            self.context_entries.as_mut_ptr().cast()
        };
        // SAFETY: cq is live (opened with a wait object when blocking is used: Completion::Wait);
        // buf has room for CQ_BATCH entries of the format the queue was opened with
        // (FI_CQ_FORMAT_DATA for RMA endpoints, FI_CQ_FORMAT_CONTEXT otherwise).
        let ret = unsafe {
            if blocking {
                ((*(*cq).ops).sread)(cq, buf, CQ_BATCH, std::ptr::null(), SREAD_TIMEOUT_MS)
            } else {
                ((*(*cq).ops).read)(cq, buf, CQ_BATCH)
            }
        };
        if ret == -ffi::FI_EAGAIN || (blocking && ret == -(libc::ETIMEDOUT as isize)) {
            return Ok(false);
        }
        self.apply_read(queue, ret)
    }

    /// The entry buffer of the queues' format.
    #[inline]
    fn entry_buffer(&mut self) -> *mut c_void {
        if self.options.rma {
            self.data_entries.as_mut_ptr().cast()
        } else {
            self.context_entries.as_mut_ptr().cast()
        }
    }

    /// Applies what one fi_cq_read/sread returned (not -FI_EAGAIN): its entries, or the error.
    fn apply_read(&mut self, queue: Queue, ret: isize) -> Result<bool, FabricError> {
        if ret == -ffi::FI_EAVAIL {
            return Err(self.completion_error(queue));
        }
        self.lib.check("fi_cq_read", ret)?;
        for i in 0..ret.unsigned_abs().min(CQ_BATCH) {
            let (context, flags) = if self.options.rma {
                let entry = self.data_entries[i];
                (entry.op_context as usize, entry.flags)
            } else {
                (self.context_entries[i].op_context as usize, 0)
            };
            self.complete(context, flags);
        }
        Ok(ret > 0)
    }

    /// Applies one completion: an operation of ours by its context, or a write the peer made
    /// into our memory with fi_writedata (no context of ours, FI_REMOTE_CQ_DATA set).
    pub(super) fn complete(&mut self, context: usize, flags: u64) {
        if let Some(op) = op_of(&self.tx_contexts, context) {
            if std::mem::replace(&mut self.tx_pending[op], false) {
                self.sends_in_flight -= 1;
            }
        } else if let Some(op) = op_of(&self.rx_contexts, context) {
            self.rx_state[op] = ReceiveState::Completed;
        } else if flags & ffi::FI_REMOTE_CQ_DATA != 0 {
            self.remote_writes += 1;
        }
    }

    pub(super) fn completion_error(&mut self, queue: Queue) -> FabricError {
        // SAFETY: an all-zero fi_cq_err_entry is valid input: err_data_size 0 asks the
        // provider to use its own error-data buffer (API >= 1.5).
        let mut err: FiCqErrEntry = unsafe { std::mem::zeroed() };
        let cq = self.cq(queue);
        // SAFETY: cq is live and reported FI_EAVAIL, so an error entry is queued.
        let ret = unsafe { ((*(*cq).ops).readerr)(cq, &mut err, 0) };
        if ret < 0 {
            return self
                .lib
                .check("fi_cq_readerr", ret)
                .expect_err("negative return is an error");
        }
        let operation = match queue {
            Queue::Send => "send",
            Queue::Receive => "receive",
        };
        let mut detail = [0 as std::os::raw::c_char; 256];
        // SAFETY: cq is live; fi_cq_strerror writes at most detail.len() bytes into detail and
        // returns a NUL-terminated string (detail or a static one).
        let provider_text = unsafe {
            let text = ((*(*cq).ops).strerror)(
                cq,
                err.prov_errno,
                err.err_data,
                detail.as_mut_ptr(),
                detail.len(),
            );
            if text.is_null() {
                String::new()
            } else {
                std::ffi::CStr::from_ptr(text)
                    .to_string_lossy()
                    .into_owned()
            }
        };
        FabricError::Completion {
            operation,
            message: format!(
                "{} (provider error {}: {provider_text})",
                self.lib.strerror(err.err),
                err.prov_errno
            ),
        }
    }
}

/// fi_cq_open's refusal of a wait object (--wait), said as what it is: this provider in this
/// libfabric cannot block for completions. efa has none up to libfabric 2.4 (FI_WAIT_UNSPEC/FD on
/// RDM endpoints from 2.5, man fi_efa).
pub(super) fn wait_refused(
    error: FabricError,
    lib: &Library,
    view: &crate::info::InfoRef<'_>,
    completion: Completion,
) -> FabricError {
    refusal_of_wait(error, completion, || {
        (view.provider(), lib.runtime_version())
    })
}

/// The rule of `wait_refused`, apart from the live objects it names: fi_cq_open failing with
/// "not supported" while a wait object was asked for means the provider has none.
pub(super) fn refusal_of_wait(
    error: FabricError,
    completion: Completion,
    provider_and_version: impl FnOnce() -> (String, String),
) -> FabricError {
    match error {
        FabricError::Call { code, message, .. }
            if completion == Completion::Wait
                && (code == ffi::FI_ENOSYS || code == libc::EINVAL || code == libc::EOPNOTSUPP) =>
        {
            let (provider, library_version) = provider_and_version();
            FabricError::WaitUnsupported {
                provider,
                library_version,
                reason: format!("{message} (-{code})"),
            }
        }
        other => other,
    }
}

pub(super) fn open_cq(
    lib: &Library,
    domain: &Owned<ffi::FidDomain>,
    completion: Completion,
    format: std::os::raw::c_int,
) -> Result<Owned<ffi::FidCq>, FabricError> {
    let mut attr = ffi::FiCqAttr {
        size: 0,
        flags: 0,
        format,
        wait_obj: match completion {
            Completion::BusyPoll => ffi::FI_WAIT_NONE,
            Completion::Wait => ffi::FI_WAIT_UNSPEC,
        },
        signaling_vector: 0,
        wait_cond: 0,
        wait_set: std::ptr::null_mut(),
    };
    let mut cq_ptr = std::ptr::null_mut();
    // SAFETY: domain is live; fi_cq_open is domain->ops->cq_open; attr outlives the call.
    let ret = unsafe {
        ((*(*domain.as_ptr()).ops).cq_open)(
            domain.as_ptr(),
            &mut attr,
            &mut cq_ptr,
            std::ptr::null_mut(),
        )
    };
    lib.check("fi_cq_open", ret as isize)?;
    Owned::new(cq_ptr, "completion queue")
}

/// Which operation a completion's context address belongs to, if it is one of `contexts`.
fn op_of(contexts: &[FiContext2], address: usize) -> Option<usize> {
    let start = contexts.as_ptr() as usize;
    let size = std::mem::size_of::<FiContext2>();
    let offset = address.checked_sub(start)?;
    (offset % size == 0 && offset / size < contexts.len()).then_some(offset / size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cq_open_failed(code: i32, message: &str) -> FabricError {
        FabricError::Call {
            call: "fi_cq_open",
            code,
            message: message.into(),
        }
    }

    #[test]
    fn a_refused_wait_object_names_the_provider_the_library_and_the_fix() {
        // efa up to libfabric 2.4: `if (attr->wait_obj != FI_WAIT_NONE) return -FI_ENOSYS;`.
        let err = refusal_of_wait(
            cq_open_failed(ffi::FI_ENOSYS, "Function not implemented"),
            Completion::Wait,
            || ("efa".into(), "2.2".into()),
        )
        .to_string();
        assert_eq!(
            err,
            "provider efa in libfabric 2.2 cannot block for completions: fi_cq_open with a wait object failed: Function not implemented (-38); run without --wait (busy polling, as fi_pingpong does); efa offers wait objects on RDM endpoints from libfabric 2.5"
        );
        // Busy polling asked for no wait object: the failure is something else, kept as is.
        let kept = refusal_of_wait(
            cq_open_failed(ffi::FI_ENOSYS, "Function not implemented"),
            Completion::BusyPoll,
            || unreachable!("not consulted"),
        );
        assert!(matches!(kept, FabricError::Call { .. }));
        let other = refusal_of_wait(
            cq_open_failed(libc::ENOMEM, "Cannot allocate memory"),
            Completion::Wait,
            || unreachable!("not consulted"),
        );
        assert!(matches!(other, FabricError::Call { .. }));
    }
}
