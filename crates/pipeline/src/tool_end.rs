//! One end of a two-ended reference tool (fi_pingpong, perftest) on a real host, as `rdmabench
//! tool` runs it in a cluster's pods or on two machines: the server runs the tool once per size
//! on consecutive ports; the client starts each size's run once that server listens, retrying
//! while the connection is refused (these tools do not retry themselves), within a limit.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::hosts::LocalHosts;
use crate::local::{outcome, run_alone, End, LocalError, Outcome, ToolMeasurement, ToolRun};

/// How often a refused client is started again.
const RETRY_PAUSE: Duration = Duration::from_millis(250);

/// What the tools print when nothing listens yet on the server's port.
const NOT_LISTENING: &[&str] = &[
    "Connection refused",
    "Couldn't connect",
    "Unable to open file descriptor for socket connection",
];

fn end(m: &ToolMeasurement, args: Vec<String>) -> End {
    End {
        program: m.program.clone(),
        args,
        env: Vec::new(),
        capture_stdout: true,
        capture_stderr: true,
    }
}

/// Serves every size, one tool run each on `port + index`, each within the measurement's limit.
pub fn serve_tool(
    m: &ToolMeasurement,
    port: u16,
    interrupted: &AtomicBool,
) -> Result<Outcome, LocalError> {
    for (index, size) in m.sizes.iter().enumerate() {
        let args = m
            .size_options(*size)
            .into_iter()
            .chain(m.server_options(port + index as u16))
            .collect();
        let ended = run_alone(&LocalHosts::Loopback, &end(m, args), m.limit, interrupted)?;
        let outcome = outcome(&ended, m.limit, interrupted)?;
        if outcome != Outcome::Complete {
            return Ok(outcome);
        }
    }
    Ok(Outcome::Complete)
}

/// Runs every size against the server at `server`, each started again while the server does
/// not listen yet, for at most `reach` per size.
pub fn tool_client(
    m: &ToolMeasurement,
    server: &str,
    port: u16,
    reach: Duration,
    interrupted: &AtomicBool,
) -> Result<ToolRun, LocalError> {
    let mut run = ToolRun::default();
    for (index, size) in m.sizes.iter().enumerate() {
        let args = m
            .size_options(*size)
            .into_iter()
            .chain(m.client_options(port + index as u16, server))
            .collect();
        let client = end(m, args);
        run.command_lines.push(client.command_line());
        let deadline = Instant::now() + reach;
        let ended = loop {
            let ended = run_alone(&LocalHosts::Loopback, &client, m.limit, interrupted)?;
            let refused = ended.client.is_some_and(|s| !s.success())
                && NOT_LISTENING
                    .iter()
                    .any(|m| ended.client_errors.contains(m));
            if !refused || Instant::now() >= deadline || interrupted.load(Ordering::SeqCst) {
                break ended;
            }
            std::thread::sleep(RETRY_PAUSE);
        };
        let outcome = outcome(&ended, m.limit, interrupted)?;
        if !run.size_done(outcome, ended.client_output) {
            return Ok(run);
        }
    }
    Ok(run)
}
