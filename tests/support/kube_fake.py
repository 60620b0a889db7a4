#!/usr/bin/env python3
"""A small in-memory Kubernetes API for the orchestration tests (no API server can run here).

It serves the calls `rdmabench k8s` makes (server-side apply, get, list with label selectors,
delete, pod logs, exec) on 127.0.0.1 and plays a scenario for the benchmark pods' lifecycle:

  happy       server and client start, the client prints --client-log and exits 0
  no-efa      pods stay Pending: "Insufficient vpc.amazonaws.com/efa"
  image-pull  containers wait in ErrImagePull / ImagePullBackOff
  pod-fails   the client exits 1 after printing a memory-registration failure
  stuck       pods stay ContainerCreating forever (timeouts)
  no-plugin   the nodes never advertise vpc.amazonaws.com/efa (deploy times out)
  pair-fails  (matrix) the coordinator's matrix has one failed pair and it exits 1
  tools-fail  perftest's clients exit 1 (as on a fabric without SRD), and applying a Role is
              forbidden (an account without RBAC rights)

--efa-devices dra: the nodes advertise no vpc.amazonaws.com/efa; while rdmabench's DRA driver
DaemonSet (kube-system/rdmabench-dranet) exists, each node has a dra.net ResourceSlice with --efa
EFA devices, shaped like the p4d.24xlarge slice in kubernetes-sigs/dranet
examples/aws_eks_examples/gpu-efa/resourceslice-dranet.yaml (@ f258477); a pod whose claim names
a ResourceClaimTemplate that does not exist stays Pending, as the scheduler leaves it.
--no-dra-api serves no resource.k8s.io/v1 (a cluster before Kubernetes 1.34).

--measure BINARY (root only): the benchmark pods of rdmabench's own measurements (pingpong, bw,
rma) over a provider this machine has (tcp, net, udp, shm) or kernel TCP run for real with
BINARY on fake nodes made of namespaces (kube_fake_nodes.py says how and what it replaces);
their logs, phases and exit codes are the processes'. Every other pod (EFA runs and the
reference tools, which cannot happen here; matrix pods; fault scenarios) keeps the scripted
lifecycle below.

Matrix pods: agents run on the node their nodeSelector names until deleted, with a pod IP and
the node's IP in their status; the coordinator runs --run-seconds, then prints a matrix document
for the hosts in its arguments (scripted figures: this fake measures nothing) and exits.
--nodes N serves N EFA nodes (node-a, node-b, ...). --pod NS/NAME/CONTAINER makes a running pod
that `rdmabench launch` can exec into: the exec API (WebSocket, v4.channel.k8s.io) runs the
command on this machine and streams its output and exit status back.

Authentication: --token T requires "Bearer T"; --eks-max-age S requires an EKS token
(k8s-aws-v1.<base64url presigned URL>) whose X-Amz-Date is at most S seconds old, answering 401
otherwise, like the EKS authenticator does with expired tokens.

Every request is appended to --journal as a JSON line (every applied body to --journal.applied); after every change the remaining objects
are written to --inventory, so a test can check that cleanup left nothing behind.
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()
NODES = None  # kube_fake_nodes.Nodes with --measure
MEASURED = {}  # (namespace, name) -> kube_fake_nodes entry of a pod that runs for real
OBJECTS = {}  # (kind, namespace, name) -> object
POD_CREATED = {}  # (namespace, name) -> monotonic creation time
DELETING = {}  # key -> monotonic time the deletion finishes
FINISHED = {}  # client finish time per namespace, so the server exits after its client

KINDS = {
    "namespaces": "Namespace",
    "pods": "Pod",
    "services": "Service",
    "daemonsets": "DaemonSet",
    "networkpolicies": "NetworkPolicy",
    "serviceaccounts": "ServiceAccount",
    "roles": "Role",
    "rolebindings": "RoleBinding",
    "nodes": "Node",
    "clusterroles": "ClusterRole",
    "clusterrolebindings": "ClusterRoleBinding",
    "deviceclasses": "DeviceClass",
    "resourceslices": "ResourceSlice",
    "resourceclaimtemplates": "ResourceClaimTemplate",
}


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def journal(entry):
    if ARGS.journal:
        with open(ARGS.journal, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


def write_inventory():
    if ARGS.inventory:
        names = sorted("%s/%s/%s" % k for k in OBJECTS if k[0] != "Node")
        with open(ARGS.inventory + ".tmp", "w", encoding="utf-8") as f:
            json.dump(names, f)
        import os
        os.replace(ARGS.inventory + ".tmp", ARGS.inventory)


def parse_path(path):
    """-> (kind, namespace, name, subresource) or None."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        rest = parts[2:]
    elif parts[:3] in (["apis", "apps", "v1"], ["apis", "networking.k8s.io", "v1"],
                       ["apis", "rbac.authorization.k8s.io", "v1"]):
        rest = parts[3:]
    elif parts[:3] == ["apis", "resource.k8s.io", "v1"] and not ARGS.no_dra_api:
        rest = parts[3:]
    else:
        return None
    namespace = None
    if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    if not rest or rest[0] not in KINDS:
        return None
    kind = KINDS[rest[0]]
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if kind == "Namespace" and name is None and namespace is not None:
        name, namespace = namespace, None
    return kind, namespace, name, sub


