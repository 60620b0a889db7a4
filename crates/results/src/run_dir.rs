//! Where a run's files go: one new directory per run under the results root, named by start
//! time and target so runs sort by time and never overwrite each other.

use std::path::{Path, PathBuf};

/// Creates `<root>/<stamp>-<target>` (with `-2`, `-3` ... when it exists already, e.g. two runs
/// in one second) and returns it. `stamp` is a UTC time such as 20261201T101500Z.
pub fn create_run_dir(root: &Path, stamp: &str, target: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(root)?;
    for attempt in 1..1000 {
        let name = if attempt == 1 {
            format!("{stamp}-{target}")
        } else {
            format!("{stamp}-{target}-{attempt}")
        };
        let dir = root.join(name);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        format!(
            "999 runs named {stamp}-{target} exist in {}",
            root.display()
        ),
    ))
}

/// The results file of one measurement: `<test>[-<mode>]-<repetition>.json`.
pub fn results_file_name(test: &str, mode: Option<&str>, repetition: u32) -> String {
    match mode {
        Some(mode) => format!("{test}-{mode}-{repetition}.json"),
        None => format!("{test}-{repetition}.json"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_directories_never_collide() {
        let root = tempfile::tempdir().unwrap();
        let results = root.path().join("results");
        let first = create_run_dir(&results, "20261201T101500Z", "local").unwrap();
        let second = create_run_dir(&results, "20261201T101500Z", "local").unwrap();
        assert_eq!(first.file_name().unwrap(), "20261201T101500Z-local");
        assert_eq!(second.file_name().unwrap(), "20261201T101500Z-local-2");
        assert!(first.is_dir() && second.is_dir());
    }

    #[test]
    fn file_names_carry_test_mode_and_repetition() {
        assert_eq!(results_file_name("pingpong", None, 1), "pingpong-1.json");
        assert_eq!(
            results_file_name("pingpong", Some("pod"), 3),
            "pingpong-pod-3.json"
        );
    }
}
