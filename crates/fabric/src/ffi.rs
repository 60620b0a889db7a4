//! Hand-written mirrors of the libfabric ABI that rdmabench touches.
//!
//! Only the leading fields that rdmabench reads or writes are mirrored: libfabric appends new
//! fields at the end of its structs and never moves existing ones, and every struct here is
//! allocated by libfabric itself (fi_dupinfo, fi_getinfo, the open calls), so a shorter mirror is
//! always safe to read through a pointer libfabric gave us. The structs rdmabench allocates itself
//! (cq and av attributes, the cq error entry, contexts) are mirrored whole, in the layout of the
//! newest API rdmabench requests (2.2). `tests::offsets_match_the_c_headers` compiles a C program
//! against the installed headers (Debian's 1.17) and checks every offset below;
//! `tests::allocated_structs_match_the_v2_2_headers` checks the allocated ones against a table
//! written from libfabric v2.2.0's headers.

use std::os::raw::{c_char, c_int, c_void};

/// `fi_addr_t`: an index or opaque handle into an address vector.
pub type FiAddr = u64;

pub const FI_MSG: u64 = 1 << 1;
pub const FI_RMA: u64 = 1 << 2;
pub const FI_READ: u64 = 1 << 8;
pub const FI_WRITE: u64 = 1 << 9;
pub const FI_REMOTE_READ: u64 = 1 << 12;
pub const FI_REMOTE_WRITE: u64 = 1 << 13;
pub const FI_REMOTE_CQ_DATA: u64 = 1 << 17;
pub const FI_TAGGED: u64 = 1 << 3;
pub const FI_RECV: u64 = 1 << 10;
pub const FI_SEND: u64 = 1 << 11;
pub const FI_SOURCE: u64 = 1 << 57;
pub const FI_DIRECTED_RECV: u64 = 1 << 59;
pub const FI_CONTEXT: u64 = 1 << 59;
pub const FI_CONTEXT2: u64 = 1 << 52;

pub const FI_MR_LOCAL: i32 = 1 << 2;
pub const FI_MR_RAW: i32 = 1 << 3;
pub const FI_MR_VIRT_ADDR: i32 = 1 << 4;
pub const FI_MR_ALLOCATED: i32 = 1 << 5;
pub const FI_MR_PROV_KEY: i32 = 1 << 6;
pub const FI_MR_MMU_NOTIFY: i32 = 1 << 7;
pub const FI_MR_RMA_EVENT: i32 = 1 << 8;
pub const FI_MR_ENDPOINT: i32 = 1 << 9;
pub const FI_MR_HMEM: i32 = 1 << 10;

pub const FI_EP_RDM: c_int = 3;
pub const FI_THREAD_DOMAIN: c_int = 3;
pub const FI_AV_UNSPEC: c_int = 0;
pub const FI_CQ_FORMAT_CONTEXT: c_int = 1;
pub const FI_CQ_FORMAT_DATA: c_int = 3;
pub const FI_WAIT_NONE: c_int = 0;
pub const FI_WAIT_UNSPEC: c_int = 1;
/// `FI_ENABLE` from `enum { FI_GETFIDFLAG, FI_SETFIDFLAG, FI_GETOPSFLAG, FI_SETOPSFLAG, FI_ALIAS, FI_GETWAIT, FI_ENABLE, ... }`.
pub const FI_ENABLE: c_int = 6;
pub const FI_ADDR_UNSPEC: FiAddr = u64::MAX;

pub const FI_EAGAIN: isize = libc::EAGAIN as isize;
pub const FI_EAVAIL: isize = 259;
pub const FI_ENOSYS: c_int = libc::ENOSYS;
pub const FI_ENOPROTOOPT: c_int = libc::ENOPROTOOPT;

/// `FI_OPT_ENDPOINT`: the option level of fi_getopt/fi_setopt on endpoints.
pub const FI_OPT_ENDPOINT: c_int = 0;
/// `FI_OPT_MAX_MSG_SIZE` (size_t, libfabric 1.22+; fi_endpoint.h:73 in v2.2.0): the largest
/// send/recv message, which can be below ep_attr.max_msg_size (efa-direct with FI_RMA).
pub const FI_OPT_MAX_MSG_SIZE: c_int = 12;
/// `FI_PROV_SPECIFIC_EFA` (fi_ext.h:66 in v2.2.0): the EFA options count up from its negation.
const FI_OPT_EFA_BASE: c_int = -(0xefa << 16);
/// `FI_OPT_EFA_EMULATED_READ` (bool, get only; fi_ext.h:73): reads go over send/recv.
pub const FI_OPT_EFA_EMULATED_READ: c_int = FI_OPT_EFA_BASE + 1;
/// `FI_OPT_EFA_EMULATED_WRITE` (bool, get only; fi_ext.h:74).
pub const FI_OPT_EFA_EMULATED_WRITE: c_int = FI_OPT_EFA_BASE + 2;
/// `FI_OPT_EFA_USE_DEVICE_RDMA` (bool, set only, API 1.18+; fi_ext.h:76).
pub const FI_OPT_EFA_USE_DEVICE_RDMA: c_int = FI_OPT_EFA_BASE + 4;

