//! The objects rdmabench applies, built from the stack configuration: the namespace, the EFA
//! device plugin, and per measurement mode a headless Service plus server and client pods. They
//! are plain k8s-openapi values, so `k8s render` and `k8s deploy` can never disagree.

mod bench;
mod device_plugin;
mod dra;
mod launcher;
mod registry;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{
    HostPathVolumeSource, Namespace, Pod, SeccompProfile, Service, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use rdmabench_infra::instances::InstanceType;
use rdmabench_infra::{ConfigError, EfaDevices, StackConfig};
use serde::Serialize;

pub use bench::{agent_pod, bench_pod, coordinator_pod, server_service};
pub use device_plugin::{device_plugin, DEVICE_PLUGIN_NAME, DEVICE_PLUGIN_NAMESPACE};
pub use dra::{
    DraObjects, DRA_DRIVER, DRA_DRIVER_NAME, DRA_DRIVER_VERSION, EFA_CLAIM, EFA_CLAIM_TEMPLATE,
    EFA_DEVICE_CLASS, EFA_PCI_DEVICE,
};
pub use launcher::LauncherAccess;
pub use registry::eks_addon_registry;

/// The device plugin release rdmabench deploys: pinned so every run uses the same plugin.
pub const DEVICE_PLUGIN_VERSION: &str = "v0.5.20";
/// The extended resource the EFA device plugin advertises, one unit per EFA interface.
pub const EFA_RESOURCE: &str = "vpc.amazonaws.com/efa";
/// The node label the stack's node group sets (see the infra crate); everything here selects it.
pub const EFA_NODE_LABEL: (&str, &str) = rdmabench_infra::synth::EFA_NODE_LABEL;
/// The image `k8s render` writes when none is recorded or given: under the reserved `.invalid`
/// domain, so a rendered manifest applied by mistake fails to pull instead of fetching whatever
/// someone publishes under a plausible Docker Hub name.
pub const PLACEHOLDER_IMAGE: &str = "placeholder.invalid/rdmabench:run-image-build-push-first";
/// The label that marks every object rdmabench creates, for `k8s clean`.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "rdmabench");
/// Label carrying the measurement mode of a benchmark pod.
pub const MODE_LABEL: &str = "rdmabench.io/mode";
/// Label carrying the role (server or client) of a benchmark pod.
pub const ROLE_LABEL: &str = "rdmabench.io/role";
/// The most 2 MiB hugepages one benchmark pod asks for (1 GiB): the EFA provider's bounce
/// buffers need far less, and leaving the rest lets a partly fragmented node still schedule it.
pub const MAX_HUGEPAGES_PER_POD: u32 = 512;

/// Where a measurement runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Directly on the node's host, with the node's own libfabric (the baseline).
    Node,
    /// Inside ordinary pods that get EFA through the device plugin or the DRA driver.
    Pod,
}

impl Mode {
    /// The label and name form.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Node => "node",
            Mode::Pod => "pod",
        }
    }
}

/// Which end of a ping-pong a pod runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Listens, serves one client's run, exits.
    Server,
    /// Connects to the server through its Service, prints the results JSON.
    Client,
    /// `rdmabench agent` on one node, for a matrix.
    Agent,
    /// `rdmabench matrix` over the agents, printing the matrix JSON.
    Coordinator,
}

impl Role {
    /// The label and name form.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Client => "client",
            Role::Agent => "agent",
            Role::Coordinator => "coordinator",
        }
    }
}

/// Everything the manifests depend on, gathered once from the stack configuration and the
/// command line.
#[derive(Debug, Clone)]
pub struct BenchSpec {
    /// Namespace of the benchmark pods.
    pub namespace: String,
    /// The benchmark image (rdmabench, EFA userspace, OpenMPI), normally the pushed ECR reference.
    pub image: String,
    /// AWS region: picks the registry of the device plugin image.
    pub region: String,
    /// The nodes' instance type: EFA interface count and architecture.
    pub instance: &'static InstanceType,
    /// 2 MiB hugepages reserved on each node at boot (0: none, so EFA must not use them).
    pub hugepages_2mi: u32,
    /// Out-of-band TCP port of the benchmark server.
    pub port: u16,
    /// The measurement subcommand both ends run: "pingpong" or "bw".
    pub test: String,
    /// Its options both ends must agree on (provider, sizes, iterations ...).
    pub bench_args: Vec<String>,
    /// Upper bound on a benchmark pod's life, enforced by the kubelet (activeDeadlineSeconds).
    pub deadline_seconds: i64,
    /// The client starts its peer's side in the server pod through the exec API (the MPI
    /// tools): it gets the launcher's service account and the server pod's name.
    pub launcher: bool,
    /// How pod-mode pods get their EFA devices.
    pub efa_devices: EfaDevices,
}

