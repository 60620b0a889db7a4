"""What moto 5.2.5 lacks or gets wrong for rdmabench's EKS+EFA stack, filled in memory.

Imported by moto_wrapper.py, which routes each AWS call here before (fakes) or after (hooks on
moto's successful answer) moto. Every gap was measured with boto3 and terraform-provider-aws
5.100.0 against plain moto 5.2.5 first; only what the stack, its second `terraform plan` or
rdmabench's own AWS calls need is here:
  * EC2 placement groups: Create/Describe/Delete answer 500 and the provider retries forever.
  * CreateLaunchTemplate copies the template's own tags into its data; DescribeSecurityGroupRules
    loses the description of rules that name a security group: both show as a diff on every plan.
  * DeleteNatGateway keeps the gateway's network interface (and Elastic IP association).
  * EKS CreateCluster leaves vpcConfig.clusterSecurityGroupId empty and drops accessConfig and
    upgradePolicy; CreateNodegroup invents remoteAccess {ec2SshKey: eksKeypair}. Each makes the
    next plan replace the cluster or node group.
  * EKS add-ons and access entries (with access policies): 404. Fakes are ACTIVE at once and
    gone at once, so the provider's waiters finish on their first poll.
  * Service Quotas: GetServiceQuota knows no ec2 quota, ListServiceQuotas answers 500.
  * CloudWatch Logs AssociateKmsKey: missing (a log group that `up` imported gets its key so);
    DeleteLogGroup keeps the group's tags, which a new group of the same name inherits.
And two AWS behaviours the tests switch on (moto_wrapper.py's options):
  * NO_CAPACITY: EC2 has no capacity of the node type, so EKS's node group ends CREATE_FAILED
    with the Auto Scaling group's InsufficientInstanceCapacity launch failure as its health issue.
  * RECREATE_EKS_LOG_GROUPS: EKS's service-linked role re-creates /aws/eks/<name>/cluster,
    untagged, right after terraform deletes it during a destroy (terraform-aws-eks #2486, #2763).
  * Tagging API GetResources lists no EKS or ECR resource, Elastic IP or launch template (nor
    our placement groups): added through moto's own TaggableResourcesMixin, so moto applies
    TagFilters and paging.
"""

import json
import re
import time
import uuid
from collections import defaultdict
from xml.sax.saxutils import escape

from werkzeug.wrappers import Response

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.resource_tagging import TaggableResourcesMixin, TaggedResource
from moto.ec2.models import ec2_backends
from moto.ecr.models import ecr_backends
from moto.eks.models import eks_backends
from moto.logs.models import logs_backends

# Generous defaults (the stack needs far less); moto_wrapper.py --quota overrides them.
QUOTAS = {
    "ec2": {
        "L-1216C47A": ("Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances", 1024),
        "L-417A185B": ("Running On-Demand P instances", 1024),
        "L-DB2E81BA": ("Running On-Demand G and VT instances", 1024),
        "L-2C3B7624": ("Running On-Demand Trn instances", 1024),
        "L-1945791B": ("Running On-Demand Inf instances", 1024),
        "L-F7808C92": ("Running On-Demand HPC instances", 1024),
        "L-6E869C2A": ("Running On-Demand DL instances", 1024),
        "L-0263D0A3": ("EC2-VPC Elastic IPs", 20),
    },
    "vpc": {
        "L-F678F1CE": ("VPCs per Region", 5),
        "L-FE5A380F": ("NAT gateways per Availability Zone", 5),
        "L-A4707A72": ("Internet gateways per Region", 5),
    },
}
SERVICE_NAMES = {"ec2": "Amazon Elastic Compute Cloud (Amazon EC2)",
                 "vpc": "Amazon Virtual Private Cloud (Amazon VPC)"}

PLACEMENT_GROUPS = defaultdict(dict)  # (account, region) -> name -> group
ADDONS = defaultdict(dict)  # (account, region, cluster) -> name -> addon
ACCESS_ENTRIES = defaultdict(dict)  # (account, region, cluster) -> principal ARN -> entry
UPDATES = {}  # update id -> add-on update

