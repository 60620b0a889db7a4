#![forbid(unsafe_code)]
//! The results file: one JSON document per run with every parameter, both hosts' facts, the
//! provider, and per-size statistics in integer nanoseconds. Maps are sorted and optional
//! fields are always present (as null) so files diff cleanly and the schema is stable.
//!
//! Its own crate, at the bottom of the workspace, because every stage meets here: the engine
//! writes these files, `import` makes them from other tools' output, the pipeline and the
//! Kubernetes runner collect them, the report reads them. Nothing else defines these types.
//! `run_dir` names where they live: one directory per run, one file per measurement.

mod file;
pub mod run_dir;

use std::collections::BTreeMap;

pub use file::{check_writable, write_atomically};

pub use rdmabench_stats::{Figure, LatencySummary, SizeMeasurement};
use serde::{Deserialize, Serialize};

/// Why a text could not be read as a results file; each message says what to do instead.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResultsError {
    /// The text is not JSON or not the results layout, e.g. a log file passed by mistake.
    #[error(
        "not an rdmabench results file: {0}; give a file written by rdmabench with the json format"
    )]
    Malformed(String),
    /// The file was written by an rdmabench with a different layout, which this build would
    /// misread.
    #[error("results file has schema_version {found}, but this rdmabench reads versions {oldest} to {newest}; read it with the rdmabench version that wrote it (see tool.version in the file)")]
    SchemaVersion {
        /// Version in the file.
        found: u64,
        /// Oldest version this build reads.
        oldest: u32,
        /// Newest version this build reads (the one it writes).
        newest: u32,
    },
}

/// Version of this layout; readers refuse other versions instead of misreading them.
/// Version 2 made every per-size figure optional (results imported from other tools hold only
/// what those tools print) and added bandwidth rows and the command line; a version-1 file is
/// a valid version-2 file with everything present, so both are read.
/// Version 3 added which of a provider's fabrics was measured (`fabric.fabric_kind`: efa or
/// efa-direct for efa, else the provider's name), efa's RMA emulation (`fabric.rma_emulated`), and
/// the `fabric` and `require_device_rdma` parameters. Older files read with `fabric_kind` = the
/// core provider name, no emulation recorded, `fabric` = "auto" and no device RDMA required.
/// Version 4 added the EFA stack each end saw (`endpoints.*.efa`: installer, kernel module,
/// devices, AMI release) and each end's CPU placement (`endpoints.*.cpu_set`, `cpu_numa_nodes`,
/// `efa_numa_node`); older files read with none.
/// Version 5 added how a cluster's pods got their EFA devices (`placement.efa_devices`), what
/// the cluster enforces of NetworkPolicies (`placement.network_policy`), and which of a row's
/// figures another tool printed rounded (`results[].rounded`: "size_bytes", "iterations",
/// "total_ns", as in an imported fi_pingpong's "11k", "1k" and 10 ms time), and, for runs with
/// `--precision`, how well each row's latency is known (`results[].quality`: the target, the 95 %
/// intervals of the mean and median reached, batches, lag-1 autocorrelation, why it stopped),
/// and a bandwidth run's `parameters.method` (osu, fabtests, perftest); older files read with
/// none of these recorded, so with no figure rounded, and an rdmabench bw run as osu's.
/// Version 6 made `results[].quality` every measured row's: the signs of noise seen
/// (`noise`: mean far above the median, a heavy p99, the process descheduled, CPU steal, each
/// with its value and limit), the host counts behind them (`host`: involuntary context
/// switches, stolen CPU time, over the timed loop) and the precision record under `precision`;
/// a version-5 `quality` reads as that precision record, with no noise or host counts.
pub const SCHEMA_VERSION: u32 = 6;
/// The oldest layout this build still reads.
pub const OLDEST_SCHEMA_VERSION: u32 = 1;

