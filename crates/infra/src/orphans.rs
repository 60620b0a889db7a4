//! `infra down --orphans`: a stack whose Terraform state is lost is rebuilt into a state by
//! importing what still exists (found by the `rdmabench:stack` tag, or by the stack's
//! deterministic names), so an ordinary `terraform destroy` removes it in dependency order.
//! EC2 stays in Terraform: rdmabench itself only reads tags.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::aws::TaggedResource;

/// Terraform types found through the tagging API, with the ARN service and resource type.
const TAGGED_TYPES: &[(&str, &str, &str)] = &[
    ("aws_eip", "ec2", "elastic-ip"),
    ("aws_internet_gateway", "ec2", "internet-gateway"),
    ("aws_kms_key", "kms", "key"),
    ("aws_launch_template", "ec2", "launch-template"),
    ("aws_nat_gateway", "ec2", "natgateway"),
    ("aws_placement_group", "ec2", "placement-group"),
    ("aws_route_table", "ec2", "route-table"),
    ("aws_security_group", "ec2", "security-group"),
    ("aws_subnet", "ec2", "subnet"),
    ("aws_vpc", "ec2", "vpc"),
];

/// Terraform types whose import id is built from the configuration alone, as a template over
/// the resource's own arguments (`{name}`), other resources (`${aws_x.y.id}` / `.name`) and the
/// partition. Children that disappear with their parents (routes, rules, access entries, add-on
/// policies) are left out: destroying the parent removes them.
const NAMED_TYPES: &[(&str, &str)] = &[
    ("aws_cloudwatch_log_group", "{name}"),
    ("aws_ecr_repository", "{name}"),
    ("aws_eks_addon", "{cluster_name}:{addon_name}"),
    ("aws_eks_cluster", "{name}"),
    ("aws_eks_node_group", "{cluster_name}:{node_group_name}"),
    ("aws_iam_role", "{name}"),
    ("aws_iam_role_policy_attachment", "{role}/{policy_arn}"),
    ("aws_key_pair", "{key_name}"),
    ("aws_kms_alias", "{name}"),
    (
        "aws_route_table_association",
        "{subnet_id}/{route_table_id}",
    ),
];

/// The resource arguments [`NAMED_TYPES`] templates use.
const TEMPLATE_FIELDS: [&str; 9] = [
    "name",
    "cluster_name",
    "addon_name",
    "node_group_name",
    "role",
    "policy_arn",
    "key_name",
    "subnet_id",
    "route_table_id",
];

/// One `terraform import` to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// Resource address, e.g. `aws_subnet.private_0`.
    pub address: String,
    /// Import id, e.g. `subnet-0abc`.
    pub id: String,
}

fn resources(main: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    if let Some(types) = main["resource"].as_object() {
        for (kind, named) in types {
            for (name, body) in named.as_object().into_iter().flatten() {
                out.push((kind.clone(), name.clone(), body));
            }
        }
    }
    out
}

/// Replaces `${aws_x.y.id}`, `${aws_x.y.name}` and the partition in `text`; None if anything
/// stays unresolved.
fn resolve(
    text: &str,
    ids: &BTreeMap<String, String>,
    names: &BTreeMap<String, String>,
    partition: &str,
) -> Option<String> {
    let mut out = text.replace("${data.aws_partition.current.partition}", partition);
    for (address, id) in ids {
        out = out.replace(&format!("${{{address}.id}}"), id);
    }
    for (address, name) in names {
        out = out.replace(&format!("${{{address}.name}}"), name);
    }
    (!out.contains("${")).then_some(out)
}