NO_CAPACITY = False  # moto_wrapper.py --no-capacity
RECREATE_EKS_LOG_GROUPS = False  # moto_wrapper.py --recreate-eks-log-groups
DELETED_CLUSTERS = set()  # (account, region, cluster) deleted, whose log group EKS re-creates once

FAKES = {}  # (service, operation) -> fn(call) -> JSON-able dict, or a Response
HOOKS = {}  # (service, operation) -> fn(call, moto's 200 response) -> response


class AwsError(Exception):
    """An AWS error answer: HTTP status, error code, message."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def not_found(message):
    return AwsError(404, "ResourceNotFoundException", message)


def fake(service, *operations, table=FAKES):
    def register(function):
        for operation in operations:
            table[(service, operation)] = function
        return function
    return register


def hook(service, *operations):
    return fake(service, *operations, table=HOOKS)


def ec2_response(call, inner):
    body = (f'<?xml version="1.0" encoding="UTF-8"?><{call.operation}Response '
            f'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>{uuid.uuid4()}'
            f"</requestId>{inner}</{call.operation}Response>")
    return Response(body, 200, content_type="text/xml")


def ec2_of(call):
    return ec2_backends[call.account][call.region]


def patch_json(response, change):
    payload = json.loads(response.get_data())
    change(payload)
    response.set_data(json.dumps(payload))
    return response


# ---- EC2 -------------------------------------------------------------------------------------

def ec2_list(params, prefix):
    """EC2 query lists: GroupName.1=a&GroupName.2=b -> [a, b]."""
    return [v for k, v in sorted(params.items()) if re.fullmatch(rf"{prefix}\.\d+", k)]


def ec2_tags(params):
    """TagSpecification.N.Tag.M.Key/Value -> {key: value}."""
    return {name: params.get(key[:-3] + "Value", "") for key, name in params.items()
            if re.fullmatch(r"TagSpecification\.\d+\.Tag\.\d+\.Key", key)}


def placement_group_xml(group):
    tags = "".join(f"<item><key>{escape(k)}</key><value>{escape(v)}</value></item>"
                   for k, v in sorted(group["tags"].items()))
    return (f"<groupName>{escape(group['name'])}</groupName><groupId>{group['id']}</groupId>"
            f"<groupArn>{group['arn']}</groupArn><strategy>{group['strategy']}</strategy>"
            f"<state>available</state><tagSet>{tags}</tagSet>")


def unknown_placement_group(name):
    return AwsError(400, "InvalidPlacementGroup.Unknown",
                    f"The Placement Group '{name}' is unknown.")


@fake("ec2", "CreatePlacementGroup")
def create_placement_group(call):
    groups, name = PLACEMENT_GROUPS[call.key()], call.params.get("GroupName", "")
    if name in groups:
        raise AwsError(400, "InvalidPlacementGroup.Duplicate",
                       f"The Placement Group '{name}' already exists.")
    groups[name] = {"name": name, "id": "pg-" + uuid.uuid4().hex[:17],
                    "strategy": call.params.get("Strategy", "cluster"),
                    "arn": f"arn:aws:ec2:{call.region}:{call.account}:placement-group/{name}",
                    "tags": ec2_tags(call.params)}
    return ec2_response(call, f"<placementGroup>{placement_group_xml(groups[name])}"
                              "</placementGroup>")


@fake("ec2", "DescribePlacementGroups")
def describe_placement_groups(call):
    groups = PLACEMENT_GROUPS[call.key()]
    names, ids = ec2_list(call.params, "GroupName"), ec2_list(call.params, "GroupId")
    for name in names:
        if name not in groups:
            raise unknown_placement_group(name)
    found = [g for g in groups.values()
             if (not names or g["name"] in names) and (not ids or g["id"] in ids)]
    items = "".join(f"<item>{placement_group_xml(g)}</item>" for g in found)
    return ec2_response(call, f"<placementGroupSet>{items}</placementGroupSet>")


@fake("ec2", "DeletePlacementGroup")
def delete_placement_group(call):
    name = call.params.get("GroupName", "")
    if PLACEMENT_GROUPS[call.key()].pop(name, None) is None:
        raise unknown_placement_group(name)
    return ec2_response(call, "<return>true</return>")


@hook("ec2", "CreateLaunchTemplate")
def keep_template_tags_out_of_its_data(call, response):
    """The template's own tags (ResourceType=launch-template) are not part of its data."""
    template = ec2_of(call).get_launch_template_by_name(call.params["LaunchTemplateName"])
    for version in template.versions:
        specs = [s for s in version.data.pop("TagSpecifications", [])
                 if s.get("ResourceType") != "launch-template"]
        if specs:
            version.data["TagSpecifications"] = specs
    return response