/// One run's results: everything needed to read, compare and reproduce the measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ResultsFile {
    /// Always SCHEMA_VERSION when written.
    pub schema_version: u32,
    /// Which build measured.
    pub tool: ToolInfo,
    /// When the run started, RFC 3339 UTC.
    pub timestamp: String,
    /// Which benchmark ("pingpong").
    pub test: String,
    /// False when the run stopped early: the rows are partial.
    pub complete: bool,
    /// Why the run is incomplete, or a caveat such as a transport fallback.
    pub note: Option<String>,
    /// Everything the user asked for.
    pub parameters: Parameters,
    /// Who measured against whom.
    pub endpoints: Endpoints,
    /// The libfabric provider used (None for the socket transport).
    pub fabric: Option<FabricInfo>,
    /// One row per message size.
    pub results: Vec<SizeMeasurement>,
    /// Where in a cluster the run happened (None for runs started by hand or locally). Files
    /// written before this field existed read as None.
    #[serde(default)]
    pub placement: Option<Placement>,
    /// The exact command that measured, when another tool did (`rdmabench import --command`).
    #[serde(default)]
    pub command_line: Option<String>,
}

/// Where a run inside Kubernetes happened: the facts that make node-mode and pod-mode results
/// comparable, or show that they are not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Placement {
    /// "eks" for the stack's cluster, "kubernetes" for a kubeconfig context.
    pub target: String,
    /// The cluster name or kubeconfig context.
    pub cluster: String,
    /// "node" (on the hosts) or "pod" (inside pods).
    pub mode: String,
    /// Namespace of the benchmark pods.
    pub namespace: String,
    /// Node that ran the server.
    pub server_node: String,
    /// Node that ran the client.
    pub client_node: String,
    /// EC2 instance type of the nodes.
    pub instance_type: String,
    /// The benchmark image.
    pub image: String,
    /// 1-based repetition of this mode within the run.
    pub repetition: u32,
    /// How the pods got their EFA devices: "device-plugin" (`vpc.amazonaws.com/efa`) or "dra"
    /// (ResourceClaims); None in files older than version 5.
    #[serde(default)]
    pub efa_devices: Option<String>,
    /// What the cluster enforces of NetworkPolicies while the run measured: a policy engine
    /// puts its own (eBPF or iptables) code on pod mode's socket path, never on EFA's or on
    /// node mode's host network. None in files older than version 5.
    #[serde(default)]
    pub network_policy: Option<NetworkPolicyEnforcement>,
}

/// A cluster's NetworkPolicy enforcement as rdmabench found it before measuring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NetworkPolicyEnforcement {
    /// The policy engine found running ("aws-network-policy-agent", "cilium", "calico"), or
    /// None when no known engine runs.
    pub engine: Option<String>,
    /// Whether that engine enforces policies (the VPC CNI ships its agent with enforcement
    /// off unless the add-on's `enableNetworkPolicy` is set).
    pub enforcing: bool,
    /// NetworkPolicies in the benchmark namespace (rdmabench creates none, so any are someone
    /// else's and may govern the pods' sockets).
    pub policies_in_namespace: u32,
}

/// The build that produced a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ToolInfo {
    /// "rdmabench".
    pub name: String,
    /// Crate version.
    pub version: String,
    /// Git commit it was built from, when known.
    pub git_commit: Option<String>,
}

/// The run's parameters as given (not as resolved: the resolved provider is in `fabric`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Parameters {
    /// "local", "server" or "client".
    pub role: String,
    /// "fabric" or "socket".
    pub transport: String,
    /// Requested provider ("auto", "tcp", ...; "none" for the socket transport).
    pub provider: String,
    /// "msg" or "tagged".
    pub api: String,
    /// Message sizes.
    pub sizes_bytes: Vec<u64>,
    /// Timed round trips per size (None with --duration).
    pub iterations: Option<u64>,
    /// Time budget per size (None with --iters).
    pub duration_ns: Option<u64>,
    /// Warm-up round trips if given (None = max(1000, iterations / 100)).
    pub warmup_iterations: Option<u64>,
    /// Whether every payload was checked.
    pub verify: bool,
    /// "busy-poll" or "wait".
    pub completion: String,
    /// Whether buffers were registered even though the provider did not ask.
    pub force_mr_local: bool,
    /// CPU pinning (server first): the CPUs given with --cpu, or those `--cpu numa` chose.
    pub cpu: Option<Vec<usize>>,
    /// Connection and no-progress timeout.
    pub timeout_ns: u64,
    /// Out-of-band port.
    pub port: u16,
    /// Which of the efa provider's fabrics was asked for: "auto", "efa" or "efa-direct".
    #[serde(default = "auto_fabric")]
    pub fabric: String,
    /// Whether efa had to use device RDMA (the run fails otherwise).
    #[serde(default)]
    pub require_device_rdma: bool,
    /// Bandwidth tests: messages in flight per window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<u64>,
    /// Bandwidth tests: whether both ends sent at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bidirectional: Option<bool>,
    /// Bandwidth tests: whose loop kept the messages in flight ("osu", "fabtests",
    /// "perftest"); an rdmabench bw file before schema 5 reads as "osu", the loop it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Ping-pong `--loop-timed`: the timed loop was read once at each end, as fi_pingpong
    /// does, so the rows hold the mean and no percentiles. Written only when set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub loop_timed: bool,
}

