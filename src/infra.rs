//! `rdmabench init` and `rdmabench infra ...`: the configuration file and the Terraform stack.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use rdmabench_infra::aws::{Aws, STACK_TAG};
use rdmabench_infra::config::Cidr;
use rdmabench_infra::instances::{Accelerator, Arch, EFA_INSTANCE_TYPES};
use rdmabench_infra::state::{self, StackRecord, RECORD_SCHEMA_VERSION};
use rdmabench_infra::terraform::{Echo, Terraform};
use rdmabench_infra::workspace::{write_stack, StateResource, Workspace};
use rdmabench_infra::{orphans, preflight, pricing, template, ttl, StackConfig};

use crate::cli::{DownArgs, InfraCommand, InitArgs, OutputsArgs, PlanArgs, SynthArgs, UpArgs};
use crate::output::emit;

/// Reads and validates the configuration file.
pub fn load_config(path: &Path) -> Result<StackConfig> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read {} (create one with `rdmabench init`, or pass --config)",
            path.display()
        )
    })?;
    StackConfig::from_toml(&text, &path.display().to_string()).map_err(|e| match e {
        rdmabench_infra::ConfigError::Invalid { .. } => {
            anyhow::Error::new(e).context(format!("invalid setting in {}", path.display()))
        }
        parse => parse.into(),
    })
}

/// `rdmabench init`: writes a commented configuration, never over an existing one unless asked.
pub fn init(args: &InitArgs) -> Result<i32> {
    for cidr in &args.public_cidr {
        if Cidr::parse(cidr).is_none() {
            bail!("--public-cidr {cidr}: not an IPv4 network in CIDR form such as 203.0.113.7/32");
        }
    }
    if args.config.exists() && !args.force {
        bail!(
            "{} already exists; keep it, or overwrite it with --force",
            args.config.display()
        );
    }
    let text = template::render(&args.public_cidr);
    emit(&text, Some(&args.config))?;
    eprintln!("rdmabench: wrote {}", args.config.display());
    if args.public_cidr.is_empty() {
        eprintln!("rdmabench: set cluster.public_access_cidrs (your address as a /32) before `rdmabench infra synth`");
    }
    Ok(0)
}

/// `rdmabench infra ...`.
pub fn run(command: &InfraCommand, config_path: &Path) -> Result<i32> {
    let config = || load_config(config_path);
    match command {
        InfraCommand::InstanceTypes => instance_types(),
        InfraCommand::Synth(args) => synth(args, &config()?),
        InfraCommand::Check => check(workspace(config()?)?),
        InfraCommand::Plan(args) => plan(args, workspace(config()?)?),
        InfraCommand::Up(args) => up(args, workspace(config()?)?),
        InfraCommand::Outputs(args) => outputs(args, workspace(config()?)?),
        InfraCommand::Down(args) => down(args, workspace(config()?)?),
        InfraCommand::Status => status(workspace(config()?)?),
    }
}

fn workspace(config: StackConfig) -> Result<Workspace> {
    Ok(Workspace::new(config, Terraform::find()?))
}

fn now() -> (String, u64) {
    let now = SystemTime::now();
    let unix = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    (humantime::format_rfc3339_seconds(now).to_string(), unix)
}

/// The creation time to write into the tags: the recorded one, else now.
fn creation_time(name: &str) -> Result<String> {
    Ok(read_record(name)?.map_or_else(|| now().0, |r| r.created_at))
}

fn read_record(name: &str) -> Result<Option<StackRecord>> {
    state::read_record(name).with_context(|| {
        format!(
            "reading {}/stack.json (delete it if it is damaged; `infra status` then shows less)",
            state::stack_dir(name).display()
        )
    })
}

/// Asks on the terminal; without one, only --yes proceeds.
fn confirm(yes: bool, question: &str) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!("{question} Refusing without confirmation: stdin is not a terminal; pass --yes");
    }
    eprint!("{question} Type 'yes' to continue: ");
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .context("reading the answer")?;
    if answer.trim() != "yes" {
        bail!("cancelled; nothing was changed");
    }
    Ok(())
}