def matches(obj, selector):
    if not selector:
        return True
    labels = obj.get("metadata", {}).get("labels", {}) or {}
    for term in selector.split(","):
        key, _, value = term.partition("=")
        if labels.get(key) != value:
            return False
    return True


def container_status(name, state):
    return [{"name": name, "image": "img", "imageID": "", "ready": "running" in state,
             "restartCount": 0, "state": state}]


def node_names():
    return ["node-" + chr(ord("a") + i) for i in range(ARGS.nodes)]


def addresses(node_name, pod_name):
    """Documentation-range addresses (RFC 5737): nothing ever connects to them."""
    index = node_names().index(node_name) if node_name in node_names() else 0
    pod_index = sum(ord(c) for c in pod_name) % 200 + 1
    return {"hostIP": "192.0.2.%d" % (index + 1), "podIP": "198.51.100.%d" % pod_index}


def fake_matrix(args):
    hosts = [a for a in args if ":" in a and a.split(":")[-1].isdigit()]
    pairs = []
    for i in range(len(hosts)):
        for j in range(i + 1, len(hosts)):
            failed = ARGS.scenario == "pair-fails" and i == 0 and j == 1
            mean = 15000 + 1000 * (i + j)
            pairs.append({"client": hosts[i], "server": hosts[j],
                          "mean_ns": None if failed else mean,
                          "p50_ns": None if failed else mean - 100,
                          "p99_ns": None if failed else mean + 900,
                          "outlier": False,
                          "error": "agent %s is unreachable" % hosts[j] if failed else None})
    means = sorted(p["mean_ns"] for p in pairs if p["mean_ns"] is not None)
    return {"schema_version": 1, "kind": "rdmabench-matrix", "test": "pingpong",
            "transport": "fabric (efa)", "api": "msg", "hosts": hosts, "outlier_factor": 1.5,
            "sizes": [{"size_bytes": 4, "median_ns": means[len(means) // 2] if means else None,
                       "pairs": pairs}]}


def unsupported_tool(pod):
    """In the tools-fail scenario: a perftest client, which fails as perftest does without SRD."""
    args = pod["spec"]["containers"][0].get("args", [])
    return ARGS.scenario == "tools-fail" and any(a.startswith("ib_") for a in args)


def missing_claim_template(pod):
    """The first ResourceClaimTemplate the pod names that does not exist, or None."""
    ns = pod["metadata"]["namespace"]
    for claim in pod["spec"].get("resourceClaims") or []:
        template = claim.get("resourceClaimTemplateName")
        if template and ("ResourceClaimTemplate", ns, template) not in OBJECTS:
            return template
    return None


def resource_slices():
    """DRANET's slices while rdmabench's DRA driver runs (see --efa-devices)."""
    if ("DaemonSet", "kube-system", "rdmabench-dranet") not in OBJECTS or ARGS.scenario == "no-plugin":
        return []
    slices = []
    for name in node_names():
        devices = [{"name": "pci-0000-%02x-1b-0" % (0x10 + i), "attributes": {
            "dra.net/numaNode": {"int": 0},
            "dra.net/pciAddress": {"string": "0000:%02x:1b.0" % (0x10 + i)},
            "dra.net/pciDevice": {"string": "Elastic Fabric Adapter (EFA)"},
            "dra.net/pciSubsystem": {"string": "efa%d" % i},
            "dra.net/pciVendor": {"string": "Amazon.com, Inc."},
            "dra.net/rdma": {"bool": True},
            "dra.net/rdmaDevice": {"string": "rdmap%ds27" % (16 + i)},
            "resource.kubernetes.io/pcieRoot": {"string": "pci0000:%02x" % (0x10 + i)}}}
            for i in range(ARGS.efa)]
        slices.append({"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice",
                       "metadata": {"name": "%s-dra.net-x7k2p" % name},
                       "spec": {"driver": "dra.net", "nodeName": name,
                                "pool": {"generation": 1, "name": name, "resourceSliceCount": 1},
                                "devices": devices}})
    return slices


def measured_test(pod):
    """The rdmabench measurement a pod runs, when --measure runs it for real; else None."""
    if NODES is None:
        return None
    container = pod["spec"]["containers"][0]
    argv = list(container.get("command") or []) + list(container.get("args") or [])
    role = pod["metadata"].get("labels", {}).get("rdmabench.io/role")
    if role not in ("server", "client"):
        return None
    test = argv[5] if argv[:1] == ["sh"] and len(argv) > 5 else (argv[1] if len(argv) > 1 else "")
    if test not in ("pingpong", "bw", "rma"):
        return None
    # EFA (the default on a cluster) cannot run here: only runs over a provider this machine
    # has, or kernel TCP, are measured.
    option = lambda name: argv[argv.index(name) + 1] if name in argv[:-1] else None
    here = option("--transport") == "socket" or option("--provider") in ("tcp", "net", "udp", "shm")
    return test if here else None


def node_of(pod):
    role = pod["metadata"]["labels"].get("rdmabench.io/role", "server")
    wanted = (pod["spec"].get("nodeSelector") or {}).get("kubernetes.io/hostname")
    if wanted:
        return wanted
    if role == "coordinator":
        return node_names()[-1]
    return "node-a" if role == "server" else "node-b"


def measured_status(key, role):
    entry = MEASURED[key]
    code = NODES.state(entry)
    scheduled = [{"type": "PodScheduled", "status": "True"}]
    status = {"hostIP": entry["host_ip"], "podIP": entry["pod_ip"], "conditions": scheduled}
    if code is None:
        status.update({"phase": "Running", "containerStatuses": container_status(
            role, {"running": {"startedAt": now_rfc3339()}})})
    else:
        status.update({"phase": "Succeeded" if code == 0 else "Failed",
                       "containerStatuses": container_status(role, {"terminated": {
                           "exitCode": code, "reason": "Completed" if code == 0 else "Error"}})})
    return entry["node"], status


def pod_status(pod):
    ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    if (ns, name) in MEASURED:
        return measured_status((ns, name), pod["metadata"]["labels"]["rdmabench.io/role"])
    role = pod["metadata"]["labels"].get("rdmabench.io/role", "server")
    age = time.monotonic() - POD_CREATED[(ns, name)]
    scenario = ARGS.scenario
    node = node_of(pod)
    template = missing_claim_template(pod)
    if template:
        return None, {"phase": "Pending", "conditions": [{
            "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": 'resourceclaimtemplate.resource.k8s.io "%s" not found' % template}]}
    if scenario == "no-efa":
        return None, {"phase": "Pending", "conditions": [{
            "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": "0/2 nodes are available: 2 Insufficient vpc.amazonaws.com/efa. "
                       "preemption: 0/2 nodes are available."}]}
    scheduled = [{"type": "PodScheduled", "status": "True"}]
    if scenario == "stuck" or age < 1.0:
        return node, {"phase": "Pending", "conditions": scheduled,
                      "containerStatuses": container_status(role, {"waiting": {
                          "reason": "ContainerCreating"}})}
    if scenario == "config-error":
        return node, {"phase": "Pending", "conditions": scheduled,
                      "containerStatuses": container_status(role, {"waiting": {
                          "reason": "CreateContainerConfigError",
                          "message": "container has runAsNonRoot and image will run as root"}})}
    if scenario == "image-pull":
        reason = "ErrImagePull" if age < 2.0 else "ImagePullBackOff"
        return node, {"phase": "Pending", "conditions": scheduled,
                      "containerStatuses": container_status(role, {"waiting": {
                          "reason": reason,
                          "message": "failed to pull and unpack image: not found"}})}
    running = {"phase": "Running", "conditions": scheduled,
               "containerStatuses": container_status(role, {"running": {"startedAt": now_rfc3339()}})}
    running.update(addresses(node, name))
    if role == "agent":
        return node, running
    if role == "coordinator":
        if age < 1.0 + ARGS.run_seconds:
            return node, running
        code = 1 if scenario == "pair-fails" else 0
        done = {"phase": "Succeeded" if code == 0 else "Failed", "conditions": scheduled,
                "containerStatuses": container_status(role, {"terminated": {
                    "exitCode": code, "reason": "Completed" if code == 0 else "Error"}})}
        done.update(addresses(node, name))
        return node, done
    if role == "client":
        if age < 1.0 + ARGS.run_seconds:
            return node, running
        code = 1 if scenario == "pod-fails" or unsupported_tool(pod) else 0
        FINISHED.setdefault(ns, time.monotonic())
        return node, {"phase": "Succeeded" if code == 0 else "Failed", "conditions": scheduled,
                      "containerStatuses": container_status(role, {"terminated": {
                          "exitCode": code, "reason": "Completed" if code == 0 else "Error"}})}
    if ns in FINISHED and time.monotonic() - FINISHED[ns] > 0.5:
        return node, {"phase": "Succeeded", "conditions": scheduled,
                      "containerStatuses": container_status(role, {"terminated": {
                          "exitCode": 0, "reason": "Completed"}})}
    return node, running


def node(name):
    allocatable = {"cpu": "64"}
    if ARGS.efa_devices == "device-plugin":
        allocatable["vpc.amazonaws.com/efa"] = "0" if ARGS.scenario == "no-plugin" else str(ARGS.efa)
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"rdmabench.io/efa": "true",
                                                  "kubernetes.io/hostname": name}},
            "status": {"allocatable": allocatable,
                       "conditions": [{"type": "Ready", "status": "True"}]}}


