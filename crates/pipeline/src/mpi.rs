//! MPI reference tools on the local target (NetPIPE's NPopenmpi; OSU's osu_latency and osu_bw
//! where installed): mpirun on the server's host, one rank per host, over the same libfabric
//! provider as rdmabench (Open MPI's `cm` PML and `ofi` MTL), with rdmabench itself as Open
//! MPI's remote launcher entering the client's namespace. No SSH.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::hosts::LocalHosts;
use crate::launch::{Destination, LaunchMap, LAUNCH_MAP_ENV};
use crate::local::{
    interface_variable, outcome, run_alone, sh_quote, End, LocalError, Outcome, ToolRun,
};

/// Which MPI benchmark runs, and so how sizes and counts map onto its options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MpiTool {
    /// NetPIPE (NPopenmpi): results in its output file.
    NetPipe,
    /// OSU osu_latency: results on stdout.
    OsuLatency,
    /// OSU osu_bw: results on stdout.
    OsuBw,
}

impl MpiTool {
    /// The MPI tool an executable name stands for.
    pub fn from_name(name: &str) -> Option<MpiTool> {
        match name {
            "NPopenmpi" => Some(MpiTool::NetPipe),
            "osu_latency" => Some(MpiTool::OsuLatency),
            "osu_bw" => Some(MpiTool::OsuBw),
            _ => None,
        }
    }

    /// The tool's options for one size: exactly `size`, `iterations` timed repeats.
    /// `warmup` is OSU's `-x` (NetPIPE has none; suites refuse it there).
    fn options(self, size: u64, iterations: u64, warmup: Option<u64>, output: &str) -> Vec<String> {
        match self {
            // -p 0: no perturbed sizes around `size`; -n: a fixed repeat count per trial.
            MpiTool::NetPipe => vec![
                "-l".into(),
                size.to_string(),
                "-u".into(),
                size.to_string(),
                "-p".into(),
                "0".into(),
                "-n".into(),
                iterations.to_string(),
                "-o".into(),
                output.into(),
            ],
            MpiTool::OsuLatency | MpiTool::OsuBw => {
                let mut options = vec![
                    "-m".into(),
                    format!("{size}:{size}"),
                    "-i".into(),
                    iterations.to_string(),
                ];
                if let Some(warmup) = warmup {
                    options.extend(["-x".to_string(), warmup.to_string()]);
                }
                options
            }
        }
    }
}

/// An MPI tool's run between the two local hosts, one mpirun per size.
#[derive(Debug, Clone)]
pub struct MpiMeasurement {
    /// Open MPI's mpirun.
    pub mpirun: PathBuf,
    /// The benchmark's executable.
    pub program: PathBuf,
    /// Which benchmark it is.
    pub tool: MpiTool,
    /// The rdmabench executable, Open MPI's remote launcher (`rdmabench launch`).
    pub launcher: PathBuf,
    /// Core provider (tcp, net ...), pinned to each end's interface.
    pub provider: String,
    /// The provider name as libfabric reports it for tagged RDM endpoints ("tcp;ofi_rxm"), for
    /// `mtl_ofi_provider_include`.
    pub mtl_provider: String,
    /// Message sizes, one mpirun each.
    pub sizes: Vec<u64>,
    /// Timed repeats per size (per trial for NetPIPE).
    pub iterations: u64,
    /// Untimed repeats first, where the tool has them (OSU's -x).
    pub warmup: Option<u64>,
    /// Limit for one size's run.
    pub limit: Duration,
}

