//! The stack's flows as `rdmabench infra ...` and `run --target eks` run them: synth, plan, up
//! (and the reuse-or-create step of a run), outputs, down, status. The user is reached only
//! through a [`Console`], so the binary decides how progress is shown and how confirmation is
//! asked, and the flows can be driven without a terminal.

pub mod down;
pub mod outputs;
pub mod status;
pub mod up;

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::aws::Aws;
use crate::config::StackConfig;
use crate::error::InfraError;
use crate::state::{self, StackRecord};
use crate::synth;
use crate::terraform::Echo;
use crate::workspace::{write_stack, Workspace};

/// The person running a flow: told about progress, shown tables, asked before anything costly
/// or destructive happens.
pub trait Console {
    /// A progress line, e.g. "stack 'bench' is up".
    fn progress(&mut self, line: &str);
    /// Text shown as it is (preflight findings, the cost table, listed ARNs), lines included.
    fn show(&mut self, text: &str);
    /// Whether to go ahead with `question`; an error (e.g. [`InfraError::Refused`] when nobody
    /// can be asked) stops the flow as a "no" does, before anything is changed.
    fn confirm(&mut self, question: &str) -> Result<bool, InfraError>;
}

/// Asks `console`; anything but yes ends the flow with [`InfraError::Cancelled`].
fn confirmed(console: &mut dyn Console, question: &str) -> Result<(), InfraError> {
    if console.confirm(question)? {
        Ok(())
    } else {
        Err(InfraError::Cancelled)
    }
}

/// Now as RFC 3339 (for the tags and the record) and as Unix seconds (for age arithmetic).
fn now() -> (String, u64) {
    let now = SystemTime::now();
    let unix = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    (humantime::format_rfc3339_seconds(now).to_string(), unix)
}

/// The record `up` wrote for stack `name`, with what to do when it is damaged.
fn read_record(name: &str) -> Result<Option<StackRecord>, InfraError> {
    state::read_record(name).map_err(|e| {
        InfraError::context(
            format!(
                "reading {}/stack.json (delete it if it is damaged; `infra status` then shows less)",
                state::stack_dir(name).display()
            ),
            e,
        )
    })
}

/// The creation time to write into the tags: the recorded one, else now.
fn creation_time(name: &str) -> Result<String, InfraError> {
    Ok(read_record(name)?.map_or_else(|| now().0, |r| r.created_at))
}

/// Synthesizes the stack with its recorded creation time into the workspace and initializes it,
/// so the commands that only look (plan, outputs, down) see the tags `up` wrote. Missing AWS
/// credentials stop it first, said once, rather than in each of terraform's errors.
fn prepare(workspace: &Workspace) -> Result<(), InfraError> {
    Aws::connect(&workspace.config().region)?.check_credentials()?;
    workspace.prepare(&creation_time(&workspace.config().name)?)
}

/// `infra synth`: writes the stack's Terraform files into `out` (default: the stack's state
/// directory) for review or use without rdmabench; returns the directory.
pub fn synth(
    config: &StackConfig,
    out: Option<&Path>,
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf, InfraError> {
    let created_at = creation_time(&config.name)?;
    let out = out.map_or_else(
        || state::stack_dir(&config.name).join("terraform"),
        Path::to_path_buf,
    );
    write_stack(config, &created_at, &out)?;
    progress(&format!(
        "wrote versions.tf.json and main.tf.json for stack '{}' ({} x {})",
        config.name, config.nodes.count, config.nodes.instance_type
    ));
    Ok(out)
}

/// Imports the control-plane log group into the state when it exists outside it; returns its
/// name when it was found. EKS's service-linked role re-creates `/aws/eks/<name>/cluster`,
/// untagged, while a cluster is being deleted (terraform-aws-eks issues #2486 and #2763), so a
/// `down` can leave it behind and the next `up` of the same name would fail with
/// ResourceAlreadyExistsException. Done through terraform import, so no AWS SDK crate is added
/// for CloudWatch Logs and the group is handled exactly as the stack declares it.
fn import_log_group(workspace: &Workspace) -> Result<Option<String>, InfraError> {
    let name = synth::log_group_name(&workspace.config().name);
    Ok(workspace
        .import(synth::LOG_GROUP_ADDRESS, &name)?
        .ok()
        .map(|()| name))
}

/// `infra plan`: the plan on stdout; true when `up` would change something.
pub fn plan(workspace: &Workspace) -> Result<bool, InfraError> {
    prepare(workspace)?;
    workspace.plan(Echo::Result)
}