fn check(workspace: Workspace) -> Result<i32> {
    let aws = Aws::connect(&workspace.config().region)?;
    let findings = preflight::run(&workspace, &aws)?;
    emit(&preflight::render(&findings), None)?;
    Ok(if findings.iter().all(|f| f.ok) { 0 } else { 1 })
}

fn plan(args: &PlanArgs, workspace: Workspace) -> Result<i32> {
    workspace.prepare(&creation_time(&workspace.config().name)?)?;
    let changes = workspace.plan(Echo::Result)?;
    Ok(if args.detailed_exitcode && changes {
        2
    } else {
        0
    })
}

fn up(args: &UpArgs, workspace: Workspace) -> Result<i32> {
    let workspace = up_stack(args, workspace)?;
    print_outputs(&workspace, false)
}

/// The first step of `rdmabench run --target eks`: reuses the stack when it exists and matches
/// the configuration (a plan without changes, shown on stderr), otherwise creates or updates
/// it as `infra up` does, with the same preflight, cost table and confirmation.
pub fn ensure_stack(config_path: &Path, args: &UpArgs) -> Result<()> {
    let workspace = workspace(load_config(config_path)?)?;
    let name = workspace.config().name.clone();
    if let Some(record) = read_record(&name)? {
        workspace.prepare(&record.created_at)?;
        if !workspace.state_resources()?.is_empty() {
            eprintln!(
                "rdmabench: stack '{name}' exists (created {}); checking that it matches {}",
                record.created_at,
                config_path.display()
            );
            if !workspace.plan(Echo::Progress)? {
                eprintln!("rdmabench: stack '{name}' is up to date; reusing it");
                return Ok(());
            }
            eprintln!("rdmabench: stack '{name}' differs from the configuration (plan above); updating it");
        }
    }
    up_stack(args, workspace).map(drop)
}

/// `infra up` without printing the outputs: preflight, orphan guard, cost, confirmation, apply.
fn up_stack(args: &UpArgs, workspace: Workspace) -> Result<Workspace> {
    let config = workspace.config().clone();
    let ttl_text = args.ttl.clone().unwrap_or_else(|| config.ttl.clone());
    let Some(ttl_minutes) = ttl::parse_ttl(&ttl_text) else {
        bail!("--ttl {ttl_text}: use a duration in hours or minutes, e.g. 4h or 90m");
    };
    let aws = Aws::connect(&config.region)?;
    eprintln!(
        "rdmabench: preflight for stack '{}' in {}",
        config.name, config.region
    );
    let findings = preflight::run(&workspace, &aws)?;
    eprint!("{}", preflight::render(&findings));
    if findings.iter().any(|f| !f.ok) {
        bail!("the preflight failed (see the FAIL lines above); nothing was created");
    }

    let record = read_record(&config.name)?;
    let (created_at, created_at_unix) = match &record {
        Some(r) => (r.created_at.clone(), r.created_at_unix),
        None => now(),
    };
    workspace.prepare(&created_at)?;
    if workspace.state_resources()?.is_empty() {
        let mut found = aws.stack_resources(&config.name)?;
        found.retain(|r| !r.lingers_after_deletion());
        if !found.is_empty() {
            bail!(
                "{} resources tagged {STACK_TAG}={} already exist in {}, but there is no state for them in {}; remove them with `rdmabench infra down --orphans`, or choose another stack name",
                found.len(),
                config.name,
                config.region,
                workspace.dir().display()
            );
        }
    }

    let estimate = pricing::estimate(&config)?;
    eprint!("{}", estimate.render());
    confirm(
        args.yes,
        &format!(
            "Create stack '{}' ({} x {}) in {}? It costs {} until `rdmabench infra down`.",
            config.name,
            config.nodes.count,
            config.nodes.instance_type,
            config.region,
            estimate.total_text()
        ),
    )?;
    let record = StackRecord {
        schema_version: RECORD_SCHEMA_VERSION,
        created_at,
        created_at_unix,
        ttl_minutes,
        region: config.region.clone(),
        instance_type: config.nodes.instance_type.clone(),
        node_count: config.nodes.count,
        usd_per_hour: estimate.known_usd_per_hour(),
        price_complete: !estimate.has_unknown(),
    };
    state::write_record(&config.name, &record).context("recording the stack's creation")?;
    if let Err(error) = workspace.apply() {
        let text = error.to_string();
        let capacity = [
            "InsufficientInstanceCapacity",
            "InsufficientCapacity",
            "Unfulfillable",
        ]
        .iter()
        .any(|code| text.contains(code));
        let hint = if capacity {
            format!(
                "\nhint: AWS has no free {} capacity in the chosen AZ right now; pick another AZ with network.availability_zones, use a capacity reservation (nodes.capacity_reservation_id), or try later",
                config.nodes.instance_type
            )
        } else {
            String::new()
        };
        return Err(anyhow::Error::new(error).context(format!(
            "creating stack '{}' failed; what was created is recorded in {}: fix the cause and run `rdmabench infra up` again, or remove it with `rdmabench infra down`{hint}",
            config.name,
            workspace.dir().display()
        )));
    }
    eprintln!(
        "rdmabench: stack '{}' is up; it costs {} until `rdmabench infra down` (TTL {ttl_text})",
        config.name,
        estimate.total_text()
    );
    Ok(workspace)
}

