//! An RDM endpoint with its fabric, domain, completion queues, address vector, page-aligned
//! buffers and (when the provider asks for it) registered memory: everything one side of a
//! benchmark needs, opened together and closed in reverse order.
//!
//! Operations are numbered: op `i` of a direction has its own fi_context2 and, when the buffers
//! are split, its own buffer slot, so a bandwidth test can keep a window of sends and receives in
//! flight while a ping-pong uses op 0 alone.

use std::os::raw::c_void;
use std::ptr::NonNull;
use std::sync::Arc;

use crate::buffer::AlignedBuffer;
use crate::error::FabricError;
use crate::ffi::{self, FiAddr, FiContext2, FiCqDataEntry, FiCqEntry, FiCqErrEntry, Fid};
use crate::info::{Info, MessageApi};
use crate::library::Library;

/// Tag used for every tagged message; receives match it exactly.
const PINGPONG_TAG: u64 = 0x5244_4d41;
/// Completion queue entries read per fi_cq_read call.
const CQ_BATCH: usize = 8;
/// How many empty busy polls pass between two calls of the caller's watchdog.
const POLLS_PER_WATCHDOG_CALL: u32 = 4096;
/// How long one blocking fi_cq_sread may sleep before the watchdog is consulted.
const SREAD_TIMEOUT_MS: i32 = 100;

/// How the endpoint learns that operations completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// Spin on fi_cq_read (lowest latency, one core busy): the reference tools' default.
    BusyPoll,
    /// Block in fi_cq_sread on the provider's wait object.
    Wait,
}

/// How to open an endpoint.
#[derive(Debug, Clone, Copy)]
pub struct EndpointOptions {
    /// Largest message, in bytes: the size of one buffer slot.
    pub buffer_size: usize,
    /// Operations each direction may have in flight (a bandwidth window; 1 for a ping-pong).
    pub depth: usize,
    /// Give every operation its own buffer slot (needed to verify a window's payloads); else
    /// all operations of a direction share one buffer, as perftest's bandwidth tests do.
    pub separate_buffers: bool,
    /// Completion strategy.
    pub completion: Completion,
    /// Register the buffers and pass descriptors even when the provider does not ask for it,
    /// so the FI_MR_LOCAL path EFA needs is exercised on providers that are available anywhere.
    pub force_mr_local: bool,
    /// Message API to use.
    pub api: MessageApi,
    /// Expose the receive buffer for the peer's RMA reads and writes, register both buffers for
    /// RMA, and report the peer's writes (completion queues in FI_CQ_FORMAT_DATA).
    pub rma: bool,
    /// Ask the efa provider for device RDMA (FI_OPT_EFA_USE_DEVICE_RDMA) and fail if it refuses,
    /// instead of measuring its emulation over send/recv without saying so.
    pub require_device_rdma: bool,
}

/// Whether the efa provider emulates RMA over send/recv on this endpoint (fi_getopt
/// FI_OPT_EFA_EMULATED_READ/WRITE): an emulated read is a different protocol from a device read,
/// so results must say which one they measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RmaEmulation {
    /// Reads go over send/recv.
    pub read: bool,
    /// Writes go over send/recv.
    pub write: bool,
}

/// Where the peer's memory for RMA is: the address to use in its key's terms, and the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteMemory {
    /// The buffer's virtual address under FI_MR_VIRT_ADDR, else 0 (offsets).
    pub address: u64,
    /// The registration's key (provider-chosen under FI_MR_PROV_KEY).
    pub key: u64,
}

/// Where a receive operation is in its life cycle. A receive can complete while we are still
/// waiting for our own send's completion, so "completed" is a state of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReceiveState {
    /// Nothing posted yet.
    Idle,
    /// Posted; libfabric may write the buffer.
    Posted,
    /// Completed; the buffer holds the message until the next post.
    Completed,
}

/// Which completion queue an operation reports to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Queue {
    Send,
    Receive,
}

/// What a send-queue operation on one op needs, checked by `Endpoint::tx_op`.
struct TxOp {
    peer: FiAddr,
    offset: usize,
    context: *mut c_void,
}

