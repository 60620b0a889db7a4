//! `rdmabench k8s` against a fake Kubernetes API (tests/support/kube_fake.py on 127.0.0.1): the
//! real binary, the real kube-rs client and HTTP, only the API server is a stand-in. Each
//! scenario checks the user-facing outcome and that nothing the run created is left behind.

#[path = "support/kube_fake.rs"]
mod kube_fake;
#[path = "support/service.rs"]
mod service;

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

const TOKEN: &str = "test-token";

/// The fake API plus a user's working directory: kubeconfig, rdmabench.toml, state.
struct FakeApi {
    api: kube_fake::FakeApi,
}

impl FakeApi {
    fn start(scenario: &str, extra: &[&str]) -> FakeApi {
        let extra: Vec<OsString> = extra.iter().map(OsString::from).collect();
        FakeApi::start_with(scenario, &extra)
    }

    /// A fake cluster whose benchmark pods run this build for real (see kube_fake::measuring),
    /// or None where this machine cannot.
    fn measuring() -> Option<FakeApi> {
        let binary = Path::new(env!("CARGO_BIN_EXE_rdmabench"));
        Some(FakeApi::start_with("happy", &kube_fake::measuring(binary)?))
    }

    fn start_with(scenario: &str, extra: &[OsString]) -> FakeApi {
        let log = kube_fake::fixture_results();
        let mut args: Vec<OsString> = ["--scenario", scenario, "--token", TOKEN]
            .iter()
            .map(OsString::from)
            .collect();
        args.extend(extra.iter().cloned());
        args.extend(["--client-log".into(), log.into_os_string()]);
        let fake = FakeApi {
            api: kube_fake::FakeApi::start(&args),
        };
        fake.api.write_kubeconfig(TOKEN);
        let init = fake
            .command(&["init", "--public-cidr", "203.0.113.7/32"])
            .output()
            .unwrap();
        assert!(init.status.success());
        fake
    }

