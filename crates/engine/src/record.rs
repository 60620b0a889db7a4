//! A run's results file from what the engine measured and how it was configured: every
//! parameter that decides the numbers, recorded so the file alone can reproduce the run.

use rdmabench_fabric::{Completion, MessageApi};
use rdmabench_results::{Endpoints, Parameters, ResultsFile, ToolInfo, SCHEMA_VERSION};

use crate::{Amount, RunConfig, RunOutput, Test, TransportChoice};

/// What the engine does not know about a run: who measured, when, in which role, and the
/// caller's choices outside the engine configuration.
pub struct RunRecord {
    /// The measuring build.
    pub tool: ToolInfo,
    /// When the run started, RFC 3339 UTC.
    pub timestamp: String,
    /// "client", "server" or "local".
    pub role: String,
    /// The CPUs the ends were pinned to, as given.
    pub cpus: Option<Vec<usize>>,
    /// The out-of-band port.
    pub port: u16,
    /// A caveat to keep with the results (e.g. a fallback to kernel TCP).
    pub note: Option<String>,
}

/// The results file of `output`, measured as `config` says; a run that stopped early is
/// marked incomplete with the reason in its note.
pub fn results_file(config: &RunConfig, record: RunRecord, output: RunOutput) -> ResultsFile {
    let stopped = output.stopped.as_ref().map(ToString::to_string);
    let (transport, provider) = match &config.transport {
        TransportChoice::Fabric(p) => ("fabric", p.label()),
        TransportChoice::Socket => ("socket", "none"),
    };
    let note = match &stopped {
        Some(reason) => Some(format!(
            "stopped after {} of {} sizes: {reason}",
            output.measurements.len(),
            config.sizes.len()
        )),
        None => record.note,
    };
    ResultsFile {
        schema_version: SCHEMA_VERSION,
        tool: record.tool,
        timestamp: record.timestamp,
        test: config.test.name().into(),
        complete: stopped.is_none(),
        note,
        parameters: Parameters {
            role: record.role,
            transport: transport.into(),
            provider: provider.into(),
            api: match config.api {
                MessageApi::Msg => "msg".into(),
                MessageApi::Tagged => "tagged".into(),
            },
            sizes_bytes: config.sizes.clone(),
            iterations: match config.amount {
                Amount::Iterations(n) => Some(n),
                Amount::Duration(_) => None,
            },
            duration_ns: match config.amount {
                Amount::Duration(d) => Some(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
                Amount::Iterations(_) => None,
            },
            warmup_iterations: config.warmup,
            verify: config.verify,
            completion: match config.completion {
                Completion::BusyPoll => "busy-poll".into(),
                Completion::Wait => "wait".into(),
            },
            force_mr_local: config.force_mr_local,
            fabric: config.fabric.label().into(),
            require_device_rdma: config.require_device_rdma,
            cpu: record.cpus,
            timeout_ns: u64::try_from(config.timeout.as_nanos()).unwrap_or(u64::MAX),
            port: record.port,
            window: match config.test {
                Test::Bandwidth { window, .. } | Test::RmaBandwidth { window, .. } => {
                    Some(window as u64)
                }
                Test::PingPong | Test::RmaLatency { .. } => None,
            },
            bidirectional: match config.test {
                Test::Bandwidth { bidirectional, .. } => Some(bidirectional),
                _ => None,
            },
            method: match config.test {
                Test::Bandwidth { method, .. } => Some(method.name().into()),
                _ => None,
            },
            loop_timed: config.loop_timed,
        },
        endpoints: Endpoints {
            local: output.local,
            peer: Some(output.peer),
            same_host: output.same_host,
        },
        fabric: output.fabric,
        results: output.measurements,
        placement: None,
        command_line: None,
    }
}
