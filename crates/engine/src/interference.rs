//! What the host did to this process while it measured, as the kernel counts it: how often it
//! was descheduled (getrusage's involuntary context switches) and how much CPU time the
//! hypervisor stole (/proc/stat). The evidence behind a noise warning, beside what the
//! distribution itself shows.

use nix::sys::resource::{getrusage, UsageWho};
use nix::unistd::{sysconf, SysconfVar};
use rdmabench_stats::HostInterference;

use crate::measure::monotonic_ns;

/// The counters at one moment; [`HostSample::since`] turns two into a [`HostInterference`].
pub(crate) struct HostSample {
    at_ns: u64,
    involuntary_switches: u64,
    /// Steal in clock ticks summed over CPUs, and the CPUs (None off Linux or without /proc).
    steal: Option<(u64, u32)>,
}

/// This process's involuntary context switches so far (0 if the kernel will not say).
fn involuntary_switches() -> u64 {
    getrusage(UsageWho::RUSAGE_SELF)
        .map(|u| u64::try_from(u.involuntary_context_switches()).unwrap_or(0))
        .unwrap_or(0)
}

/// The host's stolen clock ticks over all CPUs and the number of CPUs, from /proc/stat's
/// aggregate "cpu" line (its 8th figure) and its "cpuN" lines.
fn steal_ticks() -> Option<(u64, u32)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let mut lines = stat.lines();
    let steal = lines
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .nth(7)?
        .parse()
        .ok()?;
    let cpus = lines
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    Some((steal, u32::try_from(cpus).ok()?))
}

impl HostSample {
    /// The counters now.
    pub(crate) fn now() -> HostSample {
        HostSample {
            at_ns: monotonic_ns(),
            involuntary_switches: involuntary_switches(),
            steal: steal_ticks(),
        }
    }

    /// What happened since this sample.
    pub(crate) fn since(&self) -> HostInterference {
        let now = HostSample::now();
        let tick_ns = sysconf(SysconfVar::CLK_TCK)
            .ok()
            .flatten()
            .and_then(|hz| u64::try_from(hz).ok())
            .filter(|&hz| hz > 0)
            .map_or(0, |hz| 1_000_000_000 / hz);
        let (cpu_steal_ns, cpus) = match (self.steal, now.steal) {
            (Some((before, cpus)), Some((after, _))) => {
                (after.saturating_sub(before).saturating_mul(tick_ns), cpus)
            }
            _ => (0, 0),
        };
        HostInterference {
            wall_ns: now.at_ns.saturating_sub(self.at_ns),
            involuntary_context_switches: now
                .involuntary_switches
                .saturating_sub(self.involuntary_switches),
            cpu_steal_ns,
            cpus,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_covers_the_time_between_and_reads_the_hosts_cpus() {
        let start = HostSample::now();
        assert!(
            start.steal.is_some_and(|(_, cpus)| cpus >= 1),
            "/proc/stat should name this host's CPUs"
        );
        let spin_until = monotonic_ns() + 20_000_000;
        while monotonic_ns() < spin_until {}
        let seen = start.since();
        assert!(seen.wall_ns >= 20_000_000, "{seen:?}");
        assert!(seen.cpus >= 1, "{seen:?}");
    }
}
