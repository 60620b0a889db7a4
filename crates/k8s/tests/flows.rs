//! The flows the CLI calls (runs, matrices, deploy, logs, clean) through their library API,
//! against the fake Kubernetes API (tests/support/kube_fake.py) reached through a kubeconfig:
//! what each hands back, what it says on the way, and what it leaves in the cluster.

#[path = "../../../tests/support/kube_fake.rs"]
mod kube_fake;
#[path = "../../../tests/support/service.rs"]
mod service;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use kube_fake::FakeApi;
use rdmabench_infra::{template, EfaDevices, StackConfig};
use rdmabench_k8s::access::{choose, ChosenCluster, ClusterChoice, EksOutputs};
use rdmabench_k8s::devices::EfaNode;
use rdmabench_k8s::housekeeping::{clean, deploy, logs};
use rdmabench_k8s::manifests::Mode;
use rdmabench_k8s::matrix::{matrix, MatrixEnd, MatrixPlan};
use rdmabench_k8s::orchestrate::{Progress, Timeouts};
use rdmabench_k8s::runs::{run_tests, ClusterRun, ClusterTest, TestsRun};
use rdmabench_k8s::K8sError;
use rdmabench_results::ResultsFile;

const TOKEN: &str = "test-token";
/// What the DRA variant installs besides its DaemonSet, as the fake's inventory names it.
const DRA_SHARED: [&str; 5] = [
    "ClusterRole/None/rdmabench-dranet",
    "ClusterRoleBinding/None/rdmabench-dranet",
    "DeviceClass/None/efa.networking.k8s.aws",
    "ResourceClaimTemplate/rdmabench/rdmabench-efa",
    "ServiceAccount/kube-system/rdmabench-dranet",
];
const IMAGE: &str = "registry.example/rdmabench:1";

/// KUBECONFIG is process-wide: one test talks to its fake at a time.
static KUBECONFIG: Mutex<()> = Mutex::new(());

/// A fake cluster playing `scenario`, the stack configuration `rdmabench init` writes, and the
/// kubeconfig pointing at the fake (held for the test's length).
struct Fixture {
    fake: FakeApi,
    config: StackConfig,
    cluster: ChosenCluster,
    lines: Arc<Mutex<Vec<String>>>,
    _kubeconfig: MutexGuard<'static, ()>,
}

impl Fixture {
    fn start(scenario: &str, extra: &[&str]) -> Fixture {
        Fixture::start_with(scenario, extra, EfaDevices::DevicePlugin)
    }

    /// A fake cluster whose EFA devices come from `efa` (the fake's --efa-devices), with
    /// `k8s.efa` set to match.
    fn start_with(scenario: &str, extra: &[&str], efa: EfaDevices) -> Fixture {
        let guard = KUBECONFIG.lock().unwrap_or_else(|e| e.into_inner());
        let log = kube_fake::fixture_results();
        let named = [
            "--scenario",
            scenario,
            "--token",
            TOKEN,
            "--efa-devices",
            efa.as_str(),
        ];
        let mut args: Vec<&std::ffi::OsStr> =
            named.iter().chain(extra).map(|a| a.as_ref()).collect();
        args.extend(["--client-log".as_ref(), log.as_os_str()]);
        let fake = FakeApi::start(&args);
        std::env::set_var("KUBECONFIG", fake.write_kubeconfig(TOKEN));
        std::env::remove_var("HTTPS_PROXY");
        std::env::remove_var("HTTP_PROXY");
        let mut config =
            StackConfig::from_toml(&template::render(&["203.0.113.7/32".into()]), "test").unwrap();
        config.k8s.efa = efa;
        let choice = ClusterChoice {
            kubeconfig: true,
            context: None,
            namespace: "rdmabench".into(),
        };
        let cluster = choose(&config, &choice, || -> Result<EksOutputs, ()> {
            panic!("a kubeconfig user needs no stack outputs")
        })
        .unwrap();
        Fixture {
            fake,
            config,
            cluster,
            lines: Arc::default(),
            _kubeconfig: guard,
        }
    }

