//! CPU pinning for one end of a run, so the scheduler cannot move it mid-measurement.

use nix::sched::{sched_setaffinity, CpuSet};
use nix::unistd::Pid;

use crate::error::EngineError;

/// Pins the calling thread to `cpu` (nothing when None).
pub fn pin(cpu: Option<usize>) -> Result<(), EngineError> {
    let Some(cpu) = cpu else { return Ok(()) };
    let mut set = CpuSet::new();
    set.set(cpu).map_err(|e| EngineError::Pinning {
        cpu,
        reason: e.to_string(),
    })?;
    sched_setaffinity(Pid::from_raw(0), &set).map_err(|e| EngineError::Pinning {
        cpu,
        reason: e.to_string(),
    })
}
