//! `rdmabench init` and `rdmabench infra ...`: the configuration file and the Terraform stack.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use rdmabench_infra::config::Cidr;
use rdmabench_infra::instances::{Accelerator, Arch, EFA_INSTANCE_TYPES};
use rdmabench_infra::{state, synthesize, template, StackConfig};

use crate::cli::{InfraCommand, InitArgs, SynthArgs};
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
    match command {
        InfraCommand::Synth(args) => synth(args, config_path),
        InfraCommand::InstanceTypes => instance_types(),
    }
}

fn synth(args: &SynthArgs, config_path: &Path) -> Result<i32> {
    let config = load_config(config_path)?;
    let created_at = state::recorded_creation_time(&config.name)
        .unwrap_or_else(|| humantime::format_rfc3339_seconds(SystemTime::now()).to_string());
    let stack = synthesize(&config, &created_at)?;
    let out: PathBuf = args
        .out
        .clone()
        .unwrap_or_else(|| state::stack_dir(&config.name).join("terraform"));
    stack
        .write_to(&out)
        .with_context(|| format!("writing the Terraform files into {}", out.display()))?;
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
