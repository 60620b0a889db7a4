//! `rdmabench image build [--push]` and the image step of `run --target eks`: the image of a
//! source tree for the nodes' platform, built and loaded locally, or pushed to the stack's ECR
//! repository and recorded for the Kubernetes layer. Progress reaches the user through a
//! callback; the returned image reference is the result.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rdmabench_infra::stack::outputs;
use rdmabench_infra::{config_file, state, InfraError, StackConfig};

use crate::docker::{Build, Docker};
use crate::ecr::{Ecr, Repository};
use crate::source::Source;
use crate::{record_image, ImageError, ImageRecord, RECORD_SCHEMA_VERSION};

/// What `image build` makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOptions {
    /// Push to the repository (the stack's, or `repository`) and record it, instead of loading
    /// the image into the local engine.
    pub push: bool,
    /// ECR repository URL instead of the stack's `ecr_repository_url` output.
    pub repository: Option<String>,
    /// Platform instead of the nodes' (`linux/arm64` or `linux/amd64`).
    pub platform: Option<String>,
    /// The rdmabench source checkout to build (it holds docker/Dockerfile).
    pub context: PathBuf,
    /// Rebuild every layer.
    pub no_cache: bool,
}

/// `image build`: builds (and with `push` pushes and records) the image of the source in
/// `options.context` for the stack configured at `config_path`; returns its reference.
pub fn build(
    config_path: &Path,
    options: &BuildOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<String, ImageError> {
    let docker = Docker::connect()?;
    let config = config(config_path, progress)?;
    let platform = match &options.platform {
        Some(platform) => platform.clone(),
        None => node_platform(&config)?.to_string(),
    };
    let source = Source::inspect(&options.context, &platform)?;
    let repository = match (&options.repository, options.push) {
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
        no_cache: options.no_cache,
        push: options.push,
    };
    progress(&format!(
        "image {reference} for {platform} from {}{} (Docker engine {})",
        source.context.display(),
        if source.dirty {
            ", with uncommitted changes"
        } else {
            ""
        },
        docker.server_version()
    ));
    match repository.filter(|_| options.push) {
        None => {
            docker.build(&build)?;
            progress(&format!(
                "built {reference} and loaded it into the local engine"
            ));
        }
        Some(repository) => {
            push(&docker, &repository, &build, progress)?;
            record(&config, &reference, &platform)?;
        }
    }
    Ok(reference)
}

/// The image step of `rdmabench run --target eks`: the image of the source in `context`,
/// pushed to the stack's repository. When ECR already holds its tag (unique to the source's
/// content) it is reused without a Docker engine; otherwise it is built and pushed.
pub fn ensure(
    config_path: &Path,
    context: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<String, ImageError> {
    let config = config(config_path, progress)?;
    let platform = node_platform(&config)?;
    let source = Source::inspect(context, platform)?;
    let repository = Repository::parse(&stack_repository(&config)?)?;
    let reference = repository.reference(&source.tag);
    let ecr = Ecr::connect(&repository.region)?;
    if ecr
        .has_tag(&repository, &source.tag)
        .map_err(|e| ImageError::context(format!("looking up tag {} in ECR", source.tag), e))?
    {
        progress(&format!("{reference} is already in ECR; reusing it"));
        record(&config, &reference, platform)?;
        return Ok(reference);
    }
    build(
        config_path,
        &BuildOptions {
            push: true,
            repository: None,
            platform: None,
            context: context.to_path_buf(),
            no_cache: false,
        },
        progress,
    )
}

/// The platform of the configured node type, which the image must be built for.
fn node_platform(config: &StackConfig) -> Result<&'static str, ImageError> {
    Ok(config.instance().map_err(InfraError::from)?.platform())
}

/// Notes the pushed image in the stack's state directory, where `rdmabench k8s` finds it.
fn record(config: &StackConfig, reference: &str, platform: &str) -> Result<(), ImageError> {
    let record = ImageRecord {
        schema_version: RECORD_SCHEMA_VERSION,
        reference: reference.to_string(),
        platform: platform.to_string(),
        pushed_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
    };
    record_image(&state::stack_dir(&config.name), &record)
        .map_err(|e| ImageError::context("recording the image for `rdmabench k8s`", e))
}

/// The configuration file, or the defaults when there is none (the image only needs the node
/// type and the EFA installer version).
fn config(path: &Path, progress: &mut dyn FnMut(&str)) -> Result<StackConfig, ImageError> {
    if path.exists() {
        return Ok(config_file::load(path)?);
    }
    let config = StackConfig::default();
    progress(&format!(
        "no {}; using the defaults: nodes {}, EFA installer {}",
        path.display(),
        config.nodes.instance_type,
        config.nodes.efa_installer_version
    ));
    Ok(config)
}

/// The stack's `ecr_repository_url` output, from the Terraform state on this machine.
fn stack_repository(config: &StackConfig) -> Result<String, ImageError> {
    let [url] = <[String; 1]>::try_from(outputs::named(
        config,
        &["ecr_repository_url"],
        "pass --repository URL",
    )?)
    .expect("one output asked");
    Ok(url)
}

/// Builds and pushes unless the tag is already in ECR. Tags are immutable there and unique to
/// the source's content, so a tag that is present holds this very image: that is success.
fn push(
    docker: &Docker,
    repository: &Repository,
    build: &Build,
    progress: &mut dyn FnMut(&str),
) -> Result<(), ImageError> {
    let tag = &build.source.tag;
    let ecr = Ecr::connect(&repository.region)?;
    let present = || {
        ecr.has_tag(repository, tag).map_err(|e| {
            ImageError::context(
                format!(
                    "looking up tag {tag} in ECR repository {} ({})",
                    repository.name, repository.region
                ),
                e,
            )
        })
    };
    if present()? {
        progress(&format!(
            "{} is already in ECR; its tag is unique to this source, so nothing is built or pushed",
            build.reference
        ));
        return Ok(());
    }
    let login = ecr
        .login()
        .map_err(|e| ImageError::context("getting registry credentials from ECR", e))?;
    docker
        .login(&repository.registry, &login)
        .map_err(|e| ImageError::context(format!("logging in to {}", repository.registry), e))?;
    if let Err(error) = docker.build(build) {
        // A concurrent push of the same source makes ours fail on the immutable tag.
        if matches!(present(), Ok(true)) {
            progress(&format!(
                "the push failed but {} is in ECR now (pushed concurrently from the same source)",
                build.reference
            ));
            return Ok(());
        }
        return Err(ImageError::context("building and pushing the image", error));
    }
    progress(&format!("pushed {}", build.reference));
    Ok(())
}
