//! Writing a file whole or not at all: every file rdmabench writes (results, reports, records,
//! configurations) goes through here, so a failure never leaves half a file behind.

use std::io;
use std::path::{Path, PathBuf};

/// Writes `contents` to `path` through a temporary file beside it that is renamed into place;
/// on failure the temporary file is removed and `path` is as it was.
pub fn write_atomically(path: &Path, contents: &[u8]) -> io::Result<()> {
    let tmp = temporary_beside(path)?;
    let written = std::fs::write(&tmp, contents).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// The temporary file `write_atomically` writes before renaming it to `path`.
fn temporary_beside(path: &Path) -> io::Result<PathBuf> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} does not name a file", path.display()),
        )
    })?;
    Ok(dir.join(format!(
        ".{}.tmp-{}",
        file_name.to_string_lossy(),
        std::process::id()
    )))
}

/// Whether `write_atomically(path, ..)` can succeed, checked before a measurement so minutes
/// of it are not thrown away at the end: the directory takes a temporary file (written and
/// removed at once) and `path` is not a directory.
pub fn check_writable(path: &Path) -> io::Result<()> {
    if path.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is a directory; name a file in it", path.display()),
        ));
    }
    let tmp = temporary_beside(path)?;
    std::fs::write(&tmp, b"")?;
    std::fs::remove_file(&tmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = std::env::temp_dir().join(format!("rdmabench-write-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("results.json");
        write_atomically(&path, b"old").unwrap();
        // A directory where the file should go makes the rename fail.
        let blocked = dir.join("blocked");
        std::fs::create_dir_all(blocked.join("inside")).unwrap();
        assert!(write_atomically(&blocked, b"new").is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
