//! How far the size being measured has got, readable from another thread: a progress bar that
//! moves within a size (an 8 MiB size of 10k round trips can take minutes) and an ETA from the
//! measured rate, without the hot loop doing more than a relaxed store now and then.

use std::sync::atomic::{AtomicU64, Ordering};

/// Units (round trips or windows) of the current size done and planned, warm-up included.
/// Planned is an estimate under `--duration` (from the warm-up's rate) and the ceiling under
/// `--precision`, which usually stops sooner.
#[derive(Debug, Default)]
pub struct SizeProgress {
    done: AtomicU64,
    planned: AtomicU64,
}

impl SizeProgress {
    /// A new size: nothing done of `planned`.
    pub(crate) fn start(&self, planned: u64) {
        self.done.store(0, Ordering::Relaxed);
        self.planned.store(planned, Ordering::Relaxed);
    }

    /// A better estimate of the units the size will take.
    pub(crate) fn replan(&self, planned: u64) {
        self.planned.store(planned, Ordering::Relaxed);
    }

    /// `done` units are finished.
    pub(crate) fn set_done(&self, done: u64) {
        self.done.store(done, Ordering::Relaxed);
    }

    /// The part of the size done, in [0, 1).
    pub fn fraction(&self) -> f64 {
        let planned = self.planned.load(Ordering::Relaxed);
        if planned == 0 {
            return 0.0;
        }
        (self.done.load(Ordering::Relaxed) as f64 / planned as f64).min(0.999)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fraction_follows_the_units_and_never_claims_the_size_done() {
        let progress = SizeProgress::default();
        assert_eq!(progress.fraction(), 0.0);
        progress.start(1000);
        progress.set_done(250);
        assert_eq!(progress.fraction(), 0.25);
        progress.set_done(5000);
        assert_eq!(progress.fraction(), 0.999, "past an estimate, not done");
        progress.replan(10_000);
        assert_eq!(progress.fraction(), 0.5);
    }
}
