//! One measurement on the local target: the rdmabench binary as server on one host and as
//! client on the other, exactly as a user would start them on two machines, with a limit on
//! the whole measurement and Ctrl-C passed on so both ends stop cleanly and partial results
//! are kept.

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::hosts::LocalHosts;

/// The out-of-band port inside the run's own namespaces (perftest's, as between real hosts).
const NETNS_PORT: u16 = 18515;
/// How long the server may take to exit after the client finished.
const SERVER_GRACE: Duration = Duration::from_secs(10);
/// How often the processes are checked.
const POLL: Duration = Duration::from_millis(20);
/// Exit status of an rdmabench interrupted by Ctrl-C.
const EXIT_INTERRUPTED: i32 = 130;

/// What to measure and where the client writes its results.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// The rdmabench executable that runs both ends.
    pub program: PathBuf,
    /// The measurement subcommand: "pingpong" or "bw".
    pub kind: String,
    /// Its options, shared by both ends.
    pub options: Vec<String>,
    /// The results file the client writes.
    pub output: PathBuf,
    /// `--timeout` of both ends: reaching the peer and any stretch without progress.
    pub timeout: String,
    /// Limit for the whole measurement; both ends are killed after it.
    pub limit: Duration,
}

/// How a measurement ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every size measured; the results file is written.
    Complete,
    /// The benchmark failed; the message says why (the results file may hold partial rows).
    Failed(String),
    /// Ctrl-C: both ends stopped; partial results were kept.
    Interrupted,
}

