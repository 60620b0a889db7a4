//! The synthesized stack: snapshots of the Terraform JSON for three instance types, structural
//! checks a reviewer would make, and `terraform init` + `validate` against the AWS provider from
//! the machine's filesystem mirror (no network).

#[path = "support/terraform.rs"]
mod terraform_support;

use rdmabench_infra::terraform::mirror_cli_config;
use rdmabench_infra::{synthesize, StackConfig, Synthesized};
use serde_json::Value;
use terraform_support::terraform_or_skip;

const CREATED_AT: &str = "2026-11-25T08:00:00Z";

fn config(instance_type: &str) -> StackConfig {
    let mut config = StackConfig::default();
    config.nodes.instance_type = instance_type.into();
    config.owner = "platform-team".into();
    // A documentation address (RFC 5737), never contacted.
    config.cluster.public_access_cidrs = vec!["203.0.113.7/32".into()];
    config
}

fn synth(instance_type: &str) -> Synthesized {
    synthesize(&config(instance_type), CREATED_AT).unwrap()
}

fn resource<'a>(s: &'a Synthesized, kind: &str, name: &str) -> &'a Value {
    &s.main["resource"][kind][name]
}

#[test]
fn default_stack_snapshot() {
    let s = synth("m7g.16xlarge");
    insta::assert_json_snapshot!("versions", s.versions);
    insta::assert_json_snapshot!("main_m7g_16xlarge", s.main);
}

#[test]
fn p5_stack_snapshot_has_32_efa_interfaces() {
    let s = synth("p5.48xlarge");
    let nics = resource(&s, "aws_launch_template", "nodes")["network_interfaces"]
        .as_array()
        .unwrap();
    assert_eq!(nics.len(), 32);
    assert_eq!(
        resource(&s, "aws_eks_node_group", "efa")["ami_type"],
        "AL2023_x86_64_NVIDIA"
    );
    insta::assert_json_snapshot!("main_p5_48xlarge", s.main);
}

#[test]
fn c6in_stack_snapshot_has_two_cards() {
    let s = synth("c6in.32xlarge");
    insta::assert_json_snapshot!("main_c6in_32xlarge", s.main);
}

#[test]
fn efa_interfaces_follow_the_card_rules_and_carry_the_cluster_security_group() {
    let s = synth("c6in.32xlarge");
    let template = resource(&s, "aws_launch_template", "nodes");
    let nics = template["network_interfaces"].as_array().unwrap();
    assert_eq!(nics.len(), 2);
    assert_eq!(
        (
            nics[0]["device_index"].as_u64(),
            nics[0]["interface_type"].as_str()
        ),
        (Some(0), Some("efa"))
    );
    assert_eq!(
        (
            nics[1]["device_index"].as_u64(),
            nics[1]["interface_type"].as_str()
        ),
        (Some(1), Some("efa-only"))
    );
    for nic in nics {
        let groups = nic["security_groups"].to_string();
        assert!(groups.contains("cluster_security_group_id"), "{groups}");
        assert!(groups.contains("aws_security_group.nodes.id"), "{groups}");
    }
    // The node group owns none of what the template sets.
    for key in [
        "iam_instance_profile",
        "image_id",
        "vpc_security_group_ids",
        "security_group_names",
    ] {
        assert!(
            template.get(key).is_none(),
            "launch template must not set {key}"
        );
    }
    let group = resource(&s, "aws_eks_node_group", "efa");
    for key in ["remote_access", "disk_size", "instance_types"] {
        assert!(group.get(key).is_none(), "node group must not set {key}");
    }
    assert_eq!(
        group["subnet_ids"].as_array().unwrap().len(),
        1,
        "all nodes in one subnet"
    );
    assert_eq!(group["labels"]["rdmabench.io/efa"], "true");
    assert_eq!(template["metadata_options"]["http_tokens"], "required");
    assert_eq!(template["block_device_mappings"]["ebs"]["encrypted"], true);
}

