//! The stack configuration (`rdmabench.toml`): typed, with safe defaults, validated before
//! anything is synthesized so a mistake is reported as a sentence, not as a Terraform error
//! twenty minutes into an apply.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::instances::{lookup, InstanceType};

/// A configuration that cannot work; each message names the field and what to put there.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// The file is not valid TOML or has unknown/mistyped fields.
    #[error("{path}: {message}")]
    Parse {
        /// File that was read.
        path: String,
        /// What the TOML parser said.
        message: String,
    },
    /// A field has a value that cannot work.
    #[error("{field} = {value}: {problem}")]
    Invalid {
        /// Dotted field name, e.g. "nodes.count".
        field: &'static str,
        /// The offending value as written.
        value: String,
        /// Why, and what to write instead.
        problem: String,
    },
}

fn invalid(field: &'static str, value: impl ToString, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field,
        value: value.to_string(),
        problem: problem.into(),
    }
}

/// The whole stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StackConfig {
    /// Stack name: prefix of every resource name and the value of the `rdmabench:stack` tag.
    pub name: String,
    /// AWS region.
    pub region: String,
    /// Value of the `owner` tag, so a forgotten stack can be traced to a person.
    pub owner: String,
    /// How long the stack may live before `infra status` warns, e.g. "4h".
    pub ttl: String,
    /// EKS control plane.
    pub cluster: ClusterConfig,
    /// VPC layout.
    pub network: NetworkConfig,
    /// The EFA node group.
    pub nodes: NodeConfig,
    /// Where Terraform keeps the stack's state.
    pub state: StateConfig,
    /// How the benchmark pods get their EFA devices.
    pub k8s: K8sConfig,
}

/// Cluster-side settings of the benchmark pods.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct K8sConfig {
    /// The mechanism that hands EFA devices to pods.
    pub efa: EfaDevices,
}

/// How pods get EFA devices: the EKS user guide ("Manage EFA devices on Amazon EKS") recommends
/// the DRA driver for new deployments on Kubernetes 1.34+ with managed node groups; the device
/// plugin works on every version and stays the default, being what rdmabench has measured with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EfaDevices {
    /// The EFA device plugin: pods request the `vpc.amazonaws.com/efa` extended resource.
    #[default]
    DevicePlugin,
    /// The EFA DRA driver: pods hold ResourceClaims for EFA devices.
    Dra,
}

impl EfaDevices {
    /// The name results and messages use ("device-plugin" or "dra"), as the config spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            EfaDevices::DevicePlugin => "device-plugin",
            EfaDevices::Dra => "dra",
        }
    }
}

/// Terraform state location: the per-stack directory by default, or S3 for teams.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateConfig {
    /// S3 bucket for the state (with a lock file beside it); None = the local state directory.
    pub s3_bucket: Option<String>,
    /// Object key in the bucket; default "rdmabench/<name>.tfstate".
    pub s3_key: Option<String>,
}

/// EKS control plane settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// Kubernetes minor version, "1.NN".
    pub kubernetes_version: String,
    /// Whether the API server has a public endpoint (nodes always use the private one).
    pub public_endpoint: bool,
    /// Who may reach the public endpoint; must be set when `public_endpoint` is true.
    pub public_access_cidrs: Vec<String>,
    /// Days the control-plane log group keeps logs.
    pub log_retention_days: u32,
}

/// VPC settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// VPC address range, /16 to /20; subnets are carved from it.
    pub vpc_cidr: String,
    /// Two AZs for the subnets, the first holding the nodes; empty = the first AZ (by name)
    /// that offers the instance type, plus another one.
    pub availability_zones: Vec<String>,
}

