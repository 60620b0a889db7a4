//! `rdmabench init` and `rdmabench infra ...`: the flows live in `rdmabench_infra`; here are the
//! terminal (progress on stderr, confirmation), stdout and exit codes.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Result;
use rdmabench_infra::config_file::{self, InitOptions};
use rdmabench_infra::stack::down::{self, DownOptions};
use rdmabench_infra::stack::outputs::Outputs;
use rdmabench_infra::stack::up::{self, UpOptions};
use rdmabench_infra::stack::{self, status, Console};
use rdmabench_infra::workspace::Workspace;
use rdmabench_infra::{instances, preflight, InfraError, StackConfig};

use crate::cli::{InfraCommand, InitArgs, UpArgs};
use crate::output::emit;

/// `infra status`'s exit code when it showed what this machine knows but could not ask AWS
/// (no credentials, an API error): unlike 1 (nothing shown), the output is there but cannot
/// say whether the stack exists.
const EXIT_STATUS_UNCHECKED: i32 = 3;

/// Shows a flow's progress line on stderr, as every rdmabench command does.
pub fn progress(line: &str) {
    eprintln!("rdmabench: {line}");
}

/// The user at the terminal: progress and tables on stderr; confirmation asked on the terminal,
/// or given up front with --yes (without a terminal, only --yes proceeds).
pub struct Terminal {
    pub yes: bool,
}

impl Console for Terminal {
    fn progress(&mut self, line: &str) {
        progress(line);
    }

    fn show(&mut self, text: &str) {
        eprint!("{text}");
    }

    fn confirm(&mut self, question: &str) -> Result<bool, InfraError> {
        if self.yes {
            return Ok(true);
        }
        if !std::io::stdin().is_terminal() {
            return Err(InfraError::Refused(format!(
                "{question} Refusing without confirmation: stdin is not a terminal; pass --yes"
            )));
        }
        eprint!("{question} Type 'yes' to continue: ");
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| InfraError::context("reading the answer", e))?;
        Ok(answer.trim() == "yes")
    }
}

/// Reads and validates the configuration file.
pub fn load_config(path: &Path) -> Result<StackConfig> {
    Ok(config_file::load(path)?)
}

/// `rdmabench init`: writes a commented configuration, never over an existing one unless asked.
pub fn init(args: &InitArgs) -> Result<i32> {
    let options = InitOptions {
        public_cidrs: args.public_cidr.clone(),
        force: args.force,
    };
    config_file::init(&args.config, &options, &mut progress)?;
    Ok(0)
}

/// `rdmabench infra ...`.
pub fn run(command: &InfraCommand, config_path: &Path) -> Result<i32> {
    let config = || load_config(config_path);
    let workspace = || -> Result<Workspace> { Ok(Workspace::find(config()?)?) };
    match command {
        InfraCommand::InstanceTypes => emit(&instances::table(), None).map(|()| 0),
        InfraCommand::Synth(args) => {
            let out = stack::synth(&config()?, args.out.as_deref(), &mut progress)?;
            emit(&format!("{}\n", out.display()), None).map(|()| 0)
        }
        InfraCommand::Check => {
            let findings = preflight::check(&workspace()?)?;
            emit(&preflight::render(&findings), None)?;
            Ok(if findings.iter().all(|f| f.ok) { 0 } else { 1 })
        }
        InfraCommand::Plan(args) => {
            let changes = stack::plan(&workspace()?)?;
            Ok(if args.detailed_exitcode && changes {
                2
            } else {
                0
            })
        }
        InfraCommand::Up(args) => {
            let outputs = up::up(
                &workspace()?,
                &up_options(args),
                &mut Terminal { yes: args.yes },
            )?;
            emit(&outputs.render(false), None).map(|()| 0)
        }
        InfraCommand::Outputs(args) => {
            emit(&Outputs::current(&workspace()?)?.render(args.json), None).map(|()| 0)
        }
        InfraCommand::Down(args) => {
            let options = DownOptions {
                orphans: args.orphans,
            };
            let left = down::down(&workspace()?, options, &mut Terminal { yes: args.yes })?;
            Ok(if left.is_empty() { 0 } else { 1 })
        }
        InfraCommand::Status => {
            let status = status::status(&workspace()?)?;
            if let Some(warning) = &status.warning {
                eprintln!("warning: {warning}");
            }
            emit(&status.text, None)?;
            Ok(match &status.unchecked {
                None => 0,
                Some(reason) => {
                    eprintln!("error: could not look for the stack in AWS: {reason}");
                    EXIT_STATUS_UNCHECKED
                }
            })
        }
    }
}

/// `infra up`'s and `run --target eks`'s --ttl (confirmation is the terminal's business).
fn up_options(args: &UpArgs) -> UpOptions {
    UpOptions {
        ttl: args.ttl.clone(),
    }
}