    /// `k8s deploy` on this fixture's cluster, waiting up to `limit`.
    fn deploy(&self, limit: Duration) -> Result<Vec<EfaNode>, K8sError> {
        deploy(&self.config, &self.cluster, limit, self.progress())
    }

    fn progress(&self) -> Progress {
        let lines = Arc::clone(&self.lines);
        Arc::new(move |line: &str| lines.lock().unwrap().push(line.to_string()))
    }

    fn said(&self, text: &str) -> bool {
        self.lines.lock().unwrap().iter().any(|l| l.contains(text))
    }

    /// Runs `tests` once, showing every measurement; returns the run and what was shown.
    fn run(&self, dir: &Path, tests: Vec<ClusterTest>) -> (TestsRun, Vec<ResultsFile>) {
        let run = ClusterRun {
            image: IMAGE.into(),
            tests,
            repeat: 1,
            run_dir: dir.to_path_buf(),
            timeouts: Timeouts::new(Duration::from_secs(10), Duration::from_secs(60)),
            print_tables: true,
        };
        let mut shown = Vec::new();
        let done = run_tests(
            &self.config,
            &self.cluster,
            &run,
            Arc::new(AtomicBool::new(false)),
            self.progress(),
            &mut |results: &ResultsFile| -> Result<(), K8sError> {
                shown.push(results.clone());
                Ok(())
            },
        )
        .unwrap();
        (done, shown)
    }

    /// Nothing but the namespace and what hands out EFA devices remains.
    fn only_shared_objects(&self) {
        let leftovers: Vec<String> = self
            .fake
            .inventory()
            .into_iter()
            .filter(|o| !o.starts_with("Namespace/"))
            .filter(|o| !o.starts_with("DaemonSet/kube-system/"))
            .filter(|o| !DRA_SHARED.iter().any(|shared| o == shared))
            .collect();
        assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
    }
}

fn test(name: &str, kind: &str, options: &[&str], modes: &[Mode]) -> ClusterTest {
    ClusterTest {
        name: name.into(),
        kind: kind.into(),
        bench_options: options.iter().map(|o| o.to_string()).collect(),
        modes: modes.to_vec(),
        launcher: false,
    }
}

fn pingpong(modes: &[Mode]) -> ClusterTest {
    test("pingpong", "pingpong", &["--transport", "socket"], modes)
}

#[test]
fn a_run_measures_node_then_pod_mode_and_records_where_each_ran() {
    let fixture = Fixture::start("happy", &["--run-seconds", "0.5"]);
    let dir = tempfile::tempdir().unwrap();
    let (done, shown) = fixture.run(dir.path(), vec![pingpong(&[Mode::Node, Mode::Pod])]);
    assert!(!done.stopped && done.failure.is_none() && done.tool_failures.is_empty());
    assert_eq!(
        done.written,
        [
            dir.path().join("pingpong-node-1.json"),
            dir.path().join("pingpong-pod-1.json")
        ]
    );
    assert_eq!(shown.len(), 2);
    for (path, mode) in done.written.iter().zip(["node", "pod"]) {
        let text = std::fs::read_to_string(path).unwrap();
        let placement = ResultsFile::from_json(&text).unwrap().placement.unwrap();
        assert_eq!(placement.target, "kubernetes");
        assert_eq!(placement.cluster, "(current context)");
        assert_eq!(placement.namespace, "rdmabench");
        assert_eq!(placement.mode, mode);
        assert_eq!(placement.image, IMAGE);
        assert_eq!(placement.repetition, 1);
        assert_ne!(placement.server_node, placement.client_node);
        let enforcement = placement.network_policy.unwrap();
        assert_eq!(
            enforcement.engine, None,
            "this fake's aws-node has no policy agent"
        );
        assert!(!enforcement.enforcing);
    }
    assert!(fixture.said("pingpong in node mode, repetition 1 of 1"));
    assert!(fixture.said(&format!("wrote {}", done.written[1].display())));
    fixture.only_shared_objects();
}

