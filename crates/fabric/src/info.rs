//! Provider discovery: fi_getinfo queries and read-only views of their answers.

use std::ffi::{CStr, CString};
use std::marker::PhantomData;
use std::os::raw::c_char;
use std::sync::Arc;

use crate::error::FabricError;
use crate::ffi::{self, FiInfo};
use crate::library::Library;

/// Which send/receive family the benchmark uses: plain messages or tag-matched messages (what
/// MPI implementations use over libfabric).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageApi {
    /// fi_send / fi_recv (FI_MSG).
    Msg,
    /// fi_tsend / fi_trecv (FI_TAGGED).
    Tagged,
}

/// What to ask fi_getinfo for; everything else is fixed to what a ping-pong over reliable
/// datagram endpoints needs, including every mode bit EFA asks applications to honour.
#[derive(Debug, Clone)]
pub struct Query {
    /// Core provider name ("tcp", "efa", ...); `None` lists every provider.
    pub provider: Option<String>,
    /// Message API the endpoint must support.
    pub api: MessageApi,
    /// Local address to bind (passed with FI_SOURCE); needed by socket-based providers, which
    /// otherwise pick the machine's main interface.
    pub node: Option<String>,
    /// The endpoint must also offer RMA reads and writes, both ways (rdmabench rma).
    pub rma: bool,
}

/// Capabilities an RMA benchmark asks for: reads and writes issued here and received from the
/// peer.
const RMA_CAPS: u64 =
    ffi::FI_RMA | ffi::FI_READ | ffi::FI_WRITE | ffi::FI_REMOTE_READ | ffi::FI_REMOTE_WRITE;

/// mr_mode bits rdmabench is prepared to honour (the set EFA requires).
pub(crate) const SUPPORTED_MR_MODE: i32 =
    ffi::FI_MR_LOCAL | ffi::FI_MR_ALLOCATED | ffi::FI_MR_PROV_KEY | ffi::FI_MR_VIRT_ADDR;

/// A list of fi_info answers, freed with fi_freeinfo.
pub struct InfoList {
    lib: Arc<Library>,
    head: *mut FiInfo,
}

/// One provider answer, owned (a fi_dupinfo copy), used to open an endpoint.
pub struct Info {
    lib: Arc<Library>,
    ptr: *mut FiInfo,
}

/// A borrowed view of one fi_info entry.
#[derive(Clone, Copy)]
pub struct InfoRef<'a> {
    ptr: *const FiInfo,
    _list: PhantomData<&'a FiInfo>,
}

impl Library {
    /// Runs fi_getinfo for a reliable-datagram endpoint matching `query`; an empty answer is an
    /// empty list, not an error.
    pub fn getinfo(self: &Arc<Self>, query: &Query) -> Result<InfoList, FabricError> {
        let hints = Hints::new(self, query)?;
        let node = query
            .node
            .as_deref()
            .map(|n| CString::new(n).map_err(|_| FabricError::Usage("address contains NUL")))
            .transpose()?;
        let flags = if node.is_some() { ffi::FI_SOURCE } else { 0 };
        let mut head: *mut FiInfo = std::ptr::null_mut();
        // SAFETY: hints is a valid fi_info from fi_dupinfo; node is NULL or a C string; head is
        // an out-pointer that libfabric fills with a list we free in InfoList::drop.
        let ret = unsafe {
            (self.getinfo)(
                self.api_version_raw(),
                node.as_ref().map_or(std::ptr::null(), |n| n.as_ptr()),
                std::ptr::null(),
                flags,
                hints.ptr,
                &mut head,
            )
        };
        if ret == -(libc::ENODATA) {
            return Ok(InfoList {
                lib: Arc::clone(self),
                head: std::ptr::null_mut(),
            });
        }
        self.check("fi_getinfo", ret as isize)?;
        Ok(InfoList {
            lib: Arc::clone(self),
            head,
        })
    }
}

/// fi_getinfo hints, allocated by libfabric so its own fi_freeinfo can release them.
struct Hints<'a> {
    lib: &'a Library,
    ptr: *mut FiInfo,
}