#[repr(C)]
pub struct FiTxAttr {
    pub caps: u64,
    pub mode: u64,
    pub op_flags: u64,
    pub msg_order: u64,
    pub comp_order: u64,
    pub inject_size: usize,
}

#[repr(C)]
pub struct FiRxAttr {
    pub caps: u64,
}

#[repr(C)]
pub struct FiEpAttr {
    pub type_: c_int,
    pub protocol: u32,
    pub protocol_version: u32,
    pub max_msg_size: usize,
}

#[repr(C)]
pub struct FiDomainAttr {
    pub domain: *mut c_void,
    pub name: *mut c_char,
    pub threading: c_int,
    pub control_progress: c_int,
    pub data_progress: c_int,
    pub resource_mgmt: c_int,
    pub av_type: c_int,
    pub mr_mode: c_int,
}

#[repr(C)]
pub struct FiFabricAttr {
    pub fabric: *mut c_void,
    pub name: *mut c_char,
    pub prov_name: *mut c_char,
    pub prov_version: u32,
    pub api_version: u32,
}

#[repr(C)]
pub struct FiInfo {
    pub next: *mut FiInfo,
    pub caps: u64,
    pub mode: u64,
    pub addr_format: u32,
    pub src_addrlen: usize,
    pub dest_addrlen: usize,
    pub src_addr: *mut c_void,
    pub dest_addr: *mut c_void,
    pub handle: *mut Fid,
    pub tx_attr: *mut FiTxAttr,
    pub rx_attr: *mut FiRxAttr,
    pub ep_attr: *mut FiEpAttr,
    pub domain_attr: *mut FiDomainAttr,
    pub fabric_attr: *mut FiFabricAttr,
}

#[repr(C)]
pub struct FiOps {
    pub size: usize,
    pub close: unsafe extern "C" fn(fid: *mut Fid) -> c_int,
    pub bind: unsafe extern "C" fn(fid: *mut Fid, bfid: *mut Fid, flags: u64) -> c_int,
    pub control: unsafe extern "C" fn(fid: *mut Fid, command: c_int, arg: *mut c_void) -> c_int,
}

#[repr(C)]
pub struct Fid {
    pub fclass: usize,
    pub context: *mut c_void,
    pub ops: *mut FiOps,
}

#[repr(C)]
pub struct FiOpsFabric {
    pub size: usize,
    pub domain: unsafe extern "C" fn(
        fabric: *mut FidFabric,
        info: *mut FiInfo,
        dom: *mut *mut FidDomain,
        context: *mut c_void,
    ) -> c_int,
}

#[repr(C)]
pub struct FidFabric {
    pub fid: Fid,
    pub ops: *mut FiOpsFabric,
}

#[repr(C)]
pub struct FiAvAttr {
    pub type_: c_int,
    pub rx_ctx_bits: c_int,
    pub count: usize,
    pub ep_per_node: usize,
    pub name: *const c_char,
    pub map_addr: *mut c_void,
    pub flags: u64,
}

#[repr(C)]
pub struct FiCqAttr {
    pub size: usize,
    pub flags: u64,
    pub format: c_int,
    pub wait_obj: c_int,
    pub signaling_vector: c_int,
    pub wait_cond: c_int,
    pub wait_set: *mut c_void,
}

#[repr(C)]
pub struct FiOpsDomain {
    pub size: usize,
    pub av_open: unsafe extern "C" fn(
        domain: *mut FidDomain,
        attr: *mut FiAvAttr,
        av: *mut *mut FidAv,
        context: *mut c_void,
    ) -> c_int,
    pub cq_open: unsafe extern "C" fn(
        domain: *mut FidDomain,
        attr: *mut FiCqAttr,
        cq: *mut *mut FidCq,
        context: *mut c_void,
    ) -> c_int,
    pub endpoint: unsafe extern "C" fn(
        domain: *mut FidDomain,
        info: *mut FiInfo,
        ep: *mut *mut FidEp,
        context: *mut c_void,
    ) -> c_int,
}

#[repr(C)]
pub struct FiOpsMr {
    pub size: usize,
    pub reg: unsafe extern "C" fn(
        fid: *mut Fid,
        buf: *const c_void,
        len: usize,
        access: u64,
        offset: u64,
        requested_key: u64,
        flags: u64,
        mr: *mut *mut FidMr,
        context: *mut c_void,
    ) -> c_int,
}

