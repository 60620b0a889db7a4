//! Configuration -> Terraform JSON. The output is plain `*.tf.json` files a user can review,
//! diff and apply without rdmabench; maps are sorted so the same config gives the same bytes.

mod cluster;
mod network;
mod nodes;
mod registry;
mod user_data;

pub(crate) use cluster::{log_group_name, LOG_GROUP_ADDRESS, LOG_TYPES};
pub use nodes::EFA_NODE_LABEL;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Map, Value};

use crate::config::{ConfigError, StackConfig};

/// Version constraint of the AWS provider the stack is written and tested against.
pub const AWS_PROVIDER_VERSION: &str = "~> 5.100";
/// Oldest Terraform that understands everything the stack uses.
pub const TERRAFORM_REQUIRED_VERSION: &str = ">= 1.5.0";

/// The synthesized stack: `versions.tf.json` (the terraform block, kept apart so scanners such
/// as checkov can read the rest) and `main.tf.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct Synthesized {
    /// The `terraform {}` block.
    pub versions: Value,
    /// Providers, data sources, locals, resources and outputs.
    pub main: Value,
}

impl Synthesized {
    /// Writes both files into `dir` (created if needed), each replaced whole.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        for (name, value) in [
            ("versions.tf.json", &self.versions),
            ("main.tf.json", &self.main),
        ] {
            let tmp = dir.join(format!(".{name}.tmp"));
            let mut text = serde_json::to_string_pretty(value).expect("JSON values serialize");
            text.push('\n');
            std::fs::write(&tmp, text)?;
            std::fs::rename(&tmp, dir.join(name))?;
        }
        Ok(())
    }
}

/// Collects blocks by kind; serializes sorted.
#[derive(Default)]
pub(crate) struct Stack {
    resources: BTreeMap<&'static str, Map<String, Value>>,
    data: BTreeMap<&'static str, Map<String, Value>>,
    locals: Map<String, Value>,
    outputs: Map<String, Value>,
}

impl Stack {
    pub(crate) fn resource(&mut self, kind: &'static str, name: &str, body: Value) {
        self.resources
            .entry(kind)
            .or_default()
            .insert(name.to_string(), body);
    }

    pub(crate) fn data(&mut self, kind: &'static str, name: &str, body: Value) {
        self.data
            .entry(kind)
            .or_default()
            .insert(name.to_string(), body);
    }

    pub(crate) fn local(&mut self, name: &str, value: Value) {
        self.locals.insert(name.to_string(), value);
    }

    pub(crate) fn output(&mut self, name: &str, description: &str, value: &str) {
        self.outputs.insert(
            name.to_string(),
            json!({ "description": description, "value": value }),
        );
    }
}

/// Escapes text for use as a literal inside a Terraform string template (`${` and `%{` start
/// interpolations and directives).
pub(crate) fn template_literal(text: &str) -> String {
    text.replace("${", "$${").replace("%{", "%%{")
}

/// Tags on every resource (through the provider's default_tags) and on what EKS launches.
pub(crate) fn stack_tags(config: &StackConfig, created_at: &str) -> Map<String, Value> {
    let mut tags = Map::new();
    tags.insert("managed-by".into(), json!("rdmabench"));
    tags.insert("rdmabench:stack".into(), json!(config.name));
    tags.insert("rdmabench:created-at".into(), json!(created_at));
    if !config.owner.is_empty() {
        tags.insert("owner".into(), json!(config.owner));
    }
    tags
}

/// Builds the stack for `config`. `created_at` is the RFC 3339 time of the first `up`, written
/// as a literal so later plans stay clean.
pub fn synthesize(config: &StackConfig, created_at: &str) -> Result<Synthesized, ConfigError> {
    config.validate()?;
    let mut stack = Stack::default();
    stack.data("aws_caller_identity", "current", json!({}));
    stack.data("aws_partition", "current", json!({}));
    stack.data(
        "aws_iam_session_context",
        "current",
        json!({ "arn": "${data.aws_caller_identity.current.arn}" }),
    );
    network::add(&mut stack, config)?;
    cluster::add(&mut stack, config);
    nodes::add(&mut stack, config, created_at)?;
    registry::add(&mut stack, config);
    stack.output("region", "AWS region of the stack", &config.region);

    let versions = json!({
        "terraform": {
            "required_version": TERRAFORM_REQUIRED_VERSION,
            "required_providers": {
                "aws": { "source": "hashicorp/aws", "version": AWS_PROVIDER_VERSION }
            }
        }
    });
    let main = json!({
        "provider": {
            "aws": {
                "region": config.region,
                "default_tags": { "tags": stack_tags(config, created_at) }
            }
        },
        "data": stack.data,
        "locals": stack.locals,
        "resource": stack.resources,
        "output": stack.outputs,
    });
    Ok(Synthesized { versions, main })
}
