//! Waiting for an external tool (terraform here, docker and git in the image crate) with a time
//! limit, so no subprocess rdmabench starts can hang it.

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// How often a running child is looked at.
const POLL: Duration = Duration::from_millis(20);

/// Waits for `child` until `limit`; None, after killing and reaping it, when the limit passed.
pub fn wait_within(child: &mut Child, limit: Duration) -> std::io::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(POLL);
    }
}
