//! MPI reference tools on the local target (NetPIPE's NPopenmpi; OSU's osu_latency and osu_bw
//! where installed): mpirun on the server's host, one rank per host, over the same libfabric
//! provider as rdmabench (Open MPI's `cm` PML and `ofi` MTL), with rdmabench itself as Open
//! MPI's remote launcher entering the client's namespace. No SSH.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::hosts::LocalHosts;
use crate::launch::{Destination, LaunchMap, LAUNCH_MAP_ENV};
use crate::local::{interface_variable, outcome, run_alone, End, LocalError, Outcome, ToolRun};

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

impl MpiMeasurement {
    /// mpirun's environment: the provider pinned to the server's interface, the launch map
    /// (the client in its namespace, with its own interface), and root allowed when root.
    fn environment(&self, hosts: &LocalHosts) -> Vec<(String, String)> {
        let variable = interface_variable(&self.provider);
        let pinned = |server: bool| -> BTreeMap<String, String> {
            variable
                .iter()
                .map(|v| (v.clone(), hosts.interface(server)))
                .collect()
        };
        let mut env: Vec<(String, String)> = pinned(true).into_iter().collect();
        if let LocalHosts::Netns { server, client, .. } = hosts {
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
        }
        if nix::unistd::geteuid().is_root() {
            // Open MPI refuses root without both; the local target's namespaces need root.
            env.push(("OMPI_ALLOW_RUN_AS_ROOT".into(), "1".into()));
            env.push(("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM".into(), "1".into()));
        }
        env
    }

    /// mpirun's arguments for one size: one rank on each host (both slots on the one host on
    /// loopback), Open MPI's own traffic and libfabric's kept on the hosts' network.
    fn arguments(&self, hosts: &LocalHosts, tool_options: Vec<String>) -> Vec<String> {
        let host_list = match hosts {
            LocalHosts::Netns { .. } => {
                format!("{}:1,{}:1", hosts.server_addr(), hosts.client_addr())
            }
            LocalHosts::Loopback => format!("{}:2", hosts.server_addr()),
        };
        let network = hosts.network();
        let launcher = format!("{} launch", self.launcher.display());
        let mut args: Vec<String> = [
            "--host",
            &host_list,
            "-np",
            "2",
            // Both "hosts" share this machine's cores: Open MPI would bind each host's rank to
            // its first core, the same one, and the busy-polling ranks would take turns.
            "--bind-to",
            "none",
            "--mca",
            "plm_rsh_agent",
            &launcher,
            "--mca",
            "oob_tcp_if_include",
            &network,
            "--mca",
            "pml",
            "cm",
            "--mca",
            "mtl",
            "ofi",
            "--mca",
            "mtl_ofi_provider_include",
            &self.mtl_provider,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(self.program.display().to_string());
        args.extend(tool_options);
        args
    }
}

/// Runs the MPI tool for every size; each size's output (NetPIPE's output file, OSU's stdout)
/// is returned as the tool wrote it.
pub fn measure_mpi(
    hosts: &LocalHosts,
    m: &MpiMeasurement,
    interrupted: &AtomicBool,
) -> Result<ToolRun, LocalError> {
    let mut run = ToolRun::default();
    let env = m.environment(hosts);
    for (index, size) in m.sizes.iter().enumerate() {
        // NetPIPE's rank 0 (mpirun's host, this machine's file system) writes its results.
        let results_file = std::env::temp_dir().join(format!(
            "rdmabench-netpipe-{}-{index}.out",
            std::process::id()
        ));
        let file = results_file.to_string_lossy().to_string();
        let end = End {
            program: m.mpirun.clone(),
            args: m.arguments(hosts, m.tool.options(*size, m.iterations, m.warmup, &file)),
            env: env.clone(),
            capture_stdout: true,
            capture_stderr: true,
        };
        run.command_lines.push(format!(
            "{}{}",
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
        let args = m.arguments(&LocalHosts::Loopback, vec!["-n".into(), "5".into()]);
        let line = args.join(" ");
        assert!(
            line.starts_with("--host 127.0.0.1:2 -np 2 --bind-to none"),
            "{line}"
        );
        assert!(line.contains("--mca plm_rsh_agent /usr/local/bin/rdmabench launch"));
        assert!(line.contains("--mca oob_tcp_if_include lo"));
        assert!(
            line.contains("--mca pml cm --mca mtl ofi --mca mtl_ofi_provider_include tcp;ofi_rxm")
        );
        assert!(line.ends_with("/usr/bin/NPopenmpi -n 5"), "{line}");
        let env = m.environment(&LocalHosts::Loopback);
        assert_eq!(env[0], ("FI_TCP_IFACE".to_string(), "lo".to_string()));
        assert!(!env.iter().any(|(k, _)| k == LAUNCH_MAP_ENV));
    }
}
