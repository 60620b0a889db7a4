//! MPI reference tools on the local target (NetPIPE's NPopenmpi; OSU's osu_latency and osu_bw
//! where installed; Intel MPI Benchmarks' PingPong and Uniband): the MPI's launcher on the
//! server's host, one rank per host, over the same libfabric provider as rdmabench, with
//! rdmabench itself as the launcher's remote agent entering the client's namespace. No SSH.
//! Open MPI's mpirun runs the Open MPI tools (its `cm` PML and `ofi` MTL); Intel MPI's
//! mpiexec.hydra runs IMB-MPI1 (built against Intel's libmpi), told to load the libfabric
//! rdmabench loaded. One code path for both: sizes, limits, cleanup and outputs.

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
    /// Intel MPI Benchmarks' PingPong (IMB-MPI1 PingPong): results on stdout.
    ImbPingPong,
    /// Intel MPI Benchmarks' Uniband (IMB-MPI1 Uniband): results on stdout.
    ImbUniband,
}

/// The MPI a tool is built against, and what its launcher must be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MpiRuntime {
    /// Open MPI's mpirun: the provider under the name its ofi MTL matches
    /// (`mtl_ofi_provider_include`): what libfabric reports for a tagged RDM endpoint of the
    /// core provider, e.g. "tcp;ofi_rxm".
    OpenMpi {
        /// The MTL's provider name.
        mtl_provider: String,
    },
    /// Intel MPI's mpiexec.hydra, which loads the libfabric at `ofi_library`
    /// (I_MPI_OFI_LIBRARY: the one rdmabench loaded, so both measure over the same library)
    /// and finds libmpi in `libraries` (LD_LIBRARY_PATH: IMB-MPI1 has no RUNPATH).
    IntelMpi {
        /// The libfabric file to load.
        ofi_library: PathBuf,
        /// Intel MPI's lib directory.
        libraries: PathBuf,
    },
}

impl MpiTool {
    /// The MPI tool an executable name stands for.
    pub fn from_name(name: &str) -> Option<MpiTool> {
        match name {
            "NPopenmpi" => Some(MpiTool::NetPipe),
            "osu_latency" => Some(MpiTool::OsuLatency),
            "osu_bw" => Some(MpiTool::OsuBw),
            "IMB-PingPong" => Some(MpiTool::ImbPingPong),
            "IMB-Uniband" => Some(MpiTool::ImbUniband),
            _ => None,
        }
    }

    /// True for the tools Intel MPI runs (IMB-MPI1 is linked against Intel's libmpi; Open
    /// MPI's mpirun would start two singletons).
    pub fn intel(self) -> bool {
        matches!(self, MpiTool::ImbPingPong | MpiTool::ImbUniband)
    }

    /// The tool's options for one size: exactly `size`, `iterations` timed repeats.
    /// `warmup` is OSU's `-x` (NetPIPE and IMB have none; suites refuse it there). `limit` is
    /// the run's: IMB stops itself at its `-time` (a "time-out." row, exit 0), so that is never
    /// shorter.
    fn options(
        self,
        size: u64,
        iterations: u64,
        (warmup, limit): (Option<u64>, Duration),
        output: &str,
    ) -> Vec<String> {
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
            // -msgsize runs exactly that size (no size 0 row); -iter_policy off keeps
            // -iter for every size; -npmin 2 runs on the two ranks only.
            MpiTool::ImbPingPong | MpiTool::ImbUniband => vec![
                if self == MpiTool::ImbPingPong {
                    "PingPong"
                } else {
                    "Uniband"
                }
                .into(),
                "-msgsize".into(),
                size.to_string(),
                "-iter".into(),
                iterations.to_string(),
                "-iter_policy".into(),
                "off".into(),
                "-time".into(),
                limit.as_secs().max(1).to_string(),
                "-npmin".into(),
                "2".into(),
            ],
        }
    }
}

/// Why IMB-MPI1's output holds no result row although it exited 0 (it does so for a
/// "time-out." or "out-of-mem." row and for "invalid for 1 processes", two singletons), with
/// what it said; None when a row is there: its size, repetitions and a figure.
fn imb_without_rows(output: &str) -> Option<String> {
    let row = |line: &str| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.len() >= 3
            && fields[0].parse::<u64>().is_ok()
            && fields[1].parse::<u64>().is_ok()
            && fields[2].parse::<f64>().is_ok()
    };
    let mut table = output
        .lines()
        .skip_while(|l| !l.starts_with("# Benchmarking"));
    if table.any(row) {
        return None;
    }
    let said: Vec<&str> = output
        .lines()
        .filter(|l| {
            ["time-out", "out-of-mem", "invalid for", "int-overflow"]
                .iter()
                .any(|m| l.contains(m))
        })
        .map(str::trim)
        .collect();
    let tail: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
    let said = if said.is_empty() {
        tail[tail.len().saturating_sub(3)..].join("; ")
    } else {
        said.join("; ")
    };
    Some(format!("IMB-MPI1 exited 0 without a result row: {said}"))
}