fn auto_fabric() -> String {
    "auto".into()
}

/// Facts about one host that decide whether results are comparable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HostFacts {
    /// Host name.
    pub hostname: String,
    /// Kernel boot id: equal ids mean the same running machine.
    pub boot_id: Option<String>,
    /// Kernel release.
    pub kernel: Option<String>,
    /// CPU model.
    pub cpu_model: Option<String>,
    /// cpufreq governor of the CPU used.
    pub cpu_governor: Option<String>,
    /// CPU this end was pinned to.
    pub pinned_cpu: Option<usize>,
    /// libfabric version loaded, if any.
    pub libfabric_version: Option<String>,
    /// FI_* environment variables, which change provider behaviour.
    pub fi_env: BTreeMap<String, String>,
    /// Cost of one timestamp, included in every per-iteration sample.
    pub clock_overhead_ns: u64,
    /// The EFA stack as seen from where this end ran; None where no part of it is visible
    /// (older files, hosts without EFA).
    #[serde(default)]
    pub efa: Option<EfaStack>,
    /// The CPUs this end could run on while it measured, in the kernel's list format ("32" when
    /// pinned, the kubelet's exclusive CPUs in a pod, e.g. "32-35"): node and pod runs compare
    /// only when these are alike. None in older files.
    #[serde(default)]
    pub cpu_set: Option<String>,
    /// The NUMA nodes of `cpu_set`, ascending; empty where unknown (older files).
    #[serde(default)]
    pub cpu_numa_nodes: Vec<u32>,
    /// The NUMA node of the EFA device `--cpu numa` pins next to (the first EFA device that
    /// reports one): when it is not in `cpu_numa_nodes`, every message crossed the socket
    /// interconnect. None without EFA, or in older files.
    #[serde(default)]
    pub efa_numa_node: Option<u32>,
}

/// The EFA stack of a host: which installer, kernel module, devices and AMI. Two EFA runs with
/// the same libfabric version can differ in all of these, so `fi_version()` alone cannot tell
/// them apart. A pod sees the devices and its own image's files, not the host's unless mounted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EfaStack {
    /// The EFA installer release, from the first line of the installer's record
    /// (`/opt/amazon/efa_installed_packages`: "# EFA installer version: X").
    pub installer_version: Option<String>,
    /// The installer's whole record of what it installed.
    pub installed_packages: Option<String>,
    /// The efa kernel module's version (`/sys/module/efa/version`).
    pub kernel_module: Option<String>,
    /// EFA devices on the PCI bus (vendor 0x1d0f, device 0xefa0 to 0xefa3), by address.
    pub devices: Vec<EfaDevice>,
    /// The EKS AMI's build record (`/etc/eks/release`: BASE_AMI_ID, BUILD_TIME, BUILD_KERNEL,
    /// ARCH), empty elsewhere.
    pub ami_release: BTreeMap<String, String>,
}

/// One EFA device: the generation (its PCI device id) and the NUMA node a pinned run should
/// share with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EfaDevice {
    /// PCI address, e.g. "0000:00:06.0".
    pub pci_address: String,
    /// PCI device id: "0xefa0" (first generation) to "0xefa3".
    pub device_id: String,
    /// NUMA node of the device; None where the kernel reports none (-1) or nothing.
    pub numa_node: Option<u32>,
}

/// The two ends of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Endpoints {
    /// The end that wrote the file.
    pub local: HostFacts,
    /// The other end.
    pub peer: Option<HostFacts>,
    /// True when both ends ran on one host (then no network was crossed, or only loopback).
    pub same_host: bool,
}

