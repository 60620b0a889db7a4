//! The external test tools (checkov, hadolint, kubernetes-validate) come from Python venvs that
//! `scripts/test` creates and names in environment variables. Without the variable a test skips
//! with a note, unless the matching RDMABENCH_REQUIRE_* is 1, as in CI, where a missing tool must
//! fail instead of hiding behind a skip. Shared by path (`#[path]`) between test crates.

use std::path::PathBuf;

/// The tool named by `$env`, or None (skip) when it is unset and not required. `venv` is the
/// name `scripts/python-venv` creates it under, for the hint.
pub fn external_tool(
    env: &str,
    require_env: &str,
    venv: &str,
    executable: &str,
) -> Option<PathBuf> {
    let hint = format!(
        "run `scripts/python-venv {venv} tests/support/requirements-{venv}.txt` and set \
         {env}=<the bin directory it prints>/{executable} (scripts/test does)"
    );
    let required = std::env::var_os(require_env).is_some_and(|v| v == "1");
    match std::env::var_os(env) {
        Some(path) => {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "{env}={} is not a file: {hint}",
                path.display()
            );
            Some(path)
        }
        None => {
            assert!(!required, "{require_env}=1 but {env} is not set: {hint}");
            eprintln!("\n********\n* SKIPPING: {env} is not set.\n* To run it: {hint}\n********\n");
            None
        }
    }
}
