//! VPC, subnets, gateways and routes: two public subnets holding the NAT gateways (the seed put
//! them in private subnets, where they cannot work), two private subnets, the nodes in the first.

use serde_json::json;

use super::Stack;
use crate::config::{Cidr, ConfigError, StackConfig};

fn cidr(config: &StackConfig, vpc: Cidr, index: u32) -> Result<String, ConfigError> {
    vpc.subnet(vpc.prefix + 4, index)
        .map(|c| c.to_string())
        .ok_or_else(|| ConfigError::Invalid {
            field: "network.vpc_cidr",
            value: config.network.vpc_cidr.clone(),
            problem: "too small to hold the four subnets".into(),
        })
}

pub(super) fn add(stack: &mut Stack, config: &StackConfig) -> Result<(), ConfigError> {
    let name = &config.name;
    let vpc = config.vpc_cidr()?;

    match config.network.availability_zones.as_slice() {
        [node_az, other_az] => {
            stack.local("node_az", json!(node_az));
            stack.local("other_az", json!(other_az));
        }
        _ => {
            stack.data(
                "aws_availability_zones",
                "available",
                json!({
                    "state": "available",
                    "filter": [{ "name": "opt-in-status", "values": ["opt-in-not-required"] }]
                }),
            );
            stack.data(
                "aws_ec2_instance_type_offerings",
                "nodes",
                json!({
                    "location_type": "availability-zone",
                    "filter": [{ "name": "instance-type", "values": [config.nodes.instance_type] }]
                }),
            );
            stack.local(
                "node_az",
                json!("${sort(setintersection(data.aws_ec2_instance_type_offerings.nodes.locations, data.aws_availability_zones.available.names))[0]}"),
            );
            stack.local(
                "other_az",
                json!("${sort(setsubtract(data.aws_availability_zones.available.names, [local.node_az]))[0]}"),
            );
        }
    }
    // Looked-up zones are not pinned by name (checkov's CKV_AWS_394, accepted in
    // checkov-skips.toml): which zone offers the instance type is not known in advance, and
    // users who want fixed zones list them, which removes the lookup.
    let azs = ["${local.node_az}", "${local.other_az}"];

    // No flow logs (checkov's CKV2_AWS_11, accepted in checkov-skips.toml): the VPC lives for
    // one benchmark run and `down` deletes any logs with it, while they would cost a role, a
    // log group and ingestion for every flow of the TCP baseline.
    stack.resource(
        "aws_vpc",
        "main",
        json!({
            "cidr_block": vpc.to_string(),
            "enable_dns_support": true,
            "enable_dns_hostnames": true,
            "tags": { "Name": format!("{name}-vpc") }
        }),
    );
    // Nothing may use the VPC's default security group: close it.
    stack.resource(
        "aws_default_security_group",
        "default",
        json!({ "vpc_id": "${aws_vpc.main.id}", "tags": { "Name": format!("{name}-default-closed") } }),
    );
    stack.resource(
        "aws_internet_gateway",
        "main",
        json!({ "vpc_id": "${aws_vpc.main.id}", "tags": { "Name": format!("{name}-igw") } }),
    );
    stack.resource(
        "aws_route_table",
        "public",
        json!({ "vpc_id": "${aws_vpc.main.id}", "tags": { "Name": format!("{name}-public") } }),
    );
    stack.resource(
        "aws_route",
        "public_internet",
        json!({
            "route_table_id": "${aws_route_table.public.id}",
            "destination_cidr_block": "0.0.0.0/0",
            "gateway_id": "${aws_internet_gateway.main.id}"
        }),
    );

    for (i, az) in azs.iter().enumerate() {
        let index = u32::try_from(i).unwrap_or(0);
        stack.resource(
            "aws_subnet",
            &format!("public_{i}"),
            json!({
                "vpc_id": "${aws_vpc.main.id}",
                "availability_zone": az,
                "cidr_block": cidr(config, vpc, index)?,
                // Only the NAT gateways live here, with their own EIPs.
                "map_public_ip_on_launch": false,
                "tags": { "Name": format!("{name}-public-{i}"), "kubernetes.io/role/elb": "1" }
            }),
        );
        stack.resource(
            "aws_subnet",
            &format!("private_{i}"),
            json!({
                "vpc_id": "${aws_vpc.main.id}",
                "availability_zone": az,
                "cidr_block": cidr(config, vpc, 8 + index)?,
                "tags": { "Name": format!("{name}-private-{i}"), "kubernetes.io/role/internal-elb": "1" }
            }),
        );
        stack.resource(
            "aws_route_table_association",
            &format!("public_{i}"),
            json!({
                "subnet_id": format!("${{aws_subnet.public_{i}.id}}"),
                "route_table_id": "${aws_route_table.public.id}"
            }),
        );
        stack.resource(
            "aws_eip",
            &format!("nat_{i}"),
            json!({ "domain": "vpc", "tags": { "Name": format!("{name}-nat-{i}") } }),
        );
        stack.resource(
            "aws_nat_gateway",
            &format!("nat_{i}"),
            json!({
                "allocation_id": format!("${{aws_eip.nat_{i}.id}}"),
                "subnet_id": format!("${{aws_subnet.public_{i}.id}}"),
                "tags": { "Name": format!("{name}-nat-{i}") },
                "depends_on": ["aws_internet_gateway.main"]
            }),
        );
        stack.resource(
            "aws_route_table",
            &format!("private_{i}"),
            json!({ "vpc_id": "${aws_vpc.main.id}", "tags": { "Name": format!("{name}-private-{i}") } }),
        );
        stack.resource(
            "aws_route",
            &format!("private_{i}_internet"),
            json!({
                "route_table_id": format!("${{aws_route_table.private_{i}.id}}"),
                "destination_cidr_block": "0.0.0.0/0",
                "nat_gateway_id": format!("${{aws_nat_gateway.nat_{i}.id}}")
            }),
        );
        stack.resource(
            "aws_route_table_association",
            &format!("private_{i}"),
            json!({
                "subnet_id": format!("${{aws_subnet.private_{i}.id}}"),
                "route_table_id": format!("${{aws_route_table.private_{i}.id}}")
            }),
        );
    }

    // EFA needs all traffic between the nodes in both directions: a missing egress rule makes
    // MPI hang. Nothing is opened to the internet inbound.
    stack.resource(
        "aws_security_group",
        "nodes",
        json!({
            "name": format!("{name}-efa-nodes"),
            "description": "rdmabench EFA nodes: all traffic between members, egress to the internet",
            "vpc_id": "${aws_vpc.main.id}",
            "tags": { "Name": format!("{name}-efa-nodes") }
        }),
    );
    for kind in [
        "aws_vpc_security_group_ingress_rule",
        "aws_vpc_security_group_egress_rule",
    ] {
        stack.resource(
            kind,
            "nodes_self",
            json!({
                "security_group_id": "${aws_security_group.nodes.id}",
                "referenced_security_group_id": "${aws_security_group.nodes.id}",
                "ip_protocol": "-1",
                "description": "EFA and MPI between nodes"
            }),
        );
    }
    stack.resource(
        "aws_vpc_security_group_egress_rule",
        "nodes_internet",
        json!({
            "security_group_id": "${aws_security_group.nodes.id}",
            "cidr_ipv4": "0.0.0.0/0",
            "ip_protocol": "-1",
            "description": "Images, EFA installer and AWS APIs through the NAT gateways"
        }),
    );
    stack.output("vpc_id", "VPC of the stack", "${aws_vpc.main.id}");
    stack.output(
        "availability_zone",
        "AZ holding the nodes",
        "${local.node_az}",
    );
    Ok(())
}