/// A libfabric object closed with fi_close when dropped.
struct Owned<T> {
    ptr: NonNull<T>,
    name: &'static str,
}

impl<T> Owned<T> {
    fn new(ptr: *mut T, name: &'static str) -> Result<Self, FabricError> {
        NonNull::new(ptr)
            .map(|ptr| Owned { ptr, name })
            .ok_or(FabricError::Usage("libfabric returned a null object"))
    }

    fn as_ptr(&self) -> *mut T {
        self.ptr.as_ptr()
    }

    fn fid(&self) -> *mut Fid {
        // Every fid_* struct starts with a `struct fid`.
        self.ptr.as_ptr().cast()
    }
}

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        let fid = self.fid();
        // SAFETY: fid is a live object opened by libfabric that no one else closes; fi_close is
        // fid->ops->close(fid). Children were dropped first (field order in Endpoint).
        let ret = unsafe { ((*(*fid).ops).close)(fid) };
        if ret != 0 {
            eprintln!(
                "warning: closing the libfabric {} returned {ret}",
                self.name
            );
        }
    }
}

/// One side of a ping-pong. Fields are declared in the order they must be closed; the domain
/// and fabric are only held open until the objects opened from them are closed.
pub struct Endpoint {
    ep: Owned<ffi::FidEp>,
    mrs: Option<(Owned<ffi::FidMr>, Owned<ffi::FidMr>)>,
    av: Owned<ffi::FidAv>,
    tx_cq: Owned<ffi::FidCq>,
    rx_cq: Owned<ffi::FidCq>,
    _domain: Owned<ffi::FidDomain>,
    _fabric: Owned<ffi::FidFabric>,
    tx: AlignedBuffer,
    rx: AlignedBuffer,
    tx_contexts: Box<[FiContext2]>,
    rx_contexts: Box<[FiContext2]>,
    tx_pending: Vec<bool>,
    sends_in_flight: usize,
    rx_state: Vec<ReceiveState>,
    peer: Option<FiAddr>,
    peer_memory: Option<RemoteMemory>,
    remote_writes: u64,
    context_entries: [FiCqEntry; CQ_BATCH],
    data_entries: [FiCqDataEntry; CQ_BATCH],
    virt_addr: bool,
    inject_size: usize,
    max_msg_size: usize,
    options: EndpointOptions,
    lib: Arc<Library>,
}

