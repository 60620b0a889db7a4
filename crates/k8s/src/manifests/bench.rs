//! The benchmark pods and the Service that names the server. Both modes run the same image and
//! the same `rdmabench pingpong` arguments with the same CPU, memory and hugepage budget, so the
//! only differences between a node-mode and a pod-mode number are the ones being measured: the
//! container's namespaces and the device plugin's (or DRA driver's) path to the EFA device.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, Container, EmptyDirVolumeSource, EnvVar, HostPathVolumeSource, Pod,
    PodAffinityTerm, PodAntiAffinity, PodResourceClaim, PodSecurityContext, PodSpec, ResourceClaim,
    ResourceRequirements, SecurityContext, Service, ServicePort, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use rdmabench_infra::EfaDevices;

use super::{
    metadata, runtime_default_seccomp, BenchSpec, LauncherAccess, Mode, Role, EFA_CLAIM,
    EFA_CLAIM_TEMPLATE, EFA_NODE_LABEL, EFA_RESOURCE, MANAGED_BY, MODE_LABEL, ROLE_LABEL,
};

/// CPU for each benchmark pod: one busy-polling thread plus libfabric's progress, with room.
const CPU: &str = "4";
/// Memory for each benchmark pod: buffers up to 8 MiB plus the provider's pools.
const MEMORY: &str = "8Gi";
/// Size of /dev/shm: the shm provider and MPI's shared-memory transport live there.
const SHM_SIZE: &str = "1Gi";
/// Where node mode copies the binary on the host (created if missing, removed after the run).
const HOST_BIN_DIR: &str = "/var/lib/rdmabench";

/// Node mode: copy the image's binary onto the host, then run it in the host's namespaces
/// (PID 1's mount, UTS, IPC, network and PID namespaces), so it uses the node's own libfabric
/// from the EFA installer. The server's name is resolved here, inside the pod, because the
/// host's resolver does not know cluster DNS names.
const NODE_RUNNER: &str = r#"set -eu
role="$1"; test="$2"; shift 2
host_bin="$HOST_BIN_DIR/rdmabench-$role"
install -m 0755 /usr/local/bin/rdmabench "/host$host_bin"
trap 'rm -f "/host$host_bin"' EXIT
# Deleting the pod (Ctrl-C, a timeout, the other end failing) signals this shell only, while
# the benchmark runs in the host's PID namespace: pass TERM on (rdmabench treats it as Ctrl-C;
# INT would be ignored by a background job), so it stops, reports, and the EXIT trap removes
# the binary within the grace period.
stopping=0
stop() {
  stopping=1
  [ -z "${child:-}" ] || kill -TERM "$child" 2>/dev/null || true
  for proc in /proc/[0-9]*; do
    if [ "$(readlink "$proc/exe" 2>/dev/null)" = "$host_bin" ]; then
      kill -TERM "${proc#/proc/}" 2>/dev/null || true
    fi
  done
  return 0
}
trap stop INT TERM
if [ "$role" = client ]; then
  server=""
  for _ in $(seq 1 60); do
    server=$(getent hosts "$1" | awk '{print $1; exit}') && [ -n "$server" ] && break
    sleep 1
  done
  [ -n "$server" ] || { echo "cannot resolve $1 within 60 s" >&2; exit 1; }
  shift
  set -- "$server" "$@"
fi
ulimit -l unlimited
if [ "$test" = tool ]; then
  # The reference tools are this image's: enter only the host's network namespace, so they run
  # on the node's network and (privileged) devices with the image's userspace; TERM reaches them
  # through $child.
  nsenter --target 1 --net -- /usr/local/bin/rdmabench "$test" "$@" &
else
  nsenter --target 1 --mount --uts --ipc --net --pid -- "$host_bin" "$test" "$@" &
fi
child=$!
status=0
wait "$child" || status=$?
# A trapped signal ends `wait` early: wait for the benchmark itself to finish.
while kill -0 "$child" 2>/dev/null; do
  status=0
  wait "$child" || status=$?
done
[ "$stopping" = 0 ] || exit 143
exit "$status"
"#;

