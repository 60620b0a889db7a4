//! The stack's Terraform outputs: listed by `infra up` and `infra outputs`, and read by name by
//! the commands that work on what `up` created (the image push, the Kubernetes commands).

use serde_json::{Map, Value};

use super::prepare;
use crate::config::StackConfig;
use crate::error::InfraError;
use crate::workspace::Workspace;

/// A created stack's outputs (region, cluster endpoint and CA, node group, ECR URL ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Outputs {
    /// The stack's name.
    pub stack: String,
    /// Output name -> value.
    pub values: Map<String, Value>,
}

impl Outputs {
    /// The outputs as the workspace holds them; none means the stack does not exist yet.
    pub fn read(workspace: &Workspace) -> Result<Outputs, InfraError> {
        let values = workspace.outputs()?;
        let stack = workspace.config().name.clone();
        if values.is_empty() {
            return Err(InfraError::Refused(format!(
                "stack '{stack}' has no outputs: it does not exist yet (run `rdmabench infra up`)"
            )));
        }
        Ok(Outputs { stack, values })
    }

    /// `infra outputs`: synthesizes and initializes the workspace (it may be a fresh machine
    /// with an S3 backend), then reads them.
    pub fn current(workspace: &Workspace) -> Result<Outputs, InfraError> {
        prepare(workspace)?;
        Outputs::read(workspace)
    }

    /// `name = value` lines, or with `json` a versioned document for scripts.
    pub fn render(&self, json: bool) -> String {
        if json {
            let document = serde_json::json!({
                "schema_version": 1,
                "stack": self.stack,
                "outputs": self.values,
            });
            serde_json::to_string_pretty(&document).expect("JSON values serialize") + "\n"
        } else {
            self.values
                .iter()
                .map(|(name, value)| match value.as_str() {
                    Some(text) => format!("{name} = {text}\n"),
                    None => format!("{name} = {value}\n"),
                })
                .collect()
        }
    }
}

/// Named string outputs of the stack as `infra up` left them on this machine, for the commands
/// that work on what it created; `otherwise` tells the user how to proceed without the stack.
pub fn named(
    config: &StackConfig,
    names: &[&str],
    otherwise: &str,
) -> Result<Vec<String>, InfraError> {
    let workspace = Workspace::find(config.clone())?;
    if !workspace.dir().join(".terraform").exists() {
        return Err(InfraError::Refused(format!(
            "stack '{}' has not been created from this machine (nothing in {}): create it with `rdmabench infra up`, or {otherwise}",
            config.name,
            workspace.dir().display()
        )));
    }
    let outputs = workspace
        .outputs()
        .map_err(|e| InfraError::context("reading the stack's outputs", e))?;
    names
        .iter()
        .map(|name| {
            outputs
                .get(*name)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| {
                    InfraError::Refused(format!(
                        "stack '{}' has no {name} output: it does not exist (run `rdmabench infra up`), or {otherwise}",
                        config.name
                    ))
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_render_as_lines_or_a_versioned_document() {
        let outputs = Outputs {
            stack: "bench".into(),
            values: serde_json::from_str(r#"{"cluster_name": "bench", "node_count": 2}"#).unwrap(),
        };
        assert_eq!(
            outputs.render(false),
            "cluster_name = bench\nnode_count = 2\n"
        );
        let document: Value = serde_json::from_str(&outputs.render(true)).unwrap();
        assert_eq!(document["schema_version"], 1);
        assert_eq!(document["stack"], "bench");
        assert_eq!(document["outputs"]["node_count"], 2);
    }
}