impl Endpoint {
    /// Opens fabric, domain, completion queue, address vector and endpoint for `info`, and
    /// registers the buffers when the provider requires local registration (or when forced).
    pub fn open(info: &Info, options: EndpointOptions) -> Result<Endpoint, FabricError> {
        let lib = Arc::clone(info.library());
        let view = info.view();
        let info_ptr = info.as_ptr();
        let max_msg_size = view.max_msg_size();
        if options.depth == 0 {
            return Err(FabricError::Usage(
                "an endpoint needs at least one operation",
            ));
        }
        if options.buffer_size > max_msg_size {
            return Err(FabricError::MessageTooLarge {
                len: options.buffer_size,
                limit: max_msg_size,
                what: "the provider's max_msg_size",
            });
        }

        let mut fabric_ptr = std::ptr::null_mut();
        // SAFETY: info_ptr is a live fi_info whose fabric_attr libfabric allocated.
        let ret = unsafe {
            (lib.fabric)(
                (*info_ptr).fabric_attr,
                &mut fabric_ptr,
                std::ptr::null_mut(),
            )
        };
        lib.check("fi_fabric", ret as isize)?;
        let fabric = Owned::new(fabric_ptr, "fabric")?;

        let mut domain_ptr = std::ptr::null_mut();
        // SAFETY: fabric is live; fi_domain is fabric->ops->domain.
        let ret = unsafe {
            ((*(*fabric.as_ptr()).ops).domain)(
                fabric.as_ptr(),
                info_ptr,
                &mut domain_ptr,
                std::ptr::null_mut(),
            )
        };
        lib.check("fi_domain", ret as isize)?;
        let domain = Owned::new(domain_ptr, "domain")?;

        // Separate send and receive queues, as fi_pingpong has: a receive poll never has to
        // step over send completions.
        let format = if options.rma {
            ffi::FI_CQ_FORMAT_DATA
        } else {
            ffi::FI_CQ_FORMAT_CONTEXT
        };
        let tx_cq = open_cq(&lib, &domain, options.completion, format)
            .map_err(|e| wait_refused(e, &lib, &view, options.completion))?;
        let rx_cq = open_cq(&lib, &domain, options.completion, format)
            .map_err(|e| wait_refused(e, &lib, &view, options.completion))?;

        let mut av_attr = ffi::FiAvAttr {
            type_: ffi::FI_AV_UNSPEC,
            rx_ctx_bits: 0,
            count: 1,
            ep_per_node: 0,
            name: std::ptr::null(),
            map_addr: std::ptr::null_mut(),
            flags: 0,
        };
        let mut av_ptr = std::ptr::null_mut();
        // SAFETY: domain is live; fi_av_open is domain->ops->av_open.
        let ret = unsafe {
            ((*(*domain.as_ptr()).ops).av_open)(
                domain.as_ptr(),
                &mut av_attr,
                &mut av_ptr,
                std::ptr::null_mut(),
            )
        };
        lib.check("fi_av_open", ret as isize)?;
        let av = Owned::new(av_ptr, "address vector")?;

        let mut ep_ptr = std::ptr::null_mut();
        // SAFETY: domain and info are live; fi_endpoint is domain->ops->endpoint.
        let ret = unsafe {
            ((*(*domain.as_ptr()).ops).endpoint)(
                domain.as_ptr(),
                info_ptr,
                &mut ep_ptr,
                std::ptr::null_mut(),
            )
        };
        lib.check("fi_endpoint", ret as isize)?;
        let ep = Owned::new(ep_ptr, "endpoint")?;
        if options.require_device_rdma {
            // Must precede fi_enable: efa decides its RMA protocol when the endpoint is enabled.
            setopt_bool(&ep, ffi::FI_OPT_EFA_USE_DEVICE_RDMA, true).map_err(|code| {
                FabricError::DeviceRdmaRefused {
                    provider: view.provider(),
                    api_version: lib.api_version(),
                    code,
                    message: lib.strerror(code),
                }
            })?;
        }

        // SAFETY: ep, both queues and av are live; fi_ep_bind is ep->fid.ops->bind and fi_enable is
        // ep->fid.ops->control(FI_ENABLE).
        unsafe {
            let ops = (*ep.fid()).ops;
            let ret = ((*ops).bind)(ep.fid(), tx_cq.fid(), ffi::FI_SEND);
            lib.check("fi_ep_bind(send queue)", ret as isize)?;
            let ret = ((*ops).bind)(ep.fid(), rx_cq.fid(), ffi::FI_RECV);
            lib.check("fi_ep_bind(receive queue)", ret as isize)?;
            let ret = ((*ops).bind)(ep.fid(), av.fid(), 0);
            lib.check("fi_ep_bind(av)", ret as isize)?;
            let ret = ((*ops).control)(ep.fid(), ffi::FI_ENABLE, std::ptr::null_mut());
            lib.check("fi_enable", ret as isize)?;
        }
        // Send/recv can be limited below ep_attr.max_msg_size (efa-direct: the device MTU, while
        // max_msg_size is its RMA limit when FI_RMA was asked for); libfabric 1.22+ says so
        // through FI_OPT_MAX_MSG_SIZE, and older libraries or providers without it answer
        // -FI_ENOPROTOOPT.
        let send_limit = getopt::<usize>(&lib, &ep, ffi::FI_OPT_MAX_MSG_SIZE)?
            .map_or(max_msg_size, |limit| limit.min(max_msg_size));
        if !options.rma && options.buffer_size > send_limit {
            return Err(FabricError::MessageTooLarge {
                len: options.buffer_size,
                limit: send_limit,
                what: "the provider's send/recv limit, fi_getopt FI_OPT_MAX_MSG_SIZE",
            });
        }
        let max_msg_size = if options.rma {
            max_msg_size
        } else {
            send_limit
        };

        let slots = if options.separate_buffers {
            options.depth
        } else {
            1
        };
        let total = options
            .buffer_size
            .checked_mul(slots)
            .ok_or(FabricError::Usage("buffer size overflows"))?;
        let tx = AlignedBuffer::new(total)?;
        let rx = AlignedBuffer::new(total)?;
        let mr_mode = view.mr_mode();
        // RMA needs registrations whatever FI_MR_LOCAL says: the peer addresses our memory by key.
        let rma_access = if options.rma {
            ffi::FI_READ | ffi::FI_WRITE | ffi::FI_REMOTE_READ | ffi::FI_REMOTE_WRITE
        } else {
            0
        };
        let mrs = if options.rma || options.force_mr_local || mr_mode & ffi::FI_MR_LOCAL != 0 {
            let prov_key = mr_mode & ffi::FI_MR_PROV_KEY != 0;
            Some((
                register(
                    &lib,
                    &domain,
                    &tx,
                    ffi::FI_SEND | rma_access,
                    if prov_key { 0 } else { 1 },
                )?,
                register(
                    &lib,
                    &domain,
                    &rx,
                    ffi::FI_RECV | rma_access,
                    if prov_key { 0 } else { 2 },
                )?,
            ))
        } else {
            None
        };

        Ok(Endpoint {
            ep,
            mrs,
            av,
            tx_cq,
            rx_cq,
            _domain: domain,
            _fabric: fabric,
            tx,
            rx,
            tx_contexts: zeroed_contexts(options.depth),
            rx_contexts: zeroed_contexts(options.depth),
            tx_pending: vec![false; options.depth],
            sends_in_flight: 0,
            rx_state: vec![ReceiveState::Idle; options.depth],
            peer: None,
            peer_memory: None,
            remote_writes: 0,
            context_entries: [FiCqEntry {
                op_context: std::ptr::null_mut(),
            }; CQ_BATCH],
            data_entries: [FiCqDataEntry {
                op_context: std::ptr::null_mut(),
                flags: 0,
                len: 0,
                buf: std::ptr::null_mut(),
                data: 0,
            }; CQ_BATCH],
            virt_addr: mr_mode & ffi::FI_MR_VIRT_ADDR != 0,
            inject_size: view.inject_size(),
            max_msg_size,
            options,
            lib,
        })
    }

