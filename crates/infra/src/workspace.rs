//! One stack's Terraform working directory and the operations rdmabench runs in it: write the
//! synthesized files, init, plan, apply, destroy, outputs, import. Everything a later command
//! needs is in that directory (or in the S3 backend it names), so `down` works from a fresh shell.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use crate::config::StackConfig;
use crate::error::InfraError;
use crate::state;
use crate::synth::synthesize;
use crate::terraform::{Echo, Terraform, TerraformError};

/// Limit for apply and destroy: node groups alone may take 30 minutes each way.
const LONG_LIMIT: Duration = Duration::from_secs(90 * 60);
/// Limit for init, plan, import, outputs.
const SHORT_LIMIT: Duration = Duration::from_secs(10 * 60);
/// How long to wait for someone else's lock on the state before giving up.
const LOCK_TIMEOUT: &str = "-lock-timeout=120s";

/// The file holding the S3 backend block, apart from the stack so `synth` output stays usable
/// with any backend.
const BACKEND_FILE: &str = "backend.tf.json";

/// Writes the stack's Terraform files into `dir`: versions.tf.json, main.tf.json and, when the
/// config names an S3 bucket, backend.tf.json.
pub fn write_stack(config: &StackConfig, created_at: &str, dir: &Path) -> Result<(), InfraError> {
    let stack = synthesize(config, created_at)?;
    let io = |source| InfraError::Io {
        what: format!("writing the Terraform files into {}", dir.display()),
        source,
    };
    stack.write_to(dir).map_err(io)?;
    let backend_path = dir.join(BACKEND_FILE);
    match &config.state.s3_bucket {
        Some(bucket) => {
            let key = config
                .state
                .s3_key
                .clone()
                .unwrap_or_else(|| format!("rdmabench/{}.tfstate", config.name));
            // S3 lock files (use_lockfile) need Terraform 1.10 or newer.
            let backend = json!({
                "terraform": { "required_version": ">= 1.10.0", "backend": { "s3": {
                    "bucket": bucket,
                    "key": key,
                    "region": config.region,
                    "encrypt": true,
                    "use_lockfile": true
                } } }
            });
            let text = serde_json::to_string_pretty(&backend).expect("JSON values serialize");
            std::fs::write(&backend_path, text + "\n").map_err(io)?;
        }
        None => match std::fs::remove_file(&backend_path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
            _ => {}
        },
    }
    Ok(())
}

/// One resource in the Terraform state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateResource {
    /// Its address, e.g. `aws_vpc.main`.
    pub address: String,
    /// The provider's id attribute.
    pub id: String,
    /// Its ARN, when the resource type has one (else empty).
    pub arn: String,
}

impl StateResource {
    /// Whether a tagging-API entry is this resource (by ARN, or by the id that ends the ARN).
    pub fn is(&self, resource: &crate::aws::TaggedResource) -> bool {
        (!self.arn.is_empty() && self.arn == resource.arn)
            || (!self.id.is_empty() && self.id == resource.id())
    }
}

/// A stack's working directory with the terraform binary to run in it.
pub struct Workspace {
    config: StackConfig,
    terraform: Terraform,
    dir: PathBuf,
}

impl Workspace {
    /// The workspace of `config`'s stack under the state root. Providers are cached under the
    /// state root (unless TF_PLUGIN_CACHE_DIR is set) so each stack does not download its own.
    pub fn new(config: StackConfig, terraform: Terraform) -> Workspace {
        let dir = state::stack_dir(&config.name).join("terraform");
        let terraform = if std::env::var_os("TF_PLUGIN_CACHE_DIR").is_none() {
            let cache = state::root().join("plugin-cache");
            // Terraform ignores a cache directory that does not exist.
            let _ = std::fs::create_dir_all(&cache);
            terraform.with_env("TF_PLUGIN_CACHE_DIR", &cache.display().to_string())
        } else {
            terraform
        };
        Workspace {
            config,
            terraform,
            dir,
        }
    }

    /// The workspace of `config`'s stack with the terraform found on this machine (see
    /// [`Terraform::find`]): what every `infra` command but `synth` works in.
    pub fn find(config: StackConfig) -> Result<Workspace, InfraError> {
        let terraform = Terraform::find().map_err(InfraError::TerraformBinary)?;
        Ok(Workspace::new(config, terraform))
    }

    /// The stack configuration.
    pub fn config(&self) -> &StackConfig {
        &self.config
    }

    /// The Terraform working directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Synthesizes the stack into the working directory and runs `terraform init`.
    pub fn prepare(&self, created_at: &str) -> Result<(), InfraError> {
        write_stack(&self.config, created_at, &self.dir)?;
        self.terraform
            .init(&self.dir)
            .map_err(|e| InfraError::terraform("terraform init", e))
    }