@hook("ec2", "DescribeSecurityGroupRules")
def add_referenced_rule_descriptions(call, response):
    """moto stores the description of a rule naming a group, but reports only CIDR ones."""
    descriptions = {
        rule.id: rule.source_group["Description"]
        for groups in ec2_of(call).groups.values() for group in groups.values()
        for rule in group.ingress_rules + group.egress_rules
        if rule.source_group.get("Description") and not rule.ip_range.get("Description")}
    response.set_data(re.sub(
        r"<securityGroupRuleId>(sgr-\w+)</securityGroupRuleId>",
        lambda m: m[0] + (f"<description>{escape(descriptions[m[1]])}</description>"
                          if m[1] in descriptions else ""),
        response.get_data(as_text=True)))
    return response


@hook("ec2", "DeleteNatGateway")
def delete_nat_interface(call, response):
    """AWS frees the gateway's Elastic IP and deletes its network interface with it."""
    ec2 = ec2_of(call)
    interface = ec2.nat_gateways[call.params["NatGatewayId"]]._eni
    for address in ec2.addresses:
        if address.eni is interface:
            ec2.disassociate_address(address=address.public_ip)
    ec2.delete_network_interface(interface.id)
    return response


# ---- EKS clusters and node groups ------------------------------------------------------------

def moto_cluster(call, name):
    cluster = eks_backends[call.account][call.region].clusters.get(name)
    if cluster is None:
        raise not_found(f"No cluster found for name: {name}.")
    return cluster


@hook("eks", "CreateCluster")
def complete_cluster(call, response):
    """The security group EKS creates for the control plane and managed nodes, and the two
    settings moto forgets (with AWS's defaults when not asked for)."""
    request = call.json()
    cluster, ec2 = moto_cluster(call, request["name"]), ec2_of(call)
    vpc_id = ec2.get_subnet(cluster.resources_vpc_config["subnetIds"][0]).vpc_id
    group = ec2.create_security_group(
        name=f"eks-cluster-sg-{cluster.name}-{uuid.uuid4().hex[:8]}",
        description="EKS created security group applied to ENI that is attached to EKS Control "
                    "Plane master nodes, as well as any managed workloads.",
        vpc_id=vpc_id, tags={f"kubernetes.io/cluster/{cluster.name}": "owned"})
    cluster.resources_vpc_config.update(clusterSecurityGroupId=group.id, vpcId=vpc_id)
    cluster.access_config = {"authenticationMode": "CONFIG_MAP",
                             "bootstrapClusterCreatorAdminPermissions": True,
                             **request.get("accessConfig", {})}
    cluster.upgrade_policy = request.get("upgradePolicy") or {"supportType": "EXTENDED"}
    return patch_json(response, lambda p: p["cluster"].update(
        resourcesVpcConfig=cluster.resources_vpc_config, accessConfig=cluster.access_config,
        upgradePolicy=cluster.upgrade_policy))


@hook("eks", "DeleteCluster")
def delete_cluster_extras(call, response):
    """EKS deletes the cluster's security group, add-ons and access entries with it."""
    vpc_config = json.loads(response.get_data())["cluster"]["resourcesVpcConfig"]
    if vpc_config.get("clusterSecurityGroupId"):
        ec2_of(call).delete_security_group(group_id=vpc_config["clusterSecurityGroupId"])
    ADDONS.pop(call.key(call.params["name"]), None)
    ACCESS_ENTRIES.pop(call.key(call.params["name"]), None)
    if RECREATE_EKS_LOG_GROUPS:
        DELETED_CLUSTERS.add(call.key(call.params["name"]))
    return response