#[repr(C)]
pub struct FidDomain {
    pub fid: Fid,
    pub ops: *mut FiOpsDomain,
    pub mr: *mut FiOpsMr,
}

#[repr(C)]
pub struct FidMr {
    pub fid: Fid,
    pub mem_desc: *mut c_void,
    pub key: u64,
}

#[repr(C)]
pub struct FiOpsAv {
    pub size: usize,
    pub insert: unsafe extern "C" fn(
        av: *mut FidAv,
        addr: *const c_void,
        count: usize,
        fi_addr: *mut FiAddr,
        flags: u64,
        context: *mut c_void,
    ) -> c_int,
}

#[repr(C)]
pub struct FidAv {
    pub fid: Fid,
    pub ops: *mut FiOpsAv,
}

#[repr(C)]
pub struct FiCqErrEntry {
    pub op_context: *mut c_void,
    pub flags: u64,
    pub len: usize,
    pub buf: *mut c_void,
    pub data: u64,
    pub tag: u64,
    pub olen: usize,
    pub err: c_int,
    pub prov_errno: c_int,
    pub err_data: *mut c_void,
    pub err_data_size: usize,
    /// API 1.20+: libfabric copies this field too when the requested API is 1.20 or newer
    /// (`ofi_cq_err_memcpy`, include/ofi_util.h in v2.2.0), so it must exist in our buffer.
    pub src_addr: FiAddr,
}

/// `struct fi_cq_entry` (FI_CQ_FORMAT_CONTEXT): one pointer.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct FiCqEntry {
    pub op_context: *mut c_void,
}

/// `struct fi_cq_data_entry` (FI_CQ_FORMAT_DATA): what RMA targets need to see remote writes.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct FiCqDataEntry {
    pub op_context: *mut c_void,
    pub flags: u64,
    pub len: usize,
    pub buf: *mut c_void,
    pub data: u64,
}

#[repr(C)]
pub struct FiOpsCq {
    pub size: usize,
    pub read: unsafe extern "C" fn(cq: *mut FidCq, buf: *mut c_void, count: usize) -> isize,
    pub readfrom: *const c_void,
    pub readerr: unsafe extern "C" fn(cq: *mut FidCq, buf: *mut FiCqErrEntry, flags: u64) -> isize,
    pub sread: unsafe extern "C" fn(
        cq: *mut FidCq,
        buf: *mut c_void,
        count: usize,
        cond: *const c_void,
        timeout: c_int,
    ) -> isize,
    pub sreadfrom: *const c_void,
    pub signal: *const c_void,
    pub strerror: unsafe extern "C" fn(
        cq: *mut FidCq,
        prov_errno: c_int,
        err_data: *const c_void,
        buf: *mut c_char,
        len: usize,
    ) -> *const c_char,
}

#[repr(C)]
pub struct FidCq {
    pub fid: Fid,
    pub ops: *mut FiOpsCq,
}

#[repr(C)]
pub struct FiOpsCm {
    pub size: usize,
    pub setname: *const c_void,
    pub getname:
        unsafe extern "C" fn(fid: *mut Fid, addr: *mut c_void, addrlen: *mut usize) -> c_int,
}

#[repr(C)]
pub struct FiOpsMsg {
    pub size: usize,
    pub recv: unsafe extern "C" fn(
        ep: *mut FidEp,
        buf: *mut c_void,
        len: usize,
        desc: *mut c_void,
        src_addr: FiAddr,
        context: *mut c_void,
    ) -> isize,
    pub recvv: *const c_void,
    pub recvmsg: *const c_void,
    pub send: unsafe extern "C" fn(
        ep: *mut FidEp,
        buf: *const c_void,
        len: usize,
        desc: *mut c_void,
        dest_addr: FiAddr,
        context: *mut c_void,
    ) -> isize,
    pub sendv: *const c_void,
    pub sendmsg: *const c_void,
    pub inject: unsafe extern "C" fn(
        ep: *mut FidEp,
        buf: *const c_void,
        len: usize,
        dest_addr: FiAddr,
    ) -> isize,
}

#[repr(C)]
pub struct FiOpsTagged {
    pub size: usize,
    pub recv: unsafe extern "C" fn(
        ep: *mut FidEp,
        buf: *mut c_void,
        len: usize,
        desc: *mut c_void,
        src_addr: FiAddr,
        tag: u64,
        ignore: u64,
        context: *mut c_void,
    ) -> isize,
    pub recvv: *const c_void,
    pub recvmsg: *const c_void,
    pub send: unsafe extern "C" fn(
        ep: *mut FidEp,
        buf: *const c_void,
        len: usize,
        desc: *mut c_void,
        dest_addr: FiAddr,
        tag: u64,
        context: *mut c_void,
    ) -> isize,
    pub sendv: *const c_void,
    pub sendmsg: *const c_void,
    pub inject: unsafe extern "C" fn(
        ep: *mut FidEp,
        buf: *const c_void,
        len: usize,
        dest_addr: FiAddr,
        tag: u64,
    ) -> isize,
}

