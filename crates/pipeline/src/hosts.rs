//! Two "hosts" on this machine for the local target: two network namespaces joined by a veth
//! pair when the user may create them (root and iproute2), which makes every message cross a
//! network stack between two addresses as between two nodes; otherwise two processes on
//! loopback. The namespaces exist only for the run and are removed on drop, on error and on
//! Ctrl-C; ones left by a killed run are removed by the next.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Addresses given to the veth ends; they exist only inside the run's own namespaces, which
/// have no route anywhere else, so they cannot clash with the machine's networks.
const SERVER_ADDR: Ipv4Addr = Ipv4Addr::new(10, 231, 0, 1);
const CLIENT_ADDR: Ipv4Addr = Ipv4Addr::new(10, 231, 0, 2);
/// Prefix of every namespace a run creates: `rdmabench-run-<pid>-srv|cli`.
const NETNS_PREFIX: &str = "rdmabench-run-";

/// How the user asked the two hosts to be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostsChoice {
    /// Namespaces when possible, else loopback (saying why).
    Auto,
    /// Namespaces or an error.
    Netns,
    /// Two processes on 127.0.0.1.
    Loopback,
}

/// Namespaces could not be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("cannot create network namespaces: `ip {command}` failed: {detail}; run as root with iproute2 installed, or use --hosts loopback")]
pub struct NetnsError {
    /// The failing `ip` arguments.
    pub command: String,
    /// What ip said.
    pub detail: String,
}

/// The two ends of a local run.
#[derive(Debug)]
pub enum LocalHosts {
    /// Two namespaces joined by veth; deleted on drop.
    Netns {
        /// Namespace of the server.
        server: String,
        /// Namespace of the client.
        client: String,
        /// The server's end of the veth pair.
        server_device: String,
        /// The client's end of the veth pair.
        client_device: String,
    },
    /// Both ends on 127.0.0.1.
    Loopback,
}

fn ip(args: &[&str]) -> Result<(), NetnsError> {
    let output = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| NetnsError {
            command: args.join(" "),
            detail: e.to_string(),
        })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(NetnsError {
            command: args.join(" "),
            detail: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }
}

/// How long a fresh veth pair may take to come up.
const LINK_UP_LIMIT: Duration = Duration::from_secs(5);

