//! Engine errors: each names what went wrong and what the user can do about it.

use std::time::Duration;

use rdmabench_fabric::FabricError;

/// Everything a ping-pong run can fail with.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// libfabric failed.
    #[error(transparent)]
    Fabric(#[from] FabricError),
    /// An I/O call on the out-of-band or socket data connection failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The server could not be reached in time.
    #[error("cannot reach the rdmabench server at {address} within {timeout:?}: {last_error}; start `rdmabench pingpong --server` there first, check the host and --port, or raise --timeout")]
    PeerUnreachable {
        /// host:port tried.
        address: String,
        /// How long we tried.
        timeout: Duration,
        /// The last connection error.
        last_error: String,
    },
    /// A matrix agent did not answer.
    #[error("agent {agent} is unreachable ({last_error}): is `rdmabench agent` running there, on that port?")]
    AgentUnreachable {
        /// host:port of the agent.
        agent: String,
        /// The last connection error.
        last_error: String,
    },
    /// The listening port is taken.
    #[error("port {address} is already in use; pick another with --port (both ends must use the same one)")]
    PortInUse {
        /// The address we tried to bind.
        address: String,
    },
    /// No client arrived in time.
    #[error("no client connected to {address} within {timeout:?}; start the client with the same parameters, or raise --timeout")]
    NoClient {
        /// Listening address.
        address: String,
        /// How long we waited.
        timeout: Duration,
    },
    /// The two ends were started with different parameters.
    #[error("the peer was started with a different {field}: here {ours}, peer {theirs}; start both ends with the same options")]
    ParameterMismatch {
        /// Which parameter differs.
        field: &'static str,
        /// Our value.
        ours: String,
        /// The peer's value.
        theirs: String,
    },
    /// The peer rejected us or spoke a different protocol.
    #[error("handshake with the peer failed: {0}")]
    Handshake(String),
    /// The peer closed the out-of-band connection in the middle of the run.
    #[error(
        "the peer closed the connection {during}; it probably exited or crashed — check its output"
    )]
    PeerGone {
        /// Which stage of the run.
        during: String,
    },
    /// No round trip completed for the whole timeout.
    #[error("no progress for {timeout:?} {during}; the peer may be stuck or the fabric unreachable (raise --timeout for very large messages)")]
    Stalled {
        /// The no-progress limit.
        timeout: Duration,
        /// Which stage of the run.
        during: String,
    },
    /// Ctrl-C.
    #[error("interrupted by Ctrl-C")]
    Interrupted,
    /// A requested size exceeds what the transport carries.
    #[error("message size {size} bytes exceeds the maximum of {limit} bytes for {transport}; use smaller --sizes")]
    SizeTooLarge {
        /// Requested size.
        size: u64,
        /// The limit.
        limit: u64,
        /// Provider or transport name.
        transport: String,
    },
    /// --verify found a payload that differs from what was sent.
    #[error("payload verification failed at size {size}, iteration {iteration}, byte {offset}: expected {expected:#04x}, got {actual:#04x}")]
    Corrupted {
        /// Message size.
        size: u64,
        /// Iteration number (0-based, warm-up included).
        iteration: u64,
        /// Byte offset.
        offset: usize,
        /// Expected byte.
        expected: u8,
        /// Received byte.
        actual: u8,
    },
    /// The parameters cannot work together.
    #[error("{0}")]
    InvalidParameters(String),
    /// The peer sent something unexpected on the out-of-band connection.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// `--cpu numa` could not choose CPUs (too few allowed, or the kernel's NUMA lists are
    /// unreadable).
    #[error("{0}")]
    CpuPlacement(String),
    /// Pinning to the requested CPU failed.
    #[error("cannot pin to CPU {cpu}: {reason}; choose a CPU listed by `nproc`/taskset")]
    Pinning {
        /// The requested CPU.
        cpu: usize,
        /// The OS error.
        reason: String,
    },
}

impl EngineError {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> EngineError {
        let context = context.into();
        move |source| EngineError::Io { context, source }
    }
}