@hook("eks", "DescribeNodegroup")
def fail_without_capacity(call, response):
    """With NO_CAPACITY, the node group failed as EKS reports it when EC2 has none of the type."""
    if not NO_CAPACITY:
        return response

    def failed(payload):
        group = payload["nodegroup"]
        group["status"] = "CREATE_FAILED"
        group["health"] = {"issues": [{
            "code": "AsgInstanceLaunchFailures",
            "message": "Could not launch On-Demand Instances. InsufficientInstanceCapacity - "
                       f"We currently do not have sufficient {group['instanceTypes'][0] if group.get('instanceTypes') else 'instance'} "
                       "capacity in the Availability Zone you requested. Launching EC2 instance "
                       "failed.",
            "resourceIds": [f"eks-{group['nodegroupName']}-asg"]}]}
    return patch_json(response, failed)


# ---- CloudWatch Logs -------------------------------------------------------------------------

@hook("logs", "DeleteLogGroup")
def eks_recreates_its_log_group(call, response):
    """moto keeps a deleted group's tags, which a new group of the same name would inherit (AWS
    starts it untagged). The first deletion of a deleted cluster's log group is undone by EKS."""
    name = call.json().get("logGroupName", "")
    backend = logs_backends[call.account][call.region]
    backend.tagger.delete_all_tags_for_resource(
        f"arn:aws:logs:{call.region}:{call.account}:log-group:{name}")
    match = re.fullmatch(r"/aws/eks/([^/]+)/cluster", name)
    if match and call.key(match[1]) in DELETED_CLUSTERS:
        DELETED_CLUSTERS.discard(call.key(match[1]))
        backend.create_log_group(name, tags={})
    return response


@fake("logs", "AssociateKmsKey")
def associate_kms_key(call):
    request = call.json()
    group = logs_backends[call.account][call.region].groups.get(request.get("logGroupName"))
    if group is None:
        raise not_found("The specified log group does not exist.")
    group.kms_key_id = request.get("kmsKeyId")
    return {}


@hook("eks", "CreateNodegroup")
def drop_invented_remote_access(call, response):
    """EKS reports no remoteAccess unless it was asked for."""
    request = call.json()
    if "remoteAccess" in request:
        return response
    moto_cluster(call, call.params["name"]).nodegroups[request["nodegroupName"]] \
        .remote_access = None
    return patch_json(response, lambda p: p["nodegroup"].pop("remoteAccess", None))


# ---- EKS add-ons -----------------------------------------------------------------------------

def addon_of(call):
    moto_cluster(call, call.params["name"])
    addon = ADDONS[call.key(call.params["name"])].get(call.params["addonName"])
    if addon is None:
        raise not_found(f"No addon: {call.params['addonName']} found in cluster: "
                        f"{call.params['name']}")
    return addon


@fake("eks", "CreateAddon")
def create_addon(call):
    cluster, request = moto_cluster(call, call.params["name"]), call.json()
    addons, name = ADDONS[call.key(cluster.name)], request["addonName"]
    if name in addons:
        raise AwsError(409, "ResourceInUseException", f"Addon already exists with name: {name}")
    now = time.time()
    addons[name] = {
        "addonName": name, "clusterName": cluster.name, "status": "ACTIVE",
        "addonVersion": request.get("addonVersion") or f"v{cluster.version}.0-eksbuild.1",
        "addonArn": f"arn:aws:eks:{call.region}:{call.account}:addon/{cluster.name}/{name}/"
                    f"{uuid.uuid4()}",
        "health": {"issues": []}, "createdAt": now, "modifiedAt": now,
        "tags": request.get("tags") or {}, "podIdentityAssociations": [],
        **{k: request[k] for k in ("serviceAccountRoleArn", "configurationValues") if k in request},
    }
    return {"addon": addons[name]}


@fake("eks", "DescribeAddon")
def describe_addon(call):
    return {"addon": addon_of(call)}


@fake("eks", "ListAddons")
def list_addons(call):
    moto_cluster(call, call.params["name"])
    return {"addons": sorted(ADDONS[call.key(call.params["name"])])}