/// Where an MPI run's two ranks go and how Open MPI reaches the other host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpiPlacement {
    /// mpirun's hostfile: each host with its slots, one rank per host (both ranks on the one
    /// host on loopback).
    pub hosts: Vec<(String, u32)>,
    /// Open MPI's own traffic kept on this network (`oob_tcp_if_include`: a CIDR or an
    /// interface), when given.
    pub network: Option<String>,
    /// Leave the ranks unbound: both "hosts" share this machine's cores, and Open MPI would bind
    /// each host's rank to its first core, the same one, where the busy-polling ranks would
    /// take turns (4 ms a message here).
    pub unbound: bool,
    /// The ports Open MPI's daemons listen on (`oob_tcp_static_ipv4_ports`, e.g. "18577-18578":
    /// each takes the first free one), where a network policy opens only known ports; else they
    /// pick any.
    pub static_ports: Option<String>,
    /// mpirun's environment: the provider's interface, the launch map.
    pub env: Vec<(String, String)>,
}

impl MpiPlacement {
    /// The local target's two hosts: the provider pinned to each end's interface (mpirun's
    /// own, and the client's through the launch map that enters its namespace).
    pub fn local(hosts: &LocalHosts, provider: &str) -> MpiPlacement {
        let variable = interface_variable(provider);
        let pinned = |server: bool| -> BTreeMap<String, String> {
            variable
                .iter()
                .map(|v| (v.clone(), hosts.interface(server)))
                .collect()
        };
        let mut env: Vec<(String, String)> = pinned(true).into_iter().collect();
        let hostfile = match hosts {
            LocalHosts::Netns { server, client, .. } => {
                let map = LaunchMap {
                    hosts: BTreeMap::from([
                        (
                            hosts.server_addr().to_string(),
                            Destination::Netns {
                                name: server.clone(),
                                env: pinned(true),
                            },
                        ),
                        (
                            hosts.client_addr().to_string(),
                            Destination::Netns {
                                name: client.clone(),
                                env: pinned(false),
                            },
                        ),
                    ]),
                };
                env.push((LAUNCH_MAP_ENV.to_string(), map.to_env_value()));
                vec![
                    (hosts.server_addr().to_string(), 1),
                    (hosts.client_addr().to_string(), 1),
                ]
            }
            LocalHosts::Loopback => vec![(hosts.server_addr().to_string(), 2)],
        };
        MpiPlacement {
            hosts: hostfile,
            network: Some(hosts.network()),
            unbound: true,
            static_ports: None,
            env,
        }
    }

    /// Two real hosts: this one (`own`, where mpirun and rank 0 run) and `other`, reached
    /// through `destination` (a pod, by the exec API).
    pub fn remote(own: &str, other: &str, destination: Destination) -> MpiPlacement {
        let map = LaunchMap {
            hosts: BTreeMap::from([(other.to_string(), destination)]),
        };
        MpiPlacement {
            hosts: vec![(own.to_string(), 1), (other.to_string(), 1)],
            network: None,
            unbound: false,
            static_ports: None,
            env: vec![(LAUNCH_MAP_ENV.to_string(), map.to_env_value())],
        }
    }
}

impl MpiPlacement {
    /// The hostfile's lines, `HOST slots=N` each.
    fn hostfile_lines(&self) -> Vec<String> {
        self.hosts
            .iter()
            .map(|(host, slots)| format!("{host} slots={slots}"))
            .collect()
    }
}

/// mpirun's hostfile in the temp directory, removed when the measurement ends.
struct Hostfile {
    file: tempfile::NamedTempFile,
    /// How a user writes the same file: the first part of every recorded command line.
    written_by: String,
}

impl Hostfile {
    fn write(placement: &MpiPlacement) -> Result<Hostfile, LocalError> {
        let lines = placement.hostfile_lines();
        let mut file = tempfile::Builder::new()
            .prefix("rdmabench-hostfile-")
            .tempfile()
            .map_err(LocalError::Hostfile)?;
        file.write_all(format!("{}\n", lines.join("\n")).as_bytes())
            .map_err(LocalError::Hostfile)?;
        let quoted: Vec<String> = lines.iter().map(|l| sh_quote(l)).collect();
        let written_by = format!(
            "printf '%s\\n' {} > {}",
            quoted.join(" "),
            sh_quote(&file.path().to_string_lossy())
        );
        Ok(Hostfile { file, written_by })
    }

