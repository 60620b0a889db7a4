//! `rdmabench image ...`: the flows live in `rdmabench_image::flows`; here are the progress
//! lines on stderr and the image reference on stdout.

use std::path::Path;

use anyhow::Result;
use rdmabench_image::flows::{self, BuildOptions};

use crate::cli::{ImageBuildArgs, ImageCommand};
use crate::infra::progress;
use crate::output::emit;

/// Runs an `image` subcommand.
pub fn run(command: &ImageCommand, config_path: &Path) -> Result<i32> {
    match command {
        ImageCommand::Build(args) => build(args, config_path),
    }
}

/// `rdmabench image build [--push]`: the image reference is the only thing on stdout.
fn build(args: &ImageBuildArgs, config_path: &Path) -> Result<i32> {
    let options = BuildOptions {
        push: args.push,
        repository: args.repository.clone(),
        platform: args.platform.clone(),
        context: args.context.clone(),
        no_cache: args.no_cache,
    };
    let reference = flows::build(config_path, &options, &mut progress)?;
    emit(&format!("{reference}\n"), None)?;
    Ok(0)
}