    /// The managed resources in the state (empty when there is no state yet). `show -json`
    /// rather than `state list`, which fails when no state exists.
    pub fn state_resources(&self) -> Result<Vec<StateResource>, InfraError> {
        let output = self
            .terraform
            .run(&self.dir, &["show", "-no-color", "-json"], SHORT_LIMIT)
            .map_err(|e| InfraError::terraform("terraform show", e))?;
        let state: Value = serde_json::from_str(&output.stdout)
            .map_err(|e| InfraError::Unexpected(format!("terraform show -json: {e}")))?;
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        Ok(state["values"]["root_module"]["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["mode"] == "managed")
            .map(|r| StateResource {
                address: text(&r["address"]),
                id: text(&r["values"]["id"]),
                arn: text(&r["values"]["arn"]),
            })
            .collect())
    }

    /// `terraform plan`, shown on stdout (or on stderr with `echo` = Progress, when the plan is
    /// progress of a larger job); true when it would change something.
    pub fn plan(&self, echo: Echo) -> Result<bool, InfraError> {
        let output = self
            .terraform
            .run_with(
                &self.dir,
                &[
                    "plan",
                    "-no-color",
                    "-input=false",
                    "-detailed-exitcode",
                    LOCK_TIMEOUT,
                ],
                SHORT_LIMIT,
                echo,
                &[0, 2],
            )
            .map_err(|e| InfraError::terraform("terraform plan", e))?;
        Ok(output.code == 2)
    }

    /// `terraform apply -auto-approve` with progress on stderr.
    pub fn apply(&self) -> Result<(), InfraError> {
        self.long_running("apply")
    }

    /// `terraform destroy -auto-approve` with progress on stderr.
    pub fn destroy(&self) -> Result<(), InfraError> {
        self.long_running("destroy")
    }

    fn long_running(&self, verb: &'static str) -> Result<(), InfraError> {
        self.terraform
            .run_with(
                &self.dir,
                &[
                    verb,
                    "-no-color",
                    "-input=false",
                    "-auto-approve",
                    LOCK_TIMEOUT,
                ],
                LONG_LIMIT,
                Echo::Progress,
                &[0],
            )
            .map(|_| ())
            .map_err(|e| InfraError::terraform(verb, e))
    }

    /// The stack's outputs as name -> value.
    pub fn outputs(&self) -> Result<serde_json::Map<String, Value>, InfraError> {
        let output = self
            .terraform
            .run(&self.dir, &["output", "-no-color", "-json"], SHORT_LIMIT)
            .map_err(|e| InfraError::terraform("terraform output", e))?;
        let parsed: serde_json::Map<String, Value> = serde_json::from_str(&output.stdout)
            .map_err(|e| InfraError::Unexpected(format!("terraform output -json: {e}")))?;
        Ok(parsed
            .into_iter()
            .map(|(name, v)| (name, v.get("value").cloned().unwrap_or(Value::Null)))
            .collect())
    }

    /// `terraform import ADDRESS ID`; the inner Err carries terraform's reason when the object
    /// does not exist or cannot be read (the caller decides whether that matters).
    pub fn import(&self, address: &str, id: &str) -> Result<Result<(), String>, InfraError> {
        match self.terraform.run(
            &self.dir,
            &[
                "import",
                "-no-color",
                "-input=false",
                LOCK_TIMEOUT,
                address,
                id,
            ],
            SHORT_LIMIT,
        ) {
            Ok(_) => Ok(Ok(())),
            Err(TerraformError::Failed { details, .. }) => Ok(Err(details)),
            Err(e) => Err(InfraError::terraform("terraform import", e)),
        }
    }

    /// The region's AZs that offer the node instance type, read through Terraform (EC2 stays
    /// in Terraform): a data-only configuration in a side directory, applied, outputs read.
    pub fn instance_type_offerings(&self) -> Result<Vec<String>, InfraError> {
        let dir = self.dir.with_file_name("preflight");
        let main = json!({
            "terraform": { "required_providers": { "aws": {
                "source": "hashicorp/aws", "version": crate::synth::AWS_PROVIDER_VERSION
            } } },
            "provider": { "aws": { "region": self.config.region } },
            "data": { "aws_ec2_instance_type_offerings": { "nodes": {
                "location_type": "availability-zone",
                "filter": [{ "name": "instance-type", "values": [self.config.nodes.instance_type] }]
            } } },
            "output": { "zones": {
                "value": "${sort(data.aws_ec2_instance_type_offerings.nodes.locations)}"
            } }
        });
        let io = |source| InfraError::Io {
            what: format!("writing {}", dir.display()),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let text = serde_json::to_string_pretty(&main).expect("JSON values serialize");
        std::fs::write(dir.join("main.tf.json"), text + "\n").map_err(io)?;
        let run = |args: &[&str]| {
            self.terraform
                .run(&dir, args, SHORT_LIMIT)
                .map_err(|e| InfraError::terraform("offerings lookup", e))
        };
        run(&["init", "-no-color", "-input=false"])?;
        run(&["apply", "-no-color", "-input=false", "-auto-approve"])?;
        let output = run(&["output", "-no-color", "-json", "zones"])?;
        serde_json::from_str(&output.stdout)
            .map_err(|e| InfraError::Unexpected(format!("reading the offered zones: {e}")))
    }
}