#[test]
fn a_tool_that_cannot_run_is_noted_and_the_run_goes_on() {
    let fixture = Fixture::start("tools-fail", &["--run-seconds", "0.5"]);
    let dir = tempfile::tempdir().unwrap();
    let tool = test("perftest", "tool", &["--tool", "ib_send_lat"], &[Mode::Pod]);
    let (done, _) = fixture.run(dir.path(), vec![tool, pingpong(&[Mode::Pod])]);
    assert!(done.failure.is_none(), "{:?}", done.failure);
    assert_eq!(done.tool_failures.len(), 1);
    assert!(
        done.tool_failures[0].starts_with("perftest in pod mode did not run: pod rdmabench/"),
        "{:?}",
        done.tool_failures
    );
    assert!(fixture.said(&done.tool_failures[0]));
    assert_eq!(done.written, [dir.path().join("pingpong-pod-1.json")]);
    fixture.only_shared_objects();
}

#[test]
fn any_other_failure_ends_the_run_and_names_the_test_and_mode() {
    let fixture = Fixture::start("pod-fails", &["--run-seconds", "0.5"]);
    let dir = tempfile::tempdir().unwrap();
    let (done, _) = fixture.run(dir.path(), vec![pingpong(&[Mode::Node, Mode::Pod])]);
    let failure = done.failure.expect("the failed client ends the run");
    assert_eq!(failure.to_string(), "test 'pingpong' in node mode");
    assert!(matches!(failure, K8sError::During { .. }));
    assert!(done.written.is_empty());
    fixture.only_shared_objects();
}

#[test]
fn ctrl_c_while_waiting_for_the_device_plugin_stops_before_measuring() {
    let fixture = Fixture::start("no-plugin", &[]);
    let dir = tempfile::tempdir().unwrap();
    let flag = Arc::new(AtomicBool::new(false));
    let setter = Arc::clone(&flag);
    let press = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(2));
        setter.store(true, Ordering::SeqCst);
    });
    let run = ClusterRun {
        image: IMAGE.into(),
        tests: vec![pingpong(&[Mode::Pod])],
        repeat: 1,
        run_dir: dir.path().to_path_buf(),
        timeouts: Timeouts::new(Duration::from_secs(10), Duration::from_secs(60)),
        print_tables: false,
    };
    let done: TestsRun = run_tests(
        &fixture.config,
        &fixture.cluster,
        &run,
        flag,
        fixture.progress(),
        &mut |_: &ResultsFile| unreachable!("nothing is measured"),
    )
    .unwrap();
    press.join().unwrap();
    assert!(done.stopped && done.written.is_empty() && done.failure.is_none());
    assert!(fixture.said("stopped before any measurement; nothing to remove"));
}

