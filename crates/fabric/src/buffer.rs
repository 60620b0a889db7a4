//! Page-aligned message buffers: shm and EFA are several times slower on unaligned buffers at
//! large sizes, and registration works on whole pages.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::ptr::NonNull;

use crate::error::FabricError;

const PAGE: usize = 4096;

/// A zeroed, page-aligned heap buffer of at least one page. Public so every transport (the
/// kernel-TCP baseline too) allocates its message buffers here and refuses a size the machine
/// cannot hold with the same error, instead of aborting on a failed allocation.
pub struct AlignedBuffer {
    ptr: NonNull<u8>,
    layout: Layout,
}

/// This machine's physical memory in bytes, if the system says.
fn physical_memory() -> Option<usize> {
    // SAFETY: sysconf only reads system configuration.
    let (pages, page_size) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    usize::try_from(pages)
        .ok()?
        .checked_mul(usize::try_from(page_size).ok()?)
}

impl AlignedBuffer {
    /// A buffer for `len` bytes. Refused with [`FabricError::BufferTooLarge`] when `len` is
    /// more than the machine's memory (checked first: with memory overcommit, such an
    /// allocation may succeed and the process be killed once it is used) or the allocation
    /// fails.
    pub fn new(len: usize) -> Result<Self, FabricError> {
        let too_large = |reason: String| FabricError::BufferTooLarge { bytes: len, reason };
        if let Some(memory) = physical_memory().filter(|&memory| len > memory) {
            return Err(too_large(format!(
                "more than this machine's {memory} bytes of memory"
            )));
        }
        let size = len
            .max(1)
            .div_ceil(PAGE)
            .checked_mul(PAGE)
            .ok_or_else(|| too_large("the size overflows".into()))?;
        let layout = Layout::from_size_align(size, PAGE)
            .map_err(|_| too_large("the size overflows".into()))?;
        // SAFETY: layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        NonNull::new(ptr)
            .map(|ptr| AlignedBuffer { ptr, layout })
            .ok_or_else(|| too_large("the allocation failed (out of memory)".into()))
    }

    pub(crate) fn len(&self) -> usize {
        self.layout.size()
    }

    pub(crate) fn as_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }

    pub(crate) fn as_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The whole buffer.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: ptr points to len initialised (zeroed) bytes owned by self.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len()) }
    }

    /// The whole buffer, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: ptr points to len initialised bytes owned exclusively by self.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len()) }
    }
}

impl Drop for AlignedBuffer {
    fn drop(&mut self) {
        // SAFETY: ptr was allocated with exactly this layout.
        unsafe { dealloc(self.ptr.as_ptr(), self.layout) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_larger_than_the_machine_is_refused_not_aborted() {
        let memory = physical_memory().expect("sysconf knows the machine's memory");
        for len in [memory + 1, 1 << 40, usize::MAX] {
            let err = AlignedBuffer::new(len).err().expect("refused");
            assert!(
                matches!(err, FabricError::BufferTooLarge { bytes, .. } if bytes == len),
                "{err:?}"
            );
            assert!(
                err.to_string().contains(&format!(
                    "more than this machine's {memory} bytes of memory"
                )),
                "{err}"
            );
        }
        let small = AlignedBuffer::new(100).unwrap();
        assert_eq!(small.as_slice().len(), PAGE);
        assert_eq!(small.as_ptr() as usize % PAGE, 0);
        assert!(small.as_slice().iter().all(|&b| b == 0));
    }
}