/// An MPI tool's run between the two local hosts, one mpirun per size.
#[derive(Debug, Clone)]
pub struct MpiMeasurement {
    /// The MPI's launcher: Open MPI's mpirun, or Intel MPI's mpiexec.hydra by its real path
    /// (hydra starts the hydra_bstrap_proxy beside the path it was called by, on both hosts).
    pub mpirun: PathBuf,
    /// The benchmark's executable.
    pub program: PathBuf,
    /// Which benchmark it is.
    pub tool: MpiTool,
    /// The rdmabench executable, the MPI launcher's remote agent (`rdmabench launch`).
    pub launcher: PathBuf,
    /// Core provider (tcp, net ...), pinned to each end's interface.
    pub provider: String,
    /// Which MPI runs the tool, with what its launcher needs.
    pub runtime: MpiRuntime,
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
    /// each takes the first free one), where only known ports may be open; else they
    /// pick any.
    pub static_ports: Option<String>,
    /// mpirun's environment: the provider's interface, the launch map.
    pub env: Vec<(String, String)>,
    /// Each host's own variables (the provider's interface there), for a launcher that sets
    /// them per rank (Intel MPI's `-env`, visible in the command line).
    pub host_env: BTreeMap<String, BTreeMap<String, String>>,
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
        let mut host_env = BTreeMap::from([(hosts.server_addr().to_string(), pinned(true))]);
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
                host_env.insert(hosts.client_addr().to_string(), pinned(false));
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
            host_env,
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
            host_env: BTreeMap::new(),
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

