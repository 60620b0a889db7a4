//! Which Kubernetes minor versions EKS offers, and whether in standard or extended support, from
//! an embedded copy of AWS's EKS release calendar: extended support costs six times as much per
//! cluster-hour, and EKS refuses to create a cluster on a version past its extended support.

/// Where the calendar comes from: AWS's "Understand the Kubernetes version lifecycle on EKS"
/// (its release calendar table).
pub const CALENDAR_SOURCE: &str =
    "docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html";
/// When the embedded calendar was read; versions released after it are not in it.
pub const CALENDAR_AS_OF: &str = "2026-02-13";

/// (minor version, end of standard support, end of extended support), dates as YYYY-MM-DD:
/// 14 months of standard support after the EKS release, then 12 of extended support.
const CALENDAR: &[(&str, &str, &str)] = &[
    ("1.29", "2025-03-23", "2026-03-23"),
    ("1.30", "2025-07-23", "2026-07-23"),
    ("1.31", "2025-11-26", "2026-11-26"),
    ("1.32", "2026-03-23", "2027-03-23"),
    ("1.33", "2026-07-29", "2027-07-29"),
    ("1.34", "2026-12-02", "2027-12-02"),
    ("1.35", "2027-03-27", "2028-03-27"),
];

/// The support phase a version is in on a given day, which sets the control plane's price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// The first 14 months: the base price per cluster-hour.
    Standard,
    /// The 12 months after: the extended-support price per cluster-hour.
    Extended,
}

/// The support phase of `version` on `today` (YYYY-MM-DD), or why EKS does not offer it, with
/// the versions it does offer. A minor version newer than the calendar is taken as standard
/// support (every release starts there); EKS itself refuses one it does not offer yet.
pub fn support(version: &str, today: &str) -> Result<Support, String> {
    let Some(wanted) = minor(version) else {
        return Err(format!(
            "not a Kubernetes minor version such as \"1.35\"; {}",
            offered(today)
        ));
    };
    match CALENDAR.iter().find(|(v, _, _)| minor(v) == Some(wanted)) {
        Some(entry) => phase(entry, today).ok_or_else(|| {
            format!(
                "EKS ended extended support for {version} on {} and no longer creates clusters on it; {}",
                entry.2,
                offered(today)
            )
        }),
        None if CALENDAR.iter().all(|(v, _, _)| minor(v) < Some(wanted)) => Ok(Support::Standard),
        None => Err(format!(
            "EKS no longer offers {version}; {}",
            offered(today)
        )),
    }
}

/// The minor number of a "1.NN" version, None for anything else.
pub(crate) fn minor(version: &str) -> Option<u32> {
    version
        .strip_prefix("1.")
        .and_then(|m| m.parse::<u32>().ok())
}

/// The phase of one calendar entry on `today`; None once its extended support has ended.
fn phase((_, standard_end, extended_end): &(&str, &str, &str), today: &str) -> Option<Support> {
    if today >= *extended_end {
        None
    } else if today >= *standard_end {
        Some(Support::Extended)
    } else {
        Some(Support::Standard)
    }
}

/// "EKS offers 1.32 and 1.33 (extended support), 1.34 and 1.35 (standard support) on <today>
/// (release calendar as of ...)".
fn offered(today: &str) -> String {
    let pick = |wanted: Support| {
        CALENDAR
            .iter()
            .filter(|entry| phase(entry, today) == Some(wanted))
            .map(|(v, _, _)| *v)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (standard, extended) = (pick(Support::Standard), pick(Support::Extended));
    let mut parts = Vec::new();
    if !extended.is_empty() {
        parts.push(format!(
            "{extended} (extended support, at a higher hourly price)"
        ));
    }
    if !standard.is_empty() {
        parts.push(format!("{standard} (standard support)"));
    }
    if parts.is_empty() {
        parts.push("none of the versions in rdmabench's calendar; use a newer one".into());
    }
    format!(
        "on {today} EKS offers {} (release calendar as of {CALENDAR_AS_OF}, {CALENDAR_SOURCE})",
        parts.join(", ")
    )
}

/// Today as YYYY-MM-DD (UTC), to compare with the calendar.
pub fn today() -> String {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    now[..10].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_then_extended_then_refused() {
        assert_eq!(support("1.34", "2026-12-01"), Ok(Support::Standard));
        assert_eq!(support("1.34", "2026-12-02"), Ok(Support::Extended));
        assert_eq!(support("1.34", "2027-12-01"), Ok(Support::Extended));
        let refused = support("1.34", "2027-12-02").unwrap_err();
        assert!(
            refused.contains("EKS ended extended support for 1.34 on 2027-12-02"),
            "{refused}"
        );
    }

    #[test]
    fn a_refusal_names_the_offered_versions_and_the_calendar_date() {
        let refused = support("1.31", "2026-12-02").unwrap_err();
        assert_eq!(
            refused,
            "EKS ended extended support for 1.31 on 2026-11-26 and no longer creates clusters on it; on 2026-12-02 EKS offers 1.32, 1.33, 1.34 (extended support, at a higher hourly price), 1.35 (standard support) (release calendar as of 2026-02-13, docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html)"
        );
        let ancient = support("1.25", "2026-12-02").unwrap_err();
        assert!(
            ancient.starts_with("EKS no longer offers 1.25; on 2026-12-02 EKS offers 1.32"),
            "{ancient}"
        );
        assert!(support("latest", "2026-12-02")
            .unwrap_err()
            .starts_with("not a Kubernetes minor version"));
    }

    #[test]
    fn versions_newer_than_the_calendar_start_in_standard_support() {
        assert_eq!(support("1.36", "2026-12-02"), Ok(Support::Standard));
    }

    #[test]
    fn the_default_version_is_in_standard_support_on_the_calendar_date() {
        let default = crate::config::ClusterConfig::default().kubernetes_version;
        assert_eq!(support(&default, CALENDAR_AS_OF), Ok(Support::Standard));
    }
}
