//! Hourly cost estimate printed before `up` and used by `status`, from an embedded price table.
//! Every price records where it came from and when; a price we do not know is shown as
//! unknown, never as 0, and the total then says it is a lower bound.

use crate::config::{ConfigError, StackConfig};
use crate::eks_versions::{self, Support};
use crate::synth::LOG_TYPES;
use rdmabench_report::tables::{self, Align};

/// Where EC2 On-Demand prices come from.
const EC2_SOURCE: &str = "aws.amazon.com/ec2/pricing/on-demand (Linux, us-east-1)";
/// When the embedded EC2 prices were read.
const EC2_AS_OF: &str = "2025-06";

/// On-Demand Linux USD/hour in us-east-1. Types absent here (P4d/P5 after the 2025 price cuts,
/// HPC types, which us-east-1 does not offer) are unknown on purpose.
#[rustfmt::skip]
const US_EAST_1_INSTANCES: &[(&str, f64)] = &[
    ("c5n.18xlarge", 3.888), ("c5n.metal", 3.888), ("c6gn.16xlarge", 2.7648),
    ("c6i.32xlarge", 5.44), ("c6in.32xlarge", 7.2576), ("c7g.16xlarge", 2.32),
    ("c7gn.16xlarge", 3.9936), ("c7i.48xlarge", 8.568), ("c8g.24xlarge", 3.82848),
    ("g5.48xlarge", 16.288), ("g6.48xlarge", 13.35048), ("m6i.32xlarge", 6.144),
    ("m7g.16xlarge", 2.6112), ("m7g.metal", 2.6112), ("m7i.48xlarge", 9.6768),
    ("m8g.24xlarge", 4.30848), ("r7g.16xlarge", 3.4272), ("r7i.48xlarge", 12.7008),
    ("trn1.32xlarge", 21.50),
];

/// One line of the estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct CostLine {
    /// What is billed.
    pub item: String,
    /// How many.
    pub quantity: f64,
    /// USD per hour for one, if known.
    pub usd_per_hour: Option<f64>,
    /// Where the price comes from.
    pub source: &'static str,
    /// When it was read.
    pub as_of: &'static str,
}

impl CostLine {
    /// USD per hour for all of them, if known.
    pub fn total(&self) -> Option<f64> {
        self.usd_per_hour.map(|p| p * self.quantity)
    }
}

/// A price billed per GB of use, which an hourly estimate cannot total: shown beside it so the
/// user knows the bill grows with what the stack does.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageLine {
    /// What is billed.
    pub item: String,
    /// USD per GB, if known.
    pub usd_per_gb: Option<f64>,
    /// Where the price comes from.
    pub source: &'static str,
    /// When it was read.
    pub as_of: &'static str,
}

/// The stack's hourly cost while it exists.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// One line per billed item.
    pub lines: Vec<CostLine>,
    /// Prices per GB, not in the total.
    pub usage: Vec<UsageLine>,
}

/// Why the second NAT gateway stays although no node uses it, printed under the table.
const NAT_NOTE: &str = "note: the nodes run in the first AZ; the second AZ's NAT gateway and its address serve no node. They stay because EKS needs subnets in two AZs and each private subnet routes through a NAT gateway in its own AZ, so a pod or node placed there later has egress without a cross-AZ hop (about $0.05/h)";

impl Estimate {
    /// Sum of the known lines.
    pub fn known_usd_per_hour(&self) -> f64 {
        self.lines.iter().filter_map(CostLine::total).sum()
    }

    /// Whether some price is unknown (the total is then a lower bound).
    pub fn has_unknown(&self) -> bool {
        self.lines.iter().any(|l| l.usd_per_hour.is_none())
    }

    /// The total as text: "$5.45/h", or "at least $5.45/h" with unknown prices.
    pub fn total_text(&self) -> String {
        let total = format!("${:.2}/h", self.known_usd_per_hour());
        if self.has_unknown() {
            format!("at least {total} (some prices unknown)")
        } else {
            total
        }
    }

    /// A table for the terminal (one fixed layout: it is also logged).
    pub fn render(&self) -> String {
        let money = |v: Option<f64>| v.map_or("unknown".to_string(), |v| format!("{v:.4}"));
        let rows: Vec<Vec<String>> = self
            .lines
            .iter()
            .map(|line| {
                vec![
                    line.item.clone(),
                    line.quantity.to_string(),
                    money(line.usd_per_hour),
                    money(line.total()),
                    format!("{} ({})", line.source, line.as_of),
                ]
            })
            .collect();
        let mut out = tables::text(
            &["item", "qty", "$/h each", "$/h", "source (as of)"],
            &rows,
            |i| match i {
                1..=3 => Align::Right,
                _ => Align::Left,
            },
            None,
        );
        out.push_str(&format!(
            "total: {} while the stack exists; data transfer and NAT data processing are billed per GB and not included\n",
            self.total_text()
        ));
        for line in &self.usage {
            let price = line
                .usd_per_gb
                .map_or("unknown".to_string(), |v| format!("${v:.2}/GB"));
            out.push_str(&format!(
                "usage-dependent, not in the total: {} at {price}  {} ({})\n",
                line.item, line.source, line.as_of
            ));
        }
        out.push_str(NAT_NOTE);
        out.push('\n');
        out
    }
}

/// The hourly estimate for `config` today (the Kubernetes version's support phase sets the
/// control plane's price).
pub fn estimate(config: &StackConfig) -> Result<Estimate, ConfigError> {
    estimate_on(config, &eks_versions::today())
}