/// The processes could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// Spawning failed (missing binary, no `ip`).
    #[error("starting the {end} process ({program}): {source}")]
    Spawn {
        /// "server" or "client".
        end: &'static str,
        /// The program started.
        program: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// mpirun's hostfile could not be written.
    #[error("writing mpirun's hostfile in the temp directory: {0}")]
    Hostfile(#[source] std::io::Error),
    /// No free port on loopback.
    #[error("finding a free port on 127.0.0.1: {0}")]
    Port(#[source] std::io::Error),
}

/// A child process whose captured streams are collected in the background (so it never
/// blocks on a full pipe), killed if dropped while running.
struct Running {
    child: Child,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

impl Running {
    fn wait_until(&mut self, deadline: Instant) -> Option<ExitStatus> {
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
                _ => return None,
            }
        }
    }

    /// Kills the process and reaps it, so nothing it does afterwards can race what follows.
    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn interrupt(&self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGINT);
        }
    }

    /// The error lines the process wrote (its progress lines would only repeat ours); for a
    /// tool that does not mark them, its last lines.
    fn error_lines(&mut self) -> String {
        let text = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let marked: Vec<&str> = text
            .lines()
            .filter_map(|line| line.strip_prefix("error: "))
            .collect();
        if !marked.is_empty() {
            return marked.join("; ");
        }
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        lines[lines.len().saturating_sub(3)..].join("; ")
    }

    /// What the process printed on stdout, when captured.
    fn output(&mut self) -> String {
        self.stdout
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One end of a measurement: what runs on that host, and which of its streams are kept.
pub(crate) struct End {
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    /// Keep stdout (a tool's results); else discarded.
    pub(crate) capture_stdout: bool,
    /// Keep stderr (for the failure message); else passed through to ours.
    pub(crate) capture_stderr: bool,
}

impl End {
    /// The command as a user would type it: its variables first, each word quoted for sh.
    pub(crate) fn command_line(&self) -> String {
        self.env
            .iter()
            .map(|(k, v)| format!("{k}={}", sh_quote(v)))
            .chain(std::iter::once(sh_quote(&self.program.to_string_lossy())))
            .chain(self.args.iter().map(|a| sh_quote(a)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// `word` as sh reads it back: as is when it holds nothing special, else in single quotes.
pub(crate) fn sh_quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_./:=,@%+-".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

fn collect(pipe: Option<impl Read + Send + 'static>) -> Option<JoinHandle<String>> {
    pipe.map(|mut pipe| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    })
}

fn spawn(hosts: &LocalHosts, server: bool, end: &End) -> Result<Running, LocalError> {
    let mut command = hosts.command(server, &end.program);
    let piped = |keep: bool| if keep { Stdio::piped() } else { Stdio::null() };
    command
        .args(&end.args)
        .envs(end.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(piped(end.capture_stdout))
        .stderr(if end.capture_stderr {
            Stdio::piped()
        } else {
            Stdio::inherit()
        });
    let mut child = command.spawn().map_err(|source| LocalError::Spawn {
        end: if server { "server" } else { "client" },
        program: format!("{:?}", command.get_program()),
        source,
    })?;
    let stdout = collect(child.stdout.take());
    let stderr = collect(child.stderr.take());
    Ok(Running {
        child,
        stdout,
        stderr,
    })
}

/// How the two ends ran.
pub(crate) struct Ended {
    /// Why the client was never started (the server did not come up).
    not_started: Option<String>,
    /// The client's exit status; None when the limit stopped it.
    pub(crate) client: Option<ExitStatus>,
    /// The client's stdout, when captured.
    pub(crate) client_output: String,
    /// What the client said, when its stderr was captured.
    pub(crate) client_errors: String,
    /// What the server said when it failed (empty when it exited 0).
    server_errors: String,
}

/// Starts the server, then (once it listens on `server_port`, when given: for tools whose
/// client does not retry) the client, and waits for the client within `limit` (passing a
/// Ctrl-C on to both), then for the server within its grace period.
fn run_ends(
    hosts: &LocalHosts,
    server: &End,
    client: &End,
    server_port: Option<u16>,
    limit: Duration,
    interrupted: &AtomicBool,
) -> Result<Ended, LocalError> {
    let mut server = spawn(hosts, true, server)?;
    if let Some(port) = server_port {
        if let Err(reason) = wait_listening(&mut server, port) {
            let _ = server.child.kill();
            let said = server.error_lines();
            return Ok(Ended {
                not_started: Some(if said.is_empty() {
                    reason
                } else {
                    format!("{reason}; it said: {said}")
                }),
                client: None,
                client_output: String::new(),
                client_errors: String::new(),
                server_errors: String::new(),
            });
        }
    }
    let mut client = spawn(hosts, false, client)?;
    let client_status = wait_passing_interrupt(&mut client, Some(&server), limit, interrupted);
    let server_status = if client_status.is_some() {
        server.wait_until(Instant::now() + SERVER_GRACE)
    } else {
        // Over its limit: the client goes first, so it cannot take the server's end for a
        // peer failure and write results of a measurement that was stopped.
        client.stop();
        None
    };
    let server_errors = if server_status.is_some_and(|s| s.success()) {
        String::new()
    } else {
        server.stop();
        server.error_lines()
    };
    Ok(Ended {
        not_started: None,
        client: client_status,
        client_output: client.output(),
        client_errors: client.error_lines(),
        server_errors,
    })
}

/// Waits for `main` within `limit`, passing a Ctrl-C on to it and to `other`; None when the
/// limit stopped it.
fn wait_passing_interrupt(
    main: &mut Running,
    other: Option<&Running>,
    limit: Duration,
    interrupted: &AtomicBool,
) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    let mut passed_on = false;
    loop {
        if let Ok(Some(status)) = main.child.try_wait() {
            return Some(status);
        }
        if interrupted.load(Ordering::SeqCst) && !passed_on {
            // A Ctrl-C at a terminal reaches the children too; a signal sent to this process
            // alone does not, so pass it on and let both ends write partial results.
            main.interrupt();
            if let Some(other) = other {
                other.interrupt();
            }
            passed_on = true;
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(POLL);
    }
}

/// Runs `end` alone on the server's host within `limit` (mpirun, which starts the other host's
/// side itself), its results taken as a client's.
pub(crate) fn run_alone(
    hosts: &LocalHosts,
    end: &End,
    limit: Duration,
    interrupted: &AtomicBool,
) -> Result<Ended, LocalError> {
    let mut running = spawn(hosts, true, end)?;
    let status = wait_passing_interrupt(&mut running, None, limit, interrupted);
    if status.is_none() {
        running.stop();
    }
    Ok(Ended {
        not_started: None,
        client: status,
        client_output: running.output(),
        client_errors: running.error_lines(),
        server_errors: String::new(),
    })
}

/// How long a tool's server may take to listen.
const LISTEN_LIMIT: Duration = Duration::from_secs(10);

/// Waits until the server process listens on TCP `port`, as its own network namespace shows it
/// (/proc/PID/net/tcp*), without connecting: a probe connection would be taken for the client.
fn wait_listening(server: &mut Running, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + LISTEN_LIMIT;
    let pid = server.child.id();
    let wanted = format!(":{port:04X} ");
    loop {
        let listening = ["tcp", "tcp6"].iter().any(|table| {
            std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).is_ok_and(|text| {
                text.lines().skip(1).any(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    // local_address is ADDR:PORT in hex; state 0A is LISTEN.
                    fields.len() > 3
                        && format!("{} ", fields[1]).ends_with(&wanted)
                        && fields[3] == "0A"
                })
            })
        });
        if listening {
            return Ok(());
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            return Err(format!("the server exited with {status} before listening"));
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "the server did not listen on port {port} within {LISTEN_LIMIT:?}"
            ));
        }
        std::thread::sleep(POLL);
    }
}

fn port_for(hosts: &LocalHosts) -> Result<u16, LocalError> {
    match hosts {
        LocalHosts::Netns { .. } => Ok(NETNS_PORT),
        LocalHosts::Loopback => TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(LocalError::Port),
    }
}

/// Runs one measurement: server first, then the client, which writes `m.output`.
pub fn measure(
    hosts: &LocalHosts,
    m: &Measurement,
    interrupted: &AtomicBool,
) -> Result<Outcome, LocalError> {
    let port = port_for(hosts)?.to_string();
    let address = hosts.server_addr().to_string();
    let end = |role: Vec<String>, capture_stderr: bool| End {
        program: m.program.clone(),
        args: std::iter::once(m.kind.clone())
            .chain(role)
            .chain(m.options.iter().cloned())
            .chain(["--timeout".to_string(), m.timeout.clone()])
            .collect(),
        env: Vec::new(),
        capture_stdout: false,
        capture_stderr,
    };
    let server = end(
        vec![
            "--server".into(),
            "--bind".into(),
            address.clone(),
            "--port".into(),
            port.clone(),
            "--format".into(),
            "json".into(),
        ],
        true,
    );
    let output = m.output.to_string_lossy().to_string();
    let client = end(
        vec![
            address,
            "--port".into(),
            port,
            "--format".into(),
            "json".into(),
            "--output".into(),
            output,
        ],
        false,
    );
    let ended = run_ends(hosts, &server, &client, None, m.limit, interrupted)?;
    outcome(&ended, m.limit, interrupted)
}

/// The outcome of two ends that ran: complete, interrupted, or failed with the reason.
pub(crate) fn outcome(
    ended: &Ended,
    limit: Duration,
    interrupted: &AtomicBool,
) -> Result<Outcome, LocalError> {
    if let Some(reason) = &ended.not_started {
        return Ok(Outcome::Failed(reason.clone()));
    }
    let server_errors = &ended.server_errors;
    let client_status = ended.client;
    let Some(status) = client_status else {
        return Ok(Outcome::Failed(format!(
            "the measurement did not finish within {limit:?} (--limit); both ends were stopped"
        )));
    };
    if status.success() {
        return Ok(Outcome::Complete);
    }
    if status.code() == Some(EXIT_INTERRUPTED) || interrupted.load(Ordering::SeqCst) {
        return Ok(Outcome::Interrupted);
    }
    let mut reason = format!("the client exited with {status}");
    if !ended.client_errors.is_empty() {
        reason.push_str(&format!(": {}", ended.client_errors));
    }
    if !server_errors.is_empty() {
        reason.push_str(&format!("; the server said: {server_errors}"));
    }
    Ok(Outcome::Failed(reason))
}

/// A two-ended reference tool: its server runs once per size and its client connects to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TwoEndedTool {
    /// fabtests' fi_pingpong (`-e rdm`, the provider named).
    FiPingpong,
    /// perftest's ib_send_lat, ib_send_bw, ib_write_lat, ib_write_bw, on the host's first RDMA
    /// device; `connection` is `-c` (SRD on EFA), `gid_index` is `-x` (0 on EFA).
    Perftest {
        /// perftest's connection type, when not its default (RC).
        connection: Option<String>,
        /// The port's GID index, when perftest's own choice does not work (EFA: without `-x 0`
        /// the server receives nothing, linux-rdma/perftest#113).
        gid_index: Option<u32>,
    },
}

