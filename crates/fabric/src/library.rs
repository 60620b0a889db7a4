//! Finding and loading libfabric at run time.
//!
//! rdmabench is built without libfabric headers or a link-time dependency so one binary runs on
//! Debian's libfabric 1.17 and on the EFA installer's libfabric 2.x. Entry points are bound with
//! `dlvsym` to the oldest symbol versions that have today's struct layout (FABRIC_1.3 for the
//! fi_info calls, FABRIC_1.1 for fi_fabric); every later libfabric keeps exporting them.

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int, c_void};
use std::path::{Path, PathBuf};

use crate::error::FabricError;
use crate::ffi::{FiFabricAttr, FiInfo, FidFabric};

/// Environment variable naming the libfabric shared object to load, ahead of every default.
pub const LIBRARY_ENV: &str = "RDMABENCH_LIBFABRIC";

/// Where the EFA installer puts libfabric; searched before the system's copy because on EFA hosts
/// the system copy (if any) lacks the efa provider.
const EFA_PREFIX_CANDIDATES: [&str; 2] = [
    "/opt/amazon/efa/lib64/libfabric.so.1",
    "/opt/amazon/efa/lib/libfabric.so.1",
];
const SYSTEM_SONAME: &str = "libfabric.so.1";

/// The newest API version whose structs rdmabench mirrors: every struct it allocates itself was
/// checked against libfabric v2.2.0's headers (`ffi::tests`), including the 1.20 `src_addr` of
/// fi_cq_err_entry that libfabric copies into the caller's buffer from API 1.20 on.
const MAX_API: (u32, u32) = (2, 2);
/// FI_MR_* bit semantics and FI_CONTEXT2 need at least API 1.5.
const MIN_API: (u32, u32) = (1, 5);

/// Encodes a libfabric API version the way `FI_VERSION(major, minor)` does.
pub const fn fi_version(major: u32, minor: u32) -> u32 {
    (major << 16) | minor
}

type GetInfoFn = unsafe extern "C" fn(
    version: u32,
    node: *const c_char,
    service: *const c_char,
    flags: u64,
    hints: *const FiInfo,
    info: *mut *mut FiInfo,
) -> c_int;
type FreeInfoFn = unsafe extern "C" fn(info: *mut FiInfo);
type DupInfoFn = unsafe extern "C" fn(info: *const FiInfo) -> *mut FiInfo;
type FabricFn = unsafe extern "C" fn(
    attr: *mut FiFabricAttr,
    fabric: *mut *mut FidFabric,
    context: *mut c_void,
) -> c_int;
type VersionFn = unsafe extern "C" fn() -> u32;
type StrErrorFn = unsafe extern "C" fn(errnum: c_int) -> *const c_char;

/// A loaded libfabric with its entry points; shared (via `Arc`) by every object opened from it,
/// so the library stays mapped until the last endpoint is closed.
pub struct Library {
    handle: *mut c_void,
    path: PathBuf,
    runtime_version: u32,
    api_version: u32,
    pub(crate) getinfo: GetInfoFn,
    pub(crate) freeinfo: FreeInfoFn,
    pub(crate) dupinfo: DupInfoFn,
    pub(crate) fabric: FabricFn,
    strerror: StrErrorFn,
}

// SAFETY: the handle and function pointers are immutable after loading; libfabric's global entry
// points (fi_getinfo, fi_fabric, fi_strerror, ...) are documented as thread safe, and every
// object opened through them is owned by exactly one thread in rdmabench.
unsafe impl Send for Library {}
// SAFETY: see the Send impl: nothing in Library is mutated after construction.
unsafe impl Sync for Library {}

impl std::fmt::Debug for Library {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Library")
            .field("path", &self.path)
            .field("runtime_version", &self.runtime_version())
            .field("api_version", &self.api_version())
            .finish()
    }
}

impl Library {
    /// Loads libfabric from the first place that has it: `$RDMABENCH_LIBFABRIC` (which, when
    /// set, must work), the EFA installer's prefix, then the system's `libfabric.so.1`.
    pub fn load() -> Result<Library, FabricError> {
        if let Some(path) = std::env::var_os(LIBRARY_ENV) {
            let path = PathBuf::from(path);
            return Self::open(&path).map_err(|reason| {
                // dlerror() starts with the path, which the message already names.
                let path = path.display().to_string();
                let reason = reason
                    .strip_prefix(&format!("{path}: "))
                    .map_or(reason.clone(), str::to_string);
                FabricError::LibraryUnusable { path, reason }
            });
        }
        let mut unusable = Vec::new();
        for candidate in EFA_PREFIX_CANDIDATES.iter().map(Path::new) {
            if candidate.exists() {
                match Self::open(candidate) {
                    Ok(lib) => return Ok(lib),
                    Err(reason) => unusable.push(reason),
                }
            }
        }
        match Self::open(Path::new(SYSTEM_SONAME)) {
            Ok(lib) => Ok(lib),
            Err(reason) => {
                // The dynamic linker's "not found" is the plain absence the message says.
                if !reason.ends_with("No such file or directory") {
                    unusable.push(reason);
                }
                Err(FabricError::LibraryNotFound { unusable })
            }
        }
    }

