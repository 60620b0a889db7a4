//! The EKS control plane: role, KMS key for secrets and logs, log group, cluster with API
//! authentication and an access entry for the caller, and the add-ons that need no nodes.

use serde_json::json;

use super::Stack;
use crate::config::StackConfig;

/// Control-plane log types, all of them: a benchmark cluster is small and short-lived (the cost
/// table prices their ingestion per GB).
pub(crate) const LOG_TYPES: [&str; 5] = [
    "api",
    "audit",
    "authenticator",
    "controllerManager",
    "scheduler",
];

/// The control-plane log group's Terraform address, which `up` and `down` import by name when
/// EKS has re-created the group outside the state.
pub(crate) const LOG_GROUP_ADDRESS: &str = "aws_cloudwatch_log_group.cluster";

/// The log group EKS writes the control-plane logs of cluster `name` to (a fixed name: EKS's
/// service-linked role creates it itself when it is missing).
pub(crate) fn log_group_name(name: &str) -> String {
    format!("/aws/eks/{name}/cluster")
}

fn assume_role_policy(service: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": service },
            "Action": "sts:AssumeRole"
        }]
    })
    .to_string()
}

pub(super) fn managed_policy(name: &str) -> String {
    format!("arn:${{data.aws_partition.current.partition}}:iam::aws:policy/{name}")
}

fn key_policy(config: &StackConfig) -> String {
    let account = "${data.aws_caller_identity.current.account_id}";
    let partition = "${data.aws_partition.current.partition}";
    let region = &config.region;
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": { "AWS": format!("arn:{partition}:iam::{account}:root") },
                "Action": "kms:*",
                "Resource": "*"
            },
            {
                "Sid": "ControlPlaneLogs",
                "Effect": "Allow",
                "Principal": { "Service": format!("logs.{region}.amazonaws.com") },
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                "Resource": "*",
                "Condition": {
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": format!(
                            "arn:{partition}:logs:{region}:{account}:log-group:/aws/eks/{}/cluster",
                            config.name
                        )
                    }
                }
            }
        ]
    })
    .to_string()
}

pub(super) fn add(stack: &mut Stack, config: &StackConfig) {
    let name = &config.name;
    stack.resource(
        "aws_iam_role",
        "cluster",
        json!({
            "name": format!("{name}-cluster"),
            "assume_role_policy": assume_role_policy("eks.amazonaws.com")
        }),
    );
    stack.resource(
        "aws_iam_role_policy_attachment",
        "cluster",
        json!({
            "role": "${aws_iam_role.cluster.name}",
            "policy_arn": managed_policy("AmazonEKSClusterPolicy")
        }),
    );
    stack.resource(
        "aws_kms_key",
        "main",
        json!({
            "description": format!("rdmabench stack {name}: EKS secrets, control-plane logs, ECR"),
            "enable_key_rotation": true,
            "deletion_window_in_days": 7,
            "policy": key_policy(config)
        }),
    );
    stack.resource(
        "aws_kms_alias",
        "main",
        json!({ "name": format!("alias/{name}"), "target_key_id": "${aws_kms_key.main.key_id}" }),
    );
    // Encrypted with the stack's key. Retention is the configured days, not the year checkov's
    // CKV_AWS_338 asks for (accepted in checkov-skips.toml): `down` deletes the group anyway.
    stack.resource(
        "aws_cloudwatch_log_group",
        "cluster",
        json!({
            "name": log_group_name(name),
            "retention_in_days": config.cluster.log_retention_days,
            "kms_key_id": "${aws_kms_key.main.arn}"
        }),
    );
    // The public endpoint, when enabled, admits only the configured CIDRs (checkov's CKV_AWS_39
    // is accepted for it in checkov-skips.toml); nodes use the private endpoint.
    let public_cidrs: Vec<&str> = if config.cluster.public_endpoint {
        config
            .cluster
            .public_access_cidrs
            .iter()
            .map(String::as_str)
            .collect()
    } else {
        Vec::new()
    };
    let mut vpc_config = json!({
        "subnet_ids": [
            "${aws_subnet.private_0.id}", "${aws_subnet.private_1.id}",
            "${aws_subnet.public_0.id}", "${aws_subnet.public_1.id}"
        ],
        "endpoint_private_access": true,
        "endpoint_public_access": config.cluster.public_endpoint
    });
    if config.cluster.public_endpoint {
        vpc_config["public_access_cidrs"] = json!(public_cidrs);
    }
    stack.resource(
        "aws_eks_cluster",
        "main",
        json!({
            "name": name,
            "version": config.cluster.kubernetes_version,
            "role_arn": "${aws_iam_role.cluster.arn}",
            "vpc_config": vpc_config,
            "access_config": {
                "authentication_mode": "API",
                "bootstrap_cluster_creator_admin_permissions": false
            },
            "upgrade_policy": { "support_type": "STANDARD" },
            "enabled_cluster_log_types": LOG_TYPES,
            "encryption_config": {
                "resources": ["secrets"],
                "provider": { "key_arn": "${aws_kms_key.main.arn}" }
            },
            "depends_on": ["aws_iam_role_policy_attachment.cluster", "aws_cloudwatch_log_group.cluster"]
        }),
    );
    // The caller administers the cluster through an access entry. The principal is the IAM
    // role behind an assumed-role session (issuer_arn), which outlives the session itself.
    stack.resource(
        "aws_eks_access_entry",
        "caller",
        json!({
            "cluster_name": "${aws_eks_cluster.main.name}",
            "principal_arn": "${data.aws_iam_session_context.current.issuer_arn}"
        }),
    );
    stack.resource(
        "aws_eks_access_policy_association",
        "caller_admin",
        json!({
            "cluster_name": "${aws_eks_cluster.main.name}",
            "principal_arn": "${aws_eks_access_entry.caller.principal_arn}",
            "policy_arn": "arn:${data.aws_partition.current.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
            "access_scope": { "type": "cluster" }
        }),
    );
    for (resource, addon) in [("vpc_cni", "vpc-cni"), ("kube_proxy", "kube-proxy")] {
        stack.resource(
            "aws_eks_addon",
            resource,
            json!({
                "cluster_name": "${aws_eks_cluster.main.name}",
                "addon_name": addon,
                "resolve_conflicts_on_create": "OVERWRITE"
            }),
        );
    }
    stack.output(
        "cluster_name",
        "EKS cluster name",
        "${aws_eks_cluster.main.name}",
    );
    stack.output(
        "cluster_endpoint",
        "Kubernetes API endpoint",
        "${aws_eks_cluster.main.endpoint}",
    );
    stack.output(
        "cluster_certificate_authority",
        "Base64 CA certificate of the API server",
        "${aws_eks_cluster.main.certificate_authority[0].data}",
    );
}
