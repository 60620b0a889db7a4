//! `infra check`: the things that make an apply fail late and expensively, checked first —
//! credentials, the instance type's availability in the region, and the service quotas.

use crate::aws::Aws;
use crate::error::InfraError;
use crate::quotas;
use crate::workspace::Workspace;

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What was checked.
    pub check: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was found, and for a failure what to do.
    pub detail: String,
}

impl Finding {
    fn pass(check: impl Into<String>, detail: impl Into<String>) -> Finding {
        Finding {
            check: check.into(),
            ok: true,
            detail: detail.into(),
        }
    }

    fn fail(check: impl Into<String>, detail: impl Into<String>) -> Finding {
        Finding {
            check: check.into(),
            ok: false,
            detail: detail.into(),
        }
    }
}

/// Runs every check; a failed credentials check stops the rest (they would all fail alike).
pub fn run(workspace: &Workspace, aws: &Aws) -> Result<Vec<Finding>, InfraError> {
    let config = workspace.config();
    let mut findings = Vec::new();
    match aws.caller_identity() {
        Ok(caller) => findings.push(Finding::pass(
            "credentials",
            format!("account {} as {}", caller.account, caller.arn),
        )),
        Err(e) => {
            findings.push(Finding::fail(
                "credentials",
                format!("{e}; configure AWS credentials (AWS_PROFILE, `aws sso login`, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"),
            ));
            return Ok(findings);
        }
    }

    let instance_type = &config.nodes.instance_type;
    let check = format!("{instance_type} offered in {}", config.region);
    let zones = workspace.instance_type_offerings()?;
    let node_az = config.network.availability_zones.first();
    findings.push(match (zones.is_empty(), node_az) {
        (true, _) => Finding::fail(
            check,
            format!("no AZ of {} offers {instance_type}; try another region (e.g. us-east-1, us-west-2) or another type from `rdmabench infra instance-types`", config.region),
        ),
        (false, Some(az)) if !zones.contains(az) => Finding::fail(
            check,
            format!("network.availability_zones puts the nodes in {az}, which does not offer {instance_type}; use one of {}", zones.join(", ")),
        ),
        (false, _) => Finding::pass(check, format!("in {}", zones.join(", "))),
    });

    for need in quotas::needs(config)? {
        let check = format!("quota {} ({})", need.name, need.code);
        let finding = match aws.quota(need.service, need.code) {
            Ok(Some(value)) if value >= need.needed => Finding::pass(
                check,
                format!("{value} {} >= {} needed (running workloads also count against it)", need.unit, need.needed),
            ),
            Ok(Some(value)) => Finding::fail(
                check,
                format!(
                    "{value} {} < {} needed; request an increase in the Service Quotas console ({} / {}) for {}",
                    need.unit, need.needed, need.service, need.code, config.region
                ),
            ),
            Ok(None) => Finding::fail(check, "AWS reported no value for this quota"),
            Err(e) => Finding::fail(
                check,
                format!("{e}; the caller needs servicequotas:GetServiceQuota"),
            ),
        };
        findings.push(finding);
    }
    Ok(findings)
}

/// `infra check`: connects to the stack's region and runs every check.
pub fn check(workspace: &Workspace) -> Result<Vec<Finding>, InfraError> {
    let aws = Aws::connect(&workspace.config().region)?;
    run(workspace, &aws)
}

/// The findings as aligned lines, `ok` or `FAIL` first.
pub fn render(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            format!(
                "{:<4}  {}: {}\n",
                if f.ok { "ok" } else { "FAIL" },
                f.check,
                f.detail
            )
        })
        .collect()
}