fn outputs(args: &OutputsArgs, workspace: Workspace) -> Result<i32> {
    workspace.prepare(&creation_time(&workspace.config().name)?)?;
    print_outputs(&workspace, args.json)
}

fn print_outputs(workspace: &Workspace, json: bool) -> Result<i32> {
    let outputs = workspace.outputs()?;
    if outputs.is_empty() {
        bail!(
            "stack '{}' has no outputs: it does not exist yet (run `rdmabench infra up`)",
            workspace.config().name
        );
    }
    let text = if json {
        let document = serde_json::json!({
            "schema_version": 1,
            "stack": workspace.config().name,
            "outputs": outputs,
        });
        serde_json::to_string_pretty(&document)? + "\n"
    } else {
        outputs
            .iter()
            .map(|(name, value)| match value.as_str() {
                Some(text) => format!("{name} = {text}\n"),
                None => format!("{name} = {value}\n"),
            })
            .collect()
    };
    emit(&text, None)?;
    Ok(0)
}

fn down(args: &DownArgs, workspace: Workspace) -> Result<i32> {
    let config = workspace.config().clone();
    workspace.prepare(&creation_time(&config.name)?)?;
    let in_state = workspace.state_resources()?;
    if args.orphans {
        return down_orphans(args, &workspace, in_state.len());
    }
    if in_state.is_empty() {
        eprintln!(
            "rdmabench: no state for stack '{}' in {}: nothing to destroy. If resources of a lost state remain, run `rdmabench infra down --orphans`.",
            config.name,
            workspace.dir().display()
        );
        state::remove_record(&config.name).context("removing the stack record")?;
        return Ok(0);
    }
    confirm(
        args.yes,
        &format!(
            "Destroy stack '{}' in {} ({} resources)?",
            config.name,
            config.region,
            in_state.len()
        ),
    )?;
    destroy(&workspace)?;
    state::remove_record(&config.name).context("removing the stack record")?;
    eprintln!("rdmabench: stack '{}' destroyed", config.name);
    report_leftovers(config, &in_state)
}

