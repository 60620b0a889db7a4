//! `rdmabench tools`: which reference tools this host has (fi_pingpong, perftest, OSU, NetPIPE,
//! Open MPI), with versions, and what provides the missing ones.

use anyhow::Result;
use rdmabench_pipeline::tools::discover;
use serde_json::json;

use crate::cli::{FormatArg, ToolsArgs};
use crate::output::{emit, listing};

/// Runs `rdmabench tools`; returns the exit code (0: a listing, whatever is missing).
pub fn run(args: &ToolsArgs) -> Result<i32> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let tools = discover(&path);
    let text = match args.format {
        FormatArg::Json => {
            let doc = json!({
                "schema_version": 1,
                "kind": "rdmabench-tools",
                "tools": tools,
            });
            format!("{}\n", serde_json::to_string_pretty(&doc)?)
        }
        format => {
            let rows: Vec<Vec<String>> = tools
                .iter()
                .map(|t| {
                    vec![
                        t.name.to_string(),
                        t.version.clone().unwrap_or_else(|| {
                            if t.path.is_some() { "unknown" } else { "-" }.to_string()
                        }),
                        match &t.path {
                            Some(path) => path.display().to_string(),
                            None => format!("not installed: {}", t.provided_by),
                        },
                        t.measures.to_string(),
                    ]
                })
                .collect();
            listing(
                format,
                "reference tools on PATH; a suite's tests of a missing tool are skipped and reported",
                &["tool", "version", "path", "measures"],
                &rows,
            )
        }
    };
    emit(&text, None)?;
    Ok(0)
}