    fn path(&self) -> String {
        self.file.path().to_string_lossy().into_owned()
    }
}

impl MpiMeasurement {
    /// mpirun's arguments for one size: one rank on each host of the hostfile, Open MPI's
    /// launcher, its traffic placed, and the tool over the ofi MTL.
    fn arguments(
        &self,
        placement: &MpiPlacement,
        hostfile: &str,
        tool_options: Vec<String>,
    ) -> Vec<String> {
        let launcher = format!("{} launch", self.launcher.display());
        let mut args: Vec<String> = ["--hostfile", hostfile, "-np", "2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut mca = |name: &str, value: &str| {
            args.extend(["--mca".to_string(), name.to_string(), value.to_string()]);
        };
        mca("plm_rsh_agent", &launcher);
        if let Some(network) = &placement.network {
            mca("oob_tcp_if_include", network);
        }
        if let Some(ports) = &placement.static_ports {
            mca("oob_tcp_static_ipv4_ports", ports);
        }
        mca("pml", "cm");
        mca("mtl", "ofi");
        mca("mtl_ofi_provider_include", &self.mtl_provider);
        if placement.unbound {
            args.extend(["--bind-to".to_string(), "none".to_string()]);
        }
        args.push(self.program.display().to_string());
        args.extend(tool_options);
        args
    }
}

