//! Reference tools in `rdmabench run` on the local target: a suite test of kind "tool" runs
//! fi_pingpong between the same two hosts as rdmabench's own tests, and its output lands in the
//! same results model (through `rdmabench import`'s parser), tagged with the tool, its version
//! and the exact command lines.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use rdmabench_pipeline::tools::discover;
use rdmabench_pipeline::{
    measure_fi_pingpong, LocalHosts, Outcome, Target, TestSpec, ToolMeasurement, ToolPlan,
};
use rdmabench_report::import::{self, Tool};
use rdmabench_stats::{parse_count, parse_size_list, sweep_sizes};

use crate::cli::RunArgs;
use crate::output::emit;

/// How a tool test ended.
pub enum ToolOutcome {
    /// Not run, and why (the tool or libfabric is missing).
    Skipped(String),
    /// Ran; its results file is written when any size completed.
    Ran(Outcome),
}

/// The test's tool run on the local target, its provider resolved like rdmabench's tests'.
pub fn tool_plan(
    test: &TestSpec,
    provider: &std::result::Result<&'static str, String>,
    args: &RunArgs,
) -> Result<ToolPlan> {
    test.tool_plan(
        Target::Local,
        provider.as_ref().map_or("tcp", |p| *p),
        args.iters.as_deref(),
    )
    .with_context(|| format!("test '{}' names no tool", test.name))
}

/// The plan's sizes and round trips, parsed as rdmabench's own options are.
pub fn tool_sizes(plan: &ToolPlan) -> Result<(Vec<u64>, u64)> {
    let sizes = if plan.sizes == "sweep" {
        sweep_sizes()
    } else {
        parse_size_list(&plan.sizes).context("sizes")?
    };
    let iterations = parse_count(&plan.iterations).context("iterations")?;
    Ok((sizes, iterations))
}

/// Runs the plan between `hosts` and writes its results to `output`.
pub fn run_tool(
    hosts: &LocalHosts,
    plan: &ToolPlan,
    output: &Path,
    limit: Duration,
    interrupted: &AtomicBool,
    libfabric: &std::result::Result<&'static str, String>,
) -> Result<ToolOutcome> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let Some(status) = discover(&path).into_iter().find(|t| t.name == plan.tool) else {
        return Ok(ToolOutcome::Skipped(format!(
            "{} is not a known tool",
            plan.tool
        )));
    };
    let Some(program) = status.path.clone() else {
        return Ok(ToolOutcome::Skipped(format!(
            "{} is not installed (it comes with {})",
            plan.tool, status.provided_by
        )));
    };
    if let Err(why) = libfabric {
        return Ok(ToolOutcome::Skipped(format!(
            "{} needs libfabric: {why}",
            plan.tool
        )));
    }
    let (sizes, iterations) = tool_sizes(plan)?;
    let started = SystemTime::now();
    let run = measure_fi_pingpong(
        hosts,
        &ToolMeasurement {
            program,
            provider: plan.provider.clone(),
            tagged: plan.tagged,
            sizes: sizes.clone(),
            iterations,
            verify: plan.verify,
            limit,
        },
        interrupted,
    )?;
    let mut rows = Vec::new();
    for text in &run.outputs {
        let (_, parsed) = import::parse(text, Some(Tool::FiPingpong))
            .with_context(|| format!("reading fi_pingpong's output:\n{text}"))?;
        rows.extend(parsed.rows);
    }
    if rows.is_empty() {
        return Ok(ToolOutcome::Ran(run.outcome));
    }
    let parsed = import::Parsed {
        test: "pingpong".into(),
        version: status.version.clone(),
        rows,
        note: None,
    };
    let context = import::Context {
        provider: Some(plan.provider.clone()),
        api: Some(if plan.tagged { "tagged" } else { "msg" }.into()),
        mode: None,
        instance_type: None,
        host: Some(hosts.end_names().1),
        command_line: Some(run.command_lines.join(" ; ")),
        timestamp: humantime::format_rfc3339_seconds(started).to_string(),
        source: format!("{}, run by rdmabench between the local hosts", plan.tool),
    };
    let mut results = import::results_file(Tool::FiPingpong, parsed, &context);
    if run.outcome != Outcome::Complete {
        results.complete = false;
        results.note = Some(format!(
            "stopped after {} of {} sizes; {}",
            run.outputs.len(),
            sizes.len(),
            results.note.take().unwrap_or_default()
        ));
    }
    emit(&results.to_json_pretty(), Some(output))?;
    Ok(ToolOutcome::Ran(run.outcome))
}
