"""Fake nodes whose pods really run, for kube_fake.py --measure (test-only; needs root and iproute2).

Each fake node is a network namespace joined to the others by a bridge (node addresses
10.231.0.N), with its own PID, mount, UTS and IPC namespaces whose PID 1 is a sleeping init, so a
hostPID pod sees the node's PID 1 as it would on a real node. A pod runs its container's command
with the real rdmabench binary, as a process of this machine:

- pod mode: in a network namespace of its own (10.232.N.K) joined to its node's by a veth pair,
  routed through the node, so it crosses one more hop than node mode, as a CNI's pods do;
- node mode (hostNetwork, hostPID): in the node's namespaces, running the node runner script.

What cannot run here, and what replaces it (said once on stderr when the fake starts):
- the image's filesystem: the container's `rdmabench` and the script's /usr/local/bin/rdmabench
  are the binary under test; the node runner's host directory (/var/lib/rdmabench and its /host
  mount) is a directory of the fake's own, and the pod shares the node's mount namespace;
- cluster DNS: each node and pod gets an /etc/hosts (bind-mounted in its own mount namespace)
  naming every server Service's address;
- the node runner's `ulimit -l unlimited` becomes this machine's hard memlock limit (raising it
  needs CAP_SYS_RESOURCE, which a privileged pod has and a test sandbox may not).
Each node's pods run on that node's own CPU (`taskset`, as the static CPU manager gives a
Guaranteed pod exclusive CPUs), so the two ends never take turns on one core. Logs are the
process's stdout and stderr; the pod's phase follows the process; deleting the pod
sends TERM to its process group (KILL after the grace period) and removes its namespace, first
recording its veth's byte counters in <dir>/counters.
"""

import ctypes
import json
import os
import signal
import subprocess
import time

PR_SET_PDEATHSIG = 1
NODE_NET = "10.231.0.%d"
POD_NET = "10.232.%d.%d"
GATEWAY = "10.233.%d.%d"
REPLACED = ("the image's filesystem (its rdmabench is the binary under test, the node runner's "
            "host directory is the fake's own), cluster DNS (an /etc/hosts per node and pod) and "
            "the node runner's `ulimit -l unlimited` (this machine's hard memlock limit instead: "
            "raising it needs CAP_SYS_RESOURCE, which a test sandbox may lack)")
# The container's binary, the node runner's host directory and its view of it through /host.
IMAGE_BINARY = "/usr/local/bin/rdmabench"
HOST_BIN_DIR = "/var/lib/rdmabench"