#[repr(C)]
pub struct FiOpsRma {
    pub size: usize,
    pub read: unsafe extern "C" fn(
        ep: *mut FidEp,
        buf: *mut c_void,
        len: usize,
        desc: *mut c_void,
        src_addr: FiAddr,
        addr: u64,
        key: u64,
        context: *mut c_void,
    ) -> isize,
    pub readv: *const c_void,
    pub readmsg: *const c_void,
    pub write: unsafe extern "C" fn(
        ep: *mut FidEp,
        buf: *const c_void,
        len: usize,
        desc: *mut c_void,
        dest_addr: FiAddr,
        addr: u64,
        key: u64,
        context: *mut c_void,
    ) -> isize,
    pub writev: *const c_void,
    pub writemsg: *const c_void,
    pub inject: *const c_void,
    pub writedata: unsafe extern "C" fn(
        ep: *mut FidEp,
        buf: *const c_void,
        len: usize,
        desc: *mut c_void,
        data: u64,
        dest_addr: FiAddr,
        addr: u64,
        key: u64,
        context: *mut c_void,
    ) -> isize,
}

/// `struct fi_ops_ep` up to setopt (fi_endpoint.h:95-101 in v2.2.0, the same in 1.17).
#[repr(C)]
pub struct FiOpsEp {
    pub size: usize,
    pub cancel: *const c_void,
    pub getopt: unsafe extern "C" fn(
        fid: *mut Fid,
        level: c_int,
        optname: c_int,
        optval: *mut c_void,
        optlen: *mut usize,
    ) -> c_int,
    pub setopt: unsafe extern "C" fn(
        fid: *mut Fid,
        level: c_int,
        optname: c_int,
        optval: *const c_void,
        optlen: usize,
    ) -> c_int,
}

#[repr(C)]
pub struct FidEp {
    pub fid: Fid,
    pub ops: *mut FiOpsEp,
    pub cm: *mut FiOpsCm,
    pub msg: *mut FiOpsMsg,
    pub rma: *mut FiOpsRma,
    pub tagged: *mut FiOpsTagged,
}

/// `struct fi_context2`: eight pointers of provider scratch space per operation.
#[repr(C)]
pub struct FiContext2 {
    pub internal: [*mut c_void; 8],
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;
    use std::process::Command;