fn down_orphans(args: &DownArgs, workspace: &Workspace, in_state: usize) -> Result<i32> {
    let config = workspace.config();
    if in_state > 0 {
        bail!(
            "stack '{}' has {in_state} resources in its state at {}; use `rdmabench infra down` (without --orphans)",
            config.name,
            workspace.dir().display()
        );
    }
    let aws = Aws::connect(&config.region)?;
    let caller = aws.caller_identity()?;
    let found = aws.stack_resources(&config.name)?;
    eprintln!(
        "rdmabench: {} resources tagged {STACK_TAG}={} in {}:",
        found.len(),
        config.name,
        config.region
    );
    for resource in &found {
        eprintln!("  {}", resource.arn);
    }
    // `down` has just synthesized and initialized the workspace; the imports use that stack.
    let main: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(workspace.dir().join("main.tf.json"))
            .context("reading the synthesized stack")?,
    )?;
    let imports = orphans::plan_imports(&main, &found, caller.partition());
    confirm(
        args.yes,
        &format!(
            "Look up and destroy what remains of stack '{}' ({} tagged resources, {} candidates by name)?",
            config.name,
            found.len(),
            imports.len()
        ),
    )?;
    let mut imported = 0;
    for import in &imports {
        match workspace.import(&import.address, &import.id)? {
            Ok(()) => {
                imported += 1;
                eprintln!("rdmabench: found {} ({})", import.address, import.id);
            }
            Err(reason) => {
                let first = reason.lines().next().unwrap_or_default();
                eprintln!(
                    "rdmabench: not found {} ({}): {first}",
                    import.address, import.id
                );
            }
        }
    }
    let in_state = workspace.state_resources()?;
    if imported == 0 {
        eprintln!("rdmabench: nothing of stack '{}' exists", config.name);
    } else {
        destroy(workspace)?;
        eprintln!(
            "rdmabench: destroyed {imported} resources of stack '{}'",
            config.name
        );
    }
    state::remove_record(&config.name).context("removing the stack record")?;
    report_leftovers(config.clone(), &in_state)
}

/// `terraform destroy`; on failure what remains stays in the state, so `down` can simply retry.
fn destroy(workspace: &Workspace) -> Result<()> {
    workspace.destroy().with_context(|| {
        format!(
            "destroying stack '{}' failed; what remains is recorded in {}: run `rdmabench infra down` again",
            workspace.config().name,
            workspace.dir().display()
        )
    })
}

/// After a destroy, asks the tagging API whether anything with the stack's tag remains.
/// Resources terraform has just destroyed do not count: AWS keeps listing deleted NAT gateways
/// for about an hour and KMS keys until their deletion window ends.
fn report_leftovers(config: StackConfig, destroyed: &[StateResource]) -> Result<i32> {
    let tagged = Aws::connect(&config.region)
        .and_then(|aws| aws.stack_resources(&config.name))
        .context("checking by tag that nothing is left")?;
    let (ghosts, left): (Vec<_>, Vec<_>) = tagged
        .into_iter()
        .partition(|r| destroyed.iter().any(|d| d.is(r)));
    if !ghosts.is_empty() {
        eprintln!(
            "rdmabench: {} destroyed resources are still listed by AWS for a while (deleted NAT gateways, KMS keys pending deletion)",
            ghosts.len()
        );
    }
    if left.is_empty() {
        eprintln!(
            "rdmabench: nothing tagged {STACK_TAG}={} is left in {}",
            config.name, config.region
        );
        return Ok(0);
    }
    eprintln!(
        "rdmabench: {} resources still carry {STACK_TAG}={} (the tagging API can lag a few minutes behind deletions; re-check with `rdmabench infra status`):",
        left.len(),
        config.name
    );
    for resource in &left {
        eprintln!("  {}", resource.arn);
    }
    Ok(1)
}