impl BenchSpec {
    /// The spec for the stack `config` describes, with the port both ends use: every flow (and
    /// `k8s render`) builds its pods from the same facts. `bench_args` are already checked;
    /// `limit` becomes the pods' deadline.
    pub fn for_stack(
        config: &StackConfig,
        namespace: &str,
        image: String,
        test: &str,
        bench_args: Vec<String>,
        limit: Duration,
    ) -> Result<BenchSpec, ConfigError> {
        Ok(BenchSpec {
            namespace: namespace.to_string(),
            image,
            region: config.region.clone(),
            instance: config.instance()?,
            hugepages_2mi: config.nodes.hugepages_2mi,
            port: rdmabench_engine::DEFAULT_PORT,
            test: test.to_string(),
            bench_args,
            deadline_seconds: i64::try_from(limit.as_secs()).unwrap_or(i64::MAX),
            launcher: false,
            efa_devices: config.k8s.efa,
        })
    }

    /// Name of the matrix agent pod on the `index`-th node.
    pub fn agent_name(mode: Mode, index: usize) -> String {
        format!("rdmabench-{}-agent-{index}", mode.as_str())
    }

    /// Name of the pod (and, for the server, of its Service) of `mode` and `role`.
    pub fn pod_name(mode: Mode, role: Role) -> String {
        format!("rdmabench-{}-{}", mode.as_str(), role.as_str())
    }

    /// DNS name through which the client reaches the server of `mode`.
    pub fn server_host(&self, mode: Mode) -> String {
        format!(
            "{}.{}.svc.cluster.local",
            Self::pod_name(mode, Role::Server),
            self.namespace
        )
    }

    /// Hugepages one benchmark pod requests: a share of what the node reserved.
    pub fn hugepages_per_pod(&self) -> u32 {
        self.hugepages_2mi.min(MAX_HUGEPAGES_PER_POD)
    }
}

/// Labels on every object: who manages it, plus `extra`.
fn labels(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    [MANAGED_BY, ("app.kubernetes.io/part-of", "rdmabench")]
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Metadata with a name, an optional namespace and the common labels plus `extra`.
fn metadata(name: &str, namespace: Option<&str>, extra: &[(&str, &str)]) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: namespace.map(str::to_string),
        labels: Some(labels(extra)),
        ..ObjectMeta::default()
    }
}

/// Container requests or limits of `cpu` and `memory`.
fn quantities(cpu: &str, memory: &str) -> BTreeMap<String, Quantity> {
    BTreeMap::from([
        ("cpu".to_string(), Quantity(cpu.to_string())),
        ("memory".to_string(), Quantity(memory.to_string())),
    ])
}

/// The container runtime's default seccomp profile, which every container here runs under.
fn runtime_default_seccomp() -> SeccompProfile {
    SeccompProfile {
        type_: "RuntimeDefault".to_string(),
        ..SeccompProfile::default()
    }
}

/// A host directory volume and its mount at the same path; `type_` as hostPath takes it,
/// `propagation` for mounts that must see what the host mounts there later.
fn host_path(
    name: &str,
    path: &str,
    type_: Option<&str>,
    propagation: Option<&str>,
) -> (Volume, VolumeMount) {
    let volume = Volume {
        name: name.to_string(),
        host_path: Some(HostPathVolumeSource {
            path: path.to_string(),
            type_: type_.map(str::to_string),
        }),
        ..Volume::default()
    };
    let mount = VolumeMount {
        name: name.to_string(),
        mount_path: path.to_string(),
        mount_propagation: propagation.map(str::to_string),
        ..VolumeMount::default()
    };
    (volume, mount)
}

/// The namespace of the benchmark pods.
pub fn namespace(spec: &BenchSpec) -> Namespace {
    Namespace {
        metadata: metadata(&spec.namespace, None, &[]),
        ..Namespace::default()
    }
}