    fn dir(&self) -> &Path {
        self.api.dir()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::cargo_bin("rdmabench").unwrap();
        command
            .current_dir(self.dir())
            .env("KUBECONFIG", self.dir().join("kubeconfig"))
            .env("RDMABENCH_STATE_DIR", self.dir().join("state"))
            .env_remove("HTTPS_PROXY")
            .env_remove("HTTP_PROXY")
            .args(args);
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn inventory(&self) -> Vec<String> {
        self.api.inventory()
    }

    /// Every request, in order, as "METHOD path".
    fn requests(&self) -> Vec<String> {
        self.api
            .journal()
            .iter()
            .map(|v| {
                format!(
                    "{} {}",
                    v["method"].as_str().unwrap(),
                    v["path"].as_str().unwrap()
                )
            })
            .collect()
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const RUN: &[&str] = &[
    "k8s",
    "--kubeconfig",
    "run",
    "--image",
    "registry.example/rdmabench:1",
    "--start-timeout",
    "4s",
    "--timeout",
    "60s",
    "--results-dir",
    "results",
];

fn run_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args: Vec<&str> = RUN.to_vec();
    args.extend(extra);
    args.extend([
        "--",
        "--transport",
        "socket",
        "--sizes",
        "4,64",
        "--iters",
        "200",
    ]);
    args
}

/// What may remain after a run: the namespace and device plugin (kept for the next run), and
/// what the cluster had before.
fn only_shared_objects(inventory: &[String]) {
    let leftovers: Vec<&String> = inventory
        .iter()
        .filter(|o| {
            !matches!(
                o.as_str(),
                "Namespace/None/rdmabench"
                    | "DaemonSet/kube-system/rdmabench-efa-device-plugin"
                    | "DaemonSet/kube-system/aws-node"
            )
        })
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}

fn position(requests: &[String], wanted: &str) -> usize {
    requests
        .iter()
        .position(|r| r.starts_with(wanted))
        .unwrap_or_else(|| panic!("no request {wanted}"))
}

/// Node then pod mode on the measuring fake cluster: both ends of both modes really run this
/// build, node mode in the fake nodes' namespaces through the node runner, pod mode in pods'
/// own namespaces one veth hop further; every file says where it ran, and they differ.
#[test]
fn node_then_pod_mode_results_are_stored_and_nothing_is_left_running() {
    let Some(fake) = FakeApi::measuring() else {
        return;
    };
    let mut args = RUN.to_vec();
    args.extend([
        "--mode",
        "both",
        "--",
        "--provider",
        "tcp",
        "--sizes",
        "4,64",
    ]);
    args.extend(["--iters", "200"]);
    let out = fake.run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.matches("Number of messages").count(),
        2,
        "one table per mode:\n{stdout}"
    );

    let run_dirs: Vec<_> = std::fs::read_dir(fake.dir().join("results"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(run_dirs.len(), 1);
    for mode in ["node", "pod"] {
        let text =
            std::fs::read_to_string(run_dirs[0].join(format!("pingpong-{mode}-1.json"))).unwrap();
        let results: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(results["schema_version"], rdmabench_results::SCHEMA_VERSION);
        let placement = &results["placement"];
        assert_eq!(placement["efa_devices"], "device-plugin");
        assert_eq!(placement["network_policy"]["enforcing"], false);
        assert_eq!(placement["mode"], mode);
        assert_eq!(placement["target"], "kubernetes");
        assert_eq!(placement["server_node"], "node-a");
        assert_eq!(placement["client_node"], "node-b");
        assert_eq!(
            placement["instance_type"], "m7g.16xlarge",
            "the default config's nodes"
        );
        assert_eq!(placement["image"], "registry.example/rdmabench:1");
        assert_eq!(results["results"].as_array().unwrap().len(), 2);
        // Measured where the placement says: node mode on the fake nodes (their hostnames and
        // addresses), pod mode in the pods (the pod's name is its hostname, its address on the
        // pod network).
        let (client, server, network) = match mode {
            "node" => ("node-b", "node-a", "10.231.0."),
            _ => ("rdmabench-pod-client", "rdmabench-pod-server", "10.232."),
        };
        assert_eq!(results["endpoints"]["local"]["hostname"], client);
        assert_eq!(results["endpoints"]["peer"]["hostname"], server);
        let fabric = results["fabric"]["fabric"].as_str().unwrap();
        assert!(fabric.starts_with(network), "{mode}: {fabric}");
        for row in results["results"].as_array().unwrap() {
            assert_eq!(row["iterations"], 200);
            assert!(row["total_ns"].as_u64().unwrap() > 0);
        }
    }
    // The pod-mode messages crossed the pods' veths: at least iterations x size each way.
    let counters = fake.api.counters();
    let payload = 200 * (4 + 64);
    for end in [
        "rdmabench/rdmabench-pod-client",
        "rdmabench/rdmabench-pod-server",
    ] {
        let veth = counters.iter().find(|c| c.pod == end).expect(end);
        assert!(veth.veth_rx_bytes >= payload, "{veth:?}");
        assert!(veth.veth_tx_bytes >= payload, "{veth:?}");
    }

    // Node mode ran first and was gone before pod mode started: never both at once.
    let requests = fake.requests();
    let node_client_deleted = position(
        &requests,
        "DELETE /api/v1/namespaces/rdmabench/pods/rdmabench-node-client",
    );
    let pod_server_created = position(
        &requests,
        "PATCH /api/v1/namespaces/rdmabench/pods/rdmabench-pod-server",
    );
    assert!(node_client_deleted < pod_server_created);
    // Server before client in each mode.
    assert!(
        position(
            &requests,
            "PATCH /api/v1/namespaces/rdmabench/pods/rdmabench-pod-server"
        ) < position(
            &requests,
            "PATCH /api/v1/namespaces/rdmabench/pods/rdmabench-pod-client"
        )
    );
    only_shared_objects(&fake.inventory());

    let clean = fake.run(&["k8s", "--kubeconfig", "clean"]);
    assert!(clean.status.success(), "{}", stderr(&clean));
    let cleaned = String::from_utf8_lossy(&clean.stdout);
    assert!(cleaned.contains("deleted daemonset kube-system/rdmabench-efa-device-plugin"));
    assert!(cleaned.contains("deleted namespace rdmabench"));
    assert_eq!(fake.inventory(), ["DaemonSet/kube-system/aws-node"]);
}

#[test]
fn repeats_alternate_the_modes() {
    let fake = FakeApi::start("happy", &["--run-seconds", "0.5"]);
    let out = fake.run(&run_args(&["--mode", "both", "--repeat", "2"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let servers: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("PATCH") && r.contains("-server?"))
        .filter(|r| r.contains("/pods/"))
        .map(|r| {
            r.split("/pods/")
                .nth(1)
                .unwrap()
                .split('?')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        servers,
        [
            "rdmabench-node-server",
            "rdmabench-pod-server",
            "rdmabench-node-server",
            "rdmabench-pod-server"
        ]
    );
    only_shared_objects(&fake.inventory());
}

fn fails_cleanly(scenario: &str, expected: &[&str]) {
    let fake = FakeApi::start(scenario, &[]);
    let out = fake.run(&run_args(&["--mode", "pod"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for text in expected {
        assert!(
            err.contains(text),
            "{scenario}: missing {text:?} in:\n{err}"
        );
    }
    assert!(
        out.stdout.is_empty(),
        "no results on stdout after a failure"
    );
    only_shared_objects(&fake.inventory());
    assert!(
        !fake
            .dir()
            .join("results")
            .read_dir()
            .unwrap()
            .flatten()
            .any(|d| d.path().read_dir().unwrap().next().is_some()),
        "no results file after a failure"
    );
}

#[test]
fn a_container_config_error_is_reported_with_its_message_and_fix() {
    fails_cleanly(
        "config-error",
        &[
            "CreateContainerConfigError",
            "runAsNonRoot and image will run as root",
            "rdmabench k8s render",
        ],
    );
}

#[test]
fn a_measurement_over_its_limit_is_stopped_and_cleaned_up() {
    let fake = FakeApi::start("happy", &["--run-seconds", "60"]);
    let mut args = run_args(&["--mode", "pod"]);
    let limit = args.iter().position(|a| *a == "60s").unwrap();
    args[limit] = "4s";
    let out = fake.run(&args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the pod mode measurement did not happen within 4s"),
        "{err}"
    );
    only_shared_objects(&fake.inventory());
}

#[test]
fn insufficient_efa_names_the_device_plugin() {
    fails_cleanly(
        "no-efa",
        &["Insufficient vpc.amazonaws.com/efa", "rdmabench k8s deploy"],
    );
}

#[test]
fn an_image_that_cannot_be_pulled_names_image_build() {
    fails_cleanly(
        "image-pull",
        &["ErrImagePull", "rdmabench image build --push"],
    );
}

#[test]
fn a_memory_registration_failure_shows_the_log_and_the_memlock_hint() {
    fails_cleanly(
        "pod-fails",
        &[
            "exited with code 1",
            "fi_mr_reg failed: Cannot allocate memory (-12)",
            "IPC_LOCK",
            "hugepages",
        ],
    );
}

#[test]
fn a_pod_that_never_starts_times_out() {
    fails_cleanly(
        "stuck",
        &[
            "did not happen within 4s",
            "ContainerCreating",
            "--start-timeout",
        ],
    );
}

#[test]
fn deploy_waits_for_efa_and_explains_a_missing_one() {
    let fake = FakeApi::start("no-plugin", &[]);
    let out = fake.run(&["k8s", "--kubeconfig", "deploy", "--timeout", "3s"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("vpc.amazonaws.com/efa: 0"), "{err}");
    assert!(err.contains("device plugin pods"), "{err}");

    let fake = FakeApi::start("happy", &["--efa", "2"]);
    let out = fake.run(&["k8s", "--kubeconfig", "deploy", "--timeout", "10s"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "node\tready\tvpc.amazonaws.com/efa\nnode-a\ttrue\t2\nnode-b\ttrue\t2\n"
    );
}

#[test]
fn an_existing_efa_device_plugin_is_used_not_duplicated() {
    let fake = FakeApi::start("happy", &["--foreign-plugin"]);
    let out = fake.run(&["k8s", "--kubeconfig", "deploy", "--timeout", "10s"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("already installed"));
    assert!(!fake
        .requests()
        .iter()
        .any(|r| r.starts_with("PATCH") && r.contains("daemonsets")));
}

#[test]
fn ctrl_c_removes_the_pods_and_exits_130() {
    let fake = FakeApi::start("stuck", &[]);
    let mut args = run_args(&["--mode", "pod"]);
    let start_timeout = args.iter().position(|a| *a == "4s").unwrap();
    args[start_timeout] = "60s";
    let child = fake
        .command(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !fake.inventory().iter().any(|o| o.starts_with("Pod/")) {
        assert!(
            Instant::now() < deadline,
            "the server pod was never created"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    only_shared_objects(&fake.inventory());
}

#[test]
fn ctrl_c_while_waiting_for_the_device_plugin_stops_at_once() {
    let fake = FakeApi::start("no-plugin", &[]);
    let child = fake
        .command(&run_args(&["--mode", "pod"]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !fake
        .inventory()
        .iter()
        .any(|o| o == "DaemonSet/kube-system/rdmabench-efa-device-plugin")
    {
        assert!(
            Instant::now() < deadline,
            "the device plugin was never applied"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let asked = Instant::now();
    assert!(Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    // Well inside the plugin wait's own 10-minute limit.
    assert!(
        asked.elapsed() < Duration::from_secs(20),
        "took {:?}",
        asked.elapsed()
    );
    assert!(stderr(&out).contains("stopped before any measurement"));
    only_shared_objects(&fake.inventory());
}

#[test]
fn wrong_credentials_are_refused_with_the_servers_reason() {
    let fake = FakeApi::start("happy", &[]);
    let config = fake.dir().join("kubeconfig");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace(TOKEN, "stale")).unwrap();
    let out = fake.run(&run_args(&["--mode", "pod"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("Unauthorized"), "{}", stderr(&out));
    assert_eq!(fake.inventory(), ["DaemonSet/kube-system/aws-node"]);
}

#[test]
fn render_needs_no_cluster_and_rejects_options_the_runner_owns() {
    let fake = FakeApi::start("happy", &[]);
    let out = fake.run(&["k8s", "render", "--image", "r/i:1", "--", "--sizes", "4"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let yaml = String::from_utf8_lossy(&out.stdout);
    assert_eq!(yaml.matches("\nkind: Pod\n").count(), 4);
    // No NetworkPolicy, and the stream says why to whoever reviews it.
    assert!(!yaml.contains("kind: NetworkPolicy"));
    assert!(
        yaml.starts_with("# rdmabench renders no NetworkPolicy."),
        "{yaml}"
    );
    assert!(fake.requests().is_empty(), "render must not call the API");
    let out = fake.run(&["k8s", "render", "--image", "r/i:1", "--", "--output", "x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("sets this itself"));
}

#[test]
fn render_without_a_pushed_image_names_a_placeholder() {
    let fake = FakeApi::start("happy", &[]);
    let placeholder = "placeholder.invalid/rdmabench:run-image-build-push-first";
    let out = fake.run(&["k8s", "render", "--mode", "pod"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let yaml = String::from_utf8_lossy(&out.stdout);
    let images: Vec<&str> = yaml
        .lines()
        .filter_map(|l| l.trim().strip_prefix("image: "))
        .collect();
    assert!(!images.is_empty(), "{yaml}");
    assert!(images.iter().all(|i| *i == placeholder), "{images:?}");
    assert_eq!(
        stderr(&out).matches(placeholder).count(),
        1,
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("rdmabench image build --push"));
    assert!(fake.requests().is_empty(), "render must not call the API");

    let out = fake.run(&["k8s", "render", "--mode", "pod", "--image", "r/i:1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(placeholder));
    assert!(!stderr(&out).contains(placeholder), "{}", stderr(&out));

    // A run still needs a real image.
    let out = fake.run(&["k8s", "--kubeconfig", "run", "--mode", "pod"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no image recorded"),
        "{}",
        stderr(&out)
    );
}

const MATRIX: &[&str] = &[
    "k8s",
    "--kubeconfig",
    "matrix",
    "--image",
    "registry.example/rdmabench:1",
    "--start-timeout",
    "4s",
    "--timeout",
    "60s",
    "--results-dir",
    "results",
];

fn matrix_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args: Vec<&str> = MATRIX.to_vec();
    args.extend(extra);
    args.extend(["--", "--sizes", "4", "--iters", "1k", "--precision", "5%"]);
    args
}

/// The bodies the fake received for pods whose name starts with `prefix`.
fn applied_pods(fake: &FakeApi, prefix: &str) -> Vec<Value> {
    fake.api
        .applied()
        .into_iter()
        .filter(|v| {
            v["path"]
                .as_str()
                .unwrap()
                .contains(&format!("/pods/{prefix}"))
        })
        .map(|v| v["body"].clone())
        .collect()
}

#[test]
fn a_matrix_places_one_agent_per_node_in_each_mode_and_removes_every_pod() {
    let fake = FakeApi::start("happy", &["--nodes", "3"]);
    let out = fake.run(&matrix_args(&[]));
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.matches("rdmabench matrix: 3 hosts, 3 pairs").count(),
        2,
        "{stdout}"
    );
    for node in ["node-a", "node-b", "node-c"] {
        assert!(
            stdout.contains(node),
            "hosts are shown by node name:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("median pair") && stdout.contains("slowest:"),
        "{stdout}"
    );

    let run_dir = std::fs::read_dir(fake.dir().join("results"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    for (mode, address_prefix) in [("node", "192.0.2."), ("pod", "198.51.100.")] {
        let text = std::fs::read_to_string(run_dir.join(format!("matrix-{mode}.json"))).unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["kind"], "rdmabench-matrix");
        let hosts: Vec<&str> = doc["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap())
            .collect();
        assert_eq!(hosts.len(), 3);
        // Node-mode agents listen on the nodes' addresses, pod-mode agents on the pods'.
        assert!(
            hosts
                .iter()
                .all(|h| h.starts_with(address_prefix) && h.ends_with(":18515")),
            "{mode}: {hosts:?}"
        );
        let agents = applied_pods(&fake, &format!("rdmabench-{mode}-agent-"));
        let placed: Vec<&str> = agents
            .iter()
            .map(|p| {
                p["spec"]["nodeSelector"]["kubernetes.io/hostname"]
                    .as_str()
                    .unwrap()
            })
            .collect();
        assert_eq!(placed, ["node-a", "node-b", "node-c"], "{mode}");
        let coordinator = &applied_pods(&fake, &format!("rdmabench-{mode}-coordinator"))[0];
        let container = &coordinator["spec"]["containers"][0];
        let args: Vec<&str> = container["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(container["command"][1], "matrix");
        assert!(hosts.iter().all(|h| args.contains(h)), "{args:?}");
        assert!(
            args.windows(2).any(|w| w == ["--provider", "efa"]),
            "{args:?}"
        );
        // Every pair's client measures to the target the user gave.
        assert!(
            args.windows(2).any(|w| w == ["--precision", "5%"]),
            "{args:?}"
        );
        assert!(
            container["resources"]["limits"]
                .get("vpc.amazonaws.com/efa")
                .is_none(),
            "the coordinator takes no EFA interface"
        );
    }
    only_shared_objects(&fake.inventory());
}

#[test]
fn a_failed_pair_is_reported_and_exits_1_with_the_matrix() {
    let fake = FakeApi::start("pair-fails", &["--nodes", "3"]);
    let out = fake.run(&matrix_args(&["--mode", "pod"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("FAILED node-a <-> node-b"), "{stdout}");
    only_shared_objects(&fake.inventory());
}

#[test]
fn matrix_options_are_checked_before_the_cluster_is_touched() {
    let fake = FakeApi::start("happy", &[]);
    for (options, expected) in [
        (vec!["node-z:1"], "do not list hosts"),
        (vec!["--format", "csv"], "sets this itself"),
        (vec!["--sizes", "0"], "--sizes"),
        (vec!["--precision", "0%"], "--precision"),
        // Said once, without clap's advice to write `--`, which the user did.
        (
            vec!["--bogus"],
            "invalid matrix options: unexpected argument '--bogus' found (see `rdmabench matrix --help`)",
        ),
    ] {
        let mut args: Vec<&str> = MATRIX.to_vec();
        args.push("--");
        args.extend(&options);
        let out = fake.run(&args);
        assert!(!out.status.success(), "{options:?}");
        let said = stderr(&out);
        assert!(said.contains(expected), "{options:?}: {said}");
        assert!(
            !said.contains("tip:") && said.matches("error").count() == 1,
            "{options:?}: {said}"
        );
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}
