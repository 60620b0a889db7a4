//! Driving the `terraform` (or `tofu`) binary: finding it, checking its version, and running its
//! commands with a timeout, turning its JSON diagnostics into readable errors.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::process::wait_within;

/// Environment variable naming the terraform (or tofu) binary to use.
pub const TERRAFORM_ENV: &str = "RDMABENCH_TERRAFORM";
/// Oldest terraform whose JSON configuration syntax and provider protocol the stack needs.
const MIN_VERSION: (u32, u32) = (1, 5);

/// Running terraform failed.
#[derive(Debug, thiserror::Error)]
pub enum TerraformError {
    /// No binary found.
    #[error("terraform was not found (tried ${TERRAFORM_ENV}, terraform and tofu on PATH); install Terraform >= 1.5 or OpenTofu, or set {TERRAFORM_ENV}")]
    NotFound,
    /// The binary is too old or unreadable.
    #[error("{binary} reports version {version}; rdmabench needs Terraform 1.5 or newer")]
    TooOld {
        /// Binary used.
        binary: String,
        /// Version it reported.
        version: String,
    },
    /// A command exited non-zero.
    #[error("`{command}` failed: {details}")]
    Failed {
        /// The command line.
        command: String,
        /// Diagnostics or the tail of its output.
        details: String,
    },
    /// A command ran past its time limit and was killed.
    #[error("`{command}` did not finish within {limit:?} and was stopped")]
    TimedOut {
        /// The command line.
        command: String,
        /// The limit.
        limit: Duration,
    },
    /// Starting or talking to the process failed.
    #[error("running {command}: {source}")]
    Io {
        /// The command line.
        command: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// A terraform binary with the environment to run it in.
#[derive(Debug, Clone)]
pub struct Terraform {
    binary: PathBuf,
    env: Vec<(String, String)>,
}

/// Output of a finished command.
#[derive(Debug)]
pub struct CommandOutput {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Exit code (one of the accepted ones).
    pub code: i32,
}

/// Where a command's output is shown while it runs (it is always captured too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Echo {
    /// Nowhere: short commands whose output rdmabench interprets.
    Quiet,
    /// On stderr, as progress (apply, destroy: minutes of work the user should see).
    Progress,
    /// Standard output on stdout (a plan is the result of `infra plan`), errors on stderr.
    Result,
}

fn parse_version(text: &str) -> Option<(u32, u32)> {
    let version = text.split_whitespace().find_map(|w| w.strip_prefix('v'))?;
    let mut parts = version.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

impl Terraform {
    /// Finds terraform: `$RDMABENCH_TERRAFORM`, then `terraform`, then `tofu` on PATH, and checks
    /// its version.
    pub fn find() -> Result<Terraform, TerraformError> {
        let candidates: Vec<PathBuf> = match std::env::var_os(TERRAFORM_ENV) {
            Some(path) => vec![PathBuf::from(path)],
            None => vec!["terraform".into(), "tofu".into()],
        };
        for binary in candidates {
            let Ok(output) = Command::new(&binary).arg("version").output() else {
                continue;
            };
            let text = String::from_utf8_lossy(&output.stdout).into_owned();
            let first_line = text.lines().next().unwrap_or_default().to_string();
            return match parse_version(&first_line) {
                Some(v) if v >= MIN_VERSION => Ok(Terraform {
                    binary,
                    env: Vec::new(),
                }),
                _ => Err(TerraformError::TooOld {
                    binary: binary.display().to_string(),
                    version: first_line,
                }),
            };
        }
        Err(TerraformError::NotFound)
    }

    /// Adds an environment variable for every command (e.g. TF_CLI_CONFIG_FILE).
    pub fn with_env(mut self, key: &str, value: &str) -> Terraform {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Runs `terraform ARGS` in `dir` quietly, killing it after `limit`; exit code 0 only.
    pub fn run(
        &self,
        dir: &Path,
        args: &[&str],
        limit: Duration,
    ) -> Result<CommandOutput, TerraformError> {
        self.run_with(dir, args, limit, Echo::Quiet, &[0])
    }

    /// Runs `terraform ARGS` in `dir`, showing its output as `echo` says, killing it after
    /// `limit`; exit codes in `ok_codes` count as success (plan -detailed-exitcode uses 2).
    pub fn run_with(
        &self,
        dir: &Path,
        args: &[&str],
        limit: Duration,
        echo: Echo,
        ok_codes: &[i32],
    ) -> Result<CommandOutput, TerraformError> {
        let command = format!("{} {}", self.binary.display(), args.join(" "));
        let io = |source| TerraformError::Io {
            command: command.clone(),
            source,
        };
        let mut child = Command::new(&self.binary)
            .args(args)
            .current_dir(dir)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(io)?;
        // Drain both pipes while waiting, so a chatty command cannot block on a full pipe.
        let (out_echo, err_echo) = match echo {
            Echo::Quiet => (None, None),
            Echo::Progress => (Some(Stream::Stderr), Some(Stream::Stderr)),
            Echo::Result => (Some(Stream::Stdout), Some(Stream::Stderr)),
        };
        let stdout_reader = drain(child.stdout.take().expect("stdout is piped"), out_echo);
        let stderr_reader = drain(child.stderr.take().expect("stderr is piped"), err_echo);
        let Some(status) = wait_within(&mut child, limit).map_err(io)? else {
            return Err(TerraformError::TimedOut { command, limit });
        };
        let output = CommandOutput {
            stdout: stdout_reader.join().unwrap_or_default(),
            stderr: stderr_reader.join().unwrap_or_default(),
            code: status.code().unwrap_or(-1),
        };
        if status.code().is_some_and(|c| ok_codes.contains(&c)) {
            Ok(output)
        } else {
            Err(TerraformError::Failed {
                command,
                details: diagnostics(&output),
            })
        }
    }

    /// `terraform init` without touching the network beyond what the CLI config allows.
    pub fn init(&self, dir: &Path) -> Result<(), TerraformError> {
        self.run(
            dir,
            &["init", "-no-color", "-input=false", "-lock-timeout=120s"],
            Duration::from_secs(300),
        )
        .map(|_| ())
    }

    /// `terraform validate`, with its diagnostics in the error.
    pub fn validate(&self, dir: &Path) -> Result<(), TerraformError> {
        self.run(
            dir,
            &["validate", "-no-color", "-json"],
            Duration::from_secs(120),
        )
        .map(|_| ())
    }
}

#[derive(Debug, Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

/// Reads a pipe to its end on a thread, copying each line to `echo` as it arrives.
fn drain(
    pipe: impl Read + Send + 'static,
    echo: Option<Stream>,
) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let mut reader = BufReader::new(pipe);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            let _ = match echo {
                Some(Stream::Stdout) => std::io::stdout().write_all(line.as_bytes()),
                Some(Stream::Stderr) => std::io::stderr().write_all(line.as_bytes()),
                None => Ok(()),
            };
            text.push_str(&line);
            line.clear();
        }
        text
    })
}

