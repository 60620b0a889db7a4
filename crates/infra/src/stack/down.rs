//! `infra down [--orphans]`: destroys the stack from its state, or without state rebuilds one
//! by importing what still carries its tag or names, then checks by tag what is left.

use super::{confirmed, import_log_group, prepare, Console};
use crate::aws::{Aws, TaggedResource, STACK_TAG};
use crate::config::StackConfig;
use crate::error::InfraError;
use crate::orphans;
use crate::state;
use crate::workspace::{StateResource, Workspace};

/// How `down` finds what to destroy.
#[derive(Debug, Clone, Copy, Default)]
pub struct DownOptions {
    /// Without state: find the stack's resources by its tag and names, import and destroy them.
    pub orphans: bool,
}

/// `infra down`: destroys the stack and forgets its record; returns what AWS still lists with
/// the stack's tag afterwards (also told to the console; empty when nothing is left).
pub fn down(
    workspace: &Workspace,
    options: DownOptions,
    console: &mut dyn Console,
) -> Result<Vec<TaggedResource>, InfraError> {
    let config = workspace.config();
    prepare(workspace)?;
    let in_state = workspace.state_resources()?;
    if options.orphans {
        return down_orphans(workspace, in_state.len(), console);
    }
    if in_state.is_empty() {
        console.progress(&format!(
            "no state for stack '{}' in {}: nothing to destroy. If resources of a lost state remain, run `rdmabench infra down --orphans`.",
            config.name,
            workspace.dir().display()
        ));
        forget(config)?;
        return Ok(Vec::new());
    }
    confirmed(
        console,
        &format!(
            "Destroy stack '{}' in {} ({} resources)?",
            config.name,
            config.region,
            in_state.len()
        ),
    )?;
    destroy(workspace, console)?;
    forget(config)?;
    console.progress(&format!("stack '{}' destroyed", config.name));
    leftovers(config, &in_state, console)
}

/// `down --orphans`: imports what exists of a stack whose state is lost, then destroys it.
fn down_orphans(
    workspace: &Workspace,
    in_state: usize,
    console: &mut dyn Console,
) -> Result<Vec<TaggedResource>, InfraError> {
    let config = workspace.config();
    if in_state > 0 {
        return Err(InfraError::Refused(format!(
            "stack '{}' has {in_state} resources in its state at {}; use `rdmabench infra down` (without --orphans)",
            config.name,
            workspace.dir().display()
        )));
    }
    let aws = Aws::connect(&config.region)?;
    let caller = aws.caller_identity()?;
    let found = aws.stack_resources(&config.name)?;
    console.progress(&format!(
        "{} resources tagged {STACK_TAG}={} in {}:",
        found.len(),
        config.name,
        config.region
    ));
    show_arns(&found, console);
    // `down` has just synthesized and initialized the workspace; the imports use that stack.
    let main: serde_json::Value = std::fs::read_to_string(workspace.dir().join("main.tf.json"))
        .and_then(|text| Ok(serde_json::from_str(&text)?))
        .map_err(|e| InfraError::context("reading the synthesized stack", e))?;
    let imports = orphans::plan_imports(&main, &found, caller.partition());
    confirmed(
        console,
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
                console.progress(&format!("found {} ({})", import.address, import.id));
            }
            Err(reason) => {
                let first = reason.lines().next().unwrap_or_default();
                console.progress(&format!(
                    "not found {} ({}): {first}",
                    import.address, import.id
                ));
            }
        }
    }
    let in_state = workspace.state_resources()?;
    if imported == 0 {
        console.progress(&format!("nothing of stack '{}' exists", config.name));
    } else {
        destroy(workspace, console)?;
        console.progress(&format!(
            "destroyed {imported} resources of stack '{}'",
            config.name
        ));
    }
    forget(config)?;
    leftovers(config, &in_state, console)
}

/// `terraform destroy`, then once more for the control-plane log group when EKS re-created it
/// during the destroy (see [`import_log_group`]), so the next `up` of this name can create it;
/// on failure what remains stays in the state, so `down` can simply retry.
fn destroy(workspace: &Workspace, console: &mut dyn Console) -> Result<(), InfraError> {
    terraform_destroy(workspace)?;
    if let Some(name) = import_log_group(workspace)? {
        terraform_destroy(workspace)?;
        console.progress(&format!(
            "removed log group {name}, which EKS re-created while the cluster was being deleted"
        ));
    }
    Ok(())
}

/// `terraform destroy` with what to do when it fails.
fn terraform_destroy(workspace: &Workspace) -> Result<(), InfraError> {
    workspace.destroy().map_err(|e| {
        InfraError::context(
            format!(
                "destroying stack '{}' failed; what remains is recorded in {}: run `rdmabench infra down` again",
                workspace.config().name,
                workspace.dir().display()
            ),
            e,
        )
    })
}

/// Removes the stack record, so the next `up` records a new creation time.
fn forget(config: &StackConfig) -> Result<(), InfraError> {
    state::remove_record(&config.name)
        .map_err(|e| InfraError::context("removing the stack record", e))
}

/// Lists ARNs one to a line, indented under the progress line that counts them.
fn show_arns(resources: &[TaggedResource], console: &mut dyn Console) {
    for resource in resources {
        console.show(&format!("  {}\n", resource.arn));
    }
}

/// After a destroy, asks the tagging API whether anything with the stack's tag remains.
/// Resources terraform has just destroyed do not count: AWS keeps listing deleted NAT gateways
/// for about an hour and KMS keys until their deletion window ends. Neither do those kinds from
/// an earlier `up` and `down` of the same name (as `up`'s orphan guard reasons: they cannot hold
/// a stack up), so a second round trip within the hour still ends clean.
fn leftovers(
    config: &StackConfig,
    destroyed: &[StateResource],
    console: &mut dyn Console,
) -> Result<Vec<TaggedResource>, InfraError> {
    let tagged = Aws::connect(&config.region)
        .and_then(|aws| aws.stack_resources(&config.name))
        .map_err(|e| InfraError::context("checking by tag that nothing is left", e))?;
    let (ghosts, left): (Vec<_>, Vec<_>) = tagged
        .into_iter()
        .partition(|r| r.lingers_after_deletion() || destroyed.iter().any(|d| d.is(r)));
    if !ghosts.is_empty() {
        console.progress(&format!(
            "{} destroyed resources are still listed by AWS for a while (deleted NAT gateways, KMS keys pending deletion)",
            ghosts.len()
        ));
    }
    if left.is_empty() {
        console.progress(&format!(
            "nothing tagged {STACK_TAG}={} is left in {}",
            config.name, config.region
        ));
    } else {
        console.progress(&format!(
            "{} resources still carry {STACK_TAG}={} (the tagging API can lag a few minutes behind deletions; re-check with `rdmabench infra status`):",
            left.len(),
            config.name
        ));
        show_arns(&left, console);
    }
    Ok(left)
}
