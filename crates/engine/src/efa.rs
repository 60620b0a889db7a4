//! The EFA stack of this host as the files the EFA installer, the kernel and the EKS AMI leave
//! behind describe it, read under a root directory so tests can give a fake one.

use std::collections::BTreeMap;
use std::path::Path;

use rdmabench_results::{EfaDevice, EfaStack};

/// Where the EFA installer records what it installed.
const INSTALLED_PACKAGES: &str = "opt/amazon/efa_installed_packages";
/// The efa kernel module's version, while it is loaded.
const MODULE_VERSION: &str = "sys/module/efa/version";
/// The PCI devices the kernel knows.
const PCI_DEVICES: &str = "sys/bus/pci/devices";
/// The EKS AMI's build record (amazon-eks-ami writes BASE_AMI_ID, BUILD_TIME, BUILD_KERNEL,
/// ARCH there).
const AMI_RELEASE: &str = "etc/eks/release";
/// Amazon's PCI vendor id; EFA devices are 0xefa0 (first generation) to 0xefa3.
const AMAZON_VENDOR: &str = "0x1d0f";

fn read(root: &Path, path: &str) -> Option<String> {
    std::fs::read_to_string(root.join(path))
        .ok()
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty())
}

/// The installer release from its record's first line, "# EFA installer version: 1.38.0".
fn installer_version(record: &str) -> Option<String> {
    let first = record.lines().next()?;
    let (_, version) = first.split_once("EFA installer version:")?;
    Some(version.trim().to_string()).filter(|v| !v.is_empty())
}

/// EFA devices on the PCI bus, by address.
pub(crate) fn devices(root: &Path) -> Vec<EfaDevice> {
    let Ok(entries) = std::fs::read_dir(root.join(PCI_DEVICES)) else {
        return Vec::new();
    };
    let mut devices: Vec<EfaDevice> = entries
        .flatten()
        .filter_map(|entry| {
            let dir = entry.path();
            let field = |name: &str| {
                std::fs::read_to_string(dir.join(name))
                    .ok()
                    .map(|v| v.trim().to_string())
            };
            let device_id = field("device")?;
            let is_efa = field("vendor")? == AMAZON_VENDOR
                && ["0xefa0", "0xefa1", "0xefa2", "0xefa3"].contains(&device_id.as_str());
            is_efa.then(|| EfaDevice {
                pci_address: entry.file_name().to_string_lossy().to_string(),
                device_id,
                numa_node: field("numa_node").and_then(|n| n.parse::<u32>().ok()),
            })
        })
        .collect();
    devices.sort_by(|a, b| a.pci_address.cmp(&b.pci_address));
    devices
}

/// `KEY="value"` lines, quotes removed.
fn key_values(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let (key, value) = line.split_once('=')?;
            Some((
                key.trim().to_string(),
                value.trim().trim_matches('"').to_string(),
            ))
        })
        .collect()
}

/// The EFA stack visible under `root` ("/" on a real host); None when no part of it is.
pub fn efa_stack(root: &Path) -> Option<EfaStack> {
    let installed_packages = read(root, INSTALLED_PACKAGES);
    let stack = EfaStack {
        installer_version: installed_packages.as_deref().and_then(installer_version),
        installed_packages,
        kernel_module: read(root, MODULE_VERSION),
        devices: devices(root),
        ami_release: read(root, AMI_RELEASE)
            .map(|text| key_values(&text))
            .unwrap_or_default(),
    };
    (stack != EfaStack::default()).then_some(stack)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, path: &str, text: &str) {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// A fake root shaped like an EKS AL2023 node with two EFA devices (written from the
    /// installer's record format, the kernel's sysfs layout and amazon-eks-ami's release file),
    /// plus a non-EFA Amazon device (ENA, 0xec20) that must not count.
    #[test]
    fn an_eks_node_s_efa_stack_is_read_and_other_devices_are_not() {
        let root = std::env::temp_dir().join(format!("rdmabench-efa-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        write(
            &root,
            INSTALLED_PACKAGES,
            "# EFA installer version: 1.43.1\n# Debug packages installed: no\n# Packages installed:\nlibfabric-aws_2.1.0amzn3.0\n",
        );
        write(&root, MODULE_VERSION, "2.15.3g\n");
        for (address, device, numa) in [
            ("0000:10:00.0", "0xefa2", "0"),
            ("0000:90:00.0", "0xefa2", "1"),
            ("0000:00:05.0", "0xec20", "0"),
        ] {
            let dir = format!("{PCI_DEVICES}/{address}");
            write(&root, &format!("{dir}/vendor"), "0x1d0f\n");
            write(&root, &format!("{dir}/device"), &format!("{device}\n"));
            write(&root, &format!("{dir}/numa_node"), &format!("{numa}\n"));
        }
        write(
            &root,
            AMI_RELEASE,
            "BASE_AMI_ID=\"ami-0123456789abcdef0\"\nBUILD_TIME=\"Mon Nov  3 10:00:00 UTC 2026\"\nARCH=\"x86_64\"\n",
        );
        let stack = efa_stack(&root).unwrap();
        assert_eq!(stack.installer_version.as_deref(), Some("1.43.1"));
        assert_eq!(stack.kernel_module.as_deref(), Some("2.15.3g"));
        let found: Vec<(&str, Option<u32>)> = stack
            .devices
            .iter()
            .map(|d| (d.pci_address.as_str(), d.numa_node))
            .collect();
        assert_eq!(
            found,
            [("0000:10:00.0", Some(0)), ("0000:90:00.0", Some(1))]
        );
        assert_eq!(stack.ami_release["BASE_AMI_ID"], "ami-0123456789abcdef0");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_host_without_efa_records_none() {
        let root = std::env::temp_dir().join(format!("rdmabench-no-efa-{}", std::process::id()));
        std::fs::create_dir_all(root.join(PCI_DEVICES)).unwrap();
        assert_eq!(efa_stack(&root), None);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
