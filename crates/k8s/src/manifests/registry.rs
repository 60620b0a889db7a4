//! Where EKS publishes its add-on images (the EFA device plugin among them): one ECR registry per
//! region, owned by an account that differs in opt-in, China and GovCloud regions. Nodes pull from
//! it with the ECR read-only policy their role already has, so no public registry is involved.

/// Account of the EKS add-on registry in most commercial regions.
const DEFAULT_ACCOUNT: &str = "602401143452";

/// Regions whose EKS add-on registry lives in another account (Amazon EKS user guide, "View
/// Amazon container image registries for Amazon EKS add-ons").
const OTHER_ACCOUNTS: &[(&str, &str)] = &[
    ("af-south-1", "877085696533"),
    ("ap-east-1", "800184023465"),
    ("ap-south-2", "900889452093"),
    ("ap-southeast-3", "296578399912"),
    ("ap-southeast-4", "491585149902"),
    ("ap-southeast-5", "151610086707"),
    ("ap-southeast-7", "121268973566"),
    ("ca-west-1", "761377655185"),
    ("cn-north-1", "918309763551"),
    ("cn-northwest-1", "961992271922"),
    ("eu-central-2", "900612956339"),
    ("eu-south-1", "590381155156"),
    ("eu-south-2", "455263428931"),
    ("il-central-1", "066635153087"),
    ("me-central-1", "759879836304"),
    ("me-south-1", "558608220178"),
    ("mx-central-1", "730335286997"),
    ("us-gov-east-1", "151742754352"),
    ("us-gov-west-1", "013241004608"),
];

/// The EKS add-on registry host for `region`, e.g. `602401143452.dkr.ecr.us-east-1.amazonaws.com`.
pub fn eks_addon_registry(region: &str) -> String {
    let account = OTHER_ACCOUNTS
        .iter()
        .find(|(r, _)| *r == region)
        .map_or(DEFAULT_ACCOUNT, |(_, account)| account);
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("{account}.dkr.ecr.{region}.{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_regions_use_the_main_account_and_others_their_own() {
        assert_eq!(
            eks_addon_registry("us-east-1"),
            "602401143452.dkr.ecr.us-east-1.amazonaws.com"
        );
        assert_eq!(
            eks_addon_registry("af-south-1"),
            "877085696533.dkr.ecr.af-south-1.amazonaws.com"
        );
        assert_eq!(
            eks_addon_registry("cn-north-1"),
            "918309763551.dkr.ecr.cn-north-1.amazonaws.com.cn"
        );
    }
}