def die_with_parent():
    """Runs in the child before exec: a SIGKILLed fake takes its processes with it."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def ip(*args):
    subprocess.run(["ip", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def remove_stale_namespaces():
    """Namespaces of fakes that died without cleaning up (their pid is gone)."""
    for name in os.listdir("/run/netns") if os.path.isdir("/run/netns") else []:
        if not name.startswith("rbk"):
            continue
        pid = name[3:].split("-")[0]
        if pid.isdigit() and not os.path.exists("/proc/" + pid):
            subprocess.run(["ip", "netns", "del", name], check=False, stderr=subprocess.DEVNULL)


class Nodes:
    """The fake nodes and the pods running on them."""

    def __init__(self, names, binary, workdir):
        remove_stale_namespaces()
        self.binary = os.path.abspath(binary)
        self.workdir = workdir
        self.id = "rbk%d" % os.getpid()
        self.names = names
        self.index = {name: i + 1 for i, name in enumerate(names)}
        self.services = {}  # DNS name -> address
        self.inits = {}  # node -> Popen of its init
        self.pod_count = 0
        self.hosts_files = []
        os.makedirs(os.path.join(workdir, "nodes"), exist_ok=True)
        self.bridge = self.id + "-net"
        ip("netns", "add", self.bridge)
        ip("-n", self.bridge, "link", "add", "br0", "type", "bridge")
        ip("-n", self.bridge, "link", "set", "br0", "up")
        for name, i in self.index.items():
            self.add_node(name, i)

    def netns(self, node):
        return "%s-%s" % (self.id, node)

    def node_ip(self, node):
        return NODE_NET % self.index[node]

    def add_node(self, name, i):
        ns = self.netns(name)
        ip("netns", "add", ns)
        ip("-n", ns, "link", "set", "lo", "up")
        outer, inner = "%sb%d" % (self.id, i), "%sn%d" % (self.id, i)
        ip("link", "add", inner, "netns", ns, "type", "veth", "peer", "name", outer,
           "netns", self.bridge)
        ip("-n", self.bridge, "link", "set", outer, "master", "br0", "up")
        ip("-n", ns, "addr", "add", NODE_NET % i + "/24", "dev", inner)
        ip("-n", ns, "link", "set", inner, "up")
        for other, j in self.index.items():
            if j != i:
                ip("-n", ns, "route", "add", "10.232.%d.0/24" % j, "via", NODE_NET % j)
        for setting in ("net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0"):
            subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw", setting], check=True)
        node_dir = os.path.join(self.workdir, "nodes", name)
        os.makedirs(os.path.join(node_dir, "bin"), exist_ok=True)
        hosts = os.path.join(node_dir, "hosts")
        self.hosts_files.append(hosts)
        self.write_hosts(hosts)
        init = subprocess.Popen(
            ["ip", "netns", "exec", ns, "unshare", "--pid", "--mount", "--uts", "--ipc", "--fork",
             "--mount-proc", "--propagation", "private", "--kill-child",
             "sh", "-c", 'mount --bind "$1" /etc/hosts && hostname "$2" && exec sleep 86400',
             "init", hosts, name],
            preexec_fn=die_with_parent)
        self.inits[name] = init

    def init_pid(self, node):
        """The host pid of the node's PID 1 (the forked child of its unshare)."""
        unshare = self.inits[node].pid
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with open("/proc/%d/task/%d/children" % (unshare, unshare)) as f:
                    children = f.read().split()
                if children:
                    with open("/proc/%s/comm" % children[0]) as f:
                        if f.read().strip() == "sleep":
                            return int(children[0])
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("fake node %s: its init did not start" % node)

    def write_hosts(self, path):
        lines = ["127.0.0.1 localhost"]
        lines += ["%s %s" % (addr, name) for name, addr in sorted(self.services.items())]
        # In place: the file is bind-mounted, and a rename would leave the mount on the old one.
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

    def publish(self, dns_name, address):
        """A Service's DNS name, in every node's and pod's /etc/hosts."""
        self.services[dns_name] = address
        for path in self.hosts_files:
            self.write_hosts(path)

    def start(self, pod, node, service_dns):
        """Runs `pod` on `node`; returns its entry (process, addresses, namespace, log) for
        state, log and stop. The server's Service name is published before its process starts,
        so a client started next can resolve it."""
        spec = pod["spec"]
        container = spec["containers"][0]
        key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        log_path = os.path.join(self.workdir, "%s_%s.log" % key)
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
        for var in container.get("env") or []:
            if "value" in var:
                env[var["name"]] = var["value"]
        for name in ("LD_LIBRARY_PATH", "FI_PROVIDER_PATH"):
            if name in os.environ:
                env[name] = os.environ[name]
        entry = {"key": key, "node": node, "netns": None, "veth": None, "log": log_path}
        if spec.get("hostNetwork"):
            pod_ip = self.node_ip(node)
            if service_dns:
                self.publish(service_dns, pod_ip)
            command = self.node_runner(container, node)
            argv = ["nsenter", "--target", str(self.init_pid(node)), "--pid", "--mount", "--uts",
                    "--ipc", "--net", "--", *command]
        else:
            pod_ip, entry["netns"], entry["veth"] = self.pod_network(node)
            hosts = os.path.join(self.workdir, "%s_%s.hosts" % key)
            self.hosts_files.append(hosts)
            if service_dns:
                self.publish(service_dns, pod_ip)
            else:
                self.write_hosts(hosts)
            entry["hosts"] = hosts
            command = [self.binary if c == "rdmabench" else c for c in container["command"]]
            command += container.get("args") or []
            # A pod's own mount (for /etc/hosts) and UTS namespace: its hostname is its name.
            argv = ["ip", "netns", "exec", entry["netns"], "unshare", "--mount", "--uts",
                    "--propagation", "private", "sh", "-c",
                    'mount --bind "$1" /etc/hosts && hostname "$2" && shift 2 && exec "$@"',
                    "pod", hosts, key[1], *command]
        argv = ["taskset", "-c", str((self.index[node] - 1) % os.cpu_count()), *argv]
        with open(log_path, "wb") as log:
            entry["proc"] = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=subprocess.STDOUT, env=env,
                                             start_new_session=True, preexec_fn=die_with_parent)
        entry["host_ip"], entry["pod_ip"] = self.node_ip(node), pod_ip
        return entry

    def node_runner(self, container, node):
        """The node runner script as the pod runs it, with the image's paths replaced (see the
        module's doc): the pod shares the node's mount namespace, so /host<dir> is <dir>."""
        command = list(container["command"]) + list(container.get("args") or [])
        host_dir = os.path.join(self.workdir, "nodes", node, "bin")
        script = (command[2].replace(IMAGE_BINARY, self.binary)
                  .replace('"/host$host_bin"', '"$host_bin"')
                  .replace(HOST_BIN_DIR, host_dir)
                  .replace("ulimit -l unlimited", 'ulimit -l "$(ulimit -Hl)"'))
        return command[:2] + [script] + command[3:]

    def pod_network(self, node):
        """A namespace for a pod on `node`, a veth pair to the node, routes both ways."""
        self.pod_count += 1
        k, n = self.pod_count, self.index[node]
        ns = "%s-p%d" % (self.id, k)
        outer, inner = "%sv%d" % (self.id, k), "%sw%d" % (self.id, k)
        pod_ip, gateway = POD_NET % (n, k), GATEWAY % (n, k)
        ip("netns", "add", ns)
        ip("-n", ns, "link", "set", "lo", "up")
        ip("link", "add", inner, "netns", ns, "type", "veth", "peer", "name", outer,
           "netns", self.netns(node))
        ip("-n", ns, "addr", "add", pod_ip + "/32", "dev", inner)
        ip("-n", ns, "link", "set", inner, "up")
        ip("-n", ns, "route", "add", gateway, "dev", inner)
        ip("-n", ns, "route", "add", "default", "via", gateway, "dev", inner)
        ip("-n", self.netns(node), "addr", "add", gateway + "/32", "dev", outer)
        ip("-n", self.netns(node), "link", "set", outer, "up")
        ip("-n", self.netns(node), "route", "add", pod_ip + "/32", "dev", outer)
        return pod_ip, ns, outer

    @staticmethod
    def state(entry):
        """None while running, else the exit code (a signal as 128 + its number)."""
        code = entry["proc"].poll()
        if code is not None and code < 0:
            code = 128 - code
        return code

    @staticmethod
    def log(entry):
        with open(entry["log"], encoding="utf-8", errors="replace") as f:
            return f.read()

    def counters(self, entry):
        link = subprocess.run(["ip", "-n", self.netns(entry["node"]), "-s", "-j", "link", "show",
                               "dev", entry["veth"]], check=True, capture_output=True, text=True)
        stats = json.loads(link.stdout)[0]["stats64"]
        return stats["rx"]["bytes"], stats["tx"]["bytes"]

    def stop(self, entry, grace=10.0):
        """Deletes a pod: TERM, KILL after `grace`, then its counters and namespace."""
        proc = entry["proc"]
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=grace)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
        if entry["netns"]:
            rx, tx = self.counters(entry)
            with open(os.path.join(self.workdir, "counters"), "a", encoding="utf-8") as f:
                f.write(json.dumps({"pod": "%s/%s" % entry["key"], "node": entry["node"],
                                    "veth_rx_bytes": rx, "veth_tx_bytes": tx}) + "\n")
            subprocess.run(["ip", "netns", "del", entry["netns"]], check=False)
            self.hosts_files.remove(entry["hosts"])
        entry["stopped"] = True

    def shutdown(self, entries):
        for entry in entries:
            if not entry.get("stopped"):
                self.stop(entry, grace=2.0)
        for init in self.inits.values():
            init.kill()
            init.wait()
        for node in self.names:
            subprocess.run(["ip", "netns", "del", self.netns(node)], check=False)
        subprocess.run(["ip", "netns", "del", self.bridge], check=False)