    /// Every rank's host, in rank order.
    fn rank_hosts(&self) -> impl Iterator<Item = &String> {
        self.hosts
            .iter()
            .flat_map(|(host, slots)| std::iter::repeat_n(host, *slots as usize))
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
    /// The launcher's arguments for one size.
    fn arguments(
        &self,
        placement: &MpiPlacement,
        hostfile: &str,
        tool_options: Vec<String>,
    ) -> Vec<String> {
        match &self.runtime {
            MpiRuntime::OpenMpi { mtl_provider } => {
                self.mpirun_arguments(placement, hostfile, mtl_provider, tool_options)
            }
            MpiRuntime::IntelMpi { .. } => self.hydra_arguments(placement, tool_options),
        }
    }

    /// mpiexec.hydra's arguments for one size: rdmabench as the rsh bootstrap (called as
    /// `rdmabench launch HOST WORDS...`; the ssh bootstrap adds `-q -x`), no environment
    /// forwarded (`-genvnone`: hydra would otherwise overwrite the client's interface with the
    /// server's), and one MPMD section per rank giving it its host and that host's interface.
    fn hydra_arguments(&self, placement: &MpiPlacement, tool_options: Vec<String>) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "-genvnone".into(),
            "-bootstrap".into(),
            "rsh".into(),
            "-bootstrap-exec".into(),
            self.launcher.display().to_string(),
            "-bootstrap-exec-args".into(),
            "launch".into(),
        ];
        for (rank, host) in placement.rank_hosts().enumerate() {
            if rank > 0 {
                args.push(":".into());
            }
            args.extend(["-n", "1", "-host", host].map(str::to_string));
            for (name, value) in placement.host_env.get(host).into_iter().flatten() {
                args.extend(["-env".to_string(), name.clone(), value.clone()]);
            }
            args.push(self.program.display().to_string());
            args.extend(tool_options.iter().cloned());
        }
        args
    }

    /// The launcher's environment besides the placement's: Open MPI's consent to root; Intel
    /// MPI's libraries, its fabric (ofi only: shm would bypass the network), the provider and
    /// the libfabric to load.
    fn runtime_env(&self) -> Vec<(String, String)> {
        let mut env = Vec::new();
        match &self.runtime {
            MpiRuntime::OpenMpi { .. } => {
                if nix::unistd::geteuid().is_root() {
                    // Open MPI refuses root without both (the local target's namespaces need
                    // root; images may run as root).
                    env.push(("OMPI_ALLOW_RUN_AS_ROOT".into(), "1".into()));
                    env.push(("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM".into(), "1".into()));
                }
            }
            MpiRuntime::IntelMpi {
                ofi_library,
                libraries,
            } => {
                let path = |p: &PathBuf| p.display().to_string();
                env.push(("LD_LIBRARY_PATH".into(), path(libraries)));
                env.push(("I_MPI_FABRICS".into(), "ofi".into()));
                env.push(("FI_PROVIDER".into(), self.provider.clone()));
                env.push(("I_MPI_OFI_LIBRARY".into(), path(ofi_library)));
            }
        }
        env
    }

    /// mpirun's arguments for one size: one rank on each host of the hostfile, Open MPI's
    /// launcher, its traffic placed, and the tool over the ofi MTL.
    fn mpirun_arguments(
        &self,
        placement: &MpiPlacement,
        hostfile: &str,
        mtl_provider: &str,
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
        mca("mtl_ofi_provider_include", mtl_provider);
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
    // Intel MPI takes its hosts on the command line: no hostfile.
    let hostfile = match m.runtime {
        MpiRuntime::OpenMpi { .. } => Some(Hostfile::write(placement)?),
        MpiRuntime::IntelMpi { .. } => None,
    };
    let mut env = placement.env.clone();
    env.extend(m.runtime_env());
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
                &hostfile.as_ref().map(Hostfile::path).unwrap_or_default(),
                m.tool
                    .options(*size, m.iterations, (m.warmup, m.limit), &file),
            ),
            env: env.clone(),
            capture_stdout: true,
            capture_stderr: true,
        };
        run.command_lines.push(format!(
            "{}{}{}",
            hostfile
                .as_ref()
                .map(|h| format!("{}; ", h.written_by))
                .unwrap_or_default(),
            hosts.shell_prefix(true),
            end.command_line()
        ));
        let ended = run_alone(hosts, &end, m.limit, interrupted)?;
        // A stopped or failed launcher may leave its remote side behind (hydra's proxy retries
        // its connection for minutes): nothing of this run may outlive it.
        let killed = if ended.client.is_some_and(|status| status.success()) {
            0
        } else {
            hosts.kill_leftovers()
        };
        let outcome = match (outcome(&ended, m.limit, interrupted)?, &m.runtime) {
            (Outcome::Failed(reason), MpiRuntime::OpenMpi { mtl_provider })
                if reason.contains("PML cm cannot be selected") =>
            {
                Outcome::Failed(format!(
                    "{reason}; Open MPI's ofi MTL could not use provider {} ({mtl_provider}) here: try another provider for this test, e.g. provider = \"tcp\"",
                    m.provider
                ))
            }
            (Outcome::Failed(reason), MpiRuntime::IntelMpi { ofi_library, .. })
                if reason.contains("fi_getinfo() failed") =>
            {
                Outcome::Failed(format!(
                    "{reason}; Intel MPI could not use provider {} of {} here (libfabric 1.17's net, for one): try another provider for this test, e.g. provider = \"tcp\"",
                    m.provider,
                    ofi_library.display()
                ))
            }
            // IMB exits 0 after a "time-out." row or as two singletons: rows or it failed.
            (Outcome::Complete, MpiRuntime::IntelMpi { .. }) => {
                match imb_without_rows(&ended.client_output) {
                    Some(reason) => Outcome::Failed(reason),
                    None => Outcome::Complete,
                }
            }
            (other, _) => other,
        };
        let outcome = match outcome {
            Outcome::Failed(reason) if killed > 0 => Outcome::Failed(format!(
                "{reason}; {killed} process(es) it left in the local hosts' namespaces were killed"
            )),
            other => other,
        };
        let output = match m.tool {
            MpiTool::NetPipe => {
                let text = std::fs::read_to_string(&results_file).unwrap_or_default();
                let _ = std::fs::remove_file(&results_file);
                text
            }
            MpiTool::OsuLatency | MpiTool::OsuBw | MpiTool::ImbPingPong | MpiTool::ImbUniband => {
                ended.client_output
            }
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
            runtime: MpiRuntime::OpenMpi {
                mtl_provider: "tcp;ofi_rxm".into(),
            },
            sizes: vec![64],
            iterations: 1000,
            warmup: None,
            limit: Duration::from_secs(60),
        }
    }

    const MINUTE: Duration = Duration::from_secs(60);

    fn intel(tool: MpiTool) -> MpiMeasurement {
        MpiMeasurement {
            mpirun: "/opt/impi/bin/mpiexec.hydra".into(),
            program: "/opt/impi/bin/IMB-MPI1".into(),
            runtime: MpiRuntime::IntelMpi {
                ofi_library: "/usr/lib/x86_64-linux-gnu/libfabric.so.1.18.2".into(),
                libraries: "/opt/impi/bin/../lib".into(),
            },
            ..measurement(tool)
        }
    }

    #[test]
    fn hydra_starts_one_rank_per_host_with_its_own_interface_and_rdmabench_as_bootstrap() {
        let m = intel(MpiTool::ImbPingPong);
        let placement = MpiPlacement {
            hosts: vec![("10.99.0.1".into(), 1), ("10.99.0.2".into(), 1)],
            network: Some("10.99.0.0/30".into()),
            unbound: true,
            static_ports: None,
            env: vec![("FI_TCP_IFACE".into(), "rbr1s".into())],
            host_env: BTreeMap::from([
                (
                    "10.99.0.1".to_string(),
                    BTreeMap::from([("FI_TCP_IFACE".to_string(), "rbr1s".to_string())]),
                ),
                (
                    "10.99.0.2".to_string(),
                    BTreeMap::from([("FI_TCP_IFACE".to_string(), "rbr1c".to_string())]),
                ),
            ]),
        };
        let options = MpiTool::ImbPingPong.options(4, 200, (None, MINUTE), "-");
        assert_eq!(
            m.arguments(&placement, "", options).join(" "),
            "-genvnone -bootstrap rsh -bootstrap-exec /usr/local/bin/rdmabench \
             -bootstrap-exec-args launch \
             -n 1 -host 10.99.0.1 -env FI_TCP_IFACE rbr1s /opt/impi/bin/IMB-MPI1 \
             PingPong -msgsize 4 -iter 200 -iter_policy off -time 60 -npmin 2 : \
             -n 1 -host 10.99.0.2 -env FI_TCP_IFACE rbr1c /opt/impi/bin/IMB-MPI1 \
             PingPong -msgsize 4 -iter 200 -iter_policy off -time 60 -npmin 2"
        );
        assert_eq!(
            m.runtime_env(),
            [
                (
                    "LD_LIBRARY_PATH".to_string(),
                    "/opt/impi/bin/../lib".to_string()
                ),
                ("I_MPI_FABRICS".to_string(), "ofi".to_string()),
                ("FI_PROVIDER".to_string(), "tcp".to_string()),
                (
                    "I_MPI_OFI_LIBRARY".to_string(),
                    "/usr/lib/x86_64-linux-gnu/libfabric.so.1.18.2".to_string()
                ),
            ]
        );
        // On loopback both ranks are on the one host, each pinned to lo.
        let placement = MpiPlacement::local(&LocalHosts::Loopback, "tcp");
        let line = m.arguments(&placement, "", Vec::new()).join(" ");
        assert_eq!(
            line.matches("-n 1 -host 127.0.0.1 -env FI_TCP_IFACE lo /opt/impi/bin/IMB-MPI1")
                .count(),
            2,
            "{line}"
        );
    }

    #[test]
    fn imb_output_without_a_result_row_is_a_failure_with_imbs_words() {
        let row = "# Benchmarking PingPong\n       #bytes #repetitions      t[usec]   Mbytes/sec\n            4         1000        14.59         0.27\n";
        assert_eq!(imb_without_rows(row), None);
        let timed_out = "# Benchmarking Uniband\n       #bytes #repetitions   Mbytes/sec      Msg/sec\n            4 time-out.; Time limit (secs_per_sample * msg_sizes_list_len) is over; use \"-time X\"\n";
        assert!(imb_without_rows(timed_out)
            .unwrap()
            .contains("4 time-out.; Time limit"));
        let singletons = "# !! Benchmark PingPong invalid for 1 processes !!\n";
        assert!(imb_without_rows(singletons)
            .unwrap()
            .contains("invalid for 1 processes"));
    }

    #[test]
    fn sizes_and_counts_map_onto_each_tools_options() {
        assert_eq!(
            MpiTool::NetPipe
                .options(64, 1000, (None, MINUTE), "/tmp/np.out")
                .join(" "),
            "-l 64 -u 64 -p 0 -n 1000 -o /tmp/np.out"
        );
        assert_eq!(
            MpiTool::OsuLatency
                .options(4096, 500, (Some(50), MINUTE), "-")
                .join(" "),
            "-m 4096:4096 -i 500 -x 50"
        );
        assert_eq!(
            MpiTool::ImbUniband
                .options(1024, 200, (None, MINUTE), "-")
                .join(" "),
            "Uniband -msgsize 1024 -iter 200 -iter_policy off -time 60 -npmin 2"
        );
        assert_eq!(
            MpiTool::from_name("IMB-PingPong"),
            Some(MpiTool::ImbPingPong)
        );
        assert!(MpiTool::ImbPingPong.intel() && !MpiTool::OsuBw.intel());
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