@fake("eks", "UpdateAddon")
def update_addon(call):
    addon, request = addon_of(call), call.json()
    addon.update({k: request[k] for k in ("addonVersion", "serviceAccountRoleArn",
                                          "configurationValues") if k in request})
    addon["modifiedAt"] = time.time()
    update = {"id": str(uuid.uuid4()), "status": "Successful", "type": "AddonUpdate",
              "params": [], "createdAt": addon["modifiedAt"], "errors": []}
    UPDATES[update["id"]] = update
    return {"update": update}


@fake("eks", "DescribeUpdate")
def describe_update(call):
    if call.params["updateId"] not in UPDATES:
        raise not_found(f"No update found for ID: {call.params['updateId']}")
    return {"update": UPDATES[call.params["updateId"]]}


@fake("eks", "DeleteAddon")
def delete_addon(call):
    addon = ADDONS[call.key(call.params["name"])].pop(addon_of(call)["addonName"])
    return {"addon": {**addon, "status": "DELETING"}}


# ---- EKS access entries ----------------------------------------------------------------------

def entry_of(call):
    moto_cluster(call, call.params["name"])
    entry = ACCESS_ENTRIES[call.key(call.params["name"])].get(call.params["principalArn"])
    if entry is None:
        raise not_found("The specified principalArn could not be found. You can view your "
                        "available access entries with 'list-access-entries'.")
    return entry


def without_policies(entry):
    return {k: v for k, v in entry.items() if k != "policies"}


@fake("eks", "CreateAccessEntry")
def create_access_entry(call):
    cluster, request = moto_cluster(call, call.params["name"]), call.json()
    entries, principal = ACCESS_ENTRIES[call.key(cluster.name)], request["principalArn"]
    if principal in entries:
        raise AwsError(409, "ResourceInUseException",
                       "The specified access entry resource is already in use on this cluster.")
    account, resource = principal.split(":", 5)[4:]
    kind, name = resource.split("/")[0], resource.split("/")[-1]
    now = time.time()
    entries[principal] = {
        "clusterName": cluster.name, "principalArn": principal,
        "kubernetesGroups": request.get("kubernetesGroups") or [],
        "accessEntryArn": f"arn:aws:eks:{call.region}:{call.account}:access-entry/{cluster.name}/"
                          f"{kind}/{account}/{name}/{uuid.uuid4()}",
        "createdAt": now, "modifiedAt": now, "tags": request.get("tags") or {},
        "username": request.get("username") or (
            f"arn:aws:sts::{account}:assumed-role/{name}/{{{{SessionName}}}}"
            if kind == "role" else principal),
        "type": request.get("type", "STANDARD"),
        "policies": {},  # policy ARN -> association (not part of the entry's API shape)
    }
    return {"accessEntry": without_policies(entries[principal])}


@fake("eks", "DescribeAccessEntry")
def describe_access_entry(call):
    return {"accessEntry": without_policies(entry_of(call))}


@fake("eks", "DeleteAccessEntry")
def delete_access_entry(call):
    del ACCESS_ENTRIES[call.key(call.params["name"])][entry_of(call)["principalArn"]]
    return {}


@fake("eks", "ListAccessEntries")
def list_access_entries(call):
    moto_cluster(call, call.params["name"])
    return {"accessEntries": sorted(ACCESS_ENTRIES[call.key(call.params["name"])])}


@fake("eks", "AssociateAccessPolicy")
def associate_access_policy(call):
    entry, request = entry_of(call), call.json()
    policy, now = request["policyArn"], time.time()
    entry["policies"][policy] = {
        "policyArn": policy, "modifiedAt": now,
        "associatedAt": entry["policies"].get(policy, {}).get("associatedAt", now),
        "accessScope": {"type": request["accessScope"]["type"],
                        "namespaces": request["accessScope"].get("namespaces") or []}}
    return {"clusterName": entry["clusterName"], "principalArn": entry["principalArn"],
            "associatedAccessPolicy": entry["policies"][policy]}


@fake("eks", "ListAssociatedAccessPolicies")
def list_associated_access_policies(call):
    entry = entry_of(call)
    return {"clusterName": entry["clusterName"], "principalArn": entry["principalArn"],
            "associatedAccessPolicies": [entry["policies"][k] for k in sorted(entry["policies"])]}


