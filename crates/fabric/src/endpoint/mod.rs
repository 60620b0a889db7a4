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

mod completions;
mod memory;
mod operations;
mod options;
mod setup;

use completions::{open_cq, wait_refused};
use memory::{register, slot};
use options::{getopt, setopt_bool};

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
    /// Inject messages of exactly the inject size too, as fabtests' bandwidth() does
    /// (`transfer_size <= inject_size`); fi_pingpong injects only smaller ones.
    pub inject_at_inject_size: bool,
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