#[test]
fn nat_gateways_sit_in_public_subnets_and_nothing_is_open_to_the_world() {
    let s = synth("m7g.16xlarge");
    for i in 0..2 {
        let nat = resource(&s, "aws_nat_gateway", &format!("nat_{i}"));
        assert_eq!(nat["subnet_id"], format!("${{aws_subnet.public_{i}.id}}"));
        let route = resource(&s, "aws_route", &format!("private_{i}_internet"));
        assert_eq!(
            route["nat_gateway_id"],
            format!("${{aws_nat_gateway.nat_{i}.id}}")
        );
    }
    let ingress = &s.main["resource"]["aws_vpc_security_group_ingress_rule"];
    for (_, rule) in ingress.as_object().unwrap() {
        assert!(
            rule.get("cidr_ipv4").is_none(),
            "no ingress by CIDR: {rule}"
        );
    }
    let egress = &s.main["resource"]["aws_vpc_security_group_egress_rule"]["nodes_self"];
    assert_eq!(
        egress["referenced_security_group_id"],
        "${aws_security_group.nodes.id}"
    );
    let cluster = resource(&s, "aws_eks_cluster", "main");
    assert_eq!(cluster["vpc_config"]["endpoint_private_access"], true);
    assert_eq!(
        cluster["vpc_config"]["public_access_cidrs"],
        serde_json::json!(["203.0.113.7/32"])
    );
    assert_eq!(cluster["upgrade_policy"]["support_type"], "STANDARD");
    assert_eq!(cluster["access_config"]["authentication_mode"], "API");
    assert_eq!(
        cluster["access_config"]["bootstrap_cluster_creator_admin_permissions"],
        false
    );
    let entry = resource(&s, "aws_eks_access_entry", "caller");
    assert_eq!(
        entry["principal_arn"],
        "${data.aws_iam_session_context.current.issuer_arn}"
    );
}

#[test]
fn tags_are_literal_so_plans_stay_clean() {
    let s = synth("m7g.16xlarge");
    let tags = &s.main["provider"]["aws"]["default_tags"]["tags"];
    assert_eq!(tags["managed-by"], "rdmabench");
    assert_eq!(tags["rdmabench:stack"], "rdmabench");
    assert_eq!(tags["rdmabench:created-at"], CREATED_AT);
    assert_eq!(tags["owner"], "platform-team");
    assert!(!s.main.to_string().contains("timestamp()"));
}

#[test]
fn configured_zones_replace_the_offering_lookup() {
    let mut c = config("m7g.16xlarge");
    c.network.availability_zones = vec!["us-east-1b".into(), "us-east-1c".into()];
    let s = synthesize(&c, CREATED_AT).unwrap();
    assert_eq!(s.main["locals"]["node_az"], "us-east-1b");
    assert!(s.main["data"]
        .get("aws_ec2_instance_type_offerings")
        .is_none());
    let auto = synth("m7g.16xlarge");
    assert!(auto.main["locals"]["node_az"]
        .as_str()
        .unwrap()
        .contains("aws_ec2_instance_type_offerings"));
}

#[test]
fn writing_twice_gives_identical_files() {
    let dir = tempfile::tempdir().unwrap();
    synth("m7g.16xlarge").write_to(dir.path()).unwrap();
    let first = std::fs::read(dir.path().join("main.tf.json")).unwrap();
    synth("m7g.16xlarge").write_to(dir.path()).unwrap();
    assert_eq!(
        first,
        std::fs::read(dir.path().join("main.tf.json")).unwrap()
    );
    assert!(dir.path().join("versions.tf.json").exists());
}

#[test]
fn terraform_validates_the_stack_offline() {
    let Some((terraform, mirror)) = terraform_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cli_config = dir.path().join("cli.tfrc");
    std::fs::write(&cli_config, mirror_cli_config(&mirror)).unwrap();
    let terraform = terraform
        .with_env("TF_CLI_CONFIG_FILE", cli_config.to_str().unwrap())
        .with_env("TF_PLUGIN_CACHE_DIR", "");
    for instance_type in ["m7g.16xlarge", "c6in.32xlarge", "p5.48xlarge"] {
        let stack_dir = dir.path().join(instance_type);
        let mut c = config(instance_type);
        c.nodes.capacity_reservation_id = Some("cr-0123456789abcdef0".into());
        c.nodes.capacity_block = instance_type == "p5.48xlarge";
        synthesize(&c, CREATED_AT)
            .unwrap()
            .write_to(&stack_dir)
            .unwrap();
        terraform
            .init(&stack_dir)
            .unwrap_or_else(|e| panic!("{instance_type}: {e}"));
        terraform
            .validate(&stack_dir)
            .unwrap_or_else(|e| panic!("{instance_type}: {e}"));
    }
}