    /// This endpoint's fabric address, to hand to the peer out of band.
    pub fn address(&self) -> Result<Vec<u8>, FabricError> {
        let mut len: usize = 0;
        let getname = self.cm_getname();
        // SAFETY: fi_getname with a zero-length buffer reports the needed size (-FI_ETOOSMALL).
        let _ = unsafe { getname(self.ep.fid(), std::ptr::null_mut(), &mut len) };
        if len == 0 {
            len = 256;
        }
        let mut addr = vec![0u8; len];
        // SAFETY: addr has len writable bytes; getname writes at most len and updates len.
        let ret = unsafe { getname(self.ep.fid(), addr.as_mut_ptr().cast(), &mut len) };
        self.lib.check("fi_getname", ret as isize)?;
        addr.truncate(len);
        Ok(addr)
    }

    fn cm_getname(&self) -> unsafe extern "C" fn(*mut Fid, *mut c_void, *mut usize) -> i32 {
        // SAFETY: ep is live and every RDM endpoint has cm ops (fi_getname lives there).
        unsafe { (*(*self.ep.as_ptr()).cm).getname }
    }

    /// Inserts the peer's address (from its `address()`) so messages can be sent to it.
    pub fn insert_peer(&mut self, address: &[u8]) -> Result<(), FabricError> {
        let mut fi_addr: FiAddr = ffi::FI_ADDR_UNSPEC;
        // SAFETY: av is live; address holds one raw address in the provider's format, as
        // produced by the peer's fi_getname.
        let ret = unsafe {
            ((*(*self.av.as_ptr()).ops).insert)(
                self.av.as_ptr(),
                address.as_ptr().cast(),
                1,
                &mut fi_addr,
                0,
                std::ptr::null_mut(),
            )
        };
        if ret != 1 {
            self.lib.check("fi_av_insert", ret.min(-1) as isize)?;
        }
        self.peer = Some(fi_addr);
        Ok(())
    }

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