/// The objects of one measurement mode, in the order they are applied.
#[derive(Debug, Clone)]
pub struct ModeObjects {
    /// The mode.
    pub mode: Mode,
    /// Headless Service giving the server a DNS name.
    pub service: Service,
    /// The server pod.
    pub server: Pod,
    /// The client pod.
    pub client: Pod,
    /// The client's right to exec into the server pod, for MPI runs.
    pub launcher: Option<LauncherAccess>,
}

impl ModeObjects {
    /// Builds the Service and both pods of `mode`.
    pub fn new(spec: &BenchSpec, mode: Mode) -> ModeObjects {
        ModeObjects {
            mode,
            service: server_service(spec, mode),
            server: bench_pod(spec, mode, Role::Server),
            client: bench_pod(spec, mode, Role::Client),
            launcher: spec.launcher.then(|| LauncherAccess::new(spec, mode)),
        }
    }
}

/// What hands EFA devices to pods, by `k8s.efa`.
#[derive(Debug, Clone)]
pub enum EfaObjects {
    /// The EFA device plugin's DaemonSet.
    DevicePlugin(Box<DaemonSet>),
    /// The EFA DRA driver and the pods' claim template.
    Dra(Box<DraObjects>),
}

/// Every object of a deployment: shared ones, then one set per mode.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The benchmark namespace.
    pub namespace: Namespace,
    /// What hands EFA devices to pods.
    pub efa: EfaObjects,
    /// Per mode, the Service and pods.
    pub modes: Vec<ModeObjects>,
}

impl Bundle {
    /// All objects for `modes`.
    pub fn new(spec: &BenchSpec, modes: &[Mode]) -> Bundle {
        Bundle {
            namespace: namespace(spec),
            efa: match spec.efa_devices {
                EfaDevices::DevicePlugin => {
                    EfaObjects::DevicePlugin(Box::new(device_plugin(&spec.region, spec.instance)))
                }
                EfaDevices::Dra => EfaObjects::Dra(Box::new(DraObjects::new(spec))),
            },
            modes: modes.iter().map(|&m| ModeObjects::new(spec, m)).collect(),
        }
    }

    /// A multi-document YAML stream, in apply order, for `kubectl apply -f -` or review.
    pub fn to_yaml(&self) -> Result<String, serde_saphyr::SerializeError> {
        let mut documents = vec![to_yaml(&self.namespace)?];
        match &self.efa {
            EfaObjects::DevicePlugin(plugin) => documents.push(to_yaml(plugin.as_ref())?),
            EfaObjects::Dra(dra) => documents.extend([
                to_yaml(&dra.service_account)?,
                to_yaml(&dra.cluster_role)?,
                to_yaml(&dra.cluster_role_binding)?,
                to_yaml(&dra.device_class)?,
                to_yaml(&dra.daemon_set)?,
                to_yaml(&dra.claim_template)?,
            ]),
        }
        for mode in &self.modes {
            if let Some(access) = &mode.launcher {
                documents.push(to_yaml(&access.service_account)?);
                documents.push(to_yaml(&access.role)?);
                documents.push(to_yaml(&access.role_binding)?);
            }
            documents.push(to_yaml(&mode.service)?);
            documents.push(to_yaml(&mode.server)?);
            documents.push(to_yaml(&mode.client)?);
        }
        let stream: String = documents.iter().map(|d| format!("---\n{d}")).collect();
        Ok(format!("{NO_NETWORK_POLICY}{stream}"))
    }
}

/// Why the stream has no NetworkPolicy, for whoever reviews it: rdmabench used to render
/// policies that the stack's cluster never enforced (the VPC CNI's agent is off by default), so
/// they were untested, lacked the API-server egress the MPI launcher's exec needs, and would
/// have broken MPI runs on a cluster that enforces them. Enforcing them instead would put the
/// policy engine's eBPF programs on pod mode's socket path only, a confounder in the very
/// node-versus-pod comparison the tool exists for. The results record what the cluster
/// enforces (`placement.network_policy`).
const NO_NETWORK_POLICY: &str = "\
# rdmabench renders no NetworkPolicy. EFA traffic bypasses the kernel and node-mode pods use the
# host network: neither is governed by NetworkPolicies. The benchmark pods live in their own
# namespace for one measurement; the results record whether the cluster enforces policies.
";

fn to_yaml<T: Serialize>(object: &T) -> Result<String, serde_saphyr::SerializeError> {
    serde_saphyr::to_string(object)
}
