//! `rdmabench image ...`: building the benchmark image for the nodes' architecture and pushing it
//! to the stack's ECR repository.

use std::path::Path;
use std::time::SystemTime;

use anyhow::{Context, Result};
use rdmabench_image::docker::{Build, Docker};
use rdmabench_image::ecr::{Ecr, Repository};
use rdmabench_image::source::Source;
use rdmabench_image::{record_image, ImageRecord, RECORD_SCHEMA_VERSION};
use rdmabench_infra::state;
use rdmabench_infra::StackConfig;

use crate::cli::{ImageBuildArgs, ImageCommand};
use crate::infra::{load_config, stack_outputs};
use crate::output::emit;

/// Runs an `image` subcommand.
pub fn run(command: &ImageCommand, config_path: &Path) -> Result<i32> {
    match command {
        ImageCommand::Build(args) => build(args, config_path),
    }
}

/// `rdmabench image build [--push]`: the image reference is the only thing on stdout.
fn build(args: &ImageBuildArgs, config_path: &Path) -> Result<i32> {
    let reference = build_image(args, config_path)?;
    emit(&format!("{reference}\n"), None)?;
    Ok(0)
}

/// The image step of `rdmabench run --target eks`: the image of the source in `context`,
/// pushed to the stack's repository. When ECR already holds its tag (unique to the source's
/// content) it is reused without a Docker engine; otherwise it is built and pushed.
pub fn ensure_image(config_path: &Path, context: &Path) -> Result<String> {
    let config = config(config_path)?;
    let source = Source::inspect(context)?;
    let repository = Repository::parse(&stack_repository(&config)?)?;
    let reference = repository.reference(&source.tag);
    let ecr = Ecr::connect(&repository.region)?;
    if ecr
        .has_tag(&repository, &source.tag)
        .with_context(|| format!("looking up tag {} in ECR", source.tag))?
    {
        eprintln!("rdmabench: {reference} is already in ECR; reusing it");
        record(&config, &reference, config.instance()?.platform())?;
        return Ok(reference);
    }
    build_image(
        &ImageBuildArgs {
            push: true,
            repository: None,
            platform: None,
            context: context.to_path_buf(),
            no_cache: false,
        },
        config_path,
    )
}

/// Notes the pushed image in the stack's state directory, where `rdmabench k8s` finds it.
fn record(config: &StackConfig, reference: &str, platform: &str) -> Result<()> {
    let record = ImageRecord {
        schema_version: RECORD_SCHEMA_VERSION,
        reference: reference.to_string(),
        platform: platform.to_string(),
        pushed_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
    };
    record_image(&state::stack_dir(&config.name), &record)
        .context("recording the image for `rdmabench k8s`")
}

/// Builds (and with --push pushes and records) the image; returns its reference.
fn build_image(args: &ImageBuildArgs, config_path: &Path) -> Result<String> {
    let docker = Docker::connect()?;
    let config = config(config_path)?;
    let platform = match &args.platform {
        Some(platform) => platform.clone(),
        None => config.instance()?.platform().to_string(),
    };
    let source = Source::inspect(&args.context)?;
    let repository = match (&args.repository, args.push) {
        (Some(url), _) => Some(Repository::parse(url)?),
        (None, true) => Some(Repository::parse(&stack_repository(&config)?)?),
        (None, false) => None,
    };
    let reference = match &repository {
        Some(repository) => repository.reference(&source.tag),
        None => format!("rdmabench:{}", source.tag),
    };
    let build = Build {
        source: &source,
        platform: &platform,
        reference: &reference,
        efa_installer_version: &config.nodes.efa_installer_version,
        no_cache: args.no_cache,
        push: args.push,
    };
    eprintln!(
        "rdmabench: image {reference} for {platform} from {}{} (Docker engine {})",
        source.context.display(),
        if source.dirty {
            ", with uncommitted changes"
        } else {
            ""
        },
        docker.server_version()
    );
    match repository.filter(|_| args.push) {
        None => {
            docker.build(&build)?;
            eprintln!("rdmabench: built {reference} and loaded it into the local engine");
        }
        Some(repository) => {
            push(&docker, &repository, &build)?;
            record(&config, &reference, &platform)?;
        }
    }
    Ok(reference)
}

/// The configuration file, or the defaults when there is none (the image only needs the node
/// type and the EFA installer version).
fn config(path: &Path) -> Result<StackConfig> {
    if path.exists() {
        return load_config(path);
    }
    let config = StackConfig::default();
    eprintln!(
        "rdmabench: no {}; using the defaults: nodes {}, EFA installer {}",
        path.display(),
        config.nodes.instance_type,
        config.nodes.efa_installer_version
    );
    Ok(config)
}

/// The stack's `ecr_repository_url` output, from the Terraform state on this machine.
fn stack_repository(config: &StackConfig) -> Result<String> {
    let [url] = <[String; 1]>::try_from(stack_outputs(
        config,
        &["ecr_repository_url"],
        "pass --repository URL",
    )?)
    .expect("one output asked");
    Ok(url)
}

/// Builds and pushes unless the tag is already in ECR. Tags are immutable there and unique to
/// the source's content, so a tag that is present holds this very image: that is success.
fn push(docker: &Docker, repository: &Repository, build: &Build) -> Result<()> {
    let tag = &build.source.tag;
    let ecr = Ecr::connect(&repository.region)?;
    let present = || {
        ecr.has_tag(repository, tag).with_context(|| {
            format!(
                "looking up tag {tag} in ECR repository {} ({})",
                repository.name, repository.region
            )
        })
    };
    if present()? {
        eprintln!(
            "rdmabench: {} is already in ECR; its tag is unique to this source, so nothing is built or pushed",
            build.reference
        );
        return Ok(());
    }
    let login = ecr
        .login()
        .context("getting registry credentials from ECR")?;
    docker
        .login(&repository.registry, &login)
        .with_context(|| format!("logging in to {}", repository.registry))?;
    if let Err(error) = docker.build(build) {
        // A concurrent push of the same source makes ours fail on the immutable tag.
        if matches!(present(), Ok(true)) {
            eprintln!(
                "rdmabench: the push failed but {} is in ECR now (pushed concurrently from the same source)",
                build.reference
            );
            return Ok(());
        }
        return Err(anyhow::Error::new(error).context("building and pushing the image"));
    }
    eprintln!("rdmabench: pushed {}", build.reference);
    Ok(())
}
