//! `rdmabench run` on the local target: every test of a suite between two hosts on this machine
//! (network namespaces or loopback), repeated and alternating, each measurement's results file
//! annotated with where it ran. The report over the run directory is the caller's.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rdmabench_fabric::{core_provider_name, FabricError, Library, MessageApi};
use rdmabench_results::run_dir::{create_run_dir, results_file_name};
use rdmabench_results::{write_atomically, Placement, ResultsFile};

use crate::hosts::{HostsChoice, LocalHosts};
use crate::local::{measure, Measurement, Outcome};
use crate::reference::{run_tool, tool_plan, tool_sizes, ToolOutcome};
use crate::suite::{Suite, Target};
use crate::PipelineError;

/// The local providers in order of preference: both cross the kernel's network stack, as the
/// seed's two nodes did; shm would not.
const LOCAL_PROVIDERS: [&str; 2] = ["net", "tcp"];

/// Checks one test's options with the parser and rules of the command that will run them
/// (`rdmabench <kind> OPTIONS`); the error says what is wrong.
pub type OptionsCheck<'a> = &'a dyn Fn(&str, &[String]) -> Result<(), crate::BoxError>;

/// A local run as asked for.
pub struct LocalRun<'a> {
    /// The tests.
    pub suite: &'a Suite,
    /// The suite's text, kept beside the results so the run can be repeated exactly.
    pub suite_text: &'a str,
    /// Round trips per size for every test, overriding the suite's.
    pub iters: Option<&'a str>,
    /// Repetitions of the whole suite.
    pub repeat: u32,
    /// Where the run's directory is made.
    pub results_dir: &'a Path,
    /// How the two hosts are made.
    pub hosts: HostsChoice,
    /// `--timeout` of every end, as typed.
    pub timeout: &'a str,
    /// Limit for one measurement.
    pub limit: Duration,
    /// The rdmabench executable both ends run.
    pub program: PathBuf,
}

/// What a local run did.
pub struct LocalRunReport {
    /// The run's directory: suite.toml and a results file per measurement.
    pub dir: PathBuf,
    /// Tests that could not run here, and why (each once).
    pub skipped: Vec<String>,
    /// Measurements that failed, with the reason.
    pub failures: Vec<String>,
    /// Ctrl-C stopped the run.
    pub interrupted: bool,
    /// Some measurement left a results file.
    pub measured: bool,
}

/// A new directory for a run's files under `base`, named by its start time (UTC) and target.
pub fn new_run_dir(base: &Path, target: &str) -> Result<PathBuf, PipelineError> {
    let stamp = humantime::format_rfc3339_seconds(SystemTime::now())
        .to_string()
        .replace(['-', ':'], "");
    create_run_dir(base, &stamp, target).map_err(PipelineError::io(format!(
        "creating a run directory in {}",
        base.display()
    )))
}

/// The provider that stands for "default" locally: net, else tcp. Without libfabric the
/// fabric tests fall back to kernel TCP (Err, with the reason).
fn local_provider() -> Result<Result<&'static str, String>, PipelineError> {
    let lib = match Library::load() {
        Ok(lib) => Arc::new(lib),
        // As for pingpong: only a missing libfabric falls back, never a broken override.
        Err(e @ FabricError::LibraryNotFound { .. }) => {
            return Ok(Err(format!(
                "{e}; the fabric tests ran over kernel TCP instead"
            )));
        }
        Err(e) => {
            return Err(PipelineError::fabric(
                "the local tests' provider needs libfabric",
            )(e))
        }
    };
    let names = rdmabench_engine::available_providers(&lib, MessageApi::Msg).map_err(|source| {
        PipelineError::Engine {
            what: "asking libfabric for its providers".into(),
            source,
        }
    })?;
    LOCAL_PROVIDERS
        .into_iter()
        .find(|wanted| names.iter().any(|n| core_provider_name(n) == *wanted))
        .map(Ok)
        .ok_or_else(|| {
            PipelineError::Refused(format!(
                "libfabric offers neither net nor tcp (it has: {}); the local target needs one of them",
                names.join(", ")
            ))
        })
}

/// Records where a measurement ran (and any caveat) in the file the client wrote.
fn annotate(
    path: &Path,
    hosts: &LocalHosts,
    repetition: u32,
    note: Option<&str>,
) -> Result<(), PipelineError> {
    let reading = format!("reading {}", path.display());
    let text = std::fs::read_to_string(path).map_err(PipelineError::io(reading.clone()))?;
    let mut results = ResultsFile::from_json(&text).map_err(|source| PipelineError::Results {
        what: reading,
        source,
    })?;
    let (server, client) = hosts.end_names();
    results.placement = Some(Placement {
        target: Target::Local.name().into(),
        cluster: results.endpoints.local.hostname.clone(),
        mode: hosts.kind().into(),
        namespace: String::new(),
        server_node: server,
        client_node: client,
        instance_type: String::new(),
        image: String::new(),
        repetition,
        efa_devices: None,
        network_policy: None,
    });
    if let Some(note) = note {
        results.note = Some(match results.note.take() {
            Some(existing) => format!("{existing}; {note}"),
            None => note.to_string(),
        });
    }
    write_atomically(path, results.to_json_pretty().as_bytes())
        .map_err(PipelineError::io(format!("writing {}", path.display())))
}