/// The imports that rebuild a state for the synthesized stack `main` from the resources `found`
/// by tag. Tagged types are matched by their Name tag, or by being the only one of their kind;
/// named types are attempted whenever their id can be built (an import of something that does
/// not exist simply fails and is skipped).
pub fn plan_imports(main: &Value, found: &[TaggedResource], partition: &str) -> Vec<Import> {
    let all = resources(main);
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    for (kind, name, body) in &all {
        let Some((_, service, arn_type)) = TAGGED_TYPES.iter().find(|(k, ..)| k == kind) else {
            continue;
        };
        let candidates: Vec<&TaggedResource> = found
            .iter()
            .filter(|r| r.kind() == (*service, *arn_type))
            .collect();
        let wanted_name = body["tags"]["Name"].as_str();
        let same_kind = all.iter().filter(|(k, ..)| k == kind).count();
        let matched = match wanted_name {
            Some(wanted) => candidates
                .iter()
                .find(|r| r.tags.get("Name").map(String::as_str) == Some(wanted)),
            None if same_kind == 1 && candidates.len() == 1 => candidates.first(),
            None => None,
        };
        if let Some(resource) = matched {
            ids.insert(format!("{kind}.{name}"), resource.id().to_string());
        }
    }
    let names: BTreeMap<String, String> = all
        .iter()
        .filter_map(|(kind, name, body)| {
            Some((format!("{kind}.{name}"), body["name"].as_str()?.to_string()))
        })
        .collect();

    let mut imports: Vec<Import> = ids
        .iter()
        .map(|(address, id)| Import {
            address: address.clone(),
            id: id.clone(),
        })
        .collect();
    for (kind, name, body) in &all {
        let Some((_, template)) = NAMED_TYPES.iter().find(|(k, _)| k == kind) else {
            continue;
        };
        let mut id = template.to_string();
        let mut complete = true;
        for field in TEMPLATE_FIELDS {
            let placeholder = format!("{{{field}}}");
            if id.contains(&placeholder) {
                match body[field].as_str() {
                    Some(value) => id = id.replace(&placeholder, value),
                    None => complete = false,
                }
            }
        }
        if !complete {
            continue;
        }
        if let Some(id) = resolve(&id, &ids, &names, partition) {
            imports.push(Import {
                address: format!("{kind}.{name}"),
                id,
            });
        }
    }
    imports.sort_by(|a, b| a.address.cmp(&b.address));
    imports
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{synthesize, StackConfig};

    fn tagged(arn: &str, name: Option<&str>) -> TaggedResource {
        let mut tags = BTreeMap::from([("rdmabench:stack".to_string(), "rdmabench".to_string())]);
        if let Some(name) = name {
            tags.insert("Name".into(), name.into());
        }
        TaggedResource {
            arn: arn.into(),
            tags,
        }
    }

    fn main_json() -> Value {
        let mut config = StackConfig::default();
        config.cluster.public_access_cidrs = vec!["203.0.113.7/32".into()];
        synthesize(&config, "2026-01-01T00:00:00Z").unwrap().main
    }

    fn id_of<'a>(imports: &'a [Import], address: &str) -> Option<&'a str> {
        imports
            .iter()
            .find(|i| i.address == address)
            .map(|i| i.id.as_str())
    }

    #[test]
    fn tagged_resources_are_matched_by_name_tag() {
        let arn = |rest: &str| format!("arn:aws:ec2:us-east-1:123456789012:{rest}");
        let found = vec![
            tagged(&arn("vpc/vpc-1"), Some("rdmabench-vpc")),
            tagged(&arn("subnet/subnet-a"), Some("rdmabench-private-0")),
            tagged(&arn("subnet/subnet-b"), Some("rdmabench-public-0")),
            tagged(&arn("route-table/rtb-p"), Some("rdmabench-public")),
            tagged(&arn("launch-template/lt-9"), None),
        ];
        let imports = plan_imports(&main_json(), &found, "aws");
        assert_eq!(id_of(&imports, "aws_vpc.main"), Some("vpc-1"));
        assert_eq!(id_of(&imports, "aws_subnet.private_0"), Some("subnet-a"));
        assert_eq!(id_of(&imports, "aws_subnet.public_0"), Some("subnet-b"));
        assert_eq!(id_of(&imports, "aws_subnet.private_1"), None);
        assert_eq!(id_of(&imports, "aws_launch_template.nodes"), Some("lt-9"));
        // An association is imported only when both its subnet and route table were found.
        assert_eq!(
            id_of(&imports, "aws_route_table_association.public_0"),
            Some("subnet-b/rtb-p")
        );
        assert_eq!(
            id_of(&imports, "aws_route_table_association.private_0"),
            None
        );
    }

    #[test]
    fn named_resources_are_always_attempted() {
        let imports = plan_imports(&main_json(), &[], "aws");
        assert_eq!(id_of(&imports, "aws_eks_cluster.main"), Some("rdmabench"));
        assert_eq!(
            id_of(&imports, "aws_eks_node_group.efa"),
            Some("rdmabench:rdmabench-efa")
        );
        assert_eq!(
            id_of(&imports, "aws_eks_addon.coredns"),
            Some("rdmabench:coredns")
        );
        assert_eq!(
            id_of(&imports, "aws_iam_role_policy_attachment.node_cni"),
            Some("rdmabench-node/arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy")
        );
        assert_eq!(
            id_of(&imports, "aws_kms_alias.main"),
            Some("alias/rdmabench")
        );
        assert_eq!(
            id_of(&imports, "aws_cloudwatch_log_group.cluster"),
            Some("/aws/eks/rdmabench/cluster")
        );
        assert_eq!(id_of(&imports, "aws_vpc.main"), None);
    }
}
