//! A tiny rdmabench source checkout (Cargo.toml, the real docker/Dockerfile, one git commit)
//! for the image tests: what `image build` inspects for its tag. Shared by path (`#[path]`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs git in `dir` with a throwaway identity; returns its trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Creates the checkout at `dir/src` and returns its path.
pub fn source_tree(dir: &Path) -> PathBuf {
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("docker")).unwrap();
    std::fs::write(
        src.join("Cargo.toml"),
        "[package]\nname = \"rdmabench\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docker/Dockerfile"),
        src.join("docker/Dockerfile"),
    )
    .unwrap();
    git(&src, &["init", "-q"]);
    git(&src, &["add", "-A"]);
    git(&src, &["commit", "-q", "-m", "source"]);
    src
}
