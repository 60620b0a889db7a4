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
    /// No free port on loopback.
    #[error("finding a free port on 127.0.0.1: {0}")]
    Port(#[source] std::io::Error),
}

/// A child process whose stderr is collected in the background (so it never blocks on a full
/// pipe), killed if dropped while running.
struct Running {
    child: Child,
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

    fn interrupt(&self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGINT);
        }
    }

    /// The error lines the process wrote (its progress lines would only repeat ours).
    fn error_lines(&mut self) -> String {
        let text = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        text.lines()
            .filter_map(|line| line.strip_prefix("error: "))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn spawn(
    hosts: &LocalHosts,
    server: bool,
    m: &Measurement,
    args: Vec<String>,
    capture_stderr: bool,
) -> Result<Running, LocalError> {
    let mut command = hosts.command(server, &m.program);
    command
        .arg(&m.kind)
        .args(args)
        .args(&m.options)
        .args(["--timeout", &m.timeout])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(if capture_stderr {
            Stdio::piped()
        } else {
            Stdio::inherit()
        });
    let mut child = command.spawn().map_err(|source| LocalError::Spawn {
        end: if server { "server" } else { "client" },
        program: format!("{:?}", command.get_program()),
        source,
    })?;
    let stderr = child.stderr.take().map(|mut pipe| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    });
    Ok(Running { child, stderr })
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
    let mut server = spawn(
        hosts,
        true,
        m,
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
    )?;
    let output = m.output.to_string_lossy().to_string();
    let mut client = spawn(
        hosts,
        false,
        m,
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
    )?;
    let deadline = Instant::now() + m.limit;
    let mut passed_on = false;
    let client_status = loop {
        if let Ok(Some(status)) = client.child.try_wait() {
            break Some(status);
        }
        if interrupted.load(Ordering::SeqCst) && !passed_on {
            // A Ctrl-C at a terminal reaches the children too; a signal sent to this process
            // alone does not, so pass it on and let both ends write partial results.
            client.interrupt();
            server.interrupt();
            passed_on = true;
        }
        if Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(POLL);
    };
    let server_status = server.wait_until(Instant::now() + SERVER_GRACE);
    let server_errors = if server_status.is_some_and(|s| s.success()) {
        String::new()
    } else {
        let _ = server.child.kill();
        server.error_lines()
    };
    let Some(status) = client_status else {
        return Ok(Outcome::Failed(format!(
            "the measurement did not finish within {:?} (--limit); both ends were stopped",
            m.limit
        )));
    };
    if status.success() {
        return Ok(Outcome::Complete);
    }
    if status.code() == Some(EXIT_INTERRUPTED) || interrupted.load(Ordering::SeqCst) {
        return Ok(Outcome::Interrupted);
    }
    let mut reason = format!("the client exited with {status}");
    if !server_errors.is_empty() {
        reason.push_str(&format!("; the server said: {server_errors}"));
    }
    Ok(Outcome::Failed(reason))
}