/// The estimate on `today` (YYYY-MM-DD).
fn estimate_on(config: &StackConfig, today: &str) -> Result<Estimate, ConfigError> {
    let version = &config.cluster.kubernetes_version;
    let support =
        eks_versions::support(version, today).map_err(|problem| ConfigError::Invalid {
            field: "cluster.kubernetes_version",
            value: version.clone(),
            problem,
        })?;
    // EKS bills $0.10 per cluster-hour in standard support and $0.60 in extended support.
    let (phase, control_plane) = match support {
        Support::Standard => ("standard", 0.10),
        Support::Extended => ("extended", 0.60),
    };
    let instance = config.instance()?;
    let us_east_1 = config.region == "us-east-1";
    let regional = |price: f64| us_east_1.then_some(price);
    let instance_price = us_east_1
        .then(|| {
            US_EAST_1_INSTANCES
                .iter()
                .find(|(name, _)| *name == instance.name)
                .map(|(_, price)| *price)
        })
        .flatten();
    let count = f64::from(config.nodes.count);
    let volume_gib = f64::from(config.nodes.volume_size_gib * config.nodes.count);
    Ok(Estimate {
        lines: vec![
            CostLine {
                item: format!("{} On-Demand", instance.name),
                quantity: count,
                usd_per_hour: instance_price,
                source: EC2_SOURCE,
                as_of: EC2_AS_OF,
            },
            CostLine {
                item: format!("EKS control plane ({version}, {phase} support)"),
                quantity: 1.0,
                usd_per_hour: Some(control_plane),
                source: "aws.amazon.com/eks/pricing",
                as_of: "2025-06",
            },
            CostLine {
                item: "NAT gateway (one per AZ, see note)".into(),
                quantity: 2.0,
                usd_per_hour: regional(0.045),
                source: "aws.amazon.com/vpc/pricing (us-east-1)",
                as_of: "2025-06",
            },
            CostLine {
                item: "public IPv4 address (NAT EIP)".into(),
                quantity: 2.0,
                usd_per_hour: Some(0.005),
                source: "aws.amazon.com/vpc/pricing (public IPv4, since 2024-02)",
                as_of: "2025-06",
            },
            CostLine {
                item: "EBS gp3 root volumes (GiB)".into(),
                quantity: volume_gib,
                usd_per_hour: regional(0.08 / 730.0),
                source: "aws.amazon.com/ebs/pricing ($0.08/GB-month, us-east-1)",
                as_of: "2025-06",
            },
            CostLine {
                item: "KMS key".into(),
                quantity: 1.0,
                usd_per_hour: Some(1.0 / 730.0),
                source: "aws.amazon.com/kms/pricing ($1/month)",
                as_of: "2025-06",
            },
        ],
        usage: vec![UsageLine {
            item: format!(
                "CloudWatch Logs ingestion of the control-plane logs ({})",
                LOG_TYPES.join(", ")
            ),
            usd_per_gb: regional(0.50),
            source: "aws.amazon.com/cloudwatch/pricing (Standard log class, us-east-1)",
            as_of: "2025-06",
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_stack_in_us_east_1_is_fully_priced() {
        let estimate = estimate_on(&StackConfig::default(), eks_versions::CALENDAR_AS_OF).unwrap();
        assert!(!estimate.has_unknown());
        // 2 x 2.6112 + 0.10 + 2 x 0.045 + 2 x 0.005 + 200 GiB gp3 + one key
        let expected = 5.2224 + 0.10 + 0.09 + 0.01 + 200.0 * 0.08 / 730.0 + 1.0 / 730.0;
        assert!((estimate.known_usd_per_hour() - expected).abs() < 1e-9);
        assert_eq!(estimate.total_text(), "$5.45/h");
    }

    #[test]
    fn unknown_prices_are_never_zero() {
        let mut config = StackConfig::default();
        config.nodes.instance_type = "p5.48xlarge".into();
        let gpu = estimate_on(&config, eks_versions::CALENDAR_AS_OF).unwrap();
        assert_eq!(gpu.lines[0].usd_per_hour, None);
        assert!(gpu.render().contains("unknown"));
        assert!(gpu.total_text().starts_with("at least"));

        config.region = "eu-west-1".into();
        config.nodes.instance_type = "m7g.16xlarge".into();
        let elsewhere = estimate_on(&config, eks_versions::CALENDAR_AS_OF).unwrap();
        assert!(elsewhere.has_unknown());
        assert!(elsewhere.render().contains("CloudWatch Logs ingestion of the control-plane logs (api, audit, authenticator, controllerManager, scheduler) at unknown"));
    }

    #[test]
    fn extended_support_costs_six_times_standard() {
        let mut config = StackConfig::default();
        config.cluster.kubernetes_version = "1.34".into();
        let standard = estimate_on(&config, "2026-12-01").unwrap();
        let extended = estimate_on(&config, "2026-12-02").unwrap();
        assert_eq!(
            standard.lines[1].item,
            "EKS control plane (1.34, standard support)"
        );
        assert_eq!(
            extended.lines[1].item,
            "EKS control plane (1.34, extended support)"
        );
        assert_eq!(extended.lines[1].usd_per_hour, Some(0.60));
        let difference = extended.known_usd_per_hour() - standard.known_usd_per_hour();
        assert!((difference - 0.50).abs() < 1e-9);
        let gone = estimate_on(&config, "2027-12-02").unwrap_err().to_string();
        assert!(
            gone.contains("EKS ended extended support for 1.34"),
            "{gone}"
        );
    }

    #[test]
    fn the_table_prices_log_ingestion_per_gb_and_says_why_the_second_nat_stays() {
        let table = estimate_on(&StackConfig::default(), eks_versions::CALENDAR_AS_OF)
            .unwrap()
            .render();
        insta::assert_snapshot!(table);
    }
}