/// The same test over kernel TCP: `--provider X` becomes `--transport socket`.
fn socket_options(options: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut iter = options.iter();
    while let Some(option) = iter.next() {
        if option == "--provider" {
            iter.next();
            out.extend(["--transport".to_string(), "socket".to_string()]);
        } else {
            out.push(option.clone());
        }
    }
    out
}

/// Runs the suite between two local hosts: every test's options are checked (with `check`)
/// before anything is made; then the hosts, the run directory and each measurement in turn,
/// `repeat` times, until done or `interrupted`. `progress` hears each step.
pub fn run_local(
    run: &LocalRun,
    check: OptionsCheck,
    interrupted: &Arc<AtomicBool>,
    progress: &mut dyn FnMut(&str),
) -> Result<LocalRunReport, PipelineError> {
    if let Some(test) = run.suite.tests.iter().find(|t| t.uses_shm()) {
        return Err(PipelineError::Refused(format!(
            "test '{}' uses provider shm, which crosses no network stack; the local target measures between two hosts: use net or tcp",
            test.name
        )));
    }
    let provider = local_provider()?;
    let default_provider = provider.as_deref().unwrap_or("tcp");
    // Every test's options as the two processes will get them, checked before anything is made.
    for test in &run.suite.tests {
        let checked = if test.kind == "tool" {
            // Checked by the suite itself; its sizes and counts with rdmabench's own parsers.
            let plan = tool_plan(test, &provider, run.iters)?;
            tool_sizes(&plan).map(drop).map_err(Into::into)
        } else {
            check(
                &test.kind,
                &test.options(Target::Local, default_provider, run.iters),
            )
        };
        checked.map_err(|source| PipelineError::Test {
            test: test.name.clone(),
            source,
        })?;
    }
    let (hosts, hosts_note) = LocalHosts::create(run.hosts)?;
    if let Some(note) = &hosts_note {
        progress(note);
    }
    let fallback_note = provider.as_ref().err().cloned();
    if let Some(note) = &fallback_note {
        progress(note);
    }
    progress(&format!("local target: {}", hosts.describe()));
    let dir = new_run_dir(run.results_dir, Target::Local.name())?;
    let suite_file = dir.join("suite.toml");
    write_atomically(&suite_file, run.suite_text.as_bytes()).map_err(PipelineError::io(
        format!("writing {}", suite_file.display()),
    ))?;
    let total = run.suite.tests.len() * run.repeat as usize;
    let mut report = LocalRunReport {
        dir,
        skipped: Vec::new(),
        failures: Vec::new(),
        interrupted: false,
        measured: false,
    };
    let mut step = 0;
    'runs: for repetition in 1..=run.repeat {
        for test in &run.suite.tests {
            step += 1;
            let output = report
                .dir
                .join(results_file_name(&test.name, None, repetition));
            let (outcome, note) = if test.kind == "tool" {
                progress(&format!(
                    "[{step}/{total}] {} ({}), repetition {repetition} of {}",
                    test.name,
                    test.tool.as_deref().unwrap_or_default(),
                    run.repeat
                ));
                let plan = tool_plan(test, &provider, run.iters)?;
                match run_tool(&hosts, &plan, &output, run.limit, interrupted, &provider)? {
                    ToolOutcome::Skipped(why) => {
                        progress(&format!("{} skipped: {why}", test.name));
                        if repetition == 1 {
                            report.skipped.push(format!("{} skipped: {why}", test.name));
                        }
                        continue;
                    }
                    ToolOutcome::Ran(outcome) => (outcome, None),
                }
            } else {
                let mut options = test.options(Target::Local, default_provider, run.iters);
                let mut note = None;
                if provider.is_err() && test.transport == "fabric" && test.provider == "default" {
                    options = socket_options(&options);
                    note = fallback_note.as_deref();
                }
                progress(&format!(
                    "[{step}/{total}] {} ({}), repetition {repetition} of {}",
                    test.name,
                    options.join(" "),
                    run.repeat
                ));
                let measurement = Measurement {
                    program: run.program.clone(),
                    kind: test.kind.clone(),
                    options,
                    output: output.clone(),
                    timeout: run.timeout.to_string(),
                    limit: run.limit,
                };
                (measure(&hosts, &measurement, interrupted)?, note)
            };
            if output.is_file() {
                annotate(&output, &hosts, repetition, note)?;
                report.measured = true;
            }
            match outcome {
                Outcome::Complete => {}
                Outcome::Failed(reason) => {
                    progress(&format!("{} failed: {reason}", test.name));
                    report
                        .failures
                        .push(format!("{} (repetition {repetition}): {reason}", test.name));
                }
                Outcome::Interrupted => break 'runs,
            }
        }
    }
    drop(hosts);
    report.interrupted = interrupted.load(Ordering::SeqCst);
    Ok(report)
}
