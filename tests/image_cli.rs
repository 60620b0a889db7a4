//! `rdmabench image build` as a user runs it. The docker CLI is faked at the outermost edge: the
//! real client against an engine that is not there, or a `docker` script first on PATH that
//! records every call (argv and stdin) and answers like an engine with buildx. The push flow
//! talks to moto's ECR on 127.0.0.1 (tests/support/moto_wrapper.py); hadolint lints the
//! Dockerfile. No image is ever built here: there is no Docker engine on these machines.

#[path = "support/moto.rs"]
mod moto;
#[path = "support/service.rs"]
mod service;
#[path = "support/source_tree.rs"]
mod source_tree;
#[path = "support/tool.rs"]
mod tool;

use moto::Moto;
use source_tree::{git, source_tree};

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const REPO_ROOT: &str = env!("CARGO_MANIFEST_DIR");
const REGISTRY: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const REPOSITORY: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/rdmabench/bench";
/// What moto's GetAuthorizationToken encodes as the password for its default account.
const MOTO_PASSWORD: &str = "123456789012-auth-token";

/// Stands in for the docker CLI: logs each call ("call", then "arg X" lines, and "stdin X" for
/// login), answers `version` and `buildx version` like an engine with buildx, and writes build
/// progress to both streams, as buildx does. FAKE_DOCKER_NO_BUILDX makes buildx missing;
/// FAKE_DOCKER_BUILD_HOOK runs with the build's --tag value before the build exits with
/// FAKE_DOCKER_BUILD_EXIT.
const FAKE_DOCKER: &str = include_str!("support/fake_docker.sh");

/// Creates the repository or puts an image (by reference) into moto's ECR, as a push would.
const ECR_HELPER: &str = include_str!("support/ecr_helper.py");

/// One recorded docker call.
#[derive(Debug, Default)]
struct Call {
    args: Vec<String>,
    stdin: Option<String>,
}