impl<'a> Hints<'a> {
    fn new(lib: &'a Library, query: &Query) -> Result<Self, FabricError> {
        // SAFETY: fi_dupinfo(NULL) is fi_allocinfo(): it allocates a zeroed fi_info with all
        // attribute structs allocated too.
        let ptr = unsafe { (lib.dupinfo)(std::ptr::null()) };
        if ptr.is_null() {
            return Err(FabricError::Call {
                call: "fi_allocinfo",
                code: libc::ENOMEM,
                message: "out of memory".into(),
            });
        }
        let hints = Hints { lib, ptr };
        let caps = match query.api {
            MessageApi::Msg => ffi::FI_MSG,
            MessageApi::Tagged => ffi::FI_TAGGED,
        };
        // SAFETY: ptr and its attribute pointers were allocated by fi_allocinfo above; we only
        // write mirrored fields. prov_name is strdup'ed because fi_freeinfo frees it.
        unsafe {
            let info = &mut *hints.ptr;
            info.caps = caps | ffi::FI_SEND | ffi::FI_RECV | if query.rma { RMA_CAPS } else { 0 };
            info.mode = ffi::FI_CONTEXT | ffi::FI_CONTEXT2;
            (*info.ep_attr).type_ = ffi::FI_EP_RDM;
            (*info.domain_attr).threading = ffi::FI_THREAD_DOMAIN;
            (*info.domain_attr).mr_mode = SUPPORTED_MR_MODE;
            if let Some(name) = &query.provider {
                let c_name = CString::new(name.as_str())
                    .map_err(|_| FabricError::Usage("provider name contains NUL"))?;
                (*info.fabric_attr).prov_name = libc::strdup(c_name.as_ptr());
            }
        }
        Ok(hints)
    }
}

impl Drop for Hints<'_> {
    fn drop(&mut self) {
        // SAFETY: ptr came from fi_dupinfo and is freed exactly once.
        unsafe { (self.lib.freeinfo)(self.ptr) };
    }
}

impl InfoList {
    /// Every answer, in libfabric's order of preference.
    pub fn iter(&self) -> impl Iterator<Item = InfoRef<'_>> {
        let mut next = self.head as *const FiInfo;
        std::iter::from_fn(move || {
            if next.is_null() {
                return None;
            }
            let current = InfoRef {
                ptr: next,
                _list: PhantomData,
            };
            // SAFETY: next is a live entry of the list this iterator borrows.
            next = unsafe { (*next).next };
            Some(current)
        })
    }

    /// An owned copy of one entry, which outlives the list, ready to open an endpoint with.
    ///
    /// Providers may advertise FI_DIRECTED_RECV although we did not ask for it; left in, it makes
    /// the provider look up the source of every message (shm takes a mutex for that, ~8% of a
    /// 4-byte round trip). fi_pingpong strips it for the same reason, and so do we.
    pub fn duplicate(&self, entry: InfoRef<'_>) -> Result<Info, FabricError> {
        // SAFETY: entry points into this live list; fi_dupinfo copies exactly one entry.
        let ptr = unsafe { (self.lib.dupinfo)(entry.ptr) };
        if ptr.is_null() {
            return Err(FabricError::Call {
                call: "fi_dupinfo",
                code: libc::ENOMEM,
                message: "out of memory".into(),
            });
        }
        // SAFETY: ptr is our own fi_dupinfo copy; rx_attr is allocated in every answer.
        unsafe {
            (*ptr).caps &= !ffi::FI_DIRECTED_RECV;
            (*(*ptr).rx_attr).caps &= !ffi::FI_DIRECTED_RECV;
        }
        Ok(Info {
            lib: Arc::clone(&self.lib),
            ptr,
        })
    }
}

impl Drop for InfoList {
    fn drop(&mut self) {
        if !self.head.is_null() {
            // SAFETY: head came from fi_getinfo and is freed exactly once.
            unsafe { (self.lib.freeinfo)(self.head) };
        }
    }
}

impl Info {
    /// A borrowed view for reading the entry's attributes.
    pub fn view(&self) -> InfoRef<'_> {
        InfoRef {
            ptr: self.ptr,
            _list: PhantomData,
        }
    }

    pub(crate) fn as_ptr(&self) -> *mut FiInfo {
        self.ptr
    }

    pub(crate) fn library(&self) -> &Arc<Library> {
        &self.lib
    }
}

impl Drop for Info {
    fn drop(&mut self) {
        // SAFETY: ptr came from fi_dupinfo and is freed exactly once.
        unsafe { (self.lib.freeinfo)(self.ptr) };
    }
}

