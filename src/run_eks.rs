//! `rdmabench run --target eks` (rdmabench-pipeline's eks_run runs it): the terminal as its
//! frontend, and how the run's end becomes an exit code.

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use rdmabench_infra::stack::up::UpOptions;
use rdmabench_infra::stack::Console;
use rdmabench_infra::InfraError;
use rdmabench_k8s::access::ClusterChoice;
use rdmabench_k8s::orchestrate::Progress;
use rdmabench_pipeline::eks_run::{run_eks as run_suite, EksFrontend, EksRun};
use rdmabench_pipeline::{BoxError, PipelineError, Suite};
use rdmabench_report::collection::Statistic;

use crate::cli::RunArgs;
use crate::infra::Terminal;
use crate::interrupt::EXIT_INTERRUPTED;

/// The user at the terminal of `run --target eks`: the infra commands' console, and the
/// statistic the run's report compares on.
struct EksTerminal {
    console: Terminal,
    statistic: Statistic,
}

impl Console for EksTerminal {
    fn progress(&mut self, line: &str) {
        self.console.progress(line);
    }

    fn show(&mut self, text: &str) {
        self.console.show(text);
    }

    fn confirm(&mut self, question: &str) -> Result<bool, InfraError> {
        self.console.confirm(question)
    }
}

impl EksFrontend for EksTerminal {
    fn remote_options(&self, kind: &str, options: &[String]) -> Result<Vec<String>, BoxError> {
        crate::bench::remote_options(kind, options).map_err(Into::into)
    }

    fn cluster_progress(&self) -> Progress {
        Arc::new(|line: &str| crate::infra::progress(line))
    }

    fn report(&mut self, dir: &Path, notes: &[String]) -> Result<(), BoxError> {
        crate::output::run_report(dir, notes, self.statistic).map_err(Into::into)
    }
}

/// Runs `run --target eks`; returns the exit code.
pub fn run_eks(args: &RunArgs, suite: &Suite, suite_text: &str) -> Result<i32> {
    let run = EksRun {
        suite,
        suite_text,
        iters: args.iters.as_deref(),
        repeat: args.repeat,
        results_dir: &args.results_dir,
        timeout: &args.timeout,
        timeouts: crate::k8s::timeouts(&args.start_timeout, &args.limit)?,
        config_path: &args.config,
        up: UpOptions {
            ttl: args.ttl.clone(),
        },
        image: args.image.clone(),
        source: &args.source,
        cluster: ClusterChoice {
            kubeconfig: args.cluster.kubeconfig,
            context: args.cluster.context.clone(),
            namespace: args.cluster.namespace.clone(),
        },
        down_after: args.down_after,
    };
    let interrupted = crate::interrupt::flag()?;
    let mut terminal = EksTerminal {
        console: Terminal { yes: args.yes },
        statistic: args.metric.statistic(),
    };
    let done = match run_suite(&run, &interrupted, &mut terminal) {
        Err(PipelineError::DownAfter { source, failure }) => {
            if let Some(failure) = failure {
                eprintln!("error: {:#}", anyhow::Error::new(*failure));
            }
            return Err(anyhow::Error::new(source).context(
                "--down-after could not destroy the stack; run `rdmabench infra down` again",
            ));
        }
        other => other?,
    };
    if !done.measured {
        eprintln!(
            "rdmabench: no measurement finished; nothing to report ({})",
            done.dir.display()
        );
    }
    if let Some(failure) = done.failure {
        return Err(failure.into());
    }
    Ok(if done.stopped { EXIT_INTERRUPTED } else { 0 })
}