    /// Every (C struct, C field, Rust offset) pair that the C program below checks.
    fn mirrored_fields() -> Vec<(&'static str, &'static str, usize)> {
        vec![
            (
                "fi_tx_attr",
                "inject_size",
                offset_of!(FiTxAttr, inject_size),
            ),
            ("fi_tx_attr", "op_flags", offset_of!(FiTxAttr, op_flags)),
            ("fi_rx_attr", "caps", offset_of!(FiRxAttr, caps)),
            ("fi_info", "rx_attr", offset_of!(FiInfo, rx_attr)),
            ("fi_ep_attr", "type", offset_of!(FiEpAttr, type_)),
            (
                "fi_ep_attr",
                "max_msg_size",
                offset_of!(FiEpAttr, max_msg_size),
            ),
            ("fi_domain_attr", "name", offset_of!(FiDomainAttr, name)),
            (
                "fi_domain_attr",
                "threading",
                offset_of!(FiDomainAttr, threading),
            ),
            (
                "fi_domain_attr",
                "av_type",
                offset_of!(FiDomainAttr, av_type),
            ),
            (
                "fi_domain_attr",
                "mr_mode",
                offset_of!(FiDomainAttr, mr_mode),
            ),
            ("fi_fabric_attr", "name", offset_of!(FiFabricAttr, name)),
            (
                "fi_fabric_attr",
                "prov_name",
                offset_of!(FiFabricAttr, prov_name),
            ),
            (
                "fi_fabric_attr",
                "api_version",
                offset_of!(FiFabricAttr, api_version),
            ),
            ("fi_info", "next", offset_of!(FiInfo, next)),
            ("fi_info", "caps", offset_of!(FiInfo, caps)),
            ("fi_info", "mode", offset_of!(FiInfo, mode)),
            ("fi_info", "addr_format", offset_of!(FiInfo, addr_format)),
            ("fi_info", "tx_attr", offset_of!(FiInfo, tx_attr)),
            ("fi_info", "ep_attr", offset_of!(FiInfo, ep_attr)),
            ("fi_info", "domain_attr", offset_of!(FiInfo, domain_attr)),
            ("fi_info", "fabric_attr", offset_of!(FiInfo, fabric_attr)),
            ("fid", "ops", offset_of!(Fid, ops)),
            ("fi_ops", "close", offset_of!(FiOps, close)),
            ("fi_ops", "bind", offset_of!(FiOps, bind)),
            ("fi_ops", "control", offset_of!(FiOps, control)),
            ("fi_ops_fabric", "domain", offset_of!(FiOpsFabric, domain)),
            ("fid_fabric", "ops", offset_of!(FidFabric, ops)),
            ("fi_av_attr", "type", offset_of!(FiAvAttr, type_)),
            (
                "fi_av_attr",
                "rx_ctx_bits",
                offset_of!(FiAvAttr, rx_ctx_bits),
            ),
            ("fi_av_attr", "count", offset_of!(FiAvAttr, count)),
            (
                "fi_av_attr",
                "ep_per_node",
                offset_of!(FiAvAttr, ep_per_node),
            ),
            ("fi_av_attr", "name", offset_of!(FiAvAttr, name)),
            ("fi_av_attr", "map_addr", offset_of!(FiAvAttr, map_addr)),
            ("fi_av_attr", "flags", offset_of!(FiAvAttr, flags)),
            ("fi_cq_attr", "size", offset_of!(FiCqAttr, size)),
            ("fi_cq_attr", "flags", offset_of!(FiCqAttr, flags)),
            ("fi_cq_attr", "format", offset_of!(FiCqAttr, format)),
            ("fi_cq_attr", "wait_obj", offset_of!(FiCqAttr, wait_obj)),
            (
                "fi_cq_attr",
                "signaling_vector",
                offset_of!(FiCqAttr, signaling_vector),
            ),
            ("fi_cq_attr", "wait_cond", offset_of!(FiCqAttr, wait_cond)),
            ("fi_cq_attr", "wait_set", offset_of!(FiCqAttr, wait_set)),
            ("fi_ops_domain", "av_open", offset_of!(FiOpsDomain, av_open)),
            ("fi_ops_domain", "cq_open", offset_of!(FiOpsDomain, cq_open)),
            (
                "fi_ops_domain",
                "endpoint",
                offset_of!(FiOpsDomain, endpoint),
            ),
            ("fi_ops_mr", "reg", offset_of!(FiOpsMr, reg)),
            ("fid_domain", "ops", offset_of!(FidDomain, ops)),
            ("fid_domain", "mr", offset_of!(FidDomain, mr)),
            ("fid_mr", "mem_desc", offset_of!(FidMr, mem_desc)),
            ("fid_mr", "key", offset_of!(FidMr, key)),
            ("fi_ops_av", "insert", offset_of!(FiOpsAv, insert)),
            ("fid_av", "ops", offset_of!(FidAv, ops)),
            (
                "fi_cq_err_entry",
                "op_context",
                offset_of!(FiCqErrEntry, op_context),
            ),
            ("fi_cq_err_entry", "flags", offset_of!(FiCqErrEntry, flags)),
            ("fi_cq_err_entry", "len", offset_of!(FiCqErrEntry, len)),
            ("fi_cq_err_entry", "buf", offset_of!(FiCqErrEntry, buf)),
            ("fi_cq_err_entry", "data", offset_of!(FiCqErrEntry, data)),
            ("fi_cq_err_entry", "tag", offset_of!(FiCqErrEntry, tag)),
            ("fi_cq_err_entry", "olen", offset_of!(FiCqErrEntry, olen)),
            ("fi_cq_err_entry", "err", offset_of!(FiCqErrEntry, err)),
            (
                "fi_cq_err_entry",
                "prov_errno",
                offset_of!(FiCqErrEntry, prov_errno),
            ),
            (
                "fi_cq_err_entry",
                "err_data",
                offset_of!(FiCqErrEntry, err_data),
            ),
            (
                "fi_cq_err_entry",
                "err_data_size",
                offset_of!(FiCqErrEntry, err_data_size),
            ),
            (
                "fi_cq_entry",
                "op_context",
                offset_of!(FiCqEntry, op_context),
            ),
            ("fi_ops_cq", "read", offset_of!(FiOpsCq, read)),
            ("fi_ops_cq", "readerr", offset_of!(FiOpsCq, readerr)),
            ("fi_ops_cq", "sread", offset_of!(FiOpsCq, sread)),
            ("fi_ops_cq", "strerror", offset_of!(FiOpsCq, strerror)),
            ("fid_cq", "ops", offset_of!(FidCq, ops)),
            ("fi_ops_cm", "getname", offset_of!(FiOpsCm, getname)),
            ("fi_ops_msg", "recv", offset_of!(FiOpsMsg, recv)),
            ("fi_ops_msg", "send", offset_of!(FiOpsMsg, send)),
            ("fi_ops_msg", "inject", offset_of!(FiOpsMsg, inject)),
            ("fi_ops_tagged", "recv", offset_of!(FiOpsTagged, recv)),
            ("fi_ops_tagged", "send", offset_of!(FiOpsTagged, send)),
            ("fi_ops_tagged", "inject", offset_of!(FiOpsTagged, inject)),
            ("fid_ep", "ops", offset_of!(FidEp, ops)),
            ("fi_ops_ep", "getopt", offset_of!(FiOpsEp, getopt)),
            ("fi_ops_ep", "setopt", offset_of!(FiOpsEp, setopt)),
            ("fid_ep", "cm", offset_of!(FidEp, cm)),
            ("fid_ep", "msg", offset_of!(FidEp, msg)),
            ("fid_ep", "tagged", offset_of!(FidEp, tagged)),
            ("fid_ep", "rma", offset_of!(FidEp, rma)),
            ("fi_ops_rma", "read", offset_of!(FiOpsRma, read)),
            ("fi_ops_rma", "write", offset_of!(FiOpsRma, write)),
            ("fi_ops_rma", "writedata", offset_of!(FiOpsRma, writedata)),
            (
                "fi_cq_data_entry",
                "flags",
                offset_of!(FiCqDataEntry, flags),
            ),
            ("fi_cq_data_entry", "data", offset_of!(FiCqDataEntry, data)),
        ]
    }

