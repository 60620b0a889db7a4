//! The Docker CLI: checking that an engine and buildx answer, logging in to a registry with the
//! password on stdin, and `docker buildx build` for one platform.

use std::ffi::{OsStr, OsString};
use std::time::Duration;

use crate::ecr::RegistryLogin;
use crate::process::{Echo, Run};
use crate::source::Source;
use crate::ImageError;

/// Limit for the engine and buildx checks: an engine behind a dead TCP DOCKER_HOST hangs.
const CHECK_LIMIT: Duration = Duration::from_secs(30);
/// Limit for `docker login` (one HTTPS round trip to the registry).
const LOGIN_LIMIT: Duration = Duration::from_secs(120);
/// Limit for a build (and push): a cold build compiles rdmabench and downloads the EFA
/// installer, Ubuntu's packages and the Rust toolchain.
const BUILD_LIMIT: Duration = Duration::from_secs(3 * 60 * 60);
const NEEDED_FOR: &str =
    "`rdmabench image build` drives docker buildx: install Docker Engine (or Docker Desktop) with the buildx plugin";

/// A Docker CLI whose engine answered and which has buildx.
#[derive(Debug)]
pub struct Docker {
    server_version: String,
}

/// What one `docker buildx build` makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build<'a> {
    /// The source tree (context, Dockerfile, version and commit for the build arguments).
    pub source: &'a Source,
    /// `linux/arm64` or `linux/amd64`: the nodes' architecture.
    pub platform: &'a str,
    /// The full image reference to tag, `REPOSITORY:TAG`.
    pub reference: &'a str,
    /// The EFA installer release to install (the nodes' one).
    pub efa_installer_version: &'a str,
    /// Rebuild every layer.
    pub no_cache: bool,
    /// Push to the registry instead of loading into the local engine.
    pub push: bool,
}

impl Build<'_> {
    /// The arguments after `docker`.
    pub fn args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = ["buildx", "build", "--platform", self.platform]
            .map(OsString::from)
            .into();
        args.push("--file".into());
        args.push(self.source.dockerfile().into_os_string());
        args.extend(["--tag", self.reference].map(OsString::from));
        for (name, value) in [
            ("EFA_INSTALLER_VERSION", self.efa_installer_version),
            ("RDMABENCH_VERSION", &self.source.version),
            ("RDMABENCH_GIT_COMMIT", &self.source.commit),
        ] {
            args.push("--build-arg".into());
            args.push(format!("{name}={value}").into());
        }
        if self.no_cache {
            args.push("--no-cache".into());
        }
        args.push(if self.push { "--push" } else { "--load" }.into());
        args.push(self.source.context.clone().into_os_string());
        args
    }
}

fn docker<'a>(args: &[&'a OsStr], limit: Duration, echo: Echo) -> Run<'a> {
    Run {
        program: "docker",
        needed_for: NEEDED_FOR,
        args: args.to_vec(),
        dir: None,
        stdin: None,
        limit,
        echo,
    }
}

fn os(args: &[&'static str]) -> Vec<&'static OsStr> {
    args.iter().map(|a| OsStr::new(*a)).collect()
}

impl Docker {
    /// Checks that the CLI exists, that an engine answers it, and that buildx is installed.
    pub fn connect() -> Result<Docker, ImageError> {
        let unreachable = |message: String| {
            let host = std::env::var("DOCKER_HOST")
                .map(|h| format!(" (DOCKER_HOST={h})"))
                .unwrap_or_default();
            ImageError::EngineUnreachable {
                details: format!("{message}{host}"),
            }
        };
        let version = docker(
            &os(&["version", "--format", "{{.Server.Version}}"]),
            CHECK_LIMIT,
            Echo::Quiet,
        )
        .finish()
        .map_err(|e| match e {
            ImageError::TimedOut { .. } => unreachable(e.to_string()),
            other => other,
        })?;
        let server_version = String::from_utf8_lossy(&version.stdout).trim().to_string();
        if !version.status.success() || server_version.is_empty() {
            return Err(unreachable(version.message()));
        }
        let buildx = docker(&os(&["buildx", "version"]), CHECK_LIMIT, Echo::Quiet).finish()?;
        if !buildx.status.success() {
            return Err(ImageError::BuildxMissing {
                details: buildx.message(),
            });
        }
        Ok(Docker { server_version })
    }

    /// The engine's version, for the progress message.
    pub fn server_version(&self) -> &str {
        &self.server_version
    }

    /// `docker login --username USER --password-stdin REGISTRY`: the password goes through
    /// stdin only, never into argv (visible in `ps`) or a message.
    pub fn login(&self, registry: &str, login: &RegistryLogin) -> Result<(), ImageError> {
        let args = [
            OsStr::new("login"),
            OsStr::new("--username"),
            OsStr::new(&login.username),
            OsStr::new("--password-stdin"),
            OsStr::new(registry),
        ];
        let run = Run {
            stdin: Some(login.password().as_bytes()),
            ..docker(&args, LOGIN_LIMIT, Echo::Quiet)
        };
        run.succeed().map(|_| ())
    }

    /// `docker buildx build`, its progress streamed to stderr.
    pub fn build(&self, build: &Build) -> Result<(), ImageError> {
        let args = build.args();
        let args: Vec<&OsStr> = args.iter().map(OsString::as_os_str).collect();
        docker(&args, BUILD_LIMIT, Echo::Progress)
            .succeed()
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A Dockerfile built by hand (without `rdmabench image build`'s build arguments) must get
    /// the EFA installer the nodes get, or pods and node-mode runs use different libfabrics.
    #[test]
    fn the_dockerfiles_efa_installer_default_is_the_configs() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(crate::source::DOCKERFILE);
        let dockerfile = std::fs::read_to_string(&path).unwrap();
        let defaults: Vec<&str> = dockerfile
            .lines()
            .filter_map(|l| l.strip_prefix("ARG EFA_INSTALLER_VERSION="))
            .collect();
        let config = rdmabench_infra::config::StackConfig::default();
        assert_eq!(
            defaults,
            [config.nodes.efa_installer_version.as_str()],
            "{}: ARG EFA_INSTALLER_VERSION's default differs from nodes.efa_installer_version's",
            path.display()
        );
    }

    #[test]
    fn build_arguments_name_platform_tag_dockerfile_and_versions() {
        let source = Source {
            context: PathBuf::from("/src/rdmabench"),
            version: "0.1.0".into(),
            commit: "0123456789ab".into(),
            dirty: false,
            tag: "0.1.0-0123456789ab".into(),
        };
        let build = Build {
            source: &source,
            platform: "linux/arm64",
            reference: "r.example/bench:0.1.0-0123456789ab",
            efa_installer_version: "1.38.0",
            no_cache: true,
            push: true,
        };
        let args: Vec<String> = build
            .args()
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(
            args.join(" "),
            "buildx build --platform linux/arm64 --file /src/rdmabench/docker/Dockerfile \
             --tag r.example/bench:0.1.0-0123456789ab \
             --build-arg EFA_INSTALLER_VERSION=1.38.0 --build-arg RDMABENCH_VERSION=0.1.0 \
             --build-arg RDMABENCH_GIT_COMMIT=0123456789ab --no-cache --push /src/rdmabench"
        );
        let local = Build {
            push: false,
            no_cache: false,
            ..build
        };
        let args = local.args();
        assert!(args.contains(&OsString::from("--load")) && !args.contains(&"--no-cache".into()));
    }
}
