#!/usr/bin/env python3
"""List what a moto server holds beyond its defaults, as sorted JSON.

The offline round trip (terraform apply -> plan -> destroy against tests/support/moto_wrapper.py)
ends by asserting that this prints `{}`: `terraform destroy` must leave nothing behind, whatever
Terraform's state says. Each kind maps to a sorted list of "id" or "id (Name tag)" strings; kinds
with nothing in them are left out, so the output is deterministic up to moto's random ids.

What counts: every non-default EC2 network resource (moto starts with a default VPC, its subnets,
security group and main route table), launch templates, placement groups, key pairs, instances
and network interfaces; IAM roles named after or tagged with the stack, local IAM policies and
instance profiles; EKS clusters with their node groups, add-ons and access entries; ECR
repositories; log groups; KMS keys that are neither PendingDeletion nor disabled (destroy only
schedules deletion); KMS aliases except AWS's own alias/aws/*.

It expects moto behind moto_wrapper.py, which adds the EKS add-on, access-entry and placement
group APIs plain moto 5.2.5 lacks.

Exit status: 0 whenever the listing worked (empty or not); 2 if the endpoint cannot be reached
or answers with an error.
"""

import argparse
import json
import sys

import boto3
import botocore.config
import botocore.exceptions

STACK_TAG = "rdmabench:stack"


def tags_of(item, key="Tags"):
    return {t["Key"]: t["Value"] for t in item.get(key) or []}


def label(ident, tags=None):
    name = (tags or {}).get("Name")
    return f"{ident} ({name})" if name else ident


def pages(client, operation, key, **kwargs):
    """Every item of a paginated list call."""
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def ec2_inventory(ec2):
    found = {}
    vpcs = list(pages(ec2, "describe_vpcs", "Vpcs"))
    default_vpcs = {v["VpcId"] for v in vpcs if v.get("IsDefault")}
    found["ec2:vpc"] = [label(v["VpcId"], tags_of(v)) for v in vpcs if not v.get("IsDefault")]
    found["ec2:subnet"] = [label(s["SubnetId"], tags_of(s))
                           for s in pages(ec2, "describe_subnets", "Subnets")
                           if not s.get("DefaultForAz")]
    found["ec2:internet-gateway"] = [
        label(g["InternetGatewayId"], tags_of(g))
        for g in pages(ec2, "describe_internet_gateways", "InternetGateways")
        if not any(a.get("VpcId") in default_vpcs for a in g.get("Attachments", []))]
    found["ec2:nat-gateway"] = [label(n["NatGatewayId"], tags_of(n))
                                for n in pages(ec2, "describe_nat_gateways", "NatGateways")
                                if n.get("State") != "deleted"]
    found["ec2:elastic-ip"] = [label(a.get("AllocationId") or a["PublicIp"], tags_of(a))
                               for a in ec2.describe_addresses()["Addresses"]]
    found["ec2:route-table"] = [
        label(r["RouteTableId"], tags_of(r))
        for r in pages(ec2, "describe_route_tables", "RouteTables")
        if not any(a.get("Main") for a in r.get("Associations", []))]
    found["ec2:security-group"] = [
        f"{g['GroupId']} ({g['GroupName']})"
        for g in pages(ec2, "describe_security_groups", "SecurityGroups")
        if g["GroupName"] != "default"]
    found["ec2:launch-template"] = [
        f"{t['LaunchTemplateId']} ({t['LaunchTemplateName']})"
        for t in pages(ec2, "describe_launch_templates", "LaunchTemplates")]
    found["ec2:placement-group"] = [
        f"{g.get('GroupId', '?')} ({g['GroupName']})"
        for g in ec2.describe_placement_groups()["PlacementGroups"]]
    found["ec2:key-pair"] = [k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]]
    found["ec2:instance"] = [
        label(i["InstanceId"], tags_of(i))
        for r in pages(ec2, "describe_instances", "Reservations") for i in r["Instances"]
        if i["State"]["Name"] != "terminated"]
    found["ec2:network-interface"] = [
        label(n["NetworkInterfaceId"], tags_of(n, "TagSet"))
        for n in pages(ec2, "describe_network_interfaces", "NetworkInterfaces")]
    return found


def iam_inventory(iam, stack):
    found = {"iam:role": []}
    for role in pages(iam, "list_roles", "Roles"):
        name = role["RoleName"]
        if name.startswith(stack) or \
                tags_of(iam.list_role_tags(RoleName=name)).get(STACK_TAG) == stack:
            found["iam:role"].append(name)
    found["iam:policy"] = [p["Arn"] for p in pages(iam, "list_policies", "Policies", Scope="Local")]
    found["iam:instance-profile"] = [
        p["InstanceProfileName"]
        for p in pages(iam, "list_instance_profiles", "InstanceProfiles")]
    return found


def eks_inventory(eks):
    found = {"eks:cluster": [], "eks:nodegroup": [], "eks:addon": [], "eks:access-entry": []}
    for cluster in pages(eks, "list_clusters", "clusters"):
        found["eks:cluster"].append(cluster)
        found["eks:nodegroup"] += [f"{cluster}/{n}" for n in
                                   pages(eks, "list_nodegroups", "nodegroups", clusterName=cluster)]
        found["eks:addon"] += [f"{cluster}/{a}" for a in
                               pages(eks, "list_addons", "addons", clusterName=cluster)]
        found["eks:access-entry"] += [
            f"{cluster}/{e}"
            for e in pages(eks, "list_access_entries", "accessEntries", clusterName=cluster)]
    return found


def kms_inventory(kms):
    found = {"kms:key": []}
    for key in pages(kms, "list_keys", "Keys"):
        meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        if meta.get("KeyManager") != "AWS" and meta["KeyState"] not in ("PendingDeletion",
                                                                          "Disabled"):
            found["kms:key"].append(f"{meta['KeyId']} ({meta['KeyState']})")
    found["kms:alias"] = [a["AliasName"] for a in pages(kms, "list_aliases", "Aliases")
                          if not a["AliasName"].startswith("alias/aws/")]
    return found


def inventory(session, endpoint, stack):
    config = botocore.config.Config(connect_timeout=5, read_timeout=30,
                                    retries={"max_attempts": 2, "mode": "standard"})

    def client(service):
        return session.client(service, endpoint_url=endpoint, config=config)

    found = {}
    found.update(ec2_inventory(client("ec2")))
    found.update(iam_inventory(client("iam"), stack))
    found.update(eks_inventory(client("eks")))
    found["ecr:repository"] = [r["repositoryName"] for r in
                               pages(client("ecr"), "describe_repositories", "repositories")]
    found["logs:log-group"] = [g["logGroupName"] for g in
                               pages(client("logs"), "describe_log_groups", "logGroups")]
    found.update(kms_inventory(client("kms")))
    return {kind: sorted(items) for kind, items in sorted(found.items()) if items}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--endpoint", required=True, help="moto's URL, http://127.0.0.1:PORT")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--stack", required=True, help="the stack name (IAM roles start with it)")
    args = parser.parse_args(argv)
    # moto accepts any credentials; fixed ones keep the user's real ones out of the picture.
    session = boto3.session.Session(aws_access_key_id="testing",
                                    aws_secret_access_key="testing", region_name=args.region)
    try:
        found = inventory(session, args.endpoint, args.stack)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        print(f"moto_inventory: cannot list {args.endpoint}: {error}", file=sys.stderr)
        return 2
    json.dump(found, sys.stdout, indent=2, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