@fake("eks", "DisassociateAccessPolicy")
def disassociate_access_policy(call):
    if entry_of(call)["policies"].pop(call.params["policyArn"], None) is None:
        raise not_found(f"The specified policy {call.params['policyArn']} is not associated.")
    return {}


# ---- Service Quotas --------------------------------------------------------------------------

def quota(call, service, code):
    name, value = QUOTAS[service][code]
    return {"ServiceCode": service, "ServiceName": SERVICE_NAMES[service], "QuotaCode": code,
            "QuotaArn": f"arn:aws:servicequotas:{call.region}:{call.account}:{service}/{code}",
            "QuotaName": name, "Value": float(value), "Unit": "None", "Adjustable": True,
            "GlobalQuota": False}


@fake("servicequotas", "GetServiceQuota", "GetAWSDefaultServiceQuota")
def get_service_quota(call):
    service, code = call.json()["ServiceCode"], call.json()["QuotaCode"]
    if code not in QUOTAS.get(service, {}):
        raise AwsError(400, "NoSuchResourceException",
                       f"The request failed because the specified quota {service}/{code} "
                       "does not exist.")
    return {"Quota": quota(call, service, code)}


@fake("servicequotas", "ListServiceQuotas", "ListAWSDefaultServiceQuotas")
def list_service_quotas(call):
    service = call.json()["ServiceCode"]
    if service not in QUOTAS:
        raise AwsError(400, "NoSuchResourceException",
                       f"The request failed because the specified service {service} "
                       "does not exist.")
    return {"Quotas": [quota(call, service, code) for code in sorted(QUOTAS[service])]}


# ---- Tagging API -----------------------------------------------------------------------------

class MissingTaggedResources(BaseBackend, TaggableResourcesMixin):
    """Feeds moto's GetResources what it misses (`infra down --orphans` looks for them)."""

    SERVICE_NAMESPACE = "rdmabench-moto-gaps"

    def owns_arn(self, arn):
        return False  # TagResources/UntagResources through the tagging API: not needed

    def iter_tagged_resources(self):
        key = (self.account_id, self.region_name)
        for cluster in eks_backends[self.account_id][self.region_name].clusters.values():
            yield TaggedResource(cluster.arn, dict(cluster.tags or {}), "eks:cluster")
            for nodegroup in cluster.nodegroups.values():
                yield TaggedResource(nodegroup.arn, dict(nodegroup.tags or {}), "eks:nodegroup")
            for addon in ADDONS[(*key, cluster.name)].values():
                yield TaggedResource(addon["addonArn"], dict(addon["tags"]), "eks:addon")
            for entry in ACCESS_ENTRIES[(*key, cluster.name)].values():
                yield TaggedResource(entry["accessEntryArn"], dict(entry["tags"]),
                                     "eks:access-entry")
        ecr = ecr_backends[self.account_id][self.region_name]
        for repository in ecr.repositories.values():
            yield TaggedResource(repository.arn, ecr.tagger.get_tag_dict_for_resource(
                repository.arn), "ecr:repository")
        ec2 = ec2_backends[self.account_id][self.region_name]
        arn = f"arn:aws:ec2:{self.region_name}:{self.account_id}"
        for address in ec2.addresses:
            if address.allocation_id:
                yield TaggedResource(f"{arn}:elastic-ip/{address.allocation_id}",
                                     dict(ec2.tags.get(address.allocation_id, {})),
                                     "ec2:elastic-ip")
        for template in ec2.launch_templates.values():
            yield TaggedResource(f"{arn}:launch-template/{template.id}",
                                 dict(ec2.tags.get(template.id, {})), "ec2:launch-template")
        for group in PLACEMENT_GROUPS[key].values():
            yield TaggedResource(group["arn"], dict(group["tags"]), "ec2:placement-group")


# moto's GetResources asks every BackendDict with a TaggableResourcesMixin backend that has an
# entry for the caller's account: moto_wrapper.py creates that entry on each call.
missing_tagged_resources = BackendDict(MissingTaggedResources, "ec2")
