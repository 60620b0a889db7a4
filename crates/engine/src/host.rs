//! Facts about this host that decide whether two results are comparable: who measured, on what
//! kernel and CPU, under which frequency governor and libfabric settings.

use std::collections::BTreeMap;

use rdmabench_results::HostFacts;

/// Gathers this host's facts. `pinned_cpu` is the CPU this end runs on, if pinned.
pub fn host_facts(pinned_cpu: Option<usize>, libfabric_version: Option<String>) -> HostFacts {
    let root = std::path::Path::new("/");
    let efa = crate::efa::efa_stack(root);
    let cpus = crate::numa::allowed_cpus().ok();
    HostFacts {
        hostname: nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "unknown".into()),
        boot_id: read_trimmed("/proc/sys/kernel/random/boot_id"),
        kernel: nix::sys::utsname::uname()
            .ok()
            .map(|u| u.release().to_string_lossy().into_owned()),
        cpu_model: cpu_model(),
        cpu_governor: read_trimmed(&format!(
            "/sys/devices/system/cpu/cpu{}/cpufreq/scaling_governor",
            pinned_cpu.unwrap_or(0)
        )),
        pinned_cpu,
        libfabric_version,
        fi_env: fi_environment(),
        clock_overhead_ns: clock_overhead_ns(),
        efa_numa_node: efa
            .as_ref()
            .and_then(|stack| crate::numa::efa_numa_node(&stack.devices)),
        efa,
        cpu_set: cpus.as_deref().map(crate::numa::format_cpulist),
        cpu_numa_nodes: cpus
            .map(|cpus| crate::numa::numa_nodes_of(root, &cpus))
            .unwrap_or_default(),
    }
}

/// True when both facts come from the same running kernel (same boot id, or same hostname when
/// a boot id is unavailable): then "network" numbers are really loopback or shared memory.
pub fn same_host(a: &HostFacts, b: &HostFacts) -> bool {
    match (&a.boot_id, &b.boot_id) {
        (Some(x), Some(y)) => x == y,
        _ => a.hostname == b.hostname,
    }
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn cpu_model() -> Option<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    // x86 says "model name"; arm64 (Graviton) has no model name, only implementer/part codes.
    let field = |name: &str| {
        cpuinfo.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == name).then(|| value.trim().to_string())
        })
    };
    field("model name").or_else(|| {
        let implementer = field("CPU implementer")?;
        let part = field("CPU part")?;
        Some(format!("arm implementer {implementer} part {part}"))
    })
}

fn fi_environment() -> BTreeMap<String, String> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("FI_"))
        .collect()
}

/// Mean cost of one monotonic timestamp as the measurement loops take it, the overhead each
/// per-iteration sample adds.
pub fn clock_overhead_ns() -> u64 {
    const CALLS: u64 = 100_000;
    let start = crate::measure::monotonic_ns();
    let mut last = start;
    for _ in 0..CALLS {
        last = std::hint::black_box(crate::measure::monotonic_ns());
    }
    last.saturating_sub(start) / CALLS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_of_this_host_are_filled_and_same_host_is_detected() {
        let a = host_facts(None, None);
        assert!(!a.hostname.is_empty());
        assert!(a.kernel.is_some());
        // Every process may run somewhere: the CPU set is recorded.
        assert!(a.cpu_set.as_deref().is_some_and(|s| !s.is_empty()));
        let mut b = a.clone();
        assert!(same_host(&a, &b));
        b.boot_id = Some("another-boot".into());
        assert!(!same_host(&a, &b) || a.boot_id.is_none());
    }
}