/// Runs the MPI tool for every size, mpirun on the server's host of `hosts` (this machine for a
/// remote placement: `LocalHosts::Loopback`); each size's output (NetPIPE's output file, OSU's
/// stdout) is returned as the tool wrote it.
pub fn measure_mpi(
    hosts: &LocalHosts,
    placement: &MpiPlacement,
    m: &MpiMeasurement,
    interrupted: &AtomicBool,
) -> Result<ToolRun, LocalError> {
    let mut run = ToolRun::default();
    let hostfile = Hostfile::write(placement)?;
    let mut env = placement.env.clone();
    if nix::unistd::geteuid().is_root() {
        // Open MPI refuses root without both (the local target's namespaces need root; images
        // may run as root).
        env.push(("OMPI_ALLOW_RUN_AS_ROOT".into(), "1".into()));
        env.push(("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM".into(), "1".into()));
    }
    for (index, size) in m.sizes.iter().enumerate() {
        // NetPIPE's rank 0 (mpirun's host, this machine's file system) writes its results.
        let results_file = std::env::temp_dir().join(format!(
            "rdmabench-netpipe-{}-{index}.out",
            std::process::id()
        ));
        let file = results_file.to_string_lossy().to_string();
        let end = End {
            program: m.mpirun.clone(),
            args: m.arguments(
                placement,
                &hostfile.path(),
                m.tool.options(*size, m.iterations, m.warmup, &file),
            ),
            env: env.clone(),
            capture_stdout: true,
            capture_stderr: true,
        };
        run.command_lines.push(format!(
            "{}; {}{}",
            hostfile.written_by,
            hosts.shell_prefix(true),
            end.command_line()
        ));
        let ended = run_alone(hosts, &end, m.limit, interrupted)?;
        let outcome = match outcome(&ended, m.limit, interrupted)? {
            Outcome::Failed(reason) if reason.contains("PML cm cannot be selected") => {
                Outcome::Failed(format!(
                    "{reason}; Open MPI's ofi MTL could not use provider {} ({}) here: try another provider for this test, e.g. provider = \"tcp\"",
                    m.provider, m.mtl_provider
                ))
            }
            other => other,
        };
        let output = match m.tool {
            MpiTool::NetPipe => {
                let text = std::fs::read_to_string(&results_file).unwrap_or_default();
                let _ = std::fs::remove_file(&results_file);
                text
            }
            MpiTool::OsuLatency | MpiTool::OsuBw => ended.client_output,
        };
        if !run.size_done(outcome, output) {
            return Ok(run);
        }
    }
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measurement(tool: MpiTool) -> MpiMeasurement {
        MpiMeasurement {
            mpirun: "/usr/bin/mpirun".into(),
            program: "/usr/bin/NPopenmpi".into(),
            tool,
            launcher: "/usr/local/bin/rdmabench".into(),
            provider: "tcp".into(),
            mtl_provider: "tcp;ofi_rxm".into(),
            sizes: vec![64],
            iterations: 1000,
            warmup: None,
            limit: Duration::from_secs(60),
        }
    }

    #[test]
    fn sizes_and_counts_map_onto_each_tools_options() {
        assert_eq!(
            MpiTool::NetPipe
                .options(64, 1000, None, "/tmp/np.out")
                .join(" "),
            "-l 64 -u 64 -p 0 -n 1000 -o /tmp/np.out"
        );
        assert_eq!(
            MpiTool::OsuLatency
                .options(4096, 500, Some(50), "-")
                .join(" "),
            "-m 4096:4096 -i 500 -x 50"
        );
        assert_eq!(MpiTool::from_name("osu_bw"), Some(MpiTool::OsuBw));
        assert_eq!(MpiTool::from_name("ib_send_lat"), None);
    }

    #[test]
    fn mpirun_puts_one_rank_per_host_over_the_ofi_mtl_with_rdmabench_as_launcher() {
        let m = measurement(MpiTool::NetPipe);
        let placement = MpiPlacement::local(&LocalHosts::Loopback, "tcp");
        let line = m
            .arguments(&placement, "/tmp/hosts", vec!["-n".into(), "5".into()])
            .join(" ");
        assert!(line.starts_with("--hostfile /tmp/hosts -np 2"), "{line}");
        // On loopback both ranks run here: two slots on the one host.
        assert_eq!(placement.hostfile_lines(), ["127.0.0.1 slots=2"]);
        assert!(line.contains("--mca plm_rsh_agent /usr/local/bin/rdmabench launch"));
        assert!(line.contains("--mca oob_tcp_if_include lo"));
        assert!(line.contains(
            "--mca pml cm --mca mtl ofi --mca mtl_ofi_provider_include tcp;ofi_rxm --bind-to none"
        ));
        assert!(line.ends_with("/usr/bin/NPopenmpi -n 5"), "{line}");
        assert_eq!(
            placement.env[0],
            ("FI_TCP_IFACE".to_string(), "lo".to_string())
        );
        assert!(!placement.env.iter().any(|(k, _)| k == LAUNCH_MAP_ENV));
    }

    #[test]
    fn a_remote_host_is_reached_through_its_pod_on_a_known_port() {
        let m = measurement(MpiTool::OsuLatency);
        let pod = Destination::Pod {
            namespace: "rdmabench".into(),
            name: "rdmabench-pod-server".into(),
            container: "server".into(),
            env: BTreeMap::new(),
        };
        let mut placement = MpiPlacement::remote("192.0.2.10", "192.0.2.20", pod.clone());
        placement.static_ports = Some("18577-18578".into());
        let line = m.arguments(&placement, "/tmp/hosts", Vec::new()).join(" ");
        assert!(line.starts_with("--hostfile /tmp/hosts -np 2"), "{line}");
        assert_eq!(
            placement.hostfile_lines(),
            ["192.0.2.10 slots=1", "192.0.2.20 slots=1"]
        );
        assert!(
            line.contains("--mca oob_tcp_static_ipv4_ports 18577-18578"),
            "{line}"
        );
        assert!(
            !line.contains("--bind-to") && !line.contains("oob_tcp_if_include"),
            "{line}"
        );
        let (_, map) = &placement.env[0];
        let map = LaunchMap::from_env_value(Some(map)).unwrap();
        assert_eq!(map.destination("192.0.2.20").unwrap(), &pod);
    }
}
