//! Which CPUs sit on the EFA device's NUMA node, so `--cpu numa` can pin each end next to its
//! device (a measurement that crosses the socket interconnect measures that too), and which
//! NUMA nodes an end's CPUs are on, so results files show where each end ran. Everything is read
//! under a root directory ("/" on a host) so tests can give a fake sysfs.

use std::path::Path;

use nix::sched::{sched_getaffinity, CpuSet};
use nix::unistd::Pid;
use rdmabench_results::EfaDevice;

use crate::error::EngineError;

/// Where the kernel lists NUMA nodes (`nodeN/cpulist` in each).
const NODES: &str = "sys/devices/system/node";

/// CPUs in the kernel's list format ("0-31,64-95", "5", "" for none), ascending.
pub fn parse_cpulist(text: &str) -> Result<Vec<usize>, EngineError> {
    let bad = || EngineError::CpuPlacement(format!("'{}' is not a CPU list", text.trim()));
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let (first, last) = part.split_once('-').unwrap_or((part, part));
        let first: usize = first.parse().map_err(|_| bad())?;
        let last: usize = last.parse().map_err(|_| bad())?;
        if last < first {
            return Err(bad());
        }
        cpus.extend(first..=last);
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

/// `cpus` (ascending) in the kernel's list format, the form results files record.
pub fn format_cpulist(cpus: &[usize]) -> String {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for &cpu in cpus {
        match ranges.last_mut() {
            Some((_, last)) if *last + 1 == cpu => *last = cpu,
            _ => ranges.push((cpu, cpu)),
        }
    }
    ranges
        .iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The CPUs this thread may run on (its affinity: in a container, the cpuset the kubelet gave
/// it; once pinned, the pinned CPU).
pub fn allowed_cpus() -> Result<Vec<usize>, EngineError> {
    let set = sched_getaffinity(Pid::from_raw(0))
        .map_err(|e| EngineError::CpuPlacement(format!("cannot read this CPU affinity: {e}")))?;
    Ok((0..CpuSet::count())
        .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
        .collect())
}

/// The NUMA node a `--cpu numa` run pins next to: that of the first EFA device (by PCI address)
/// that reports one.
pub fn efa_numa_node(devices: &[EfaDevice]) -> Option<u32> {
    devices.iter().find_map(|d| d.numa_node)
}

/// The CPUs of NUMA node `node` under `root`.
fn node_cpus(root: &Path, node: u32) -> Result<Vec<usize>, EngineError> {
    let path = root.join(NODES).join(format!("node{node}/cpulist"));
    let text = std::fs::read_to_string(&path)
        .map_err(|e| EngineError::CpuPlacement(format!("cannot read {}: {e}", path.display())))?;
    parse_cpulist(&text)
}

/// The NUMA nodes `cpus` belong to, ascending; empty where the kernel lists no nodes.
pub fn numa_nodes_of(root: &Path, cpus: &[usize]) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir(root.join(NODES)) else {
        return Vec::new();
    };
    let mut nodes: Vec<u32> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_prefix("node")?.parse().ok())
        .filter(|&node| {
            node_cpus(root, node).is_ok_and(|listed| cpus.iter().any(|c| listed.contains(c)))
        })
        .collect();
    nodes.sort_unstable();
    nodes
}

/// What `--cpu numa` chose: one CPU per end, and why it is not on the EFA device's node when
/// it could not be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumaChoice {
    /// One CPU per end, server first; distinct.
    pub cpus: Vec<usize>,
    /// Set when the CPUs are not on the EFA device's NUMA node (no device reports one, or too
    /// few of the allowed CPUs are there), saying so; the run goes on pinned, and the results
    /// record both nodes.
    pub warning: Option<String>,
}

