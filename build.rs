//! Records the git commit the binary is built from, for the results' `tool.git_commit` and
//! `--version`. Builds
//! without a .git directory (the container image) pass it in RDMABENCH_GIT_COMMIT instead.

fn main() {
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    println!("cargo:rerun-if-env-changed=RDMABENCH_GIT_COMMIT");
    let commit = std::env::var("RDMABENCH_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty() && c != "unknown")
        .unwrap_or_else(|| {
            std::process::Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        });
    println!("cargo:rustc-env=RDMABENCH_GIT_COMMIT={commit}");
    // `rdmabench --version`: the release and, when known, the commit, so a results file's
    // tool.git_commit can be matched with the binary that wrote it.
    let release = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let version = if commit.is_empty() {
        release
    } else {
        format!("{release} (commit {commit})")
    };
    println!("cargo:rustc-env=RDMABENCH_VERSION={version}");
}