/// A reference tool's two-ended run (fi_pingpong: one invocation per size, as its `-S` takes
/// one size; perftest likewise with `-s`).
#[derive(Debug, Clone)]
pub struct ToolMeasurement {
    /// The tool's executable (found on PATH).
    pub program: PathBuf,
    /// Which tool, and so how its options are written.
    pub tool: TwoEndedTool,
    /// Core provider name (tcp, net ...), pinned to each end's interface (fi_pingpong).
    pub provider: String,
    /// fi_tsend/fi_trecv instead of fi_send/fi_recv.
    pub tagged: bool,
    /// Message sizes, one run each.
    pub sizes: Vec<u64>,
    /// Round trips per size.
    pub iterations: u64,
    /// The tool's own data check (fi_pingpong's -c; perftest has none).
    pub verify: bool,
    /// fi_pingpong's fabric (-f: efa or efa-direct), so it runs on the one rdmabench measured.
    pub fabric: Option<String>,
    /// Limit for one size's run.
    pub limit: Duration,
}

impl ToolMeasurement {
    /// Options of both ends for one size.
    pub(crate) fn size_options(&self, size: u64) -> Vec<String> {
        match &self.tool {
            TwoEndedTool::FiPingpong => {
                let mut options: Vec<String> = [
                    "-p",
                    self.provider.as_str(),
                    "-e",
                    "rdm",
                    "-m",
                    if self.tagged { "tagged" } else { "msg" },
                    "-I",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect();
                options.extend([self.iterations.to_string(), "-S".into(), size.to_string()]);
                if let Some(fabric) = &self.fabric {
                    options.extend(["-f".into(), fabric.clone()]);
                }
                if self.verify {
                    options.push("-c".into());
                }
                options
            }
            // -F: run even when the CPU frequency governor is not "performance" (it warns).
            TwoEndedTool::Perftest {
                connection,
                gid_index,
            } => {
                let mut options = vec![
                    "-s".to_string(),
                    size.to_string(),
                    "-n".into(),
                    self.iterations.to_string(),
                    "-F".into(),
                ];
                if let Some(connection) = connection {
                    options.extend(["-c".to_string(), connection.clone()]);
                }
                if let Some(index) = gid_index {
                    options.extend(["-x".to_string(), index.to_string()]);
                }
                options
            }
        }
    }

    /// The server's own options: where it listens for the client.
    pub(crate) fn server_options(&self, port: u16) -> Vec<String> {
        match self.tool {
            TwoEndedTool::FiPingpong => vec!["-B".into(), port.to_string()],
            TwoEndedTool::Perftest { .. } => vec!["-p".into(), port.to_string()],
        }
    }

    /// The client's own options: the server's port and address.
    pub(crate) fn client_options(&self, port: u16, server: &str) -> Vec<String> {
        let flag = match self.tool {
            TwoEndedTool::FiPingpong => "-P",
            TwoEndedTool::Perftest { .. } => "-p",
        };
        vec![flag.into(), port.to_string(), server.to_string()]
    }
}

/// What a tool's runs produced.
#[derive(Debug, Clone)]
pub struct ToolRun {
    /// Complete when every size ran.
    pub outcome: Outcome,
    /// The client's output of each completed size, in order.
    pub outputs: Vec<String>,
    /// The client's command line of each size run, as run.
    pub command_lines: Vec<String>,
}

impl Default for ToolRun {
    /// A run before its first size: complete until a size is not.
    fn default() -> ToolRun {
        ToolRun {
            outcome: Outcome::Complete,
            outputs: Vec::new(),
            command_lines: Vec::new(),
        }
    }
}

impl ToolRun {
    /// Records how one size's run ended: its output when complete (true: go on), else the
    /// outcome of the whole run (false: stop).
    pub(crate) fn size_done(&mut self, outcome: Outcome, output: String) -> bool {
        if outcome == Outcome::Complete {
            self.outputs.push(output);
            true
        } else {
            self.outcome = outcome;
            false
        }
    }
}

/// fi_pingpong's default out-of-band port (used inside the run's own namespaces).
pub const FI_PINGPONG_PORT: u16 = 47592;
/// perftest's default port.
pub const PERFTEST_PORT: u16 = 18515;

/// The environment variable that pins `provider` to one interface, if it has one.
pub fn interface_variable(provider: &str) -> Option<String> {
    matches!(provider, "tcp" | "net" | "udp" | "sockets")
        .then(|| format!("FI_{}_IFACE", provider.to_ascii_uppercase()))
}

/// Runs fi_pingpong between the two hosts for every size: `-e rdm` with the provider pinned to
/// each end's interface, the server listening before the client starts.
pub fn measure_fi_pingpong(
    hosts: &LocalHosts,
    m: &ToolMeasurement,
    interrupted: &AtomicBool,
) -> Result<ToolRun, LocalError> {
    let mut run = ToolRun::default();
    for (index, size) in m.sizes.iter().enumerate() {
        let port = match hosts {
            LocalHosts::Netns { .. } => FI_PINGPONG_PORT + index as u16,
            LocalHosts::Loopback => port_for(hosts)?,
        };
        let common = m.size_options(*size);
        let env = |server: bool| {
            interface_variable(&m.provider)
                .map(|var| vec![(var, hosts.interface(server))])
                .unwrap_or_default()
        };
        let server = End {
            program: m.program.clone(),
            args: common
                .iter()
                .cloned()
                .chain(m.server_options(port))
                .collect(),
            env: env(true),
            capture_stdout: false,
            capture_stderr: true,
        };
        let client = End {
            program: m.program.clone(),
            args: common
                .iter()
                .cloned()
                .chain(m.client_options(port, &hosts.server_addr().to_string()))
                .collect(),
            env: env(false),
            capture_stdout: true,
            capture_stderr: true,
        };
        run.command_lines.push(format!(
            "{}{}",
            hosts.shell_prefix(false),
            client.command_line()
        ));
        let ended = run_ends(hosts, &server, &client, Some(port), m.limit, interrupted)?;
        let outcome = outcome(&ended, m.limit, interrupted)?;
        if !run.size_done(outcome, ended.client_output) {
            return Ok(run);
        }
    }
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perftest_on_efa_gets_srd_and_gid_index_zero_at_each_size() {
        let measurement = ToolMeasurement {
            program: "/usr/bin/ib_send_lat".into(),
            tool: TwoEndedTool::Perftest {
                connection: Some("SRD".into()),
                gid_index: Some(0),
            },
            provider: "efa".into(),
            tagged: false,
            sizes: vec![64],
            iterations: 1000,
            verify: false,
            fabric: None,
            limit: Duration::from_secs(60),
        };
        assert_eq!(
            measurement.size_options(64).join(" "),
            "-s 64 -n 1000 -F -c SRD -x 0"
        );
    }

    #[test]
    fn fi_pingpong_runs_on_the_fabric_the_test_names() {
        let measurement = ToolMeasurement {
            program: "/opt/amazon/efa/bin/fi_pingpong".into(),
            tool: TwoEndedTool::FiPingpong,
            provider: "efa".into(),
            tagged: false,
            sizes: vec![4],
            iterations: 1000,
            verify: true,
            fabric: Some("efa-direct".into()),
            limit: Duration::from_secs(60),
        };
        assert_eq!(
            measurement.size_options(4).join(" "),
            "-p efa -e rdm -m msg -I 1000 -S 4 -f efa-direct -c"
        );
    }
}
