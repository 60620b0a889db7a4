//! Node user data: MIME multipart with a NodeConfig part (read by AL2023's nodeadm) and a shell
//! part that prepares the host before kubelet starts — huge pages, unlimited locked memory for
//! containerd, and the pinned EFA installer (the standard EKS AMI ships no EFA userspace, and
//! node-mode runs use the host's libfabric).

use crate::config::StackConfig;

const BOUNDARY: &str = "==RDMABENCH==";

/// The MIME document, as plain text (the launch template base64-encodes it).
pub(super) fn render(config: &StackConfig) -> String {
    let nodes = &config.nodes;
    let hugepages = nodes.hugepages_2mi;
    let version = &nodes.efa_installer_version;
    let node_config = "\
---
apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  kubelet:
    flags:
      - --node-labels=rdmabench.io/efa=true
";
    let script = format!(
        r#"#!/bin/bash
# rdmabench node setup: runs once at first boot, before kubelet starts.
set -euo pipefail
exec >>/var/log/rdmabench-node-setup.log 2>&1

# Huge pages for EFA buffers, reserved before kubelet counts allocatable memory.
echo "vm.nr_hugepages = {hugepages}" >/etc/sysctl.d/90-rdmabench-hugepages.conf
sysctl -w vm.nr_hugepages={hugepages}

# EFA registers (pins) memory: containers need an unlimited memlock limit.
mkdir -p /etc/systemd/system/containerd.service.d
printf '[Service]\nLimitMEMLOCK=infinity\n' >/etc/systemd/system/containerd.service.d/90-rdmabench-memlock.conf
systemctl daemon-reload

# The EFA userspace (rdma-core, libfabric, Open MPI) on the host, pinned to {version}.
workdir=$(mktemp -d)
cd "$workdir"
curl --retry 5 --retry-delay 5 -fsSLo efa.tar.gz https://efa-installer.amazonaws.com/aws-efa-installer-{version}.tar.gz
tar -xzf efa.tar.gz
cd aws-efa-installer
./efa_installer.sh -y
cd /
rm -rf "$workdir"
"#
    );
    format!(
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"{BOUNDARY}\"\n\n\
         --{BOUNDARY}\nContent-Type: application/node.eks.aws\n\n{node_config}\n\
         --{BOUNDARY}\nContent-Type: text/x-shellscript; charset=\"us-ascii\"\n\n{script}\n\
         --{BOUNDARY}--\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_data_has_both_parts_and_the_configured_values() {
        let mut config = StackConfig::default();
        config.nodes.hugepages_2mi = 512;
        let text = render(&config);
        assert!(text.contains("Content-Type: application/node.eks.aws"));
        assert!(text.contains("kind: NodeConfig"));
        assert!(text.contains("Content-Type: text/x-shellscript"));
        assert!(text.contains("vm.nr_hugepages=512"));
        assert!(text.contains("LimitMEMLOCK=infinity"));
        assert!(text.contains("aws-efa-installer-1.38.0.tar.gz"));
        assert!(text.trim_end().ends_with(&format!("--{BOUNDARY}--")));
        assert_eq!(text.matches(&format!("--{BOUNDARY}\n")).count(), 2);
    }
}
