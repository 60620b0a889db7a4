//! Endpoint options through fi_getopt / fi_setopt: FI_OPT_MAX_MSG_SIZE and efa's RMA
//! emulation and device-RDMA switches.

use super::*;

impl Endpoint {
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
}

/// An endpoint option (fi_getopt at FI_OPT_ENDPOINT) of a plain type (size_t, C bool as u8); None
/// when the provider or library does not know it (-FI_ENOPROTOOPT, -FI_ENOSYS).
pub(super) fn getopt<T: Copy + Default>(
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
pub(super) fn setopt_bool(
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