/// The error summaries from `-json` output, or the tail of stderr.
fn diagnostics(output: &CommandOutput) -> String {
    let from_json: Vec<String> = serde_json::from_str::<serde_json::Value>(&output.stdout)
        .ok()
        .and_then(|v| v.get("diagnostics").and_then(|d| d.as_array()).cloned())
        .unwrap_or_default()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| {
            let summary = d["summary"].as_str().unwrap_or_default();
            let detail = d["detail"].as_str().unwrap_or_default();
            let at = d["range"]["filename"].as_str().unwrap_or_default();
            format!("{summary}: {detail} ({at})")
        })
        .collect();
    if !from_json.is_empty() {
        return from_json.join("; ");
    }
    let text = if output.stderr.trim().is_empty() {
        &output.stdout
    } else {
        &output.stderr
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// A local provider mirror holding hashicorp/aws: `$RDMABENCH_TF_MIRROR`, /opt/tf-plugins, or
/// ~/.terraform.d/plugins (air-gapped machines and the offline tests).
pub fn provider_mirror() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("RDMABENCH_TF_MIRROR").map(PathBuf::from),
        Some(PathBuf::from("/opt/tf-plugins")),
        std::env::var_os("HOME").map(|h| Path::new(&h).join(".terraform.d/plugins")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|dir| dir.join("registry.terraform.io/hashicorp/aws").is_dir())
}

/// A CLI configuration that installs providers only from a local filesystem mirror, so `init`
/// never reaches the network (used by tests and air-gapped users).
pub fn mirror_cli_config(mirror: &Path) -> String {
    format!(
        "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/*/*\"]\n  }}\n  direct {{\n    exclude = [\"registry.terraform.io/*/*\"]\n  }}\n}}\n",
        mirror.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_the_first_line() {
        assert_eq!(parse_version("Terraform v1.11.4"), Some((1, 11)));
        assert_eq!(parse_version("OpenTofu v1.8.0"), Some((1, 8)));
        assert_eq!(parse_version("garbage"), None);
    }

    #[test]
    fn json_diagnostics_become_one_line_each() {
        let output = CommandOutput {
            stdout: r#"{"valid":false,"diagnostics":[{"severity":"error","summary":"Unsupported argument","detail":"An argument named \"foo\" is not expected here.","range":{"filename":"main.tf.json"}}]}"#.into(),
            stderr: String::new(),
            code: 1,
        };
        assert_eq!(
            diagnostics(&output),
            "Unsupported argument: An argument named \"foo\" is not expected here. (main.tf.json)"
        );
    }
}
