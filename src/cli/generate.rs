//! `rdmabench completions` and `rdmabench man`: shell completions and man pages generated from
//! the clap definition, so packagers and users get them from the binary they run and they can
//! never describe options another version has.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::Cli;
use crate::output::emit;

/// `rdmabench completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the completion script for (e.g. `source <(rdmabench completions
    /// bash)`, or save it under /usr/share/bash-completion/completions/rdmabench).
    #[arg(value_enum)]
    pub shell: Shell,
}

/// `rdmabench man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write one page per command (rdmabench.1, rdmabench-pingpong.1, rdmabench-infra-plan.1
    /// ...) into DIR, for /usr/share/man/man1, and list them on stdout, instead of printing the
    /// main page.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Writes the completion script for `args.shell` to stdout.
pub fn completions(args: &CompletionsArgs) -> Result<i32> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "rdmabench", &mut script);
    emit(&String::from_utf8(script)?, None)?;
    Ok(0)
}

/// Prints the main man page (roff) or, with --dir, writes every command's page into the directory.
pub fn man(args: &ManArgs) -> Result<i32> {
    let text = match &args.dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .context("rendering the man page")?;
            String::from_utf8(page)?
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let mut command = Cli::command().disable_help_subcommand(true);
            command.build();
            let mut pages = Vec::new();
            write_pages(command, dir, &mut pages)
                .with_context(|| format!("writing man pages into {}", dir.display()))?;
            pages.sort();
            pages.iter().map(|p| format!("{}\n", p.display())).collect()
        }
    };
    emit(&text, None)?;
    Ok(0)
}

/// Writes the page of `command` and of every subcommand (rdmabench-infra-plan.1 ...) into `dir`,
/// as clap_mangen::generate_to does, keeping the paths to list them.
fn write_pages(
    command: clap::Command,
    dir: &Path,
    pages: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub.clone(), dir, pages)?;
    }
    pages.push(clap_mangen::Man::new(command).generate_to(dir)?);
    Ok(())
}
