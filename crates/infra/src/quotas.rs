//! The service quotas a stack consumes, so `infra check` can say "raise quota X" before an
//! apply fails forty minutes in with VcpuLimitExceeded or AddressLimitExceeded.

use crate::config::{ConfigError, StackConfig};

/// One quota the stack needs, with how much of it.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaNeed {
    /// Service Quotas service code ("ec2", "vpc").
    pub service: &'static str,
    /// Quota code, e.g. "L-1216C47A".
    pub code: &'static str,
    /// The quota's name as the console shows it, so users can find it.
    pub name: &'static str,
    /// Units the stack uses.
    pub needed: f64,
    /// What a unit is ("vCPUs", "addresses" ...).
    pub unit: &'static str,
}

/// The EC2 On-Demand vCPU quota an instance family counts against (AWS groups families into a
/// handful of vCPU pools).
fn vcpu_quota(instance_type: &str) -> (&'static str, &'static str) {
    let family: String = instance_type
        .chars()
        .take_while(|c| c.is_ascii_lowercase())
        .collect();
    match family.as_str() {
        "p" => ("L-417A185B", "Running On-Demand P instances"),
        "g" | "vt" => ("L-DB2E81BA", "Running On-Demand G and VT instances"),
        "trn" => ("L-2C3B7624", "Running On-Demand Trn instances"),
        "inf" => ("L-1945791B", "Running On-Demand Inf instances"),
        "hpc" => ("L-F7808C92", "Running On-Demand HPC instances"),
        "dl" => ("L-6E869C2A", "Running On-Demand DL instances"),
        _ => (
            "L-1216C47A",
            "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances",
        ),
    }
}

/// Everything the stack consumes: node vCPUs, two Elastic IPs (one per NAT gateway), one NAT
/// gateway per AZ, one VPC.
pub fn needs(config: &StackConfig) -> Result<Vec<QuotaNeed>, ConfigError> {
    let instance = config.instance()?;
    let (code, name) = vcpu_quota(instance.name);
    Ok(vec![
        QuotaNeed {
            service: "ec2",
            code,
            name,
            needed: f64::from(instance.vcpus * config.nodes.count),
            unit: "vCPUs",
        },
        QuotaNeed {
            service: "ec2",
            code: "L-0263D0A3",
            name: "EC2-VPC Elastic IPs",
            needed: 2.0,
            unit: "addresses",
        },
        QuotaNeed {
            service: "vpc",
            code: "L-FE5A380F",
            name: "NAT gateways per Availability Zone",
            needed: 1.0,
            unit: "gateways",
        },
        QuotaNeed {
            service: "vpc",
            code: "L-F678F1CE",
            name: "VPCs per Region",
            needed: 1.0,
            unit: "VPCs",
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(instance_type: &str, count: u32) -> StackConfig {
        let mut config = StackConfig::default();
        config.nodes.instance_type = instance_type.into();
        config.nodes.count = count;
        config
    }

    #[test]
    fn vcpus_count_against_the_family_pool() {
        let standard = needs(&config("m7g.16xlarge", 2)).unwrap();
        assert_eq!(standard[0].code, "L-1216C47A");
        assert_eq!(standard[0].needed, 128.0);
        let gpu = needs(&config("p5.48xlarge", 2)).unwrap();
        assert_eq!((gpu[0].code, gpu[0].needed), ("L-417A185B", 384.0));
        assert_eq!(
            needs(&config("g6.48xlarge", 2)).unwrap()[0].code,
            "L-DB2E81BA"
        );
        assert_eq!(
            needs(&config("trn1.32xlarge", 2)).unwrap()[0].code,
            "L-2C3B7624"
        );
        assert_eq!(
            needs(&config("hpc7g.16xlarge", 3)).unwrap()[0].code,
            "L-F7808C92"
        );
    }

    #[test]
    fn network_quotas_are_always_needed() {
        let codes: Vec<&str> = needs(&StackConfig::default())
            .unwrap()
            .iter()
            .map(|n| n.code)
            .collect();
        assert!(codes.contains(&"L-0263D0A3"));
        assert!(codes.contains(&"L-FE5A380F"));
    }
}