/// Names of the FI_MR_* bits, for reports that say which registration rules applied.
const MR_MODE_NAMES: [(i32, &str); 9] = [
    (ffi::FI_MR_LOCAL, "FI_MR_LOCAL"),
    (ffi::FI_MR_RAW, "FI_MR_RAW"),
    (ffi::FI_MR_VIRT_ADDR, "FI_MR_VIRT_ADDR"),
    (ffi::FI_MR_ALLOCATED, "FI_MR_ALLOCATED"),
    (ffi::FI_MR_PROV_KEY, "FI_MR_PROV_KEY"),
    (ffi::FI_MR_MMU_NOTIFY, "FI_MR_MMU_NOTIFY"),
    (ffi::FI_MR_RMA_EVENT, "FI_MR_RMA_EVENT"),
    (ffi::FI_MR_ENDPOINT, "FI_MR_ENDPOINT"),
    (ffi::FI_MR_HMEM, "FI_MR_HMEM"),
];

fn c_string(ptr: *const c_char) -> String {
    if ptr.is_null() {
        String::new()
    } else {
        // SAFETY: libfabric's attribute strings are NUL-terminated and live as long as the info.
        unsafe { CStr::from_ptr(ptr) }
            .to_string_lossy()
            .into_owned()
    }
}

impl InfoRef<'_> {
    fn info(&self) -> &FiInfo {
        // SAFETY: ptr points to a live fi_info for the borrow's lifetime.
        unsafe { &*self.ptr }
    }

    /// Full provider name as libfabric reports it, e.g. "tcp;ofi_rxm".
    pub fn provider(&self) -> String {
        // SAFETY: fabric_attr is always allocated in fi_getinfo answers.
        c_string(unsafe { (*self.info().fabric_attr).prov_name })
    }

    /// The core provider of a layered name ("tcp" for "tcp;ofi_rxm"), which users ask for.
    pub fn core_provider(&self) -> String {
        core_provider_name(&self.provider()).to_string()
    }

    /// Fabric name (for socket providers, the IP network, e.g. "127.0.0.0/8").
    pub fn fabric_name(&self) -> String {
        // SAFETY: fabric_attr is always allocated in fi_getinfo answers.
        c_string(unsafe { (*self.info().fabric_attr).name })
    }

    /// Domain name (the NIC or interface, e.g. "lo", "rdmap0s6-rdm").
    pub fn domain_name(&self) -> String {
        // SAFETY: domain_attr is always allocated in fi_getinfo answers.
        c_string(unsafe { (*self.info().domain_attr).name })
    }

    /// The memory-registration rules this provider imposes.
    pub fn mr_mode(&self) -> i32 {
        // SAFETY: domain_attr is always allocated in fi_getinfo answers.
        unsafe { (*self.info().domain_attr).mr_mode }
    }

    /// mr_mode as sorted flag names.
    pub fn mr_mode_names(&self) -> Vec<String> {
        let mode = self.mr_mode();
        let mut names: Vec<String> = MR_MODE_NAMES
            .iter()
            .filter(|(bit, _)| mode & bit != 0)
            .map(|(_, name)| (*name).to_string())
            .collect();
        names.sort();
        names
    }

    /// Largest message fi_inject accepts.
    pub fn inject_size(&self) -> usize {
        // SAFETY: tx_attr is always allocated in fi_getinfo answers.
        unsafe { (*self.info().tx_attr).inject_size }
    }

    /// Largest message the endpoint accepts.
    pub fn max_msg_size(&self) -> usize {
        // SAFETY: ep_attr is always allocated in fi_getinfo answers.
        unsafe { (*self.info().ep_attr).max_msg_size }
    }

    /// Mode bits the provider requires the application to honour (FI_CONTEXT, ...).
    pub fn mode(&self) -> u64 {
        self.info().mode
    }
}

/// Strips utility layers from a provider name: "tcp;ofi_rxm" -> "tcp".
pub fn core_provider_name(provider: &str) -> &str {
    provider.split(';').next().unwrap_or(provider)
}

#[cfg(test)]
mod tests {
    use super::core_provider_name;

    #[test]
    fn layered_names_reduce_to_their_core() {
        assert_eq!(core_provider_name("tcp;ofi_rxm"), "tcp");
        assert_eq!(core_provider_name("udp;ofi_rxd"), "udp");
        assert_eq!(core_provider_name("efa"), "efa");
    }
}