    /// The structs rdmabench allocates itself, as libfabric v2.2.0 declares them (tag v2.2.0,
    /// commit 2182f99e): (struct, field, offset on x86_64, where the field is declared). Written
    /// by reading those headers and checked there with a C probe compiled against them; libfabric
    /// itself is not in this repository.
    const V2_2_ALLOCATED_FIELDS: &[(&str, &str, usize, &str)] = &[
        ("fi_cq_attr", "size", 0, "include/rdma/fi_eq.h:255"),
        ("fi_cq_attr", "flags", 8, "include/rdma/fi_eq.h:256"),
        ("fi_cq_attr", "format", 16, "include/rdma/fi_eq.h:257"),
        ("fi_cq_attr", "wait_obj", 20, "include/rdma/fi_eq.h:258"),
        (
            "fi_cq_attr",
            "signaling_vector",
            24,
            "include/rdma/fi_eq.h:259",
        ),
        ("fi_cq_attr", "wait_cond", 28, "include/rdma/fi_eq.h:260"),
        ("fi_cq_attr", "wait_set", 32, "include/rdma/fi_eq.h:261"),
        ("fi_av_attr", "type", 0, "include/rdma/fi_domain.h:66"),
        (
            "fi_av_attr",
            "rx_ctx_bits",
            4,
            "include/rdma/fi_domain.h:67",
        ),
        ("fi_av_attr", "count", 8, "include/rdma/fi_domain.h:68"),
        (
            "fi_av_attr",
            "ep_per_node",
            16,
            "include/rdma/fi_domain.h:69",
        ),
        ("fi_av_attr", "name", 24, "include/rdma/fi_domain.h:70"),
        ("fi_av_attr", "map_addr", 32, "include/rdma/fi_domain.h:71"),
        ("fi_av_attr", "flags", 40, "include/rdma/fi_domain.h:72"),
        (
            "fi_cq_err_entry",
            "op_context",
            0,
            "include/rdma/fi_eq.h:234",
        ),
        ("fi_cq_err_entry", "flags", 8, "include/rdma/fi_eq.h:235"),
        ("fi_cq_err_entry", "len", 16, "include/rdma/fi_eq.h:236"),
        ("fi_cq_err_entry", "buf", 24, "include/rdma/fi_eq.h:237"),
        ("fi_cq_err_entry", "data", 32, "include/rdma/fi_eq.h:238"),
        ("fi_cq_err_entry", "tag", 40, "include/rdma/fi_eq.h:239"),
        ("fi_cq_err_entry", "olen", 48, "include/rdma/fi_eq.h:240"),
        ("fi_cq_err_entry", "err", 56, "include/rdma/fi_eq.h:241"),
        (
            "fi_cq_err_entry",
            "prov_errno",
            60,
            "include/rdma/fi_eq.h:242",
        ),
        (
            "fi_cq_err_entry",
            "err_data",
            64,
            "include/rdma/fi_eq.h:244",
        ),
        (
            "fi_cq_err_entry",
            "err_data_size",
            72,
            "include/rdma/fi_eq.h:245",
        ),
        (
            "fi_cq_err_entry",
            "src_addr",
            80,
            "include/rdma/fi_eq.h:246",
        ),
        ("fi_context2", "internal", 0, "include/rdma/fabric.h:817"),
    ];

