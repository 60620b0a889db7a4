//! One Ctrl-C behaviour for every command: the first Ctrl-C or SIGTERM (pod deletion, `kill`)
//! sets a flag that the running command watches, so it stops both ends, keeps and reports what
//! was measured, removes what it created and exits 130; a second exits at once. `terraform
//! apply` is the one exception: Ctrl-C there is left to terraform, which stops safely.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result};

/// Exit status after an interruption, as shells report a SIGINT death (128 + 2).
pub const EXIT_INTERRUPTED: i32 = 130;

/// The process's one flag; the handler can be installed only once per process.
static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// The interruption flag, with the handler installed on first use.
pub fn flag() -> Result<Arc<AtomicBool>> {
    if let Some(flag) = FLAG.get() {
        return Ok(Arc::clone(flag));
    }
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = Arc::clone(&flag);
    ctrlc::set_handler(move || {
        if handler_flag.swap(true, Ordering::SeqCst) {
            eprintln!("rdmabench: second Ctrl-C, exiting at once");
            std::process::exit(EXIT_INTERRUPTED);
        }
        eprintln!("rdmabench: Ctrl-C, stopping and cleaning up (press again to exit at once)");
    })
    .context("installing the Ctrl-C handler")?;
    Ok(Arc::clone(FLAG.get_or_init(|| flag)))
}