fn status(workspace: Workspace) -> Result<i32> {
    let config = workspace.config().clone();
    let mut out = format!(
        "stack:    {} ({})\nstate:    {}\n",
        config.name,
        config.region,
        workspace.dir().display()
    );
    match read_record(&config.name)? {
        None => {
            out.push_str("created:  never (no `rdmabench infra up` recorded on this machine)\n")
        }
        Some(record) => {
            let age_minutes = now().1.saturating_sub(record.created_at_unix) / 60;
            let cost = record.usd_per_hour * age_minutes as f64 / 60.0;
            out.push_str(&format!(
                "created:  {} ({}h{:02}m ago)\nnodes:    {} x {}\nttl:      {}h{:02}m{}\ncost:     {}${cost:.2} so far at ${:.2}/h (estimate)\n",
                record.created_at,
                age_minutes / 60,
                age_minutes % 60,
                record.node_count,
                record.instance_type,
                record.ttl_minutes / 60,
                record.ttl_minutes % 60,
                if age_minutes > record.ttl_minutes { "  EXCEEDED: run `rdmabench infra down`" } else { "" },
                if record.price_complete { "" } else { "at least " },
                record.usd_per_hour,
            ));
            if age_minutes > record.ttl_minutes {
                eprintln!(
                    "warning: stack '{}' has outlived its TTL; it keeps costing until `rdmabench infra down`",
                    config.name
                );
            }
        }
    }
    let in_state = if workspace.dir().join(".terraform").exists() {
        workspace.state_resources()?.len()
    } else {
        0
    };
    out.push_str(&format!("in state: {in_state} resources\n"));
    match Aws::connect(&config.region).and_then(|aws| aws.stack_resources(&config.name)) {
        Ok(found) => out.push_str(&format!(
            "tagged:   {} resources carry {STACK_TAG}={} in AWS\n",
            found.len(),
            config.name
        )),
        Err(e) => out.push_str(&format!("tagged:   not checked ({e})\n")),
    }
    emit(&out, None)?;
    Ok(0)
}

fn synth(args: &SynthArgs, config: &StackConfig) -> Result<i32> {
    let created_at = creation_time(&config.name)?;
    let out: PathBuf = args
        .out
        .clone()
        .unwrap_or_else(|| state::stack_dir(&config.name).join("terraform"));
    write_stack(config, &created_at, &out)?;
    eprintln!(
        "rdmabench: wrote versions.tf.json and main.tf.json for stack '{}' ({} x {})",
        config.name, config.nodes.count, config.nodes.instance_type
    );
    emit(&format!("{}\n", out.display()), None)?;
    Ok(0)
}

fn instance_types() -> Result<i32> {
    let mut out = String::from(
        "instance_type      arch    vcpus  memory_gib  efa_interfaces  accelerator  ami_type\n",
    );
    for t in EFA_INSTANCE_TYPES {
        let arch = match t.arch {
            Arch::Arm64 => "arm64",
            Arch::X86_64 => "x86_64",
        };
        let accelerator = match t.accelerator {
            Accelerator::None => "-",
            Accelerator::Nvidia => "nvidia",
            Accelerator::Neuron => "neuron",
        };
        out.push_str(&format!(
            "{:<18} {:<7} {:>5}  {:>10}  {:>14}  {:<11}  {}\n",
            t.name,
            arch,
            t.vcpus,
            t.memory_mib / 1024,
            t.network_cards,
            accelerator,
            t.ami_type()
        ));
    }
    emit(&out, None)?;
    Ok(0)
}

/// Named outputs of the stack as `infra up` left them, for the commands that work on what it
/// created; `otherwise` tells the user how to proceed without the stack.
pub fn stack_outputs(config: &StackConfig, names: &[&str], otherwise: &str) -> Result<Vec<String>> {
    let workspace = Workspace::new(config.clone(), Terraform::find()?);
    if !workspace.dir().join(".terraform").exists() {
        bail!(
            "stack '{}' has not been created from this machine (nothing in {}): create it with `rdmabench infra up`, or {otherwise}",
            config.name,
            workspace.dir().display()
        );
    }
    let outputs = workspace.outputs().context("reading the stack's outputs")?;
    names
        .iter()
        .map(|name| {
            outputs
                .get(*name)
                .and_then(|value| value.as_str())
                .map(str::to_string)
                .with_context(|| {
                    format!(
                        "stack '{}' has no {name} output: it does not exist (run `rdmabench infra up`), or {otherwise}",
                        config.name
                    )
                })
        })
        .collect()
}
