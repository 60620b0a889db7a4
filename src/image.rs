//! `rdmabench image ...`: building and pushing the benchmark image.

use std::path::Path;

use anyhow::{bail, Result};

use crate::cli::ImageCommand;

/// Runs an `image` subcommand.
pub fn run(command: &ImageCommand, _config_path: &Path) -> Result<i32> {
    match command {
        ImageCommand::Build(_) => bail!("image build is not implemented yet"),
    }
}