/// `ends` distinct CPUs (server first) from `allowed`, on the NUMA node of the EFA device under
/// `root` when enough allowed CPUs are there. Inside a pod `allowed` is the kubelet's cpuset,
/// which may lie on the other node: then the first allowed CPUs are taken with a warning
/// rather than failing a run the results file marks anyway.
pub fn near_efa(root: &Path, allowed: &[usize], ends: usize) -> Result<NumaChoice, EngineError> {
    if allowed.len() < ends {
        return Err(EngineError::CpuPlacement(format!(
            "--cpu numa needs {ends} CPUs, but this process may run only on {}",
            format_cpulist(allowed)
        )));
    }
    let first_allowed = |warning: String| NumaChoice {
        cpus: allowed[..ends].to_vec(),
        warning: Some(warning),
    };
    let Some(node) = efa_numa_node(&crate::efa::devices(root)) else {
        return Ok(first_allowed(
            "--cpu numa: no EFA device reports a NUMA node; pinned to the first allowed CPUs"
                .into(),
        ));
    };
    let near: Vec<usize> = node_cpus(root, node)?
        .into_iter()
        .filter(|cpu| allowed.contains(cpu))
        .collect();
    if near.len() < ends {
        return Ok(first_allowed(format!(
            "--cpu numa: the EFA device is on NUMA node {node}, but this process may run only on CPUs {} ({} of them there); pinned to the first allowed CPUs, across NUMA nodes",
            format_cpulist(allowed),
            near.len()
        )));
    }
    Ok(NumaChoice {
        cpus: near[..ends].to_vec(),
        warning: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A c6in.32xlarge-shaped host: two NUMA nodes with interleaved hyperthread siblings
    /// ("0-31,64-95" and "32-63,96-127") and its EFA device on node 1.
    fn two_node_host() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let path = root.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(&format!("{NODES}/node0/cpulist"), "0-31,64-95\n");
        write(&format!("{NODES}/node1/cpulist"), "32-63,96-127\n");
        write(&format!("{NODES}/possible"), "0-1\n");
        let efa = "sys/bus/pci/devices/0000:90:00.0";
        write(&format!("{efa}/vendor"), "0x1d0f\n");
        write(&format!("{efa}/device"), "0xefa1\n");
        write(&format!("{efa}/numa_node"), "1\n");
        root
    }

    #[test]
    fn cpu_lists_read_and_write_in_the_kernel_format() {
        assert_eq!(parse_cpulist("0-2,64-65\n").unwrap(), [0, 1, 2, 64, 65]);
        assert_eq!(parse_cpulist("7").unwrap(), [7]);
        assert_eq!(parse_cpulist("").unwrap(), Vec::<usize>::new());
        assert!(parse_cpulist("3-1").is_err());
        assert!(parse_cpulist("a-b").is_err());
        assert_eq!(format_cpulist(&[0, 1, 2, 5, 64, 65]), "0-2,5,64-65");
        assert_eq!(format_cpulist(&[]), "");
    }

    #[test]
    fn on_a_whole_host_each_end_gets_its_own_cpu_on_the_efa_device_s_node() {
        let root = two_node_host();
        let all: Vec<usize> = (0..128).collect();
        let choice = near_efa(root.path(), &all, 2).unwrap();
        assert_eq!(
            choice,
            NumaChoice {
                cpus: vec![32, 33],
                warning: None
            }
        );
        assert_eq!(numa_nodes_of(root.path(), &choice.cpus), [1]);
    }

    #[test]
    fn inside_a_cpuset_only_allowed_cpus_are_chosen() {
        let root = two_node_host();
        // A pod's exclusive CPUs straddling both nodes: only the node-1 ones qualify.
        let allowed = [30, 31, 96, 97];
        let choice = near_efa(root.path(), &allowed, 1).unwrap();
        assert_eq!(choice.cpus, [96]);
        assert_eq!(choice.warning, None);
        assert_eq!(numa_nodes_of(root.path(), &allowed), [0, 1]);
    }

    #[test]
    fn a_cpuset_on_the_other_node_is_used_with_a_warning_that_names_both() {
        let root = two_node_host();
        let choice = near_efa(root.path(), &[4, 5, 6, 7], 1).unwrap();
        assert_eq!(choice.cpus, [4]);
        let warning = choice.warning.unwrap();
        assert!(warning.contains("NUMA node 1"), "{warning}");
        assert!(warning.contains("4-7"), "{warning}");
    }

    #[test]
    fn too_few_allowed_cpus_is_an_error_and_no_efa_is_a_warning() {
        let root = two_node_host();
        assert!(matches!(
            near_efa(root.path(), &[40], 2),
            Err(EngineError::CpuPlacement(_))
        ));
        let bare = tempfile::tempdir().unwrap();
        let choice = near_efa(bare.path(), &[0, 1, 2], 2).unwrap();
        assert_eq!(choice.cpus, [0, 1]);
        assert!(choice.warning.unwrap().contains("no EFA device"));
    }
}
