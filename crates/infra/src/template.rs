//! The commented `rdmabench.toml` that `rdmabench init` writes: every setting with its default
//! and why it is what it is, so the file documents itself.

use crate::config::StackConfig;

/// Renders the template; `public_access_cidrs` fills the one setting without a safe default.
pub fn render(public_access_cidrs: &[String]) -> String {
    let d = StackConfig::default();
    let cidrs = public_access_cidrs
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let cidr_note = if public_access_cidrs.is_empty() {
        "# REQUIRED while public_endpoint = true: your address as a /32, e.g. [\"203.0.113.7/32\"]\n# (find it with `curl https://checkip.amazonaws.com`). Never 0.0.0.0/0."
    } else {
        "# Who may reach the public API endpoint. Never 0.0.0.0/0."
    };
    format!(
        r#"# rdmabench stack configuration. `rdmabench infra synth` turns it into Terraform JSON;
# `rdmabench infra up` creates the stack, `rdmabench infra down` removes all of it.

# Prefix of every resource name and value of the rdmabench:stack tag (1-20 of a-z, 0-9, -).
name = "{name}"
# AWS region. The instance type must be offered in at least one of its AZs.
region = "{region}"
# Value of the owner tag, so a forgotten stack can be traced to a person.
owner = ""
# After this long, `rdmabench infra status` warns that the stack is still running (and costing).
ttl = "{ttl}"

[cluster]
# Kubernetes minor version; EKS standard support lasts 14 months per version, then 12 months of
# extended support at $0.60 instead of $0.10 per cluster-hour; `infra up` refuses older ones.
kubernetes_version = "{k8s}"
# Nodes always reach the API privately; the public endpoint is for you and rdmabench.
public_endpoint = true
{cidr_note}
public_access_cidrs = [{cidrs}]
# Days the control-plane log group (/aws/eks/<name>/cluster) keeps logs.
log_retention_days = {retention}

[network]
# VPC range (/16 to /20): two public subnets hold the NAT gateways, two private ones the nodes.
vpc_cidr = "{vpc}"
# Two AZs of the region, nodes in the first; empty = the first AZ that offers the instance type.
availability_zones = []

[nodes]
# Must support EFA: `rdmabench infra instance-types` lists the known ones. The seed used
# m7g.16xlarge (Graviton3, 1 EFA interface).
instance_type = "{instance}"
# At least 2: a ping-pong needs two hosts. All nodes share one cluster placement group.
count = {count}
# Encrypted gp3 root volume; the benchmark image with the EFA userspace is large.
volume_size_gib = {volume}
# 2 MiB huge pages reserved at boot, before kubelet starts (0 = none; pods then run with
# FI_EFA_USE_HUGE_PAGE=0).
hugepages_2mi = {hugepages}
# AWS EFA installer version whose user space (libfabric, Open MPI) goes on each host and into the
# benchmark image, pinned so runs are reproducible; the tarball is checked against AWS's signing key.
efa_installer_version = "{efa}"
# Optional: path of an SSH public key to install (nodes never need one; SSM works without it).
# ssh_public_key_path = "~/.ssh/id_ed25519.pub"
# Optional: a capacity reservation for scarce instance types.
# capacity_reservation_id = "cr-0123456789abcdef0"
# Set when that reservation is an EC2 Capacity Block for ML (nodes launch into the block).
# capacity_block = true

[k8s]
# How pod-mode pods get EFA devices: "device-plugin" (the EFA device plugin, any version) or
# "dra" (the EFA DRA driver, DRANET, with ResourceClaims; Kubernetes 1.34+, which EKS's user
# guide recommends for new deployments; not yet run on a real cluster by rdmabench's tests).
efa = "{efa_devices}"

[state]
# Terraform state lives in a per-stack directory on this machine (`rdmabench infra status` shows
# where). To share a stack, keep it in an existing S3 bucket instead, locked with a lock file:
# s3_bucket = "my-terraform-state"
# s3_key = "rdmabench/{name}.tfstate"
"#,
        name = d.name,
        efa_devices = d.k8s.efa.as_str(),
        region = d.region,
        ttl = d.ttl,
        k8s = d.cluster.kubernetes_version,
        retention = d.cluster.log_retention_days,
        vpc = d.network.vpc_cidr,
        instance = d.nodes.instance_type,
        count = d.nodes.count,
        volume = d.nodes.volume_size_gib,
        hugepages = d.nodes.hugepages_2mi,
        efa = d.nodes.efa_installer_version,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigError;

    #[test]
    fn the_template_reads_back_as_the_defaults() {
        let cidrs = vec!["203.0.113.7/32".to_string()];
        let parsed = StackConfig::from_toml(&render(&cidrs), "rdmabench.toml").unwrap();
        let mut expected = StackConfig::default();
        expected.cluster.public_access_cidrs = cidrs;
        assert_eq!(parsed, expected);
    }

    #[test]
    fn without_an_address_the_template_asks_for_one() {
        let err = StackConfig::from_toml(&render(&[]), "rdmabench.toml").unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                field: "cluster.public_access_cidrs",
                ..
            }
        ));
        assert!(err.to_string().contains("/32"));
    }
}