    /// sizeof of the same structs in v2.2.0 (struct spans: fi_eq.h:254-262, fi_domain.h:65-73,
    /// fi_eq.h:233-247, fabric.h:816-818), and the option values from fi_endpoint.h and fi_ext.h.
    const V2_2_SIZES_AND_VALUES: &[(&str, i64, &str)] = &[
        ("sizeof(struct fi_cq_attr)", 40, "include/rdma/fi_eq.h:254"),
        (
            "sizeof(struct fi_av_attr)",
            48,
            "include/rdma/fi_domain.h:65",
        ),
        (
            "sizeof(struct fi_cq_err_entry)",
            88,
            "include/rdma/fi_eq.h:233",
        ),
        (
            "sizeof(struct fi_context2)",
            64,
            "include/rdma/fabric.h:816",
        ),
        ("FI_OPT_MAX_MSG_SIZE", 12, "include/rdma/fi_endpoint.h:73"),
        (
            "FI_OPT_EFA_EMULATED_READ",
            -251_265_023,
            "include/rdma/fi_ext.h:73",
        ),
        (
            "FI_OPT_EFA_EMULATED_WRITE",
            -251_265_022,
            "include/rdma/fi_ext.h:74",
        ),
        (
            "FI_OPT_EFA_USE_DEVICE_RDMA",
            -251_265_020,
            "include/rdma/fi_ext.h:76",
        ),
    ];

    /// The structs rdmabench allocates itself, and so mirrors whole.
    const ALLOCATED: [&str; 4] = ["fi_cq_attr", "fi_av_attr", "fi_cq_err_entry", "fi_context2"];

    #[test]
    fn allocated_structs_match_the_v2_2_headers() {
        let mut ours: Vec<(&str, &str, usize)> = mirrored_fields()
            .into_iter()
            .filter(|(s, _, _)| ALLOCATED.contains(s))
            .collect();
        // Not in Debian's 1.17 headers, so the C probe cannot check them.
        ours.push((
            "fi_cq_err_entry",
            "src_addr",
            offset_of!(FiCqErrEntry, src_addr),
        ));
        ours.push(("fi_context2", "internal", offset_of!(FiContext2, internal)));
        ours.sort();
        let mut expected: Vec<(&str, &str, usize)> = V2_2_ALLOCATED_FIELDS
            .iter()
            .map(|(s, f, off, _)| (*s, *f, *off))
            .collect();
        expected.sort();
        assert_eq!(ours, expected);
        let values: Vec<(&str, i64)> = vec![
            (
                "sizeof(struct fi_cq_attr)",
                std::mem::size_of::<FiCqAttr>() as i64,
            ),
            (
                "sizeof(struct fi_av_attr)",
                std::mem::size_of::<FiAvAttr>() as i64,
            ),
            (
                "sizeof(struct fi_cq_err_entry)",
                std::mem::size_of::<FiCqErrEntry>() as i64,
            ),
            (
                "sizeof(struct fi_context2)",
                std::mem::size_of::<FiContext2>() as i64,
            ),
            ("FI_OPT_MAX_MSG_SIZE", i64::from(FI_OPT_MAX_MSG_SIZE)),
            (
                "FI_OPT_EFA_EMULATED_READ",
                i64::from(FI_OPT_EFA_EMULATED_READ),
            ),
            (
                "FI_OPT_EFA_EMULATED_WRITE",
                i64::from(FI_OPT_EFA_EMULATED_WRITE),
            ),
            (
                "FI_OPT_EFA_USE_DEVICE_RDMA",
                i64::from(FI_OPT_EFA_USE_DEVICE_RDMA),
            ),
        ];
        let expected: Vec<(&str, i64)> = V2_2_SIZES_AND_VALUES
            .iter()
            .map(|(name, value, _)| (*name, *value))
            .collect();
        assert_eq!(values, expected);
    }