/// The EFA node group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    /// EC2 instance type; must support EFA.
    pub instance_type: String,
    /// Number of nodes (at least 2: a benchmark needs two hosts).
    pub count: u32,
    /// Root volume size; images with the EFA userspace and CUDA are large.
    pub volume_size_gib: u32,
    /// 2 MiB huge pages reserved on each node before kubelet starts (0 = none).
    pub hugepages_2mi: u32,
    /// Version of the AWS EFA installer whose user space goes on each host and into the benchmark
    /// image (pinned for reproducible runs; docker/Dockerfile's `EFA_INSTALLER_VERSION` default
    /// is the same, so pods and node-mode runs use one libfabric).
    pub efa_installer_version: String,
    /// Optional path of an SSH public key to install; nodes never need one.
    pub ssh_public_key_path: Option<String>,
    /// Optional capacity reservation for scarce instance types.
    pub capacity_reservation_id: Option<String>,
    /// The reservation is an EC2 Capacity Block for ML (GPU types booked for a time window).
    pub capacity_block: bool,
}

impl Default for StackConfig {
    fn default() -> Self {
        StackConfig {
            name: "rdmabench".into(),
            region: "us-east-1".into(),
            owner: String::new(),
            ttl: "4h".into(),
            cluster: ClusterConfig::default(),
            network: NetworkConfig::default(),
            nodes: NodeConfig::default(),
            state: StateConfig::default(),
            k8s: K8sConfig::default(),
        }
    }
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            kubernetes_version: "1.35".into(),
            public_endpoint: true,
            public_access_cidrs: Vec::new(),
            log_retention_days: 7,
        }
    }
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            vpc_cidr: "10.42.0.0/16".into(),
            availability_zones: Vec::new(),
        }
    }
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            instance_type: "m7g.16xlarge".into(),
            count: 2,
            volume_size_gib: 100,
            hugepages_2mi: 2048,
            // The newest release in AWS's EFA release notes (1.51.0, October 22, 2026:
            // https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/efa-changelog.html).
            efa_installer_version: "1.51.0".into(),
            ssh_public_key_path: None,
            capacity_reservation_id: None,
            capacity_block: false,
        }
    }
}

/// A parsed IPv4 CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// Network address.
    pub address: Ipv4Addr,
    /// Prefix length.
    pub prefix: u8,
}

impl Cidr {
    /// Parses "a.b.c.d/n" and requires the address to be the network address.
    pub fn parse(text: &str) -> Option<Cidr> {
        let (address, prefix) = text.split_once('/')?;
        let address: Ipv4Addr = address.parse().ok()?;
        let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 32)?;
        let mask = if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - prefix)
        };
        (u32::from(address) & !mask == 0).then_some(Cidr { address, prefix })
    }

    /// The `index`-th sub-block with `new_prefix` (Terraform's cidrsubnet, computed here so the
    /// synthesized JSON shows literal ranges).
    pub fn subnet(&self, new_prefix: u8, index: u32) -> Option<Cidr> {
        if new_prefix < self.prefix || new_prefix > 32 {
            return None;
        }
        let count = 1u64 << (new_prefix - self.prefix);
        if u64::from(index) >= count {
            return None;
        }
        let offset = u64::from(index) << (32 - new_prefix);
        let base = u64::from(u32::from(self.address)) + offset;
        Some(Cidr {
            address: Ipv4Addr::from(u32::try_from(base).ok()?),
            prefix: new_prefix,
        })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 20
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
}

fn valid_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

impl StackConfig {
    /// Reads and validates a configuration file; `path` is only used in messages.
    pub fn from_toml(text: &str, path: &str) -> Result<StackConfig, ConfigError> {
        let config: StackConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_string(),
            message: e.message().to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// The instance type's EFA facts (validated to exist).
    pub fn instance(&self) -> Result<&'static InstanceType, ConfigError> {
        lookup(&self.nodes.instance_type).ok_or_else(|| {
            invalid(
                "nodes.instance_type",
                &self.nodes.instance_type,
                "not an EFA-capable instance type rdmabench knows; pick one listed by `rdmabench infra instance-types` (e.g. m7g.16xlarge, c6in.32xlarge, p5.48xlarge)",
            )
        })
    }