/// Waits until `device` in `netns` reports carrier (LOWER_UP), at most LINK_UP_LIMIT.
fn wait_until_up(netns: &str, device: &str) -> Result<(), NetnsError> {
    let deadline = Instant::now() + LINK_UP_LIMIT;
    loop {
        let output = Command::new("ip")
            .args(["-n", netns, "-o", "link", "show", "dev", device])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| NetnsError {
                command: format!("-n {netns} link show dev {device}"),
                detail: e.to_string(),
            })?;
        let text = String::from_utf8_lossy(&output.stdout);
        if text.contains("LOWER_UP") {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(NetnsError {
                command: format!("-n {netns} link show dev {device}"),
                detail: format!(
                    "the veth end did not come up within {LINK_UP_LIMIT:?}: {}",
                    text.trim()
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Removes namespaces of earlier runs whose process no longer exists (a run killed with
/// SIGKILL cannot clean up after itself).
fn remove_stale_namespaces() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(pid) = name
            .strip_prefix(NETNS_PREFIX)
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = ip(&["netns", "delete", &name]);
        }
    }
}

impl LocalHosts {
    /// Makes the two hosts; with `Auto`, falls back to loopback and returns why.
    pub fn create(choice: HostsChoice) -> Result<(LocalHosts, Option<String>), NetnsError> {
        match choice {
            HostsChoice::Loopback => Ok((LocalHosts::Loopback, None)),
            HostsChoice::Netns => Ok((Self::netns()?, None)),
            HostsChoice::Auto => match Self::netns() {
                Ok(hosts) => Ok((hosts, None)),
                Err(e) => Ok((
                    LocalHosts::Loopback,
                    Some(format!(
                        "two processes on loopback instead of two network namespaces: {e}"
                    )),
                )),
            },
        }
    }

    fn netns() -> Result<LocalHosts, NetnsError> {
        remove_stale_namespaces();
        let id = std::process::id();
        let hosts = LocalHosts::Netns {
            server: format!("{NETNS_PREFIX}{id}-srv"),
            client: format!("{NETNS_PREFIX}{id}-cli"),
            server_device: format!("rbr{id}s"),
            client_device: format!("rbr{id}c"),
        };
        let LocalHosts::Netns {
            server,
            client,
            server_device: veth_server,
            client_device: veth_client,
        } = &hosts
        else {
            unreachable!("just built as Netns");
        };
        let (server_cidr, client_cidr) = (format!("{SERVER_ADDR}/30"), format!("{CLIENT_ADDR}/30"));
        let steps: [&[&str]; 9] = [
            &["netns", "add", server],
            &["netns", "add", client],
            &[
                "link",
                "add",
                veth_server,
                "netns",
                server,
                "type",
                "veth",
                "peer",
                "name",
                veth_client,
                "netns",
                client,
            ],
            &[
                "-n",
                server,
                "addr",
                "add",
                &server_cidr,
                "dev",
                veth_server,
            ],
            &[
                "-n",
                client,
                "addr",
                "add",
                &client_cidr,
                "dev",
                veth_client,
            ],
            &["-n", server, "link", "set", veth_server, "up"],
            &["-n", client, "link", "set", veth_client, "up"],
            &["-n", server, "link", "set", "lo", "up"],
            &["-n", client, "link", "set", "lo", "up"],
        ];
        for step in steps {
            // On failure, dropping `hosts` removes whatever was created.
            ip(step)?;
        }
        // `link set up` returns before the veth pair has carrier; libfabric's providers only
        // list interfaces that are up, so measure only once both ends are.
        for (netns, device) in [(server, &veth_server), (client, &veth_client)] {
            wait_until_up(netns, device)?;
        }
        Ok(hosts)
    }

    /// The address the server listens on and the client connects to.
    pub fn server_addr(&self) -> IpAddr {
        match self {
            LocalHosts::Netns { .. } => IpAddr::V4(SERVER_ADDR),
            LocalHosts::Loopback => IpAddr::V4(Ipv4Addr::LOCALHOST),
        }
    }

    /// The client's address (the server's too on loopback).
    pub fn client_addr(&self) -> IpAddr {
        match self {
            LocalHosts::Netns { .. } => IpAddr::V4(CLIENT_ADDR),
            LocalHosts::Loopback => IpAddr::V4(Ipv4Addr::LOCALHOST),
        }
    }

    /// The network joining the two ends, as Open MPI's `*_if_include` takes it: the veth pair's
    /// subnet, or the loopback interface.
    pub fn network(&self) -> String {
        match self {
            LocalHosts::Netns { .. } => {
                format!("{}/30", Ipv4Addr::from(u32::from(SERVER_ADDR) & !3))
            }
            LocalHosts::Loopback => "lo".into(),
        }
    }

    /// "netns" or "loopback", as results record it.
    pub fn kind(&self) -> &'static str {
        match self {
            LocalHosts::Netns { .. } => "netns",
            LocalHosts::Loopback => "loopback",
        }
    }

    /// A sentence for progress messages and the report.
    pub fn describe(&self) -> String {
        match self {
            LocalHosts::Netns { server, client, .. } => format!(
                "two network namespaces joined by a veth pair ({server} at {SERVER_ADDR}, {client} at {CLIENT_ADDR})"
            ),
            LocalHosts::Loopback => "two processes on loopback (127.0.0.1)".to_string(),
        }
    }

    /// Names of the two ends (namespace names, or the loopback address twice).
    pub fn end_names(&self) -> (String, String) {
        match self {
            LocalHosts::Netns { server, client, .. } => (server.clone(), client.clone()),
            LocalHosts::Loopback => ("127.0.0.1".into(), "127.0.0.1".into()),
        }
    }

    /// The network interface of the server's (`server = true`) or client's end, for tools
    /// that must be told which one to use (FI_TCP_IFACE, FI_NET_IFACE).
    pub fn interface(&self, server: bool) -> String {
        match self {
            LocalHosts::Netns {
                server_device,
                client_device,
                ..
            } => if server { server_device } else { client_device }.clone(),
            LocalHosts::Loopback => "lo".into(),
        }
    }

    /// What a user types before a command to run it on the server's (`server = true`) or the
    /// client's host, for recorded command lines: `ip netns exec NAME env ` (so the variables
    /// that follow are set there), or nothing.
    pub fn shell_prefix(&self, server: bool) -> String {
        match self {
            LocalHosts::Netns {
                server: s,
                client: c,
                ..
            } => format!("ip netns exec {} env ", if server { s } else { c }),
            LocalHosts::Loopback => String::new(),
        }
    }

    /// A command that runs `program` on the server (`server = true`) or client host.
    pub fn command(&self, server: bool, program: &Path) -> Command {
        match self {
            LocalHosts::Netns {
                server: s,
                client: c,
                ..
            } => {
                let mut command = Command::new("ip");
                command
                    .args(["netns", "exec", if server { s } else { c }])
                    .arg(program);
                command
            }
            LocalHosts::Loopback => Command::new(program),
        }
    }
}

impl LocalHosts {
    /// Kills every process still in the two namespaces after a launcher failed or was stopped:
    /// a killed MPI launcher leaves its remote proxy behind (Intel MPI's hydra_bstrap_proxy
    /// keeps retrying its connection for minutes). The namespaces are this run's own and nothing
    /// else of the run is in them between measurements, so all that is left is the launcher's.
    /// Returns how many were killed; on loopback nothing can be told apart: none.
    pub fn kill_leftovers(&self) -> usize {
        let LocalHosts::Netns { server, client, .. } = self else {
            return 0;
        };
        let mut killed = 0;
        for name in [server, client] {
            let Ok(output) = Command::new("ip")
                .args(["netns", "pids", name])
                .stdin(Stdio::null())
                .output()
            else {
                continue;
            };
            for pid in String::from_utf8_lossy(&output.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok())
            {
                let pid = nix::unistd::Pid::from_raw(pid);
                if nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).is_ok() {
                    killed += 1;
                }
            }
        }
        killed
    }
}

impl Drop for LocalHosts {
    fn drop(&mut self) {
        if let LocalHosts::Netns { server, client, .. } = self {
            // Deleting a namespace also deletes the veth end inside it, and with it the peer.
            let _ = ip(&["netns", "delete", server]);
            let _ = ip(&["netns", "delete", client]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_runs_programs_directly_on_127_0_0_1() {
        let (hosts, note) = LocalHosts::create(HostsChoice::Loopback).unwrap();
        assert_eq!(note, None);
        assert_eq!(hosts.server_addr().to_string(), "127.0.0.1");
        assert_eq!(hosts.kind(), "loopback");
        let command = hosts.command(true, Path::new("/bin/true"));
        assert_eq!(command.get_program(), "/bin/true");
    }

    #[test]
    fn namespaces_are_made_and_removed_or_the_fallback_says_why() {
        let (hosts, note) = LocalHosts::create(HostsChoice::Auto).unwrap();
        match &hosts {
            LocalHosts::Netns { server, client, .. } => {
                assert!(note.is_none());
                assert!(Path::new("/run/netns").join(server).exists());
                let command = hosts.command(false, Path::new("/bin/true"));
                let args: Vec<_> = command.get_args().collect();
                assert_eq!(args[..3], ["netns", "exec", client.as_str()]);
                let (server, client) = (server.clone(), client.clone());
                drop(hosts);
                assert!(!Path::new("/run/netns").join(server).exists());
                assert!(!Path::new("/run/netns").join(client).exists());
            }
            LocalHosts::Loopback => {
                let note = note.expect("a fallback names its reason");
                assert!(note.contains("run as root"), "{note}");
            }
        }
    }
}