    /// Loads the libfabric at `path` (a file path, or a bare soname for the dynamic linker's
    /// search), checks its version and binds the entry points.
    fn open(path: &Path) -> Result<Library, String> {
        let c_path = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| "path contains a NUL byte".to_string())?;
        // SAFETY: c_path is a valid NUL-terminated string; dlopen has no other preconditions.
        let handle = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if handle.is_null() {
            return Err(last_dl_error());
        }
        match Self::bind(handle, path) {
            Ok(lib) => Ok(lib),
            Err(e) => {
                // SAFETY: handle came from a successful dlopen and nothing bound from it escaped.
                unsafe { libc::dlclose(handle) };
                Err(e)
            }
        }
    }

    fn bind(handle: *mut c_void, path: &Path) -> Result<Library, String> {
        // SAFETY: fi_version@FABRIC_1.0 is `uint32_t fi_version(void)`.
        let runtime_version = unsafe {
            let version: VersionFn = symbol(handle, "fi_version", "FABRIC_1.0")?;
            version()
        };
        let api_version = requested_api_version(runtime_version)?;
        // SAFETY: each symbol is looked up with the exact C signature libfabric declares for that
        // symbol version (fabric.h; fi_getinfo@FABRIC_1.3 etc.).
        unsafe {
            Ok(Library {
                handle,
                path: path.to_path_buf(),
                runtime_version,
                api_version,
                getinfo: symbol(handle, "fi_getinfo", "FABRIC_1.3")?,
                freeinfo: symbol(handle, "fi_freeinfo", "FABRIC_1.3")?,
                dupinfo: symbol(handle, "fi_dupinfo", "FABRIC_1.3")?,
                fabric: symbol(handle, "fi_fabric", "FABRIC_1.1")?,
                strerror: symbol(handle, "fi_strerror", "FABRIC_1.0")?,
            })
        }
    }

    /// The file this library was loaded from, symlinks resolved, for another program that must
    /// load the very same one (Intel MPI's I_MPI_OFI_LIBRARY): `path()` may be a bare soname
    /// the dynamic linker searched for, which that program's own search could resolve to
    /// another copy (Intel MPI's, first on its LD_LIBRARY_PATH). A soname is looked up in this
    /// process's mappings; None when it is not found there.
    pub fn file(&self) -> Option<PathBuf> {
        if self.path.components().count() > 1 {
            return std::fs::canonicalize(&self.path).ok();
        }
        let soname = self.path.to_str()?;
        let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
        let file = maps
            .lines()
            .filter_map(|line| line.split_whitespace().nth(5))
            .map(Path::new)
            .find(|file| {
                file.file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with(soname))
            })?;
        Some(file.to_path_buf())
    }

    /// Path or soname this library was loaded from, for the results' environment section.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The library's own version as "major.minor" (what `fi_info --version` calls libfabric).
    pub fn runtime_version(&self) -> String {
        let (major, minor) = split_version(self.runtime_version);
        format!("{major}.{minor}")
    }

    /// The API version rdmabench requests (see `requested_api_version`), for the results file:
    /// providers change behaviour by it (efa's device RDMA default changes at 1.18).
    pub fn api_version(&self) -> String {
        let (major, minor) = split_version(self.api_version);
        format!("{major}.{minor}")
    }

    pub(crate) fn api_version_raw(&self) -> u32 {
        self.api_version
    }

    /// libfabric's text for a (positive) error number.
    pub fn strerror(&self, errnum: c_int) -> String {
        // SAFETY: fi_strerror returns a pointer to a static NUL-terminated string for any input.
        let ptr = unsafe { (self.strerror)(errnum.abs()) };
        if ptr.is_null() {
            return format!("error {errnum}");
        }
        // SAFETY: non-null pointer to a static C string, checked above.
        unsafe { CStr::from_ptr(ptr) }
            .to_string_lossy()
            .into_owned()
    }

    /// Turns a negative libfabric return code into an error that names the call.
    pub(crate) fn check(&self, call: &'static str, ret: isize) -> Result<(), FabricError> {
        if ret >= 0 {
            Ok(())
        } else {
            let code = i32::try_from(-ret).unwrap_or(i32::MAX);
            Err(FabricError::Call {
                call,
                code,
                message: self.strerror(code),
            })
        }
    }
}