    /// The VPC range (validated).
    pub fn vpc_cidr(&self) -> Result<Cidr, ConfigError> {
        let cidr = Cidr::parse(&self.network.vpc_cidr).ok_or_else(|| {
            invalid(
                "network.vpc_cidr",
                &self.network.vpc_cidr,
                "not an IPv4 network in CIDR form such as 10.42.0.0/16 (the address must be the network's first)",
            )
        })?;
        if !(16..=20).contains(&cidr.prefix) {
            return Err(invalid(
                "network.vpc_cidr",
                &self.network.vpc_cidr,
                "use a prefix between /16 and /20 so four /22+ subnets fit",
            ));
        }
        Ok(cidr)
    }

    /// Checks every field; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !valid_name(&self.name) {
            return Err(invalid(
                "name",
                &self.name,
                "use 1-20 characters: lower-case letters, digits and '-', starting with a letter",
            ));
        }
        if !valid_region(&self.region) {
            return Err(invalid(
                "region",
                &self.region,
                "not an AWS region name such as us-east-1",
            ));
        }
        if crate::ttl::parse_ttl(&self.ttl).is_none() {
            return Err(invalid(
                "ttl",
                &self.ttl,
                "use a duration in hours or minutes, e.g. 4h or 90m",
            ));
        }
        // Which versions EKS offers depends on the day; the refusal names them.
        if let Err(problem) = crate::eks_versions::support(
            &self.cluster.kubernetes_version,
            &crate::eks_versions::today(),
        ) {
            return Err(invalid(
                "cluster.kubernetes_version",
                &self.cluster.kubernetes_version,
                problem,
            ));
        }
        if self.k8s.efa == EfaDevices::Dra
            && crate::eks_versions::minor(&self.cluster.kubernetes_version) < Some(34)
        {
            return Err(invalid(
                "k8s.efa",
                "\"dra\"",
                format!(
                    "the EFA DRA driver needs the resource.k8s.io/v1 API of Kubernetes 1.34 or later, and cluster.kubernetes_version is {}: raise the version or use k8s.efa = \"device-plugin\"",
                    self.cluster.kubernetes_version
                ),
            ));
        }
        if self.cluster.public_endpoint && self.cluster.public_access_cidrs.is_empty() {
            return Err(invalid(
                "cluster.public_access_cidrs",
                "[]",
                "the public API endpoint needs the addresses allowed to reach it: put your own address as a /32 (e.g. \"203.0.113.7/32\"), or set cluster.public_endpoint = false",
            ));
        }
        for cidr in &self.cluster.public_access_cidrs {
            match Cidr::parse(cidr) {
                None => {
                    return Err(invalid(
                        "cluster.public_access_cidrs",
                        cidr,
                        "not an IPv4 network in CIDR form such as 203.0.113.7/32",
                    ))
                }
                Some(c) if c.prefix < 8 => {
                    return Err(invalid(
                        "cluster.public_access_cidrs",
                        cidr,
                        "opens the Kubernetes API to a large part of the internet; list the addresses you use (/8 or narrower)",
                    ))
                }
                Some(_) => {}
            }
        }
        if self.cluster.log_retention_days == 0 {
            return Err(invalid(
                "cluster.log_retention_days",
                0,
                "keep logs at least 1 day",
            ));
        }
        self.vpc_cidr()?;
        let azs = &self.network.availability_zones;
        if !azs.is_empty() {
            let distinct = azs[0] != azs.get(1).cloned().unwrap_or_default();
            if azs.len() != 2 || !distinct || azs.iter().any(|az| !az.starts_with(&self.region)) {
                return Err(invalid(
                    "network.availability_zones",
                    format!("{azs:?}"),
                    format!(
                        "give exactly two different AZs of {} (nodes go in the first), or leave it empty to choose automatically",
                        self.region
                    ),
                ));
            }
        }
        self.instance()?;
        if self.nodes.count < 2 {
            return Err(invalid(
                "nodes.count",
                self.nodes.count,
                "a ping-pong needs two hosts: use 2 or more",
            ));
        }
        if self.nodes.count > 64 {
            return Err(invalid(
                "nodes.count",
                self.nodes.count,
                "more than 64 nodes is beyond what rdmabench's placement group layout supports",
            ));
        }
        if self.nodes.volume_size_gib < 40 {
            return Err(invalid(
                "nodes.volume_size_gib",
                self.nodes.volume_size_gib,
                "the benchmark image with the EFA userspace needs room: use 40 or more",
            ));
        }
        let version_ok = {
            let parts: Vec<&str> = self.nodes.efa_installer_version.split('.').collect();
            parts.len() == 3
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        };
        if !version_ok {
            return Err(invalid(
                "nodes.efa_installer_version",
                &self.nodes.efa_installer_version,
                format!(
                    "use a released EFA installer version such as {}",
                    NodeConfig::default().efa_installer_version
                ),
            ));
        }
        if let Some(bucket) = &self.state.s3_bucket {
            let ok = (3..=63).contains(&bucket.len())
                && bucket
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
            if !ok {
                return Err(invalid(
                    "state.s3_bucket",
                    bucket,
                    "an S3 bucket name has 3-63 lower-case letters, digits, '-' or '.'; remove the line to keep state locally",
                ));
            }
        } else if let Some(key) = &self.state.s3_key {
            return Err(invalid(
                "state.s3_key",
                key,
                "only used with state.s3_bucket: set the bucket too, or remove the line",
            ));
        }
        if self.nodes.capacity_block && self.nodes.capacity_reservation_id.is_none() {
            return Err(invalid(
                "nodes.capacity_block",
                true,
                "a capacity block is used through its reservation: set nodes.capacity_reservation_id to the block's cr-... id",
            ));
        }
        if let Some(id) = &self.nodes.capacity_reservation_id {
            if !id.starts_with("cr-") {
                return Err(invalid(
                    "nodes.capacity_reservation_id",
                    id,
                    "a capacity reservation id looks like cr-0123456789abcdef0",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> StackConfig {
        let mut config = StackConfig::default();
        config.cluster.public_access_cidrs = vec!["203.0.113.7/32".into()];
        config
    }

    fn field_of(config: &StackConfig) -> &'static str {
        match config.validate() {
            Err(ConfigError::Invalid { field, .. }) => field,
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn defaults_with_an_address_are_valid() {
        assert_eq!(valid().validate(), Ok(()));
        let mut private_only = StackConfig::default();
        private_only.cluster.public_endpoint = false;
        assert_eq!(private_only.validate(), Ok(()));
    }

    #[test]
    fn every_bad_value_is_named() {
        type Breaker = fn(&mut StackConfig);
        let cases: &[(&str, Breaker)] = &[
            ("name", |c| c.name = "Bad_Name".into()),
            ("name", |c| c.name = "a-very-long-stack-name-indeed".into()),
            ("region", |c| c.region = "mars".into()),
            ("ttl", |c| c.ttl = "forever".into()),
            ("cluster.kubernetes_version", |c| {
                c.cluster.kubernetes_version = "1.25".into()
            }),
            ("cluster.kubernetes_version", |c| {
                c.cluster.kubernetes_version = "latest".into()
            }),
            ("cluster.public_access_cidrs", |c| {
                c.cluster.public_access_cidrs.clear()
            }),
            ("cluster.public_access_cidrs", |c| {
                c.cluster.public_access_cidrs = vec!["0.0.0.0/0".into()]
            }),
            ("cluster.public_access_cidrs", |c| {
                c.cluster.public_access_cidrs = vec!["203.0.113.7".into()]
            }),
            ("cluster.log_retention_days", |c| {
                c.cluster.log_retention_days = 0
            }),
            ("network.vpc_cidr", |c| {
                c.network.vpc_cidr = "10.42.0.0/8".into()
            }),
            ("network.vpc_cidr", |c| {
                c.network.vpc_cidr = "10.42.0.1/16".into()
            }),
            ("network.vpc_cidr", |c| {
                c.network.vpc_cidr = "not-a-cidr".into()
            }),
            ("network.availability_zones", |c| {
                c.network.availability_zones = vec!["us-east-1a".into()]
            }),
            ("network.availability_zones", |c| {
                c.network.availability_zones = vec!["us-east-1a".into(), "us-east-1a".into()]
            }),
            ("network.availability_zones", |c| {
                c.network.availability_zones = vec!["eu-west-1a".into(), "eu-west-1b".into()]
            }),
            ("nodes.instance_type", |c| {
                c.nodes.instance_type = "t3.micro".into()
            }),
            ("nodes.instance_type", |c| {
                c.nodes.instance_type = "m7g.large".into()
            }),
            ("nodes.count", |c| c.nodes.count = 1),
            ("nodes.count", |c| c.nodes.count = 65),
            ("nodes.volume_size_gib", |c| c.nodes.volume_size_gib = 20),
            ("nodes.efa_installer_version", |c| {
                c.nodes.efa_installer_version = "latest".into()
            }),
            ("nodes.capacity_reservation_id", |c| {
                c.nodes.capacity_reservation_id = Some("abc".into())
            }),
            ("nodes.capacity_block", |c| c.nodes.capacity_block = true),
            ("state.s3_bucket", |c| {
                c.state.s3_bucket = Some("My_Bucket".into())
            }),
            ("state.s3_key", |c| {
                c.state.s3_key = Some("a/b.tfstate".into())
            }),
        ];
        for (field, breaker) in cases {
            let mut config = valid();
            breaker(&mut config);
            assert_eq!(field_of(&config), *field, "{config:?}");
            let message = config.validate().unwrap_err().to_string();
            assert!(message.starts_with(field), "{message}");
        }
    }

    /// `k8s.efa` takes the two mechanisms by name; DRA needs Kubernetes 1.34's resource.k8s.io/v1.
    #[test]
    fn the_efa_mechanism_is_named_and_dra_needs_kubernetes_1_34() {
        let private = "[cluster]\npublic_endpoint = false\n";
        let config =
            StackConfig::from_toml(&format!("{private}[k8s]\nefa = \"dra\"\n"), "my.toml").unwrap();
        assert_eq!(config.k8s.efa, EfaDevices::Dra);
        assert_eq!(StackConfig::default().k8s.efa, EfaDevices::DevicePlugin);
        let err = StackConfig::from_toml(&format!("{private}[k8s]\nefa = \"dranet\"\n"), "my.toml")
            .unwrap_err();
        assert!(err.to_string().contains("device-plugin"), "{err}");
        let mut old = valid();
        old.k8s.efa = EfaDevices::Dra;
        old.cluster.kubernetes_version = "1.33".into();
        assert_eq!(field_of(&old), "k8s.efa");
        let message = old.validate().unwrap_err().to_string();
        assert!(
            message.contains("1.34") && message.contains("1.33"),
            "{message}"
        );
        old.cluster.kubernetes_version = "1.34".into();
        assert_eq!(old.validate(), Ok(()));
    }

    #[test]
    fn unknown_and_mistyped_fields_are_parse_errors_with_the_path() {
        let err = StackConfig::from_toml("nmae = \"x\"\n", "my.toml").unwrap_err();
        assert!(
            matches!(&err, ConfigError::Parse { path, .. } if path == "my.toml"),
            "{err}"
        );
        assert!(err.to_string().contains("nmae"), "{err}");
        let err = StackConfig::from_toml("[nodes]\ncount = \"two\"\n", "my.toml").unwrap_err();
        assert!(err.to_string().starts_with("my.toml: "), "{err}");
    }

    #[test]
    fn cidr_subnets_match_terraforms_cidrsubnet() {
        let vpc = Cidr::parse("10.42.0.0/16").unwrap();
        assert_eq!(vpc.subnet(20, 0).unwrap().to_string(), "10.42.0.0/20");
        assert_eq!(vpc.subnet(20, 9).unwrap().to_string(), "10.42.144.0/20");
        assert!(vpc.subnet(20, 16).is_none());
        assert!(Cidr::parse("10.42.0.0/33").is_none());
    }
}