/// The libfabric provider as opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FabricInfo {
    /// Full provider name, e.g. "tcp;ofi_rxm".
    pub provider: String,
    /// Fabric name (for IP providers the network, e.g. "10.0.0.0/16").
    pub fabric: String,
    /// Which of the provider's fabrics this is, in terms that compare across hosts: "efa" or
    /// "efa-direct" for the efa provider, the core provider's name otherwise (not the fabric
    /// name: an IP provider's is its subnet, which differs between node and pod).
    #[serde(default)]
    pub fabric_kind: String,
    /// Domain name.
    pub domain: String,
    /// API version requested.
    pub api_version: String,
    /// Memory-registration rules, as flag names.
    pub mr_mode: Vec<String>,
    /// Whether buffers were registered and descriptors passed.
    pub memory_registered: bool,
    /// Largest message sent with fi_inject.
    pub inject_size: u64,
    /// Largest message the provider accepts (for send/recv, what fi_getopt
    /// FI_OPT_MAX_MSG_SIZE says where the library has it).
    pub max_msg_size: u64,
    /// RMA tests on efa: whether its reads and writes were emulated over send/recv
    /// (fi_getopt FI_OPT_EFA_EMULATED_READ/WRITE); None for other providers and tests.
    #[serde(default)]
    pub rma_emulated: Option<RmaEmulated>,
    /// Why this provider and fabric were chosen (what `--provider auto` and `--fabric auto`
    /// passed over, and why); None in files written before version 3.
    #[serde(default)]
    pub selected: Option<String>,
}

/// What the efa provider said about its RMA path on the measuring endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RmaEmulated {
    /// fi_read went over send/recv (no device RDMA read).
    pub read: bool,
    /// fi_write went over send/recv.
    pub write: bool,
}

impl FabricInfo {
    /// `fabric_kind` for a provider and fabric name as libfabric reports them.
    pub fn kind_of(provider: &str, fabric_name: &str) -> String {
        let core = provider.split(';').next().unwrap_or(provider);
        if core == "efa" && fabric_name == "efa-direct" {
            "efa-direct".into()
        } else {
            core.into()
        }
    }
}

impl ResultsFile {
    /// Reads a results file, refusing other schema versions with a clear message.
    pub fn from_json(text: &str) -> Result<Self, ResultsError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ResultsError::Malformed(e.to_string()))?;
        let found = value
            .get("schema_version")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| ResultsError::Malformed("it has no numeric schema_version".into()))?;
        if !(u64::from(OLDEST_SCHEMA_VERSION)..=u64::from(SCHEMA_VERSION)).contains(&found) {
            return Err(ResultsError::SchemaVersion {
                found,
                oldest: OLDEST_SCHEMA_VERSION,
                newest: SCHEMA_VERSION,
            });
        }
        let mut file: ResultsFile =
            serde_json::from_value(value).map_err(|e| ResultsError::Malformed(e.to_string()))?;
        if let Some(fabric) = file.fabric.as_mut().filter(|f| f.fabric_kind.is_empty()) {
            // Before version 3: only efa's `efa` fabric existed for RDM endpoints.
            fabric.fabric_kind = FabricInfo::kind_of(&fabric.provider, "");
        }
        if file.test == "bw" && file.tool.name == "rdmabench" && file.parameters.method.is_none() {
            // Before version 5: rdmabench's one bandwidth loop was osu's.
            file.parameters.method = Some("osu".into());
        }
        Ok(file)
    }

    /// The file's on-disk form: pretty JSON with a final newline, so files are readable and
    /// diff cleanly. The only place results are serialized; it always writes the current
    /// SCHEMA_VERSION, so a file read in an older layout is written in this one.
    pub fn to_json_pretty(&self) -> String {
        let current = ResultsFile {
            schema_version: SCHEMA_VERSION,
            ..self.clone()
        };
        // Every field is a string, number, bool, list or string-keyed map, which serde_json
        // always serializes, so this cannot fail.
        let mut text = serde_json::to_string_pretty(&current)
            .expect("results contain only JSON-representable data");
        text.push('\n');
        text
    }
}
