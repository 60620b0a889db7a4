//! The source tree an image is built from, and the tag that names it. The stack's ECR repository
//! has immutable tags, so a tag must never be reused for different content: it is
//! `<version>-<commit>` for a clean checkout and `<version>-<commit>-dirty-<digest>` when the
//! tree has changes, the digest covering the diff against the commit and every untracked file.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::process::{Echo, Run};
use crate::ImageError;

/// Where the Dockerfile lives in the source tree.
pub const DOCKERFILE: &str = "docker/Dockerfile";
/// Limit for each git command (a large diff of a big tree still takes well under this).
const GIT_LIMIT: Duration = Duration::from_secs(60);
/// Hex digits of commit and digest in tags: as many as the binary's own `git_commit`.
const ID_DIGITS: usize = 12;

/// A checked-out rdmabench source tree, ready to be the build context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The build context (the repository root).
    pub context: PathBuf,
    /// `[package] version` of its Cargo.toml.
    pub version: String,
    /// The commit checked out (12 hex digits).
    pub commit: String,
    /// Whether the tree differs from the commit (tracked changes or untracked files).
    pub dirty: bool,
    /// The image tag, unique to the content and the CPU architecture: an arm64 image must
    /// never be taken for an x86 node's (the repository's tags are immutable and per image, not
    /// multi-arch manifests).
    pub tag: String,
}

impl Source {
    /// Reads version, commit and changes of the tree at `context`, for an image built for
    /// `platform` ("linux/arm64" or "linux/amd64").
    pub fn inspect(context: &Path, platform: &str) -> Result<Source, ImageError> {
        let not_source = |reason: String| ImageError::Source {
            context: context.to_path_buf(),
            reason,
        };
        // Absolute, so messages and the docker command line say exactly what is built.
        let context = &context
            .canonicalize()
            .map_err(|e| not_source(e.to_string()))?;
        if !context.join(DOCKERFILE).is_file() {
            return Err(not_source(format!(
                "it has no {DOCKERFILE} (run from the rdmabench source checkout, or pass --context)"
            )));
        }
        let manifest = std::fs::read_to_string(context.join("Cargo.toml"))
            .map_err(|e| not_source(format!("reading Cargo.toml: {e}")))?;
        let version = package_version(&manifest)
            .ok_or_else(|| not_source("Cargo.toml has no [package] version".into()))?;
        let commit = text(
            &git(context, &["rev-parse", "--short=12", "HEAD"], None).map_err(|e| {
                not_source(format!(
                    "the image tag names the git commit, and git cannot tell it ({e})"
                ))
            })?,
        );
        let changes = git(
            context,
            &["status", "--porcelain", "--untracked-files=all", "--", "."],
            None,
        )?;
        let dirty = !changes.is_empty();
        let arch = platform.rsplit('/').next().unwrap_or(platform);
        let mut tag = format!("{}-{commit}-{}", tag_safe(&version), tag_safe(arch));
        if dirty {
            tag.push_str("-dirty-");
            tag.push_str(&changes_digest(context)?[..ID_DIGITS]);
        }
        Ok(Source {
            context: context.to_path_buf(),
            version,
            commit,
            dirty,
            tag,
        })
    }

    /// The Dockerfile inside the context.
    pub fn dockerfile(&self) -> PathBuf {
        self.context.join(DOCKERFILE)
    }
}

/// A digest of everything that differs from the commit: the binary diff of tracked files and
/// the names and contents of untracked ones (.gitignore'd files, such as target/, are left out;
/// .dockerignore keeps them out of the image too). git hashes, nothing is written to the repo.
fn changes_digest(context: &Path) -> Result<String, ImageError> {
    let mut summary = git(context, &["diff", "HEAD", "--binary", "--", "."], None)?;
    let untracked = git(
        context,
        &["ls-files", "--others", "--exclude-standard", "--", "."],
        None,
    )?;
    if !untracked.is_empty() {
        let ids = git(context, &["hash-object", "--stdin-paths"], Some(&untracked))?;
        summary.extend_from_slice(b"\0untracked\0");
        summary.extend_from_slice(&untracked);
        summary.extend_from_slice(&ids);
    }
    Ok(text(&git(
        context,
        &["hash-object", "--stdin"],
        Some(&summary),
    )?))
}

fn git(context: &Path, args: &[&str], stdin: Option<&[u8]>) -> Result<Vec<u8>, ImageError> {
    let mut all: Vec<&OsStr> = vec![OsStr::new("-C"), context.as_os_str()];
    all.extend(args.iter().map(OsStr::new));
    let run = Run {
        program: "git",
        needed_for: "the image tag is derived from the git commit of the source tree",
        args: all,
        dir: None,
        stdin,
        limit: GIT_LIMIT,
        echo: Echo::Quiet,
    };
    Ok(run.succeed()?.stdout)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_string()
}

/// The `version` of the `[package]` table (the workspace root's manifest states it literally).
fn package_version(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package {
            if let Some((key, value)) = line.split_once('=') {
                if key.trim() == "version" {
                    // `"0.1.0"`, possibly followed by a comment.
                    let quoted = value.trim().strip_prefix('"')?;
                    return quoted.split_once('"').map(|(v, _)| v.to_string());
                }
            }
        }
    }
    None
}

/// Docker tags allow `[A-Za-z0-9_.-]`; anything else (semver build metadata's `+`) becomes `_`.
fn tag_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_package_version_is_read_from_its_table_only() {
        let manifest = "[workspace.package]\nversion = \"9.9.9\"\n\n[package]\nname = \"rdmabench\"\nversion = \"0.1.0\" # the CLI\n";
        assert_eq!(package_version(manifest).as_deref(), Some("0.1.0"));
        assert_eq!(
            package_version("[workspace.package]\nversion = \"9.9.9\"\n"),
            None
        );
        assert_eq!(
            package_version("[package]\nversion.workspace = true\n"),
            None
        );
    }

    #[test]
    fn tags_keep_only_what_docker_allows() {
        assert_eq!(tag_safe("0.1.0-rc.1+build.5"), "0.1.0-rc.1_build.5");
    }
}
