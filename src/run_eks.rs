//! `rdmabench run --target eks`: the stack, the image, every test in node and pod mode
//! (alternating), then the report; with --down-after the stack is destroyed whatever happened.

use anyhow::{Context, Result};
use rdmabench_k8s::manifests::Mode;
use rdmabench_pipeline::local_run::new_run_dir;
use rdmabench_pipeline::tools;
use rdmabench_pipeline::{MpiTool, Suite, Target, ToolPlan};

use crate::cli::{DownArgs, InfraCommand, RunArgs, UpArgs};
use crate::interrupt::EXIT_INTERRUPTED;
use crate::k8s::{ClusterRun, ClusterTest};
use crate::output::{emit, run_report};

/// A tool test's options for `rdmabench tool` on the cluster's two ends.
fn tool_end_options(plan: &ToolPlan) -> Vec<String> {
    let mut options: Vec<String> = [
        "--tool",
        &plan.tool,
        "--sizes",
        &plan.sizes,
        "--iters",
        &plan.iterations,
        "--provider",
        &plan.provider,
        "--api",
        if plan.tagged { "tagged" } else { "msg" },
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if plan.verify {
        options.push("--verify".into());
    }
    if let Some(fabric) = &plan.fabric {
        options.extend(["--fabric".to_string(), fabric.clone()]);
    }
    if let Some(warmup) = &plan.warmup {
        options.extend(["--warmup".to_string(), warmup.clone()]);
    }
    options
}

/// `run --target eks`: the stack (reused when it exists), the image (reused when ECR has it),
/// then every test in node and pod mode, alternating, then the report; with --down-after the
/// stack is destroyed at the end whatever happened.
pub fn run_eks(args: &RunArgs, suite: &Suite, suite_text: &str) -> Result<i32> {
    let config = crate::infra::load_config(&args.config)?;
    let timeouts = crate::k8s::timeouts(&args.start_timeout, &args.limit)?;
    let mut tests = Vec::new();
    let mut skipped = Vec::new();
    for test in &suite.tests {
        let plan = test.tool_plan(Target::Eks, "efa", args.iters.as_deref());
        let not_on_eks = plan
            .as_ref()
            .and_then(|p| tools::spec(tools::executable(&p.tool)))
            .and_then(|spec| spec.not_on_eks);
        if let Some(reason) = not_on_eks {
            let why = format!("{} skipped: {reason}", test.name);
            eprintln!("rdmabench: {why}");
            skipped.push(why);
            continue;
        }
        // MPI tools start their other rank in the server pod themselves (`rdmabench launch`).
        let launcher = plan
            .as_ref()
            .is_some_and(|p| MpiTool::from_name(&p.tool).is_some());
        let mut bench_options = match &plan {
            Some(plan) => tool_end_options(plan),
            None => test.options(Target::Eks, "efa", args.iters.as_deref()),
        };
        bench_options.extend(["--timeout".to_string(), args.timeout.clone()]);
        crate::bench::remote_options(&test.kind, &bench_options)
            .with_context(|| format!("test '{}'", test.name))?;
        let modes = test
            .modes
            .iter()
            .map(|m| if m == "node" { Mode::Node } else { Mode::Pod })
            .collect();
        tests.push(ClusterTest {
            name: test.name.clone(),
            kind: test.kind.clone(),
            bench_options,
            modes,
            launcher,
        });
    }
    let dir = new_run_dir(&args.results_dir, Target::Eks.name())?;
    emit(suite_text, Some(&dir.join("suite.toml")))?;
    let steps = || -> Result<crate::k8s::TestsRun> {
        eprintln!("rdmabench: [1/3] the stack");
        crate::infra::ensure_stack(
            &args.config,
            &UpArgs {
                yes: args.yes,
                ttl: args.ttl.clone(),
            },
        )?;
        eprintln!("rdmabench: [2/3] the benchmark image");
        let image = match &args.image {
            Some(image) => image.clone(),
            None => crate::image::ensure_image(&args.config, &args.source)?,
        };
        eprintln!("rdmabench: [3/3] node-mode and pod-mode measurements");
        crate::k8s::run_tests(
            &config,
            &args.cluster,
            &ClusterRun {
                image,
                tests,
                repeat: args.repeat,
                run_dir: dir.clone(),
                timeouts,
                print_tables: false,
            },
        )
    };
    let outcome = steps();
    let reported = match &outcome {
        Ok(done) if !done.written.is_empty() => {
            let mut notes: Vec<String> =
                skipped.iter().chain(&done.tool_failures).cloned().collect();
            notes.extend(done.failure.iter().map(crate::k8s::stopped_early));
            Some(run_report(&dir, &notes))
        }
        _ => None,
    };
    if args.down_after {
        eprintln!(
            "rdmabench: --down-after: destroying stack '{}'",
            config.name
        );
        let down = crate::infra::run(
            &InfraCommand::Down(DownArgs {
                yes: true,
                orphans: false,
            }),
            &args.config,
        );
        if let Err(error) = down {
            let failed = match &outcome {
                Err(step) => Some(step),
                Ok(done) => done.failure.as_ref(),
            };
            if let Some(step) = failed {
                eprintln!("error: {step:#}");
            }
            return Err(error.context(
                "--down-after could not destroy the stack; run `rdmabench infra down` again",
            ));
        }
    }
    let done = outcome?;
    if let Some(reported) = reported {
        reported?;
    } else {
        eprintln!(
            "rdmabench: no measurement finished; nothing to report ({})",
            dir.display()
        );
    }
    if let Some(failure) = done.failure {
        return Err(failure);
    }
    Ok(if done.stopped { EXIT_INTERRUPTED } else { 0 })
}
