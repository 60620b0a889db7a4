//! `infra up` and the first step of `run --target eks`: preflight, orphan guard, cost estimate,
//! confirmation, record, apply; a failed apply says how to retry or clean up.

use std::path::Path;

use super::outputs::Outputs;
use super::{confirmed, import_log_group, now, read_record, Console};
use crate::aws::{Aws, STACK_TAG};
use crate::config_file;
use crate::error::InfraError;
use crate::state::{self, StackRecord, RECORD_SCHEMA_VERSION};
use crate::synth::LOG_GROUP_ADDRESS;
use crate::terraform::Echo;
use crate::workspace::Workspace;
use crate::{preflight, pricing, ttl};

/// How `up` creates the stack.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// How long the stack may live before `status` warns, e.g. "4h" (default: the config's ttl).
    pub ttl: Option<String>,
}

/// Error codes AWS gives when it has no capacity of the node type, which another AZ, a
/// reservation or waiting may fix.
const CAPACITY_CODES: [&str; 3] = [
    "InsufficientInstanceCapacity",
    "InsufficientCapacity",
    "Unfulfillable",
];

/// `infra up`: creates or updates the stack and returns its outputs.
pub fn up(
    workspace: &Workspace,
    options: &UpOptions,
    console: &mut dyn Console,
) -> Result<Outputs, InfraError> {
    create(workspace, options, console)?;
    Outputs::read(workspace)
}

/// The first step of `rdmabench run --target eks`: reuses the stack when it exists and matches
/// the configuration at `config_path` (a plan without changes, shown on stderr), otherwise
/// creates or updates it as `infra up` does, with the same preflight, cost table and
/// confirmation.
pub fn ensure(
    config_path: &Path,
    options: &UpOptions,
    console: &mut dyn Console,
) -> Result<(), InfraError> {
    let workspace = Workspace::find(config_file::load(config_path)?)?;
    let name = workspace.config().name.clone();
    if let Some(record) = read_record(&name)? {
        workspace.prepare(&record.created_at)?;
        if !workspace.state_resources()?.is_empty() {
            console.progress(&format!(
                "stack '{name}' exists (created {}); checking that it matches {}",
                record.created_at,
                config_path.display()
            ));
            if !workspace.plan(Echo::Progress)? {
                console.progress(&format!("stack '{name}' is up to date; reusing it"));
                return Ok(());
            }
            console.progress(&format!(
                "stack '{name}' differs from the configuration (plan above); updating it"
            ));
        }
    }
    create(&workspace, options, console)
}

/// `infra up` without the outputs: preflight, orphan guard, cost, confirmation, apply.
fn create(
    workspace: &Workspace,
    options: &UpOptions,
    console: &mut dyn Console,
) -> Result<(), InfraError> {
    let config = workspace.config();
    let ttl_text = options.ttl.clone().unwrap_or_else(|| config.ttl.clone());
    let Some(ttl_minutes) = ttl::parse_ttl(&ttl_text) else {
        return Err(InfraError::Refused(format!(
            "--ttl {ttl_text}: use a duration in hours or minutes, e.g. 4h or 90m"
        )));
    };
    let aws = Aws::connect(&config.region)?;
    console.progress(&format!(
        "preflight for stack '{}' in {}",
        config.name, config.region
    ));
    let findings = preflight::run(workspace, &aws)?;
    console.show(&preflight::render(&findings));
    if findings.iter().any(|f| !f.ok) {
        return Err(InfraError::Refused(
            "the preflight failed (see the FAIL lines above); nothing was created".into(),
        ));
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
            return Err(InfraError::Refused(format!(
                "{} resources tagged {STACK_TAG}={} already exist in {}, but there is no state for them in {}; remove them with `rdmabench infra down --orphans`, or choose another stack name",
                found.len(),
                config.name,
                config.region,
                workspace.dir().display()
            )));
        }
    }

    let estimate = pricing::estimate(config)?;
    console.show(&estimate.render());
    confirmed(
        console,
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
    state::write_record(&config.name, &record)
        .map_err(|e| InfraError::context("recording the stack's creation", e))?;
    // A stray log group is imported, not deleted: this apply then sets its retention, key and
    // tags as the stack declares them, `down` deletes it, and the old cluster's logs in it expire
    // with the retention instead of being lost before anyone could read them.
    let in_state = workspace.state_resources()?;
    if !in_state.iter().any(|r| r.address == LOG_GROUP_ADDRESS) {
        if let Some(name) = import_log_group(workspace)? {
            console.progress(&format!(
                "log group {name} exists outside the state (EKS re-creates it while deleting a cluster of this name); adopted it into stack '{}'",
                config.name
            ));
        }
    }
    if let Err(error) = workspace.apply() {
        let text = error.to_string();
        let hint = if CAPACITY_CODES.iter().any(|code| text.contains(code)) {
            format!(
                "\nhint: AWS has no free {} capacity in the chosen AZ right now; pick another AZ with network.availability_zones, use a capacity reservation (nodes.capacity_reservation_id), or try later",
                config.nodes.instance_type
            )
        } else {
            String::new()
        };
        return Err(InfraError::context(
            format!(
                "creating stack '{}' failed; what was created is recorded in {}: fix the cause and run `rdmabench infra up` again, or remove it with `rdmabench infra down`{hint}",
                config.name,
                workspace.dir().display()
            ),
            error,
        ));
    }
    console.progress(&format!(
        "stack '{}' is up; it costs {} until `rdmabench infra down` (TTL {ttl_text})",
        config.name,
        estimate.total_text()
    ));
    Ok(())
}