fn selector(mode: Mode, role: Option<Role>) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([
        (MANAGED_BY.0.to_string(), MANAGED_BY.1.to_string()),
        (MODE_LABEL.to_string(), mode.as_str().to_string()),
    ]);
    if let Some(role) = role {
        labels.insert(ROLE_LABEL.to_string(), role.as_str().to_string());
    }
    labels
}

/// The headless Service through which the client finds the server of `mode`. Not-ready
/// addresses are published because the server has no readiness probe: a probe's connection
/// would be taken for the one client it serves.
pub fn server_service(spec: &BenchSpec, mode: Mode) -> Service {
    let name = BenchSpec::pod_name(mode, Role::Server);
    Service {
        metadata: metadata(&name, Some(&spec.namespace), &[(MODE_LABEL, mode.as_str())]),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".to_string()),
            publish_not_ready_addresses: Some(true),
            selector: Some(selector(mode, Some(Role::Server))),
            ports: Some(vec![ServicePort {
                name: Some("control".to_string()),
                port: i32::from(spec.port),
                protocol: Some("TCP".to_string()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// The measurements that pin each end with `--cpu numa`: rdmabench's own (the reference tools
/// and the matrix agents take no `--cpu`).
const PINNED_TESTS: &[&str] = &["pingpong", "bw", "rma"];

/// Arguments of a pod after its subcommand (`rdmabench pingpong`, `bw`, `rma`, `agent`,
/// `matrix`). Both modes' ends get `--cpu numa` unless the user chose CPUs: each end then runs
/// on one CPU next to its EFA device, in node mode as in pod mode, instead of wherever the
/// scheduler puts it within the pod's exclusive CPUs.
fn bench_args(spec: &BenchSpec, mode: Mode, role: Role) -> Vec<String> {
    let port = spec.port.to_string();
    let mut args: Vec<String> = match role {
        Role::Server => vec!["--server".into(), "--bind".into(), "0.0.0.0".into()],
        Role::Agent => vec!["--bind".into(), "0.0.0.0".into()],
        Role::Client => vec![spec.server_host(mode)],
        Role::Coordinator => Vec::new(),
    };
    if role != Role::Coordinator {
        args.extend(["--port".to_string(), port]);
    }
    args.extend(spec.bench_args.iter().cloned());
    let cpu_chosen = spec
        .bench_args
        .iter()
        .any(|a| a == "--cpu" || a.starts_with("--cpu="));
    if matches!(role, Role::Server | Role::Client)
        && PINNED_TESTS.contains(&spec.test.as_str())
        && !cpu_chosen
    {
        args.extend(["--cpu".to_string(), "numa".to_string()]);
    }
    if matches!(role, Role::Client | Role::Coordinator) {
        args.extend(["--format".to_string(), "json".to_string()]);
    }
    args
}

fn resources(spec: &BenchSpec, mode: Mode) -> ResourceRequirements {
    let mut amounts = BTreeMap::from([
        ("cpu".to_string(), Quantity(CPU.to_string())),
        ("memory".to_string(), Quantity(MEMORY.to_string())),
    ]);
    let hugepages = spec.hugepages_per_pod();
    if hugepages > 0 {
        amounts.insert(
            "hugepages-2Mi".to_string(),
            Quantity(format!("{}Mi", hugepages * 2)),
        );
    }
    let claims_efa = mode == Mode::Pod && spec.efa_devices == EfaDevices::Dra;
    if mode == Mode::Pod && spec.efa_devices == EfaDevices::DevicePlugin {
        amounts.insert(
            EFA_RESOURCE.to_string(),
            Quantity(spec.instance.network_cards.to_string()),
        );
    }
    ResourceRequirements {
        // Equal requests and limits: Guaranteed QoS, and extended resources demand it anyway.
        requests: Some(amounts.clone()),
        limits: Some(amounts),
        claims: claims_efa.then(|| {
            vec![ResourceClaim {
                name: EFA_CLAIM.to_string(),
                ..ResourceClaim::default()
            }]
        }),
    }
}

/// A pod-mode pod's claim on the node's EFA devices, with the DRA driver (node mode claims
/// nothing: see the dra module).
fn efa_claims(spec: &BenchSpec, mode: Mode) -> Option<Vec<PodResourceClaim>> {
    (mode == Mode::Pod && spec.efa_devices == EfaDevices::Dra).then(|| {
        vec![PodResourceClaim {
            name: EFA_CLAIM.to_string(),
            resource_claim_template_name: Some(EFA_CLAIM_TEMPLATE.to_string()),
            ..PodResourceClaim::default()
        }]
    })
}

fn memory_volume(name: &str, mount_path: &str, size: &str) -> (Volume, VolumeMount) {
    let volume = Volume {
        name: name.to_string(),
        empty_dir: Some(EmptyDirVolumeSource {
            medium: Some("Memory".to_string()),
            size_limit: Some(Quantity(size.to_string())),
        }),
        ..Volume::default()
    };
    let mount = VolumeMount {
        name: name.to_string(),
        mount_path: mount_path.to_string(),
        ..VolumeMount::default()
    };
    (volume, mount)
}

/// The pod's volumes and where the container mounts them: memory-backed /dev/shm and /tmp (the
/// root filesystem is read-only), and in node mode the host directory the binary is copied to.
fn volumes(mode: Mode) -> (Vec<Volume>, Vec<VolumeMount>) {
    let mut pairs = vec![
        memory_volume("dev-shm", "/dev/shm", SHM_SIZE),
        memory_volume("tmp", "/tmp", "64Mi"),
    ];
    if mode == Mode::Node {
        pairs.push((
            Volume {
                name: "host-bin".to_string(),
                host_path: Some(HostPathVolumeSource {
                    path: HOST_BIN_DIR.to_string(),
                    type_: Some("DirectoryOrCreate".to_string()),
                }),
                ..Volume::default()
            },
            VolumeMount {
                name: "host-bin".to_string(),
                mount_path: format!("/host{HOST_BIN_DIR}"),
                ..VolumeMount::default()
            },
        ));
    }
    pairs.into_iter().unzip()
}

fn container(spec: &BenchSpec, mode: Mode, role: Role, mounts: Vec<VolumeMount>) -> Container {
    let args = bench_args(spec, mode, role);
    let (command, args, security_context) = match mode {
        Mode::Pod => (
            vec!["rdmabench".to_string(), spec.test.clone()],
            args,
            SecurityContext {
                // Root inside the container so the added IPC_LOCK is effective: memory
                // registration pins pages beyond the default memlock limit.
                run_as_user: Some(0),
                run_as_non_root: Some(false),
                privileged: Some(false),
                allow_privilege_escalation: Some(false),
                read_only_root_filesystem: Some(true),
                capabilities: Some(Capabilities {
                    add: Some(vec!["IPC_LOCK".to_string()]),
                    drop: Some(vec!["ALL".to_string()]),
                }),
                ..SecurityContext::default()
            },
        ),
        Mode::Node => {
            let mut script_args = vec![
                "-c".to_string(),
                NODE_RUNNER.replace("$HOST_BIN_DIR", HOST_BIN_DIR),
                "node-runner".to_string(),
                role.as_str().to_string(),
                spec.test.clone(),
            ];
            script_args.extend(args);
            (
                vec!["sh".to_string()],
                script_args,
                SecurityContext {
                    // Entering the host's namespaces needs full privilege; this pod exists only
                    // for the duration of one node-mode measurement.
                    privileged: Some(true),
                    run_as_user: Some(0),
                    read_only_root_filesystem: Some(true),
                    ..SecurityContext::default()
                },
            )
        }
    };
    let mut env = Vec::new();
    if spec.launcher && role == Role::Client {
        // Where `rdmabench tool` starts Open MPI's daemon (the Service name is the pod's).
        env.push(EnvVar {
            name: "RDMABENCH_SERVER_POD".to_string(),
            value: Some(format!(
                "{}/{}/{}",
                spec.namespace,
                BenchSpec::pod_name(mode, Role::Server),
                Role::Server.as_str()
            )),
            ..EnvVar::default()
        });
    }
    if spec.hugepages_per_pod() == 0 {
        env.push(EnvVar {
            name: "FI_EFA_USE_HUGE_PAGE".to_string(),
            value: Some("0".to_string()),
            ..EnvVar::default()
        });
    }
    Container {
        name: role.as_str().to_string(),
        image: Some(spec.image.clone()),
        image_pull_policy: Some("Always".to_string()),
        command: Some(command),
        args: Some(args),
        env: (!env.is_empty()).then_some(env),
        resources: Some(resources(spec, mode)),
        security_context: Some(security_context),
        volume_mounts: Some(mounts),
        ..Container::default()
    }
}

/// The pod running `role` of `mode`: pinned to the stack's EFA nodes, never on the same node as
/// the other end (a shared node would measure shared memory, not the network), run once.
pub fn bench_pod(spec: &BenchSpec, mode: Mode, role: Role) -> Pod {
    measuring_pod(spec, mode, role, &BenchSpec::pod_name(mode, role), None)
}

/// A matrix agent (`rdmabench agent`) of `mode` on node `node`, the `index`-th of the matrix:
/// the same budget, privileges and EFA share as a benchmark pod of that mode. `spec` carries
/// the agent's own options (its idle limit).
pub fn agent_pod(spec: &BenchSpec, mode: Mode, index: usize, node: &str) -> Pod {
    measuring_pod(
        spec,
        mode,
        Role::Agent,
        &BenchSpec::agent_name(mode, index),
        Some(node),
    )
}

/// The matrix coordinator (`rdmabench matrix` over the agents' addresses, in `spec`'s
/// options): it only drives the agents over the control port, so it asks for no EFA, no
/// hugepages and no privilege, runs as nobody, and carries no mode label, so the agents'
/// anti-affinity does not keep it off their nodes. In node mode it shares the host network,
/// since the node-mode agents listen on the nodes' addresses.
pub fn coordinator_pod(spec: &BenchSpec, mode: Mode) -> Pod {
    let node_mode = mode == Mode::Node;
    let amounts = BTreeMap::from([
        ("cpu".to_string(), Quantity("500m".to_string())),
        ("memory".to_string(), Quantity("256Mi".to_string())),
    ]);
    Pod {
        metadata: metadata(
            &format!("rdmabench-{}-coordinator", mode.as_str()),
            Some(&spec.namespace),
            &[(ROLE_LABEL, Role::Coordinator.as_str())],
        ),
        spec: Some(PodSpec {
            containers: vec![Container {
                name: Role::Coordinator.as_str().to_string(),
                image: Some(spec.image.clone()),
                image_pull_policy: Some("Always".to_string()),
                command: Some(vec!["rdmabench".to_string(), "matrix".to_string()]),
                args: Some(bench_args(spec, mode, Role::Coordinator)),
                resources: Some(ResourceRequirements {
                    requests: Some(amounts.clone()),
                    limits: Some(amounts),
                    ..ResourceRequirements::default()
                }),
                security_context: Some(SecurityContext {
                    run_as_user: Some(NOBODY),
                    run_as_group: Some(NOBODY),
                    run_as_non_root: Some(true),
                    privileged: Some(false),
                    allow_privilege_escalation: Some(false),
                    read_only_root_filesystem: Some(true),
                    capabilities: Some(Capabilities {
                        drop: Some(vec!["ALL".to_string()]),
                        ..Capabilities::default()
                    }),
                    ..SecurityContext::default()
                }),
                ..Container::default()
            }],
            ..run_once(spec, node_mode)
        }),
        ..Pod::default()
    }
}

/// What every pod rdmabench starts shares: run once, bounded by the deadline, no service
/// account token, RuntimeDefault seccomp, and in node mode the host network.
fn run_once(spec: &BenchSpec, node_mode: bool) -> PodSpec {
    PodSpec {
        restart_policy: Some("Never".to_string()),
        active_deadline_seconds: Some(spec.deadline_seconds),
        termination_grace_period_seconds: Some(10),
        automount_service_account_token: Some(false),
        host_network: node_mode.then_some(true),
        dns_policy: node_mode.then(|| "ClusterFirstWithHostNet".to_string()),
        security_context: Some(PodSecurityContext {
            seccomp_profile: Some(runtime_default_seccomp()),
            ..PodSecurityContext::default()
        }),
        ..PodSpec::default()
    }
}

/// The unprivileged user the coordinator runs as.
const NOBODY: i64 = 65534;

fn measuring_pod(spec: &BenchSpec, mode: Mode, role: Role, name: &str, node: Option<&str>) -> Pod {
    let (volumes, mounts) = volumes(mode);
    let node_mode = mode == Mode::Node;
    let mut node_selector =
        BTreeMap::from([(EFA_NODE_LABEL.0.to_string(), EFA_NODE_LABEL.1.to_string())]);
    if let Some(node) = node {
        node_selector.insert("kubernetes.io/hostname".to_string(), node.to_string());
    }
    Pod {
        metadata: metadata(
            name,
            Some(&spec.namespace),
            &[(MODE_LABEL, mode.as_str()), (ROLE_LABEL, role.as_str())],
        ),
        spec: Some(PodSpec {
            host_pid: node_mode.then_some(true),
            node_selector: Some(node_selector),
            affinity: Some(Affinity {
                pod_anti_affinity: Some(PodAntiAffinity {
                    required_during_scheduling_ignored_during_execution: Some(vec![
                        PodAffinityTerm {
                            label_selector: Some(LabelSelector {
                                match_labels: Some(selector(mode, None)),
                                ..LabelSelector::default()
                            }),
                            topology_key: "kubernetes.io/hostname".to_string(),
                            ..PodAffinityTerm::default()
                        },
                    ]),
                    ..PodAntiAffinity::default()
                }),
                ..Affinity::default()
            }),
            containers: vec![container(spec, mode, role, mounts)],
            volumes: Some(volumes),
            resource_claims: efa_claims(spec, mode),
            ..launching(spec, mode, role)
        }),
        ..Pod::default()
    }
}

/// The pod spec base of `role`: an MPI run's client gets the launcher's service account and its
/// token (to exec into the server pod); everyone else runs as `run_once` has it.
fn launching(spec: &BenchSpec, mode: Mode, role: Role) -> PodSpec {
    let base = run_once(spec, mode == Mode::Node);
    if !(spec.launcher && role == Role::Client) {
        return base;
    }
    PodSpec {
        service_account_name: Some(LauncherAccess::name(mode)),
        automount_service_account_token: Some(true),
        ..base
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use super::NODE_RUNNER;

    /// Pids of processes running the executable at `path`, as the runner finds them.
    fn running(path: &Path) -> Vec<String> {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .chars()
                    .all(|c| c.is_ascii_digit())
            })
            .filter(|e| std::fs::read_link(e.path().join("exe")).is_ok_and(|exe| exe == path))
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect()
    }

    /// The node runner with its host paths moved into a temporary directory, `sleep` standing in
    /// for rdmabench and an `nsenter` that runs it directly: deleting the pod (TERM to the shell)
    /// must stop the benchmark it started and remove the binary it copied.
    #[test]
    fn deleting_the_pod_stops_the_host_benchmark_and_removes_the_binary() {
        let dir = tempfile::tempdir().unwrap();
        let host = dir.path().join("var-lib-rdmabench");
        let tools = dir.path().join("bin");
        std::fs::create_dir_all(&host).unwrap();
        std::fs::create_dir_all(&tools).unwrap();
        let nsenter = tools.join("nsenter");
        std::fs::write(
            &nsenter,
            "#!/bin/sh\nwhile [ \"$1\" != -- ]; do shift; done\nshift\nexec \"$1\" 60\n",
        )
        .unwrap();
        Command::new("chmod")
            .arg("+x")
            .arg(&nsenter)
            .status()
            .unwrap();
        let sleep = String::from_utf8(
            Command::new("sh")
                .args(["-c", "command -v sleep"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        let script = NODE_RUNNER
            .replace("$HOST_BIN_DIR", &host.to_string_lossy())
            .replace("/host$host_bin", "$host_bin")
            .replace("/usr/local/bin/rdmabench", sleep.trim())
            .replace("ulimit -l unlimited", ":");
        let path = format!(
            "{}:{}",
            tools.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut runner = Command::new("sh")
            .args([
                "-c",
                &script,
                "node-runner",
                "server",
                "pingpong",
                "--sizes",
                "4",
            ])
            .env("PATH", path)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let host_bin = host.join("rdmabench-server");
        let deadline = Instant::now() + Duration::from_secs(10);
        while running(&host_bin).is_empty() {
            assert!(Instant::now() < deadline, "the benchmark never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        Command::new("kill")
            .args(["-TERM", &runner.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = runner.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "the runner did not stop");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(143));
        assert!(
            running(&host_bin).is_empty(),
            "the benchmark is still running"
        );
        assert!(!host_bin.exists(), "the binary was left on the host");
    }
}
