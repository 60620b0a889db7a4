//! Running the external tools this crate drives (docker, git) with a time limit, optional input
//! on stdin (the registry password never goes into argv), and their output either captured for
//! interpretation or streamed to stderr as progress.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

use rdmabench_infra::process::wait_within;

use crate::ImageError;

/// What happens to a command's output while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Echo {
    /// Captured and returned: short commands whose answer rdmabench reads.
    Quiet,
    /// Both streams go to rdmabench's stderr as they come (builds: minutes the user should
    /// see), so stdout carries nothing but rdmabench's result.
    Progress,
}

/// A finished command.
#[derive(Debug)]
pub(crate) struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Finished {
    /// stderr (else stdout) as trimmed text, for error messages.
    pub fn message(&self) -> String {
        let text = if self.stderr.iter().any(|b| !b.is_ascii_whitespace()) {
            &self.stderr
        } else {
            &self.stdout
        };
        String::from_utf8_lossy(text).trim().to_string()
    }
}

/// One command to run.
pub(crate) struct Run<'a> {
    /// The program, looked up on PATH; named in the error when it is missing.
    pub program: &'static str,
    /// Why rdmabench needs it, for the "not found" error.
    pub needed_for: &'static str,
    pub args: Vec<&'a OsStr>,
    pub dir: Option<&'a Path>,
    pub stdin: Option<&'a [u8]>,
    pub limit: Duration,
    pub echo: Echo,
}

impl Run<'_> {
    /// The command line for messages (arguments only: secrets never are arguments).
    pub fn display(&self) -> String {
        std::iter::once(self.program.to_string())
            .chain(self.args.iter().map(|a| a.to_string_lossy().into_owned()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs it to the end or until the limit (then it is killed); any exit status is returned.
    pub fn finish(&self) -> Result<Finished, ImageError> {
        let io = |source| ImageError::Io {
            what: format!("running `{}`", self.display()),
            source,
        };
        let (stdout, stderr) = match self.echo {
            Echo::Quiet => (Stdio::piped(), Stdio::piped()),
            Echo::Progress => {
                let err = std::io::stderr();
                let fd = || err.as_fd().try_clone_to_owned().map(Stdio::from);
                (fd().map_err(io)?, fd().map_err(io)?)
            }
        };
        let mut command = Command::new(self.program);
        command
            .args(&self.args)
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(stdout)
            .stderr(stderr);
        if let Some(dir) = self.dir {
            command.current_dir(dir);
        }
        let mut child = command.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ImageError::ToolMissing {
                tool: self.program,
                needed_for: self.needed_for,
            },
            _ => io(e),
        })?;
        if let (Some(input), Some(mut pipe)) = (self.stdin, child.stdin.take()) {
            // A short input (a password) fits the pipe buffer; a tool that exits without
            // reading it shows up in its exit status, not here.
            let _ = pipe.write_all(input);
        }
        let out = drain(child.stdout.take());
        let err = drain(child.stderr.take());
        let status = wait_within(&mut child, self.limit).map_err(io)?;
        let Some(status) = status else {
            return Err(ImageError::TimedOut {
                command: self.display(),
                limit: self.limit,
            });
        };
        Ok(Finished {
            status,
            stdout: out.join().unwrap_or_default(),
            stderr: err.join().unwrap_or_default(),
        })
    }

    /// Runs it and requires exit status 0; the error carries the tool's message.
    pub fn succeed(&self) -> Result<Finished, ImageError> {
        let finished = self.finish()?;
        if finished.status.success() {
            return Ok(finished);
        }
        let details = match self.echo {
            Echo::Quiet => finished.message(),
            Echo::Progress => "see its output above".to_string(),
        };
        Err(ImageError::Failed {
            command: self.display(),
            details: format!("{} ({details})", finished.status),
        })
    }
}

/// Reads a pipe to its end on a thread, so a chatty tool never blocks on a full pipe.
fn drain(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn sh<'a>(script: &'a str, stdin: Option<&'a [u8]>, limit: Duration) -> Run<'a> {
        Run {
            program: "sh",
            needed_for: "tests",
            args: vec![OsStr::new("-c"), OsStr::new(script)],
            dir: None,
            stdin,
            limit,
            echo: Echo::Quiet,
        }
    }

    #[test]
    fn stdin_reaches_the_tool_and_output_is_captured() {
        let done = sh(
            "cat; echo oops >&2",
            Some(b"secret"),
            Duration::from_secs(10),
        )
        .succeed()
        .unwrap();
        assert_eq!(done.stdout, b"secret");
        assert_eq!(done.message(), "oops");
    }

    #[test]
    fn failures_carry_the_message_and_time_limits_hold() {
        let error = sh("echo broken >&2; exit 3", None, Duration::from_secs(10))
            .succeed()
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("exit status: 3") && error.contains("broken"),
            "{error}"
        );
        let started = Instant::now();
        let error = sh("sleep 30", None, Duration::from_millis(200))
            .finish()
            .unwrap_err();
        assert!(matches!(error, ImageError::TimedOut { .. }), "{error}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_missing_tool_is_named() {
        let run = Run {
            program: "rdmabench-no-such-tool",
            needed_for: "testing",
            ..sh("", None, Duration::from_secs(1))
        };
        let error = run.finish().unwrap_err().to_string();
        assert!(
            error.contains("rdmabench-no-such-tool was not found on PATH"),
            "{error}"
        );
    }
}
