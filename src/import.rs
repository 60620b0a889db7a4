//! `rdmabench import`: another tool's output in, one results file out.

use anyhow::{Context, Result};
use rdmabench_report::import::{self, Tool};

use crate::cli::{ImportArgs, ToolArg};
use crate::output::emit;

fn tool(arg: ToolArg) -> Tool {
    match arg {
        ToolArg::FiPingpong => Tool::FiPingpong,
        ToolArg::Perftest => Tool::Perftest,
        ToolArg::Osu => Tool::Osu,
        ToolArg::Imb => Tool::Imb,
        ToolArg::Netpipe => Tool::NetPipe,
        ToolArg::FabtestsPingpong => Tool::FabtestsPingpong,
        ToolArg::FabtestsBw => Tool::FabtestsBw,
    }
}

/// Runs `rdmabench import`; returns the exit code.
pub fn run(args: &ImportArgs) -> Result<i32> {
    let path = &args.file;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let modified = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .with_context(|| format!("reading the modification time of {}", path.display()))?;
    // What --tool says, else the header, else (for fabtests' table) the program --command runs.
    let tool = args
        .tool
        .map(tool)
        .or_else(|| Tool::detect(&text))
        .or_else(|| args.command.as_deref().and_then(Tool::from_command));
    let (tool, parsed) =
        import::parse(&text, tool).with_context(|| format!("importing {}", path.display()))?;
    let context = import::Context {
        provider: args.provider.clone(),
        fabric: args.fabric.clone(),
        api: args.api.clone(),
        mode: args.mode.clone(),
        instance_type: args.instance_type.clone(),
        host: args.host.clone(),
        command_line: args.command.clone(),
        timestamp: humantime::format_rfc3339_seconds(modified).to_string(),
        source: path.display().to_string(),
    };
    let results = import::results_file(tool, parsed, &context);
    eprintln!(
        "rdmabench: {} {} rows of {} output ({})",
        results.results.len(),
        results.test,
        tool.name(),
        path.display()
    );
    emit(&results.to_json_pretty(), args.output.as_deref())?;
    Ok(0)
}