def eks_token_error(header):
    if not header.startswith("Bearer k8s-aws-v1."):
        return "not an EKS token"
    encoded = header[len("Bearer k8s-aws-v1."):]
    try:
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except Exception as error:  # noqa: BLE001 - any decoding failure is a bad token
        return "undecodable token: %s" % error
    query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
    if query.get("X-Amz-SignedHeaders") != ["host;x-k8s-aws-id"]:
        return "x-k8s-aws-id is not signed"
    signed = datetime.datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(
        tzinfo=datetime.timezone.utc)
    age = (datetime.datetime.now(datetime.timezone.utc) - signed).total_seconds()
    if age > ARGS.eks_max_age:
        return "token expired (%.0f s old)" % age
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def reply(self, code, body, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def status(self, code, reason, message):
        self.reply(code, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                          "status": "Failure", "message": message, "reason": reason,
                          "code": code})

    def authorized(self):
        header = self.headers.get("Authorization", "")
        problem = None
        if ARGS.token and header != "Bearer " + ARGS.token:
            problem = "wrong or missing bearer token"
        elif ARGS.eks_max_age is not None:
            problem = eks_token_error(header)
        journal({"method": self.command, "path": self.path, "auth": header[:60] + "..." if header else "",
                 "token": header, "rejected": problem})
        if problem:
            self.status(401, "Unauthorized", "Unauthorized: " + problem)
            return False
        return True

    def body(self):
        length = int(self.headers.get("Content-Length", "0"))
        return json.loads(self.rfile.read(length) or b"{}")

    def route(self):
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        return parse_path(url.path), query

    def do_GET(self):
        if not self.authorized():
            return
        parsed, query = self.route()
        if parsed is None:
            return self.status(404, "NotFound", "no such path " + self.path)
        kind, ns, name, sub = parsed
        with LOCK:
            self.expire_deletions()
            if kind == "ResourceSlice":
                return self.reply(200, {"apiVersion": "resource.k8s.io/v1",
                                        "kind": "ResourceSliceList", "metadata": {},
                                        "items": resource_slices()})
            if kind == "Node":
                items = [node(n) for n in node_names()]
                items = [n for n in items if matches(n, query.get("labelSelector", [""])[0])]
                return self.reply(200, {"apiVersion": "v1", "kind": "NodeList",
                                        "metadata": {}, "items": items})
            if name is None:
                selector = query.get("labelSelector", [""])[0]
                items = [self.view(o) for (k, n, _), o in sorted(OBJECTS.items())
                         if k == kind and (ns is None or n == ns) and matches(o, selector)]
                return self.reply(200, {"apiVersion": "v1", "kind": kind + "List",
                                        "metadata": {}, "items": items})
            obj = OBJECTS.get((kind, ns, name))
            if obj is None:
                return self.status(404, "NotFound", '%ss "%s" not found' % (kind.lower(), name))
            if sub == "log":
                return self.reply(200, self.log_of(obj), "text/plain")
            if sub != "exec":
                return self.reply(200, self.view(obj))
        return self.exec_in(obj, query)

    def exec_in(self, pod, query):
        """The exec API over WebSocket (channel.k8s.io v4, as kubectl exec speaks it): the command
        runs on this machine as if in the pod's container; its stdout and stderr stream on
        channels 1 and 2, its exit on channel 3 as a Status."""
        containers = [c["name"] for c in pod.get("spec", {}).get("containers", [])]
        container = query.get("container", [""])[0]
        if container not in containers:
            return self.status(400, "BadRequest",
                               'container %s is not valid for pod %s' % (container, pod["metadata"]["name"]))
        offered = [p.strip() for p in self.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        key = self.headers.get("Sec-WebSocket-Key")
        if self.headers.get("Upgrade", "").lower() != "websocket" or not key \
                or "v4.channel.k8s.io" not in offered:
            return self.status(400, "BadRequest", "exec needs a WebSocket upgrade with v4.channel.k8s.io")
        command = query.get("command", [])
        journal({"exec": command, "pod": pod["metadata"]["name"], "container": container})
        accept = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.send_header("Sec-WebSocket-Protocol", "v4.channel.k8s.io")
        self.end_headers()
        self.close_connection = True
        sending = threading.Lock()

        def frame(opcode, payload):
            n = len(payload)
            head = bytes([0x80 | opcode])
            if n < 126:
                head += bytes([n])
            elif n < 65536:
                head += bytes([126]) + n.to_bytes(2, "big")
            else:
                head += bytes([127]) + n.to_bytes(8, "big")
            with sending:
                self.wfile.write(head + payload)
                self.wfile.flush()

        try:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as e:
            status = {"metadata": {}, "status": "Failure", "reason": "InternalError",
                      "message": "exec failed: %s" % e}
        else:
            def pump(pipe, channel):
                for chunk in iter(lambda: pipe.read1(65536), b""):
                    frame(0x2, bytes([channel]) + chunk)

            pumps = [threading.Thread(target=pump, args=(process.stdout, 1)),
                     threading.Thread(target=pump, args=(process.stderr, 2))]
            for t in pumps:
                t.start()
            for t in pumps:
                t.join()
            code = process.wait()
            if code == 0:
                status = {"metadata": {}, "status": "Success"}
            else:
                status = {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
                          "message": "command terminated with non-zero exit code: exit status %d" % code,
                          "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}
        frame(0x2, bytes([3]) + json.dumps(status).encode())
        frame(0x8, (1000).to_bytes(2, "big"))

    def log_of(self, pod):
        key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        if key in MEASURED:
            return NODES.log(MEASURED[key])
        role = pod["metadata"]["labels"].get("rdmabench.io/role")
        if role == "coordinator":
            args = pod["spec"]["containers"][0].get("args", [])
            return ("rdmabench: [1/1] measuring\n"
                    + json.dumps(fake_matrix(args), indent=2) + "\n")
        if role != "client":
            return "rdmabench: serving one client\n"
        if unsupported_tool(pod):
            return ("rdmabench: ib_send_lat client of 192.0.2.10 for 8 sizes\n"
                    "error: ib_send_lat client: the server did not answer: ib_send_lat exited "
                    "with 1: Unsupported connection type SRD\n")
        if ARGS.scenario == "pod-fails":
            # What rdmabench prints when registration fails: the selected provider (src/bench.rs),
            # then main's `error: {:#}` of src/local.rs's RUN_FAILED over the fabric crate's
            # FabricError::Call ("{call} failed: {message} (-{code})"; fi_strerror(12) is
            # strerror's "Cannot allocate memory").
            return ("rdmabench: provider efa\n"
                    "error: the measurement could not run: fi_mr_reg failed: "
                    "Cannot allocate memory (-12)\n")
        with open(ARGS.client_log, encoding="utf-8") as f:
            return "rdmabench: measuring 1 sizes\n" + f.read()

    def view(self, obj):
        if obj["kind"] != "Pod":
            return obj
        ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        node_name, status = pod_status(obj)
        shown = json.loads(json.dumps(obj))
        if node_name:
            shown["spec"]["nodeName"] = node_name
        shown["status"] = status
        return shown

    def expire_deletions(self):
        done = [k for k, t in DELETING.items() if time.monotonic() >= t
                and not MEASURED.get((k[1], k[2]), {}).get("stopping", threading.Thread()).is_alive()]
        for key in done:
            if key[0] == "Pod":
                MEASURED.pop((key[1], key[2]), None)
            OBJECTS.pop(key, None)
            DELETING.pop(key)
            POD_CREATED.pop((key[1], key[2]), None)
        if done:
            write_inventory()

    def do_PATCH(self):
        if not self.authorized():
            self.body()
            return
        parsed, query = self.route()
        if parsed is None or parsed[2] is None:
            return self.status(404, "NotFound", "no such path " + self.path)
        if self.headers.get("Content-Type") != "application/apply-patch+yaml":
            return self.status(415, "UnsupportedMediaType", "only server-side apply is served")
        if query.get("fieldManager") != ["rdmabench"]:
            return self.status(422, "Invalid", "fieldManager is required")
        kind, ns, name, _ = parsed
        obj = self.body()
        if ARGS.journal:
            with open(ARGS.journal + ".applied", "a", encoding="utf-8") as f:
                f.write(json.dumps({"path": self.path, "body": obj}) + "\n")
        if obj.get("kind") != kind or obj.get("metadata", {}).get("name") != name:
            return self.status(400, "BadRequest", "body does not match the path")
        if ARGS.scenario == "tools-fail" and kind == "Role":
            return self.status(403, "Forbidden", 'roles.rbac.authorization.k8s.io "%s" is '
                               'forbidden: User "tester" cannot patch resource "roles" in API '
                               'group "rbac.authorization.k8s.io" in the namespace "%s"'
                               % (name, ns))
        with LOCK:
            self.expire_deletions()
            key = (kind, ns, name)
            if key in DELETING:
                return self.status(409, "Conflict", "object is being deleted")
            if ns is not None and ("Namespace", None, ns) not in OBJECTS and ns != "kube-system":
                return self.status(404, "NotFound", 'namespaces "%s" not found' % ns)
            obj["metadata"].setdefault("uid", "uid-%s-%s" % (kind, name))
            OBJECTS[key] = obj
            if kind == "Pod" and (ns, name) not in MEASURED and measured_test(obj):
                node = node_of(obj)
                # A server's Service is named as the pod (manifests::server_service).
                dns = ("%s.%s.svc.cluster.local" % (name, ns)
                       if obj["metadata"]["labels"].get("rdmabench.io/role") == "server" else None)
                MEASURED[(ns, name)] = NODES.start(obj, node, dns)
            if kind == "Pod":
                POD_CREATED.setdefault((ns, name), time.monotonic())
                if obj["metadata"]["labels"].get("rdmabench.io/role") == "server":
                    FINISHED.pop(ns, None)
            write_inventory()
            return self.reply(200, self.view(obj))

    def do_DELETE(self):
        if not self.authorized():
            self.body()
            return
        parsed, _ = self.route()
        self.body()  # DeleteOptions: read so the connection stays usable
        if parsed is None or parsed[2] is None:
            return self.status(404, "NotFound", "no such path " + self.path)
        kind, ns, name, _ = parsed
        with LOCK:
            self.expire_deletions()
            key = (kind, ns, name)
            obj = OBJECTS.get(key)
            if obj is None:
                return self.status(404, "NotFound", '%ss "%s" not found' % (kind.lower(), name))
            # Graceful deletion: the object lingers briefly, as pods do while terminating.
            DELETING.setdefault(key, time.monotonic() + 0.5)
            entry = MEASURED.get((ns, name)) if kind == "Pod" else None
            if entry is not None and "stopping" not in entry:
                # TERM now, KILL after the pod's grace period, off the request's thread; the
                # pod stays (terminating) until its process is gone, as a kubelet keeps it.
                grace = obj["spec"].get("terminationGracePeriodSeconds", 30)
                entry["stopping"] = threading.Thread(target=NODES.stop, args=(entry, grace),
                                                     daemon=True)
                entry["stopping"].start()
            obj["metadata"]["deletionTimestamp"] = now_rfc3339()
            return self.reply(200, self.view(obj))


def start_nodes():
    """The fake nodes of --measure, removed again when the fake is told to stop."""
    global NODES
    import kube_fake_nodes
    NODES = kube_fake_nodes.Nodes(node_names(), ARGS.measure, os.path.dirname(ARGS.journal))
    print("kube_fake: pods measure for real on %d fake nodes; replaced here: %s"
          % (ARGS.nodes, kube_fake_nodes.REPLACED), file=sys.stderr)

    def stop(*_):
        NODES.shutdown(list(MEASURED.values()))
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--scenario", default="happy",
                        choices=["happy", "no-efa", "image-pull", "config-error", "pod-fails", "stuck",
                                 "no-plugin", "pair-fails", "tools-fail"])
    parser.add_argument("--nodes", type=int, default=2, help="EFA nodes the cluster has")
    parser.add_argument("--client-log", help="what the client prints (the results JSON)")
    parser.add_argument("--run-seconds", type=float, default=2.0)
    parser.add_argument("--efa", type=int, default=1)
    parser.add_argument("--efa-devices", default="device-plugin", choices=["device-plugin", "dra"])
    parser.add_argument("--no-dra-api", action="store_true")
    parser.add_argument("--network-policy-agent", choices=["on", "off"],
                        help="give aws-node the VPC CNI's policy agent, enforcing or not")
    parser.add_argument("--token")
    parser.add_argument("--eks-max-age", type=float)
    parser.add_argument("--foreign-plugin", action="store_true",
                        help="start with an EFA device plugin that rdmabench did not install")
    parser.add_argument("--pod", action="append", default=[],
                        help="NAMESPACE/NAME/CONTAINER: a running pod to exec into")
    parser.add_argument("--measure", metavar="BINARY",
                        help="run rdmabench's benchmark pods for real with BINARY (root only)")
    parser.add_argument("--journal")
    parser.add_argument("--inventory")
    ARGS = parser.parse_args()
    for pod in ARGS.pod:
        ns, name, container = pod.split("/")
        OBJECTS[("Namespace", None, ns)] = {"apiVersion": "v1", "kind": "Namespace",
                                            "metadata": {"name": ns}}
        OBJECTS[("Pod", ns, name)] = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": {}},
            "spec": {"containers": [{"name": container, "image": "rdmabench"}]}}
    OBJECTS[("DaemonSet", "kube-system", "aws-node")] = {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "aws-node", "namespace": "kube-system"},
        "spec": {"selector": {}, "template": {"spec": {"containers": [
            {"name": "aws-node", "image": "amazon-k8s-cni:v1.19.0"}]}}}}
    if ARGS.network_policy_agent:
        # The agent's container as the VPC CNI add-on renders it (amazon-vpc-cni-k8s charts).
        OBJECTS[("DaemonSet", "kube-system", "aws-node")]["spec"]["template"]["spec"][
            "containers"].append({
                "name": "aws-network-policy-agent",
                "image": "amazon/aws-network-policy-agent:v1.2.0",
                "args": ["--enable-ipv6=false",
                         "--enable-network-policy=%s" % ("true" if ARGS.network_policy_agent == "on"
                                                         else "false")]})
    if ARGS.foreign_plugin:
        OBJECTS[("DaemonSet", "kube-system", "aws-efa-k8s-device-plugin-daemonset")] = {
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "aws-efa-k8s-device-plugin-daemonset", "namespace": "kube-system"},
            "spec": {"selector": {}, "template": {"spec": {"containers": [{
                "name": "p",
                "image": "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/aws-efa-k8s-device-plugin:v0.5.6"}]}}}}
    write_inventory()
    if ARGS.measure:
        start_nodes()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(ARGS.port_file + ".tmp", "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    import os
    os.replace(ARGS.port_file + ".tmp", ARGS.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
