//! Where a stack's local state lives: one directory per stack name, so `down` works from a fresh
//! shell with nothing but that directory.

use std::path::PathBuf;

/// Environment variable overriding the state root (tests, CI, shared machines).
pub const STATE_DIR_ENV: &str = "RDMABENCH_STATE_DIR";

/// `$RDMABENCH_STATE_DIR/<name>`, else `$XDG_STATE_HOME/rdmabench/<name>`, else
/// `~/.local/state/rdmabench/<name>`, else `./.rdmabench/<name>`.
pub fn stack_dir(name: &str) -> PathBuf {
    let root = std::env::var_os(STATE_DIR_ENV)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_STATE_HOME").map(|d| PathBuf::from(d).join("rdmabench")))
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state/rdmabench"))
        })
        .unwrap_or_else(|| PathBuf::from(".rdmabench"));
    root.join(name)
}

/// The creation time recorded by the first `up`, if any.
pub fn recorded_creation_time(name: &str) -> Option<String> {
    std::fs::read_to_string(stack_dir(name).join("created-at"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}
