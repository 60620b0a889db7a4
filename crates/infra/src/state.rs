//! Where a stack's local state lives: one directory per stack name, so `down` works from a fresh
//! shell with nothing but that directory. Besides Terraform's files it holds `stack.json`, the
//! record `up` writes (creation time, TTL, price) for `status`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Environment variable overriding the state root (tests, CI, shared machines).
pub const STATE_DIR_ENV: &str = "RDMABENCH_STATE_DIR";
/// Version of the `stack.json` layout.
pub const RECORD_SCHEMA_VERSION: u32 = 1;

/// `$RDMABENCH_STATE_DIR`, else `$XDG_STATE_HOME/rdmabench`, else `~/.local/state/rdmabench`,
/// else `./.rdmabench`.
pub fn root() -> PathBuf {
    std::env::var_os(STATE_DIR_ENV)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_STATE_HOME").map(|d| PathBuf::from(d).join("rdmabench")))
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state/rdmabench"))
        })
        .unwrap_or_else(|| PathBuf::from(".rdmabench"))
}

/// The directory of stack `name` under [`root`].
pub fn stack_dir(name: &str) -> PathBuf {
    root().join(name)
}

/// What `up` records about a stack, read back by `status` and by later syntheses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackRecord {
    /// Layout version of this file.
    pub schema_version: u32,
    /// RFC 3339 time of the first `up`, also written into the `rdmabench:created-at` tag.
    pub created_at: String,
    /// The same instant in seconds since the Unix epoch, for age and cost arithmetic.
    pub created_at_unix: u64,
    /// Minutes after which `status` warns.
    pub ttl_minutes: u64,
    /// Region of the stack.
    pub region: String,
    /// Node instance type.
    pub instance_type: String,
    /// Node count.
    pub node_count: u32,
    /// Known part of the hourly cost estimate in USD.
    pub usd_per_hour: f64,
    /// Whether every price in the estimate was known.
    pub price_complete: bool,
}

fn record_path(name: &str) -> PathBuf {
    stack_dir(name).join("stack.json")
}

/// The record of stack `name`, if `up` wrote one (an unreadable record is an error, not None).
pub fn read_record(name: &str) -> std::io::Result<Option<StackRecord>> {
    match std::fs::read_to_string(record_path(name)) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes the record whole (temporary file + rename).
pub fn write_record(name: &str, record: &StackRecord) -> std::io::Result<()> {
    let path = record_path(name);
    std::fs::create_dir_all(stack_dir(name))?;
    let text = serde_json::to_string_pretty(record).expect("records serialize");
    rdmabench_results::write_atomically(&path, (text + "\n").as_bytes())
}

/// Forgets the record after a successful `down`, so the next `up` records a new creation time.
pub fn remove_record(name: &str) -> std::io::Result<()> {
    match std::fs::remove_file(record_path(name)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