    /// The efa provider's RMA emulation on this endpoint; None where the provider has no such
    /// options (every provider but efa).
    pub fn rma_emulation(&self) -> Result<Option<RmaEmulation>, FabricError> {
        let read = getopt::<u8>(&self.lib, &self.ep, ffi::FI_OPT_EFA_EMULATED_READ)?;
        let write = getopt::<u8>(&self.lib, &self.ep, ffi::FI_OPT_EFA_EMULATED_WRITE)?;
        Ok(read.zip(write).map(|(read, write)| RmaEmulation {
            read: read != 0,
            write: write != 0,
        }))
    }

    /// How many operations each direction may have in flight.
    pub fn depth(&self) -> usize {
        self.options.depth
    }

    fn check_op(&self, op: usize) -> Result<(), FabricError> {
        if op >= self.options.depth {
            return Err(FabricError::Usage(
                "operation number beyond the endpoint's depth",
            ));
        }
        Ok(())
    }

    /// Byte offset of op's buffer slot.
    fn slot_offset(&self, op: usize) -> usize {
        if self.options.separate_buffers {
            op * self.options.buffer_size
        } else {
            0
        }
    }

    /// Whether another in-flight operation of the direction shares op's buffer.
    fn shared_slot_busy(&self, op: usize, busy: impl Fn(usize) -> bool) -> bool {
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

    fn check_len(&self, len: usize) -> Result<(), FabricError> {
        if len > self.max_message() {
            return Err(FabricError::MessageTooLarge {
                len,
                limit: self.max_message(),
                what: "the endpoint's buffers",
            });
        }
        Ok(())
    }

    fn descriptors(&self) -> (*mut c_void, *mut c_void) {
        match &self.mrs {
            // SAFETY: both regions are live; fi_mr_desc(mr) is mr->mem_desc.
            Some((tx, rx)) => unsafe { ((*tx.as_ptr()).mem_desc, (*rx.as_ptr()).mem_desc) },
            None => (std::ptr::null_mut(), std::ptr::null_mut()),
        }
    }

    fn peer(&self) -> Result<FiAddr, FabricError> {
        self.peer.ok_or(FabricError::Usage(
            "no peer address inserted before sending",
        ))
    }

    /// Checks that op may start a send-queue operation (send, write, read) of `len` bytes and
    /// returns what every such operation needs: the peer, op's slot offset and context.
    fn tx_op(&mut self, op: usize, len: usize) -> Result<TxOp, FabricError> {
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
    fn tx_posted(&mut self, op: usize) {
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
    /// smaller, as fi_pingpong decides), otherwise with fi_send, whose completion `wait_sends`
    /// collects.
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
        if len < self.inject_size {
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

    /// Progresses until every outstanding send has completed.
    pub fn wait_sends(&mut self, watchdog: &mut dyn FnMut() -> bool) -> Result<(), FabricError> {
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

    fn peer_memory(&self) -> Result<RemoteMemory, FabricError> {
        self.peer_memory.ok_or(FabricError::Usage(
            "RMA before the peer's memory was known (or the endpoint has no RMA)",
        ))
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

    /// The receive buffer slot the peer reads, to fill before its reads (--verify).
    pub fn exposed_buffer(&mut self, op: usize) -> Result<&mut [u8], FabricError> {
        self.check_op(op)?;
        let (start, len) = (self.slot_offset(op), self.options.buffer_size);
        Ok(&mut self.rx.as_mut_slice()[start..start + len])
    }

    fn retry_on_eagain(
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

    fn progress_until(
        &mut self,
        queue: Queue,
        watchdog: &mut dyn FnMut() -> bool,
        done: impl Fn(&Self) -> bool,
    ) -> Result<(), FabricError> {
        let mut polls: u32 = 0;
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

    fn cq(&self, queue: Queue) -> *mut ffi::FidCq {
        match queue {
            Queue::Send => self.tx_cq.as_ptr(),
            Queue::Receive => self.rx_cq.as_ptr(),
        }
    }

    /// Reads completions without blocking; returns whether any arrived.
    fn progress(&mut self, queue: Queue) -> Result<bool, FabricError> {
        self.poll_cq(queue, false)
    }

    /// Blocks up to SREAD_TIMEOUT_MS for completions; returns whether any arrived.
    fn wait_progress(&mut self, queue: Queue) -> Result<bool, FabricError> {
        self.poll_cq(queue, true)
    }

    /// Reads up to CQ_BATCH completions of `queue` (fi_cq_read, or fi_cq_sread when
    /// `blocking`) into the endpoint's entry buffer of the queue's format, and applies them.
    fn poll_cq(&mut self, queue: Queue, blocking: bool) -> Result<bool, FabricError> {
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
    fn complete(&mut self, context: usize, flags: u64) {
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

    fn completion_error(&mut self, queue: Queue) -> FabricError {
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

/// The start of the buffer slot at `offset`, as libfabric's calls take a buffer (slot_offset
/// and check_len keep offset + len inside the buffer). A raw pointer, never a reference: the
/// provider may be writing other slots of the same buffer meanwhile.
fn slot(buffer: &mut AlignedBuffer, offset: usize) -> *mut c_void {
    assert!(offset < buffer.len(), "slot offset beyond the buffer");
    // SAFETY: offset is inside the buffer's allocation (asserted), so add stays in bounds.
    unsafe { buffer.as_mut_ptr().add(offset) }.cast()
}

/// fi_cq_open's refusal of a wait object (--wait), said as what it is: this provider in this
/// libfabric cannot block for completions. efa has none up to libfabric 2.4 (FI_WAIT_UNSPEC/FD on
/// RDM endpoints from 2.5, man fi_efa).
fn wait_refused(
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
fn refusal_of_wait(
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

fn open_cq(
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

/// An endpoint option (fi_getopt at FI_OPT_ENDPOINT) of a plain type (size_t, C bool as u8); None
/// when the provider or library does not know it (-FI_ENOPROTOOPT, -FI_ENOSYS).
fn getopt<T: Copy + Default>(
    lib: &Library,
    ep: &Owned<ffi::FidEp>,
    name: std::os::raw::c_int,
) -> Result<Option<T>, FabricError> {
    let mut value = T::default();
    let mut len = std::mem::size_of::<T>();
    // SAFETY: ep is live; fi_getopt is ep->ops->getopt; value has len writable bytes and the
    // provider writes at most len (it refuses a smaller len with -FI_ETOOSMALL).
    let ret = unsafe {
        ((*(*ep.as_ptr()).ops).getopt)(
            ep.fid(),
            ffi::FI_OPT_ENDPOINT,
            name,
            (&mut value as *mut T).cast(),
            &mut len,
        )
    };
    if ret == -ffi::FI_ENOPROTOOPT || ret == -ffi::FI_ENOSYS {
        return Ok(None);
    }
    lib.check("fi_getopt", ret as isize)?;
    Ok(Some(value))
}

/// Sets a C bool endpoint option; the positive error code when the provider refuses.
fn setopt_bool(
    ep: &Owned<ffi::FidEp>,
    name: std::os::raw::c_int,
    on: bool,
) -> Result<(), std::os::raw::c_int> {
    let value = u8::from(on);
    // SAFETY: ep is live; fi_setopt is ep->ops->setopt; value is one readable byte, the size of
    // the C bool the option takes.
    let ret = unsafe {
        ((*(*ep.as_ptr()).ops).setopt)(
            ep.fid(),
            ffi::FI_OPT_ENDPOINT,
            name,
            (&value as *const u8).cast(),
            std::mem::size_of::<u8>(),
        )
    };
    if ret < 0 {
        Err(-ret)
    } else {
        Ok(())
    }
}

fn zeroed_contexts(depth: usize) -> Box<[FiContext2]> {
    (0..depth)
        .map(|_| FiContext2 {
            internal: [std::ptr::null_mut(); 8],
        })
        .collect()
}

/// Which operation a completion's context address belongs to, if it is one of `contexts`.
fn op_of(contexts: &[FiContext2], address: usize) -> Option<usize> {
    let start = contexts.as_ptr() as usize;
    let size = std::mem::size_of::<FiContext2>();
    let offset = address.checked_sub(start)?;
    (offset % size == 0 && offset / size < contexts.len()).then_some(offset / size)
}

fn register(
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
