//! The EFA node group: node role, cluster placement group, launch template with one EFA
//! interface per network card, the managed node group in one private subnet, and coredns
//! (which needs nodes to become healthy).

use serde_json::{json, Value};

use super::cluster::managed_policy;
use super::{stack_tags, template_literal, user_data, Stack};
use crate::config::{ConfigError, StackConfig};

/// Policies every EKS worker needs, plus SSM so a node can be inspected without SSH.
const NODE_POLICIES: [(&str, &str); 4] = [
    ("worker", "AmazonEKSWorkerNodePolicy"),
    ("cni", "AmazonEKS_CNI_Policy"),
    ("ecr_read", "AmazonEC2ContainerRegistryReadOnly"),
    ("ssm", "AmazonSSMManagedInstanceCore"),
];

/// Label the EFA device plugin selects nodes by.
pub const EFA_NODE_LABEL: (&str, &str) = ("rdmabench.io/efa", "true");

/// One interface per network card: card 0 carries EFA and IP (device index 0), every further
/// card is EFA-only at device index 1. The security groups go here, not on the template, and
/// include the cluster security group, which EKS stops adding once a template sets groups.
fn network_interfaces(cards: u32) -> Vec<Value> {
    (0..cards)
        .map(|card| {
            json!({
                "network_card_index": card,
                "device_index": if card == 0 { 0 } else { 1 },
                "interface_type": if card == 0 { "efa" } else { "efa-only" },
                "delete_on_termination": true,
                "security_groups": [
                    "${aws_security_group.nodes.id}",
                    "${aws_eks_cluster.main.vpc_config[0].cluster_security_group_id}"
                ]
            })
        })
        .collect()
}

pub(super) fn add(
    stack: &mut Stack,
    config: &StackConfig,
    created_at: &str,
) -> Result<(), ConfigError> {
    let name = &config.name;
    let instance = config.instance()?;
    stack.resource(
        "aws_iam_role",
        "node",
        json!({
            "name": format!("{name}-node"),
            "assume_role_policy": json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": { "Service": "ec2.amazonaws.com" },
                    "Action": "sts:AssumeRole"
                }]
            }).to_string()
        }),
    );
    for (resource, policy) in NODE_POLICIES {
        stack.resource(
            "aws_iam_role_policy_attachment",
            &format!("node_{resource}"),
            json!({ "role": "${aws_iam_role.node.name}", "policy_arn": managed_policy(policy) }),
        );
    }
    stack.resource(
        "aws_placement_group",
        "efa",
        json!({ "name": format!("{name}-efa"), "strategy": "cluster" }),
    );

    stack.local(
        "node_user_data",
        json!(template_literal(&user_data::render(config))),
    );
    let mut tags = stack_tags(config, created_at);
    tags.insert("Name".into(), json!(format!("{name}-efa-node")));
    let tag_specifications: Vec<Value> = ["instance", "volume", "network-interface"]
        .iter()
        .map(|kind| json!({ "resource_type": kind, "tags": tags }))
        .collect();
    let mut template = json!({
        "name": format!("{name}-efa-nodes"),
        "description": format!("rdmabench EFA nodes ({})", instance.name),
        "instance_type": instance.name,
        "update_default_version": true,
        "user_data": "${base64encode(local.node_user_data)}",
        "network_interfaces": network_interfaces(instance.network_cards),
        "placement": { "group_name": "${aws_placement_group.efa.name}" },
        // IMDSv2 only. Hop limit 2, not the stricter 1: a pod's network namespace is one hop
        // further from IMDS than the node, and pods must reach it (checkov's CKV_AWS_341 is
        // accepted for this in checkov-skips.toml).
        "metadata_options": {
            "http_endpoint": "enabled",
            "http_tokens": "required",
            "http_put_response_hop_limit": 2
        },
        "block_device_mappings": {
            "device_name": "/dev/xvda",
            "ebs": {
                "volume_size": config.nodes.volume_size_gib,
                "volume_type": "gp3",
                "encrypted": true,
                "delete_on_termination": true
            }
        },
        "tag_specifications": tag_specifications
    });
    if let Some(path) = &config.nodes.ssh_public_key_path {
        let key = std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid {
            field: "nodes.ssh_public_key_path",
            value: path.clone(),
            problem: format!("cannot read it ({e}); give the path of a public key such as ~/.ssh/id_ed25519.pub, or remove the line"),
        })?;
        stack.resource(
            "aws_key_pair",
            "nodes",
            json!({ "key_name": format!("{name}-nodes"), "public_key": key.trim() }),
        );
        template["key_name"] = json!("${aws_key_pair.nodes.key_name}");
    }
    if let Some(reservation) = &config.nodes.capacity_reservation_id {
        template["capacity_reservation_specification"] = json!({
            "capacity_reservation_target": { "capacity_reservation_id": reservation }
        });
        if config.nodes.capacity_block {
            template["instance_market_options"] = json!({ "market_type": "capacity-block" });
        }
    }
    stack.resource("aws_launch_template", "nodes", template);

    let count = config.nodes.count;
    let mut labels = serde_json::Map::new();
    labels.insert(EFA_NODE_LABEL.0.into(), json!(EFA_NODE_LABEL.1));
    let mut depends_on = vec!["aws_eks_addon.vpc_cni".to_string()];
    depends_on.extend(
        NODE_POLICIES
            .iter()
            .map(|(r, _)| format!("aws_iam_role_policy_attachment.node_{r}")),
    );
    stack.resource(
        "aws_eks_node_group",
        "efa",
        json!({
            "cluster_name": "${aws_eks_cluster.main.name}",
            "node_group_name": format!("{name}-efa"),
            "node_role_arn": "${aws_iam_role.node.arn}",
            "subnet_ids": ["${aws_subnet.private_0.id}"],
            "ami_type": instance.ami_type(),
            "capacity_type": if config.nodes.capacity_block { "CAPACITY_BLOCK" } else { "ON_DEMAND" },
            "scaling_config": { "desired_size": count, "min_size": count, "max_size": count },
            "launch_template": {
                "id": "${aws_launch_template.nodes.id}",
                "version": "${aws_launch_template.nodes.latest_version}"
            },
            "labels": labels,
            "timeouts": { "create": "30m", "delete": "30m" },
            "depends_on": depends_on
        }),
    );
    stack.resource(
        "aws_eks_addon",
        "coredns",
        json!({
            "cluster_name": "${aws_eks_cluster.main.name}",
            "addon_name": "coredns",
            "resolve_conflicts_on_create": "OVERWRITE",
            "depends_on": ["aws_eks_node_group.efa"]
        }),
    );
    stack.output(
        "node_group",
        "Managed node group with the EFA nodes",
        "${aws_eks_node_group.efa.node_group_name}",
    );
    stack.output(
        "instance_type",
        "EC2 instance type of the nodes",
        instance.name,
    );
    Ok(())
}