#[cfg(test)]
impl Library {
    /// The library for a unit test, or None (said on stderr) where none is installed; a failure
    /// when RDMABENCH_REQUIRE_LIBFABRIC is set, so CI never skips.
    pub(crate) fn load_or_skip() -> Option<Library> {
        match Library::load() {
            Ok(lib) => Some(lib),
            Err(e) => {
                assert!(
                    std::env::var_os("RDMABENCH_REQUIRE_LIBFABRIC").is_none(),
                    "{e}"
                );
                eprintln!("skipping: {e}");
                None
            }
        }
    }
}

impl Drop for Library {
    fn drop(&mut self) {
        // SAFETY: every object opened through this library holds an Arc to it, so none is alive.
        unsafe { libc::dlclose(self.handle) };
    }
}

fn split_version(v: u32) -> (u32, u32) {
    (v >> 16, v & 0xffff)
}

/// The API version to request from a library of version `runtime`: the highest both support.
/// libfabric's providers switch behaviour on the requested version, not the library's (efa turns
/// device RDMA off by default below 1.18 on its first two device generations; fi_cq_readerr
/// copies the 1.20 layout from 1.20 on), so rdmabench asks for what fi_pingpong of the same
/// library asks for, up to the newest layout it mirrors.
fn requested_api_version(runtime: u32) -> Result<u32, String> {
    let newest = fi_version(MAX_API.0, MAX_API.1);
    let oldest = fi_version(MIN_API.0, MIN_API.1);
    if runtime < oldest {
        let (major, minor) = split_version(runtime);
        return Err(format!(
            "libfabric {major}.{minor} is too old: rdmabench needs API {}.{} or newer",
            MIN_API.0, MIN_API.1
        ));
    }
    Ok(runtime.min(newest))
}

/// Binds `name@version`.
///
/// # Safety
/// `T` must be the function-pointer type of that symbol version.
unsafe fn symbol<T: Copy>(handle: *mut c_void, name: &str, version: &str) -> Result<T, String> {
    let c_name = CString::new(name).expect("symbol names are static");
    let c_version = CString::new(version).expect("symbol versions are static");
    // SAFETY: handle is a live dlopen handle and both strings are NUL-terminated.
    let ptr = unsafe { libc::dlvsym(handle, c_name.as_ptr(), c_version.as_ptr()) };
    if ptr.is_null() {
        return Err(format!("symbol {name}@{version} not found"));
    }
    debug_assert_eq!(std::mem::size_of::<T>(), std::mem::size_of::<*mut c_void>());
    // SAFETY: the caller guarantees T is a function pointer with this symbol's signature.
    Ok(unsafe { std::mem::transmute_copy::<*mut c_void, T>(&ptr) })
}

fn last_dl_error() -> String {
    // SAFETY: dlerror returns a thread-local message or NULL.
    let msg = unsafe { libc::dlerror() };
    if msg.is_null() {
        "unknown dlopen error".into()
    } else {
        // SAFETY: non-null dlerror result is a NUL-terminated string.
        unsafe { CStr::from_ptr(msg) }
            .to_string_lossy()
            .into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requested(major: u32, minor: u32) -> Result<(u32, u32), String> {
        requested_api_version(fi_version(major, minor)).map(split_version)
    }

    #[test]
    fn the_requested_api_is_the_highest_both_sides_support() {
        // Debian 12's library: its own version, below the 1.18 that changes efa's defaults.
        assert_eq!(requested(1, 17), Ok((1, 17)));
        // CI's libfabric 2.2 (impi-rt): 2.2, as its fi_pingpong asks for.
        assert_eq!(requested(2, 2), Ok((2, 2)));
        // Newer EFA installers (2.6, 2.7): the newest layout rdmabench mirrors, above 1.18.
        assert_eq!(requested(2, 7), Ok((2, 2)));
        assert_eq!(requested(1, 20), Ok((1, 20)));
        assert!(requested(1, 4).unwrap_err().contains("needs API 1.5"));
    }

    #[test]
    fn the_loaded_file_is_a_real_path_even_when_loaded_by_soname() {
        let Some(lib) = Library::load_or_skip() else {
            return;
        };
        let file = lib
            .file()
            .expect("the loaded libfabric is among the mappings");
        assert!(file.is_absolute() && file.is_file(), "{}", file.display());
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("libfabric.so"), "{name}");
    }
}