#[test]
fn a_matrix_hands_back_each_modes_log_and_the_agents_nodes() {
    let fixture = Fixture::start("happy", &["--nodes", "3", "--run-seconds", "0.5"]);
    let plan = MatrixPlan {
        image: IMAGE.into(),
        modes: vec![Mode::Node, Mode::Pod],
        options: vec!["--provider".into(), "efa".into()],
        timeouts: Timeouts::new(Duration::from_secs(10), Duration::from_secs(60)),
    };
    let mut runs = Vec::new();
    let end = matrix(
        &fixture.config,
        &fixture.cluster,
        &plan,
        Arc::new(AtomicBool::new(false)),
        fixture.progress(),
        &mut |mode, run| -> Result<(), K8sError> {
            runs.push((mode, run));
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(end, MatrixEnd::Finished);
    assert_eq!(
        runs.iter().map(|(mode, _)| *mode).collect::<Vec<_>>(),
        [Mode::Node, Mode::Pod]
    );
    for (_, run) in &runs {
        assert!(run.log.contains("rdmabench-matrix"), "{}", run.log);
        let nodes: Vec<&str> = run.nodes.values().map(String::as_str).collect();
        assert_eq!(nodes.len(), 3);
        for node in ["node-a", "node-b", "node-c"] {
            assert!(nodes.contains(&node), "{nodes:?}");
        }
    }
    assert!(fixture.said("pod mode matrix over 3 nodes"));
    fixture.only_shared_objects();
}

#[test]
fn deploy_logs_and_clean_manage_the_shared_objects() {
    let fixture = Fixture::start("happy", &[]);
    let nodes = fixture.deploy(Duration::from_secs(10)).unwrap();
    assert_eq!(nodes.len(), 2);
    assert!(nodes.iter().all(|n| n.ready && n.efa == 1), "{nodes:?}");
    let error = logs(&fixture.cluster, Some(Mode::Pod), fixture.progress()).unwrap_err();
    assert!(
        matches!(&error, K8sError::NoBenchPods { namespace } if namespace == "rdmabench"),
        "{error}"
    );
    let deleted = clean(
        &fixture.cluster,
        Duration::from_secs(10),
        fixture.progress(),
    )
    .unwrap();
    assert!(
        deleted.contains(&"namespace rdmabench".to_string()),
        "{deleted:?}"
    );
    assert_eq!(fixture.fake.inventory(), ["DaemonSet/kube-system/aws-node"]);
}

/// Every pod and object the fake was sent, kind/name, in order.
fn applied_kinds(fixture: &Fixture) -> Vec<String> {
    fixture
        .fake
        .applied()
        .iter()
        .map(|a| {
            format!(
                "{}/{}",
                a["body"]["kind"].as_str().unwrap(),
                a["body"]["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

/// `k8s.efa = "dra"`: the driver, its DeviceClass and the claim template are installed instead of
/// the device plugin, the wait counts EFA devices in the driver's ResourceSlices, pod mode's pods
/// claim from the template (the fake keeps a pod whose template is missing Pending), every
/// results file says how the pods got their devices, and `clean` removes all of it.
#[test]
fn with_dra_the_driver_hands_out_efa_and_clean_removes_it() {
    let fixture = Fixture::start_with("happy", &["--run-seconds", "0.5"], EfaDevices::Dra);
    let dir = tempfile::tempdir().unwrap();
    let (done, _) = fixture.run(dir.path(), vec![pingpong(&[Mode::Node, Mode::Pod])]);
    assert!(done.failure.is_none(), "{:?}", done.failure);
    assert_eq!(done.written.len(), 2);
    for path in &done.written {
        let text = std::fs::read_to_string(path).unwrap();
        let placement = ResultsFile::from_json(&text).unwrap().placement.unwrap();
        assert_eq!(placement.efa_devices.as_deref(), Some("dra"));
    }
    let applied = applied_kinds(&fixture);
    assert!(
        !applied.iter().any(|a| a.contains("device-plugin")),
        "{applied:?}"
    );
    let template = applied
        .iter()
        .position(|a| a == "ResourceClaimTemplate/rdmabench-efa")
        .expect("the claim template is applied");
    let pod_server = applied
        .iter()
        .position(|a| a == "Pod/rdmabench-pod-server")
        .unwrap();
    assert!(template < pod_server, "{applied:?}");
    for driver_object in [
        "ServiceAccount/rdmabench-dranet",
        "ClusterRole/rdmabench-dranet",
        "ClusterRoleBinding/rdmabench-dranet",
        "DeviceClass/efa.networking.k8s.aws",
        "DaemonSet/rdmabench-dranet",
    ] {
        assert!(applied.iter().any(|a| a == driver_object), "{applied:?}");
    }
    fixture.only_shared_objects();
    let deleted = clean(
        &fixture.cluster,
        Duration::from_secs(10),
        fixture.progress(),
    )
    .unwrap();
    for gone in [
        "daemonset kube-system/rdmabench-dranet",
        "clusterrole rdmabench-dranet",
        "deviceclass efa.networking.k8s.aws",
    ] {
        assert!(deleted.iter().any(|d| d == gone), "{deleted:?}");
    }
    assert_eq!(fixture.fake.inventory(), ["DaemonSet/kube-system/aws-node"]);
}

/// Nodes whose driver publishes no EFA device: the wait ends at its limit naming each node, its
/// count and the likely causes.
#[test]
fn with_dra_nodes_without_efa_slices_are_named_when_the_wait_ends() {
    let fixture = Fixture::start_with("no-plugin", &[], EfaDevices::Dra);
    let error = fixture
        .deploy(Duration::from_secs(2))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("node-a (ready: true, EFA devices in dra.net ResourceSlices: 0)"),
        "{error}"
    );
    assert!(error.contains("NRI"), "{error}");
}

/// The device plugin and the DRA driver must never manage the same nodes: a plugin someone else
/// installed is a refusal naming it, before anything is created; rdmabench's own one is removed
/// when the configuration switches to DRA.
#[test]
fn with_dra_an_installed_device_plugin_is_refused_or_retired() {
    let foreign = Fixture::start_with("happy", &["--foreign-plugin"], EfaDevices::Dra);
    let error = foreign.deploy(Duration::from_secs(10)).unwrap_err();
    assert!(
        matches!(error, K8sError::BothEfaMechanisms { .. }),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains("kube-system/aws-efa-k8s-device-plugin-daemonset"),
        "{message}"
    );
    assert!(message.contains("k8s.efa = \"device-plugin\""), "{message}");
    assert!(
        !foreign
            .fake
            .inventory()
            .iter()
            .any(|o| o.starts_with("Namespace/")),
        "nothing is created before the refusal"
    );
    drop(foreign);

    let mut fixture = Fixture::start("happy", &[]);
    fixture.deploy(Duration::from_secs(10)).unwrap();
    fixture.config.k8s.efa = EfaDevices::Dra;
    let nodes = fixture.deploy(Duration::from_secs(10)).unwrap();
    assert!(nodes.iter().all(|n| n.efa == 1), "{nodes:?}");
    assert!(fixture.said("removed rdmabench's EFA device plugin"));
    assert!(!fixture
        .fake
        .inventory()
        .contains(&"DaemonSet/kube-system/rdmabench-efa-device-plugin".to_string()));
}

/// A cluster older than 1.34 serves no resource.k8s.io/v1: a sentence, and nothing created.
#[test]
fn with_dra_a_cluster_without_the_api_is_refused_before_anything_is_created() {
    let fixture = Fixture::start_with("happy", &["--no-dra-api"], EfaDevices::Dra);
    let error = fixture.deploy(Duration::from_secs(10)).unwrap_err();
    assert!(matches!(error, K8sError::NoDraApi), "{error}");
    assert!(error.to_string().contains("Kubernetes 1.34"), "{error}");
    assert_eq!(fixture.fake.inventory(), ["DaemonSet/kube-system/aws-node"]);
}

/// Every results file records what the cluster enforces of NetworkPolicies: the VPC CNI's agent
/// with enforcement on here; the default fake's aws-node has no agent, so no engine there.
#[test]
fn the_results_record_network_policy_enforcement() {
    let fixture = Fixture::start(
        "happy",
        &["--run-seconds", "0.5", "--network-policy-agent", "on"],
    );
    let dir = tempfile::tempdir().unwrap();
    let (done, _) = fixture.run(dir.path(), vec![pingpong(&[Mode::Pod])]);
    let text = std::fs::read_to_string(&done.written[0]).unwrap();
    let placement = ResultsFile::from_json(&text).unwrap().placement.unwrap();
    let enforcement = placement.network_policy.unwrap();
    assert_eq!(
        enforcement.engine.as_deref(),
        Some("aws-network-policy-agent")
    );
    assert!(enforcement.enforcing);
    assert_eq!(enforcement.policies_in_namespace, 0);
    assert_eq!(placement.efa_devices.as_deref(), Some("device-plugin"));
    assert!(fixture.said("NetworkPolicy engine: aws-network-policy-agent (enforcing)"));
}
