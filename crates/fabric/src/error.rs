//! Errors from loading and driving libfabric, each worded so a user knows what to do next.

/// Everything that can go wrong below the benchmark engine.
#[derive(Debug, thiserror::Error)]
pub enum FabricError {
    /// No libfabric could be loaded from any default location. Said in one sentence with the
    /// fix, since callers that fall back to kernel TCP show it as a note beside other output.
    #[error(
        "libfabric {}; install libfabric1 (Debian/Ubuntu) or the EFA installer, or set RDMABENCH_LIBFABRIC to a libfabric.so.1",
        if unusable.is_empty() { "is not installed".to_string() } else { format!("could not be loaded ({})", unusable.join(", ")) }
    )]
    LibraryNotFound {
        /// The copies that exist but did not load, with why (none when libfabric is absent).
        unusable: Vec<String>,
    },
    /// The library named by RDMABENCH_LIBFABRIC could not be used.
    #[error("RDMABENCH_LIBFABRIC={path} cannot be used: {reason}; fix or unset the variable")]
    LibraryUnusable {
        /// The path from the environment.
        path: String,
        /// Why loading or binding failed.
        reason: String,
    },
    /// A libfabric call returned an error code.
    #[error("{call} failed: {message} (-{code})")]
    Call {
        /// The libfabric function that failed.
        call: &'static str,
        /// The positive errno-style code.
        code: i32,
        /// libfabric's text for the code.
        message: String,
    },
    /// fi_av_insert returned without inserting the peer's address: libfabric's own answer for
    /// an address the provider refuses, which has no error code to show.
    #[error("fi_av_insert inserted {inserted} of 1 addresses: the address vector refused the peer's address {address}")]
    AddressNotInserted {
        /// What fi_av_insert returned: the count of addresses inserted.
        inserted: i32,
        /// The peer's address as received.
        address: String,
    },
    /// No provider matched what was asked for.
    #[error("no libfabric provider '{requested}' with reliable-datagram (FI_EP_RDM) endpoints{node}; available here: {}", if available.is_empty() { "none".to_string() } else { available.join(", ") })]
    NoProvider {
        /// The provider that was requested.
        requested: String,
        /// Text describing the address constraint, if any (", bound to 127.0.0.1").
        node: String,
        /// Providers that would have matched without the name constraint.
        available: Vec<String>,
    },
    /// An operation completed with an error.
    #[error("{operation} completed with an error: {message}")]
    Completion {
        /// "send" or "receive".
        operation: &'static str,
        /// libfabric's and the provider's explanation.
        message: String,
    },
    /// A message buffer this machine cannot hold.
    #[error("cannot allocate a {bytes}-byte message buffer: {reason}; use smaller --sizes")]
    BufferTooLarge {
        /// The bytes asked for.
        bytes: usize,
        /// Why not: above the machine's memory, or the allocation failed.
        reason: String,
    },
    /// A message was larger than the buffers or the provider allow.
    #[error("message of {len} bytes exceeds the limit of {limit} bytes ({what})")]
    MessageTooLarge {
        /// Requested length.
        len: usize,
        /// The limit that applies.
        limit: usize,
        /// Which limit it was.
        what: &'static str,
    },
    /// The provider cannot block for completions (fi_cq_open refused a wait object).
    #[error(
        "provider {provider} in libfabric {library_version} cannot block for completions: fi_cq_open with a wait object failed: {reason}; run without --wait (busy polling, as fi_pingpong does){}",
        if provider.starts_with("efa") { "; efa offers wait objects on RDM endpoints from libfabric 2.5" } else { "" }
    )]
    WaitUnsupported {
        /// Full provider name.
        provider: String,
        /// The loaded libfabric's version.
        library_version: String,
        /// libfabric's text and code.
        reason: String,
    },
    /// The efa provider refused to use device RDMA (--require-device-rdma).
    #[error(
        "provider {provider} refused device RDMA (fi_setopt FI_OPT_EFA_USE_DEVICE_RDMA: {message}, -{code}) at libfabric API {api_version}; it needs API 1.18 or newer, an EFA device with RDMA read (and write, for writes), and FI_EFA_USE_DEVICE_RDMA unset or 1; without --require-device-rdma the run measures efa's emulation over send/recv and says so"
    )]
    DeviceRdmaRefused {
        /// Full provider name.
        provider: String,
        /// The API version rdmabench requested.
        api_version: String,
        /// The positive error code.
        code: i32,
        /// libfabric's text for it.
        message: String,
    },
    /// The caller's watchdog asked a wait to stop (peer gone, deadline passed, Ctrl-C).
    #[error("wait for a completion was abandoned")]
    Abandoned,
    /// The API was used out of order (e.g. posting a second receive into a busy buffer).
    #[error("internal ordering error: {0}")]
    Usage(&'static str),
}
