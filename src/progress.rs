//! The measurement's progress bar on a terminal: it moves within a size (the engine's
//! SizeProgress, read every 100 ms by a thread of its own), spins on a steady tick so a slow
//! size never looks hung, and shows an ETA from the measured rate. Hidden when stderr is not a
//! terminal, and then no thread runs.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rdmabench_engine::progress::SizeProgress;
use rdmabench_stats::SizeMeasurement;

/// Steps of the bar per size, so that a size's fraction moves it.
const STEPS_PER_SIZE: u64 = 1000;
/// How often the bar reads the engine's progress and redraws.
const TICK: Duration = Duration::from_millis(100);

/// Runs `measure` with a progress bar over `sizes` sizes fed by `progress`; `measure` gets
/// the callback the engine calls after each size, and `summary` words a finished size.
pub fn with_bar<T>(
    sizes: usize,
    progress: &SizeProgress,
    summary: impl Fn(&SizeMeasurement) -> String,
    measure: impl FnOnce(&mut dyn FnMut(usize, usize, &SizeMeasurement)) -> T,
) -> T {
    let bar = ProgressBar::with_draw_target(
        Some(sizes as u64 * STEPS_PER_SIZE),
        ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {prefix} {percent}%, ETA {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(format!("size 1/{sizes}"));
    let finished = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        if !bar.is_hidden() {
            bar.enable_steady_tick(TICK);
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let done = finished.load(Ordering::Relaxed);
                    let within = (progress.fraction() * STEPS_PER_SIZE as f64) as u64;
                    bar.set_position(done * STEPS_PER_SIZE + within);
                    std::thread::sleep(TICK);
                }
            });
        }
        let mut on_size = |index: usize, total: usize, row: &SizeMeasurement| {
            finished.store(index as u64 + 1, Ordering::Relaxed);
            bar.set_position((index as u64 + 1) * STEPS_PER_SIZE);
            bar.set_prefix(format!("size {}/{total}", (index + 2).min(total)));
            bar.set_message(summary(row));
        };
        let result = measure(&mut on_size);
        stop.store(true, Ordering::Relaxed);
        result
    });
    bar.finish_and_clear();
    result
}