/// A user's machine: a working directory, a state root, a git checkout of a (tiny) rdmabench
/// source tree with the real Dockerfile, and a bin directory with the fake docker.
struct Machine {
    dir: tempfile::TempDir,
    path: std::ffi::OsString,
    env: Vec<(String, String)>,
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl Machine {
    fn new() -> Machine {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        write_executable(&bin.join("docker"), FAKE_DOCKER);
        // `--push` without --repository finds terraform before looking for the stack.
        write_executable(
            &bin.join("terraform"),
            "#!/bin/sh\necho 'Terraform v1.11.0'\n",
        );
        source_tree(dir.path());
        let mut path = bin.into_os_string();
        path.push(":");
        path.push(std::env::var_os("PATH").unwrap_or_default());
        Machine {
            dir,
            path,
            env: Vec::new(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn src(&self) -> PathBuf {
        self.path().join("src")
    }

    fn commit(&self) -> String {
        git(&self.src(), &["rev-parse", "--short=12", "HEAD"])
    }

    fn log(&self) -> PathBuf {
        self.path().join("docker.log")
    }

    fn command(&self, args: &[&str]) -> Command {
        let dir = self.path();
        let mut command = Command::new(env!("CARGO_BIN_EXE_rdmabench"));
        command
            .args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", &self.path)
            .env("HOME", dir)
            .env("RDMABENCH_STATE_DIR", dir.join("state"))
            .env("FAKE_DOCKER_LOG", self.log())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        command
    }

    fn rdmabench(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs a build that must succeed; returns its stdout (the image reference).
    fn ok(&self, args: &[&str]) -> String {
        let out = self.rdmabench(args);
        assert!(
            out.status.success(),
            "rdmabench {args:?} failed ({}):\n{}\n{}",
            out.status,
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// The docker calls since the last look (the log is consumed).
    fn calls(&self) -> Vec<Call> {
        let log = std::fs::read_to_string(self.log()).unwrap_or_default();
        let _ = std::fs::remove_file(self.log());
        let mut calls: Vec<Call> = Vec::new();
        for line in log.lines() {
            if line == "call" {
                calls.push(Call::default());
            } else if let Some(arg) = line.strip_prefix("arg ") {
                calls.last_mut().unwrap().args.push(arg.to_string());
            } else if let Some(input) = line.strip_prefix("stdin ") {
                calls.last_mut().unwrap().stdin = Some(input.to_string());
            }
        }
        calls
    }

    /// The `buildx build` call among `calls`, which must be there exactly once.
    fn build_call(calls: &[Call]) -> Vec<String> {
        let builds: Vec<&Call> = calls
            .iter()
            .filter(|c| c.args.starts_with(&["buildx".into(), "build".into()]))
            .collect();
        assert_eq!(builds.len(), 1, "{calls:?}");
        builds[0].args.clone()
    }

    fn build_ref(&self, args: &[&str]) -> String {
        let mut all = vec!["image", "build", "--context", "src"];
        all.extend(args);
        self.ok(&all).trim().to_string()
    }
}

fn write_executable(path: &Path, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, script).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn expected_build(
    src: &Path,
    platform: &str,
    reference: &str,
    efa: &str,
    commit: &str,
) -> Vec<String> {
    let src = src.display().to_string();
    [
        "buildx",
        "build",
        "--platform",
        platform,
        "--file",
        &format!("{src}/docker/Dockerfile"),
        "--tag",
        reference,
        "--build-arg",
        &format!("EFA_INSTALLER_VERSION={efa}"),
        "--build-arg",
        "RDMABENCH_VERSION=0.1.0",
        "--build-arg",
        &format!("RDMABENCH_GIT_COMMIT={commit}"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn without_docker_or_its_engine_or_buildx_the_error_says_what_to_do() {
    let m = Machine::new();
    let empty = m.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = m
        .command(&["image", "build", "--context", "src"])
        .env("PATH", &empty)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("docker was not found on PATH") && stderr.contains("install Docker"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());

    // The real client, when this machine has one, against an engine that is not there.
    let real_path = std::env::var_os("PATH").unwrap_or_default();
    let has_docker = std::env::split_paths(&real_path).any(|d| d.join("docker").is_file());
    if has_docker {
        let started = Instant::now();
        let out = m
            .command(&["image", "build", "--context", "src"])
            .env("PATH", &real_path)
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("no Docker engine answers")
                && stderr.contains("DOCKER_HOST=unix:///nonexistent/docker.sock")
                && stderr.contains("hint: start Docker"),
            "{stderr}"
        );
        assert!(out.stdout.is_empty());
        assert!(started.elapsed() < Duration::from_secs(30));
    } else {
        eprintln!("no docker client on PATH: only the missing-client case was checked");
    }

    let out = m
        .command(&["image", "build", "--context", "src"])
        .env("FAKE_DOCKER_NO_BUILDX", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("docker buildx is not available")
            && stderr.contains("unknown command")
            && stderr.contains("docker-buildx-plugin"),
        "{stderr}"
    );
}

#[test]
fn build_targets_the_nodes_platform_with_a_tag_unique_to_the_content() {
    let m = Machine::new();
    let commit = m.commit();

    // No rdmabench.toml: the default nodes (m7g, Graviton) and EFA installer.
    let out = m.rdmabench(&["image", "build", "--context", "src"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The tag names the architecture: an arm64 image is never taken for an x86 node's.
    let reference = format!("rdmabench:0.1.0-{commit}-arm64");
    assert_eq!(
        text(&out.stdout),
        format!("{reference}\n"),
        "stdout is the result only"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("#1 [internal] load build definition"),
        "{stderr}"
    );
    assert!(
        stderr.contains("using the defaults: nodes m7g.16xlarge"),
        "{stderr}"
    );
    let calls = m.calls();
    let mut expected = expected_build(&m.src(), "linux/arm64", &reference, "1.51.0", &commit);
    expected.extend(["--load".to_string(), m.src().display().to_string()]);
    assert_eq!(Machine::build_call(&calls), expected);
    assert!(calls.iter().all(|c| c.args[0] != "login"), "{calls:?}");

    // x86 nodes and another EFA installer from the configuration; flags override the platform.
    let init = m.rdmabench(&["init", "--public-cidr", "203.0.113.7/32"]);
    assert!(init.status.success(), "{}", text(&init.stderr));
    let config = std::fs::read_to_string(m.path().join("rdmabench.toml"))
        .unwrap()
        .replace("\"m7g.16xlarge\"", "\"c6in.32xlarge\"")
        .replace("\"1.51.0\"", "\"1.50.0\"");
    std::fs::write(m.path().join("rdmabench.toml"), config).unwrap();
    let reference = format!("rdmabench:0.1.0-{commit}-amd64");
    assert_eq!(m.build_ref(&[]), reference, "the same source for x86 nodes");
    let build = Machine::build_call(&m.calls());
    assert_eq!(
        build[..14],
        expected_build(&m.src(), "linux/amd64", &reference, "1.50.0", &commit)[..]
    );
    m.build_ref(&[
        "--platform",
        "linux/arm64",
        "--no-cache",
        "--repository",
        REPOSITORY,
    ]);
    let build = Machine::build_call(&m.calls());
    assert_eq!(build[3], "linux/arm64");
    assert_eq!(build[7], format!("{REPOSITORY}:0.1.0-{commit}-arm64"));
    assert!(build.contains(&"--no-cache".into()) && build.contains(&"--load".into()));

    // Uncommitted changes get their own tag; other changes another one; reverting restores it.
    std::fs::write(
        m.src().join("Cargo.toml"),
        "[package]\nname = \"rdmabench\"\nversion = \"0.1.0\"\n# a\n",
    )
    .unwrap();
    let dirty_a = m.build_ref(&[]);
    assert!(
        dirty_a.starts_with(&format!("{reference}-dirty-")),
        "{dirty_a}"
    );
    assert_eq!(dirty_a.len(), reference.len() + "-dirty-".len() + 12);
    assert_eq!(
        m.build_ref(&[]),
        dirty_a,
        "the same content gives the same tag"
    );
    std::fs::write(
        m.src().join("Cargo.toml"),
        "[package]\nname = \"rdmabench\"\nversion = \"0.1.0\"\n# b\n",
    )
    .unwrap();
    let dirty_b = m.build_ref(&[]);
    std::fs::write(
        m.src().join("Cargo.toml"),
        "[package]\nname = \"rdmabench\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    std::fs::write(m.src().join("new.rs"), "// untracked\n").unwrap();
    let dirty_c = m.build_ref(&[]);
    std::fs::remove_file(m.src().join("new.rs")).unwrap();
    let clean = m.build_ref(&[]);
    assert!(dirty_b != dirty_a && dirty_c != dirty_a && dirty_c != dirty_b);
    assert!(
        dirty_c.starts_with(&format!("{reference}-dirty-")),
        "{dirty_c}"
    );
    assert_eq!(clean, reference);
    m.calls();

    // A failed build fails the command and names it.
    let out = m
        .command(&["image", "build", "--context", "src"])
        .env("FAKE_DOCKER_BUILD_EXIT", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("`docker buildx build --platform linux/amd64"));
    assert!(out.stdout.is_empty());
    Machine::build_call(&m.calls());

    // Not a source tree; and a push with neither a stack nor --repository.
    let out = m.rdmabench(&["image", "build"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("has no docker/Dockerfile"),
        "{}",
        text(&out.stderr)
    );
    let out = m.rdmabench(&["image", "build", "--context", "src", "--push"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("stack 'rdmabench' has not been created from this machine")
            && stderr.contains("--repository URL"),
        "{stderr}"
    );
    let out = m.rdmabench(&[
        "image",
        "build",
        "--context",
        "src",
        "--push",
        "--repository",
        "docker.io/me/bench",
    ]);
    assert!(text(&out.stderr).contains("is not an ECR repository URL"));
    assert!(m
        .calls()
        .iter()
        .all(|c| c.args[0] != "login" && c.args[1] != "build"));
}

/// Runs the ECR helper against moto: `create NAME` or `put REFERENCE`.
fn ecr(moto: &Moto, dir: &Path, action: &str, name: &str) {
    let helper = dir.join("ecr_helper.py");
    std::fs::write(&helper, ECR_HELPER).unwrap();
    let out = Command::new(&moto.python)
        .arg(&helper)
        .args([&moto.endpoint, action, name])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn push_logs_in_with_the_ecr_token_and_treats_a_tag_in_ecr_as_done() {
    let mut m = Machine::new();
    let Some(moto) = Moto::start(m.path(), &[]) else {
        return;
    };
    ecr(&moto, m.path(), "create", "rdmabench/bench");
    m.env = [
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .into();
    let push = ["--push", "--repository", REPOSITORY];
    let reference = format!("{REPOSITORY}:0.1.0-{}-arm64", m.commit());

    // First push: login with ECR's token on stdin, then build and push.
    let out = m.rdmabench(&[&["image", "build", "--context", "src"][..], &push].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("{reference}\n"));
    let calls = m.calls();
    let login = calls
        .iter()
        .position(|c| c.args[0] == "login")
        .expect("docker login");
    assert_eq!(
        calls[login].args,
        ["login", "--username", "AWS", "--password-stdin", REGISTRY]
    );
    assert_eq!(calls[login].stdin.as_deref(), Some(MOTO_PASSWORD));
    let build = Machine::build_call(&calls[login..]);
    assert_eq!(build[7], reference);
    assert!(build.contains(&"--push".into()) && !build.contains(&"--load".into()));
    for call in &calls {
        assert!(
            !call.args.iter().any(|a| a.contains(MOTO_PASSWORD)),
            "password in argv: {call:?}"
        );
    }
    assert!(!text(&out.stderr).contains(MOTO_PASSWORD));
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(m.path().join("state/rdmabench/image.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(record["schema_version"], 1);
    assert_eq!(record["reference"], reference.as_str());
    assert_eq!(record["platform"], "linux/arm64");

    // Once the tag is in ECR (the fake docker pushed nothing; put it there as a push would), a
    // second run neither logs in nor builds.
    ecr(&moto, m.path(), "put", &reference);
    let out = m.rdmabench(&[&["image", "build", "--context", "src"][..], &push].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("{reference}\n"));
    assert!(
        text(&out.stderr).contains("is already in ECR"),
        "{}",
        text(&out.stderr)
    );
    let calls = m.calls();
    assert!(
        calls
            .iter()
            .all(|c| c.args[0] != "login" && c.args[1] != "build"),
        "{calls:?}"
    );

    // New content, pushed meanwhile by someone else: the push fails on the immutable tag, and
    // the tag in ECR makes that a success.
    std::fs::write(m.src().join("new.rs"), "// change\n").unwrap();
    let hook = format!(
        "{} {} {} put",
        moto.python.display(),
        m.path().join("ecr_helper.py").display(),
        moto.endpoint
    );
    let out = m
        .command(&[&["image", "build", "--context", "src"][..], &push].concat())
        .env("FAKE_DOCKER_BUILD_HOOK", &hook)
        .env("FAKE_DOCKER_BUILD_EXIT", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("pushed concurrently"),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("-dirty-"));

    // A push that fails with the tag absent is a failure.
    std::fs::write(m.src().join("new.rs"), "// another change\n").unwrap();
    let out = m
        .command(&[&["image", "build", "--context", "src"][..], &push].concat())
        .env("FAKE_DOCKER_BUILD_EXIT", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("building and pushing the image"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_dockerfile_is_hadolint_clean() {
    let Some(hadolint) = tool::external_tool(
        "RDMABENCH_HADOLINT",
        "RDMABENCH_REQUIRE_HADOLINT",
        "hadolint",
        "hadolint",
    ) else {
        return;
    };
    let lint = |dockerfile: &Path| {
        Command::new(&hadolint)
            .args(["--no-color", "--failure-threshold", "info"])
            .arg(dockerfile)
            .output()
            .unwrap()
    };
    // hadolint must be able to fail: a Dockerfile with known findings.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("Dockerfile");
    std::fs::write(&bad, "FROM ubuntu:latest\nRUN apt-get install curl\n").unwrap();
    let out = lint(&bad);
    assert!(
        !out.status.success() && text(&out.stdout).contains("DL3007"),
        "{}",
        text(&out.stdout)
    );

    let out = lint(&Path::new(REPO_ROOT).join("docker/Dockerfile"));
    assert!(
        out.status.success(),
        "hadolint findings in docker/Dockerfile:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn the_osu_tarball_is_checked_against_its_pinned_sum_before_it_is_built() {
    let dockerfile =
        std::fs::read_to_string(Path::new(REPO_ROOT).join("docker/Dockerfile")).unwrap();
    let sum = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("ARG OSU_SHA256="))
        .expect("a pinned OSU_SHA256");
    assert!(
        sum.len() == 64 && sum.chars().all(|c| c.is_ascii_hexdigit()),
        "{sum}"
    );
    let check = dockerfile
        .find(r#"echo "${OSU_SHA256}  /tmp/osu.tar.gz" | sha256sum -c -"#)
        .expect("the download is checked");
    let unpack = dockerfile.find("tar -xzf /tmp/osu.tar.gz").unwrap();
    assert!(
        check < unpack,
        "the sum is checked before the tarball is unpacked"
    );
}
