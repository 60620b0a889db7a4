//! `rdmabench tool`: one end of a reference tool between two real hosts (rdmabench-pipeline's
//! `ends` runs it); the client end's results file goes to stdout or --output.

use anyhow::{bail, Result};
use rdmabench_pipeline::ends::{self, EndReport, ToolEndOptions};
use rdmabench_pipeline::Outcome;

use crate::cli::{ApiArg, FormatArg, ToolEndArgs};
use crate::interrupt::{self, EXIT_INTERRUPTED};
use crate::output::emit;

/// The end's options as the pipeline takes them, after the checks of what only the command
/// line can get wrong.
fn options(args: &ToolEndArgs) -> Result<ToolEndOptions> {
    let tool = &args.tool;
    if args.bind != "0.0.0.0" {
        bail!("--bind {}: {tool} listens on every address; pin the provider's interface with its FI_<PROVIDER>_IFACE variable instead", args.bind);
    }
    if args.format != FormatArg::Json {
        bail!("--format: the tool's client end prints its results file as json only; `rdmabench report` renders it");
    }
    Ok(ToolEndOptions {
        tool: tool.clone(),
        server: args.host.clone(),
        port: args.port,
        sizes: args.sizes.clone(),
        iters: args.iters.clone(),
        provider: args.provider.clone(),
        tagged: args.api == ApiArg::Tagged,
        fabric: args.fabric.clone(),
        verify: args.verify,
        warmup: args.warmup.clone(),
        server_pod: args.server_pod.clone(),
        mpi_network: args.mpi_network.clone(),
        timeout: args.timeout.clone(),
        limit: args.limit.clone(),
    })
}

/// Checks the options as the ends will get them, so a bad suite fails before any pod exists.
pub fn check(args: &ToolEndArgs) -> Result<()> {
    Ok(ends::check(&options(args)?)?)
}

/// Runs `rdmabench tool`; returns the process exit code: 0, 130 after Ctrl-C, else 1 with the
/// reason on stderr.
pub fn run(args: &ToolEndArgs) -> Result<i32> {
    let options = options(args)?;
    let interrupted = interrupt::flag()?;
    let EndReport { results, outcome } = ends::run_end(&options, &interrupted, &mut |line| {
        eprintln!("rdmabench: {line}")
    })?;
    if let Some(results) = results {
        emit(&results.to_json_pretty(), args.output.as_deref())?;
    }
    let end = if args.host.is_some() {
        "client"
    } else {
        "server"
    };
    Ok(match outcome {
        Outcome::Complete => 0,
        Outcome::Interrupted => EXIT_INTERRUPTED,
        Outcome::Failed(reason) => {
            eprintln!("error: {} {end}: {reason}", args.tool);
            1
        }
    })
}