    /// Compiles a C program against libfabric-dev's headers that prints the offset of every
    /// mirrored field and the value of every mirrored constant, and compares them with ours.
    /// Skipped only when the headers are absent and RDMABENCH_REQUIRE_LIBFABRIC is not set.
    #[test]
    fn offsets_match_the_c_headers() {
        let header = std::path::Path::new("/usr/include/rdma/fabric.h");
        if !header.exists() {
            assert!(
                std::env::var_os("RDMABENCH_REQUIRE_LIBFABRIC").is_none(),
                "libfabric-dev headers are missing but RDMABENCH_REQUIRE_LIBFABRIC is set: apt-get install libfabric-dev"
            );
            eprintln!("skipping: libfabric-dev headers not installed");
            return;
        }
        let mut src = String::from(
            "#include <stdio.h>\n#include <stddef.h>\n#include <rdma/fabric.h>\n#include <rdma/fi_domain.h>\n#include <rdma/fi_endpoint.h>\n#include <rdma/fi_cm.h>\n#include <rdma/fi_tagged.h>\n#include <rdma/fi_rma.h>\n#include <rdma/fi_eq.h>\n#include <rdma/fi_errno.h>\nint main(void) {\n",
        );
        for (c_struct, field, _) in mirrored_fields() {
            src.push_str(&format!(
                "  printf(\"{c_struct}.{field}=%zu\\n\", offsetof(struct {c_struct}, {field}));\n"
            ));
        }
        let constants: Vec<(&str, u64)> = vec![
            ("FI_MSG", FI_MSG),
            ("FI_TAGGED", FI_TAGGED),
            ("FI_RECV", FI_RECV),
            ("FI_SEND", FI_SEND),
            ("FI_SOURCE", FI_SOURCE),
            ("FI_DIRECTED_RECV", FI_DIRECTED_RECV),
            ("FI_CONTEXT", FI_CONTEXT),
            ("FI_CONTEXT2", FI_CONTEXT2),
            ("FI_MR_LOCAL", FI_MR_LOCAL as u64),
            ("FI_MR_RAW", FI_MR_RAW as u64),
            ("FI_MR_VIRT_ADDR", FI_MR_VIRT_ADDR as u64),
            ("FI_MR_ALLOCATED", FI_MR_ALLOCATED as u64),
            ("FI_MR_PROV_KEY", FI_MR_PROV_KEY as u64),
            ("FI_MR_MMU_NOTIFY", FI_MR_MMU_NOTIFY as u64),
            ("FI_MR_RMA_EVENT", FI_MR_RMA_EVENT as u64),
            ("FI_MR_ENDPOINT", FI_MR_ENDPOINT as u64),
            ("FI_MR_HMEM", FI_MR_HMEM as u64),
            ("FI_EP_RDM", FI_EP_RDM as u64),
            ("FI_THREAD_DOMAIN", FI_THREAD_DOMAIN as u64),
            ("FI_AV_UNSPEC", FI_AV_UNSPEC as u64),
            ("FI_CQ_FORMAT_CONTEXT", FI_CQ_FORMAT_CONTEXT as u64),
            ("FI_CQ_FORMAT_DATA", FI_CQ_FORMAT_DATA as u64),
            ("FI_RMA", FI_RMA),
            ("FI_READ", FI_READ),
            ("FI_WRITE", FI_WRITE),
            ("FI_REMOTE_READ", FI_REMOTE_READ),
            ("FI_REMOTE_WRITE", FI_REMOTE_WRITE),
            ("FI_REMOTE_CQ_DATA", FI_REMOTE_CQ_DATA),
            ("FI_WAIT_NONE", FI_WAIT_NONE as u64),
            ("FI_WAIT_UNSPEC", FI_WAIT_UNSPEC as u64),
            ("FI_ENABLE", FI_ENABLE as u64),
            ("FI_EAGAIN", FI_EAGAIN as u64),
            ("FI_EAVAIL", FI_EAVAIL as u64),
            (
                "sizeof(struct fi_cq_entry)",
                std::mem::size_of::<FiCqEntry>() as u64,
            ),
            (
                "sizeof(struct fi_cq_data_entry)",
                std::mem::size_of::<FiCqDataEntry>() as u64,
            ),
            (
                "sizeof(struct fi_context2)",
                std::mem::size_of::<FiContext2>() as u64,
            ),
            (
                "sizeof(struct fi_cq_attr)",
                std::mem::size_of::<FiCqAttr>() as u64,
            ),
            (
                "sizeof(struct fi_av_attr)",
                std::mem::size_of::<FiAvAttr>() as u64,
            ),
            // 1.17's error entry is ours up to the 1.20 field src_addr.
            (
                "sizeof(struct fi_cq_err_entry)",
                offset_of!(FiCqErrEntry, src_addr) as u64,
            ),
            ("FI_OPT_ENDPOINT", FI_OPT_ENDPOINT as u64),
            ("FI_ENOSYS", FI_ENOSYS as u64),
            ("FI_ENOPROTOOPT", FI_ENOPROTOOPT as u64),
        ];
        for (name, _) in &constants {
            src.push_str(&format!(
                "  printf(\"{name}=%llu\\n\", (unsigned long long)({name}));\n"
            ));
        }
        src.push_str("  return 0;\n}\n");

        let dir = std::env::temp_dir().join(format!("rdmabench-offsets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let c_file = dir.join("offsets.c");
        let exe = dir.join("offsets");
        std::fs::write(&c_file, src).unwrap();
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let status = Command::new(&cc)
            .arg(&c_file)
            .arg("-o")
            .arg(&exe)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "compiling the offset probe with {cc} failed"
        );
        let out = Command::new(&exe).output().unwrap();
        let printed = String::from_utf8(out.stdout).unwrap();
        std::fs::remove_dir_all(&dir).ok();

        let mut expected: Vec<String> = mirrored_fields()
            .into_iter()
            .map(|(s, f, off)| format!("{s}.{f}={off}"))
            .collect();
        expected.extend(constants.iter().map(|(n, v)| format!("{n}={v}")));
        let printed: Vec<&str> = printed.lines().collect();
        assert_eq!(printed, expected);
    }
}
