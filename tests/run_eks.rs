//! `rdmabench run --target eks`, the whole AWS pipeline in one command, offline: the stack is
//! applied by the real terraform against moto (tests/support/moto_wrapper.py), the image is
//! "built" by a fake docker first on PATH and looked up in moto's ECR, and the node-mode and
//! pod-mode runs go to the fake Kubernetes API through a kubeconfig (`--kubeconfig`, since
//! moto's EKS endpoint serves no Kubernetes API). Everything else is the code a user runs.

#[path = "support/kube_fake.rs"]
mod kube_fake;
#[path = "support/moto.rs"]
mod moto;
#[path = "support/service.rs"]
mod service;
#[path = "support/source_tree.rs"]
mod source_tree;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

use moto::Moto;
use rdmabench_infra::terraform::{mirror_cli_config, provider_mirror};
use serde_json::Value;

/// One stack at a time (two applies at once on two cores only slow each other down).
static SERIAL: Mutex<()> = Mutex::new(());
const TOKEN: &str = "test-token";

fn support(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support")
        .join(file)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A user's machine: rdmabench.toml, a state root, AWS settings pointing at moto, terraform's
/// provider mirror, a small rdmabench source checkout, a fake docker and a kubeconfig.
struct Machine {
    dir: tempfile::TempDir,
    moto: Moto,
    kube: kube_fake::FakeApi,
}

impl Machine {
    fn new(scenario: &str) -> Option<Machine> {
        Machine::with_fake(scenario, &[])
    }

    /// A machine whose fake cluster runs the benchmark pods of rdmabench's own tests for real
    /// (see kube_fake::measuring), or None where this machine cannot.
    fn measuring() -> Option<Machine> {
        let binary = Path::new(env!("CARGO_BIN_EXE_rdmabench"));
        Machine::with_fake("happy", &kube_fake::measuring(binary)?)
    }

    fn with_fake(scenario: &str, extra: &[std::ffi::OsString]) -> Option<Machine> {
        let mirror = provider_mirror().expect("the aws provider mirror (see DESIGN.md)");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cli.tfrc"), mirror_cli_config(&mirror)).unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::copy(support("fake_docker.sh"), bin.join("docker")).unwrap();
        Command::new("chmod")
            .arg("+x")
            .arg(bin.join("docker"))
            .status()
            .unwrap();
        source_tree::source_tree(dir.path());
        let moto = Moto::start(dir.path(), &[])?;
        let mut args: Vec<std::ffi::OsString> = [
            "--scenario",
            scenario,
            "--token",
            TOKEN,
            "--run-seconds",
            "0.3",
        ]
        .iter()
        .map(Into::into)
        .collect();
        args.extend(["--client-log".into(), kube_fake::fixture_results().into()]);
        args.extend(extra.iter().cloned());
        let kube = kube_fake::FakeApi::start(&args);
        kube.write_kubeconfig(TOKEN);
        let machine = Machine { dir, moto, kube };
        let init = machine.rdmabench(&["init", "--public-cidr", "203.0.113.7/32"]);
        assert!(init.status.success(), "{}", text(&init.stderr));
        Some(machine)
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn rdmabench(&self, args: &[&str]) -> Output {
        let dir = self.path();
        let mut path = dir.join("bin").into_os_string();
        path.push(":");
        path.push(std::env::var_os("PATH").unwrap_or_default());
        let hook = format!(
            "{} {} {} put",
            self.moto.python.display(),
            support("ecr_helper.py").display(),
            self.moto.endpoint
        );
        let mut command = Command::new(env!("CARGO_BIN_EXE_rdmabench"));
        command
            .args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", path);
        self.moto.user_env(&mut command, dir);
        command
            .env("KUBECONFIG", self.kube.dir().join("kubeconfig"))
            .env("FAKE_DOCKER_LOG", dir.join("docker.log"))
            // The fake build "pushes" by putting the tag into moto's ECR, as a real push would.
            .env("FAKE_DOCKER_BUILD_HOOK", hook)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn run_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(self.path().join("results"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        dirs.sort();
        dirs
    }
}

const RUN: &[&str] = &[
    "run",
    "--target",
    "eks",
    "--yes",
    "--kubeconfig",
    "--source",
    "src",
    "--iters",
    "1k",
    "--start-timeout",
    "20s",
    "--limit",
    "60s",
];

/// The median half round trip (p50) of `size` in one run, the figure the report compares by default.
fn median_ns(results: &Value, size: u64) -> u64 {
    let row = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["size_bytes"] == size)
        .unwrap();
    row["latency"]["p50_ns"].as_u64().unwrap()
}

/// The first run measures for real on the measuring fake cluster (tcp between the fake nodes'
/// and pods' namespaces), so the report's pod-against-node overhead is recomputed here from the
/// files, and the pods' veths carried the messages.
#[test]
fn the_pipeline_creates_measures_reports_reuses_and_tears_down() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(m) = Machine::measuring() else {
        return;
    };
    let suite = m.path().join("fake-cluster.toml");
    std::fs::write(
        &suite,
        "name = \"fake-cluster\"\n\
         [[test]]\nname = \"pingpong\"\nkind = \"pingpong\"\nsizes = \"4,64\"\n\
         provider = \"tcp\"\nmodes = [\"node\", \"pod\"]\n",
    )
    .unwrap();
    let first =
        m.rdmabench(&[RUN, &["--repeat", "2", "--suite", suite.to_str().unwrap()]].concat());
    let err = text(&first.stderr);
    assert!(first.status.success(), "{err}");
    assert!(err.contains("stack 'rdmabench' is up"), "{err}");
    assert!(err.contains("pushed "), "{err}");
    // node, pod, node, pod: alternating, never at once.
    let order: Vec<&str> = err
        .lines()
        .filter_map(|l| l.strip_prefix("rdmabench: pingpong in "))
        .collect();
    assert_eq!(
        order,
        [
            "node mode, repetition 1 of 2",
            "pod mode, repetition 1 of 2",
            "node mode, repetition 2 of 2",
            "pod mode, repetition 2 of 2"
        ]
    );
    let dir = &m.run_dirs()[0];
    assert!(dir.to_string_lossy().ends_with("-eks"));
    for name in [
        "pingpong-node-1",
        "pingpong-pod-1",
        "pingpong-node-2",
        "pingpong-pod-2",
    ] {
        let doc: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(doc["placement"]["instance_type"], "m7g.16xlarge");
        assert!(doc["placement"]["image"]
            .as_str()
            .unwrap()
            .contains(".dkr.ecr.us-east-1.amazonaws.com/"));
        // Each end ran where the placement says: on fake node-b (client) and node-a (server),
        // in node mode as the nodes themselves, in pod mode as the pods.
        assert_eq!(doc["placement"]["server_node"], "node-a");
        assert_eq!(doc["placement"]["client_node"], "node-b");
        let client = if name.contains("node") {
            "node-b"
        } else {
            "rdmabench-pod-client"
        };
        assert_eq!(doc["endpoints"]["local"]["hostname"], client, "{name}");
    }
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        report.contains("### pod against node (baseline)"),
        "{report}"
    );
    // The overhead the report shows, recomputed from the files: the median (mean of the two
    // middle values, rounded down) of each mode's per-run median (the default `--metric`), then
    // pod / node - 1.
    let comparison = &report[report.find("### pod against node (baseline)").unwrap()..];
    for size in [4_u64, 64] {
        let median = |mode: &str| {
            let runs: Vec<u64> = (1..=2)
                .map(|r| {
                    let path = dir.join(format!("pingpong-{mode}-{r}.json"));
                    let doc: Value =
                        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
                    median_ns(&doc, size)
                })
                .collect();
            (runs[0] + runs[1]) / 2
        };
        let (node, pod) = (median("node"), median("pod"));
        let overhead = format!("{:+.2}%", (pod as f64 / node as f64 - 1.0) * 100.0);
        let row = comparison
            .lines()
            .find(|l| l.starts_with(&format!("| {size} |")))
            .unwrap();
        assert!(row.contains(&overhead), "{overhead} in {row}");
    }
    // Both pod-mode repetitions' messages crossed the pods' veths, each way.
    let pod_veths = m.kube.counters();
    assert_eq!(pod_veths.len(), 4, "{pod_veths:?}");
    for veth in &pod_veths {
        assert!(veth.veth_rx_bytes >= 1000 * (4 + 64), "{veth:?}");
        assert!(veth.veth_tx_bytes >= 1000 * (4 + 64), "{veth:?}");
    }
    assert!(report.contains("spread across 2 paired runs"), "{report}");
    assert!(dir.join("report.html").is_file() && dir.join("suite.toml").is_file());
    // stdout is the report only (no terraform outputs, no image reference).
    let stdout = text(&first.stdout);
    assert!(stdout.starts_with("rdmabench report\n"), "{stdout}");

    // A second run reuses the stack and the image, then --down-after removes everything. It
    // runs the built-in reference suite: the tools through `rdmabench tool` on both ends in both
    // modes; the MPI tool's clients may exec into their server pod, nobody else.
    let second = m.rdmabench(&[RUN, &["--down-after", "--suite", "reference"]].concat());
    let err = text(&second.stderr);
    assert!(second.status.success(), "{err}");
    let dir = &m.run_dirs()[1];
    for name in [
        "fi-pingpong-node-1",
        "fi-pingpong-pod-1",
        "osu-latency-node-1",
        "osu-latency-pod-1",
        "ib-send-lat-pod-1",
    ] {
        assert!(dir.join(format!("{name}.json")).is_file(), "{name}: {err}");
    }
    let applied = m.kube.applied();
    let container_args = |a: &Value| a["body"]["spec"]["containers"][0]["args"].to_string();
    let tool_pods: Vec<&Value> = applied
        .iter()
        .filter(|a| a["body"]["kind"] == "Pod" && container_args(a).contains("--tool"))
        .collect();
    // Server and client, node and pod mode, for fi_pingpong, osu_latency and ib_send_lat;
    // NetPIPE (the local stand-in for OSU) is skipped, and the report says why.
    assert_eq!(tool_pods.len(), 12);
    assert!(tool_pods.iter().any(|a| {
        let args = container_args(a);
        args.contains("\"tool\",\"--server\"")
            && args.contains("\"--tool\",\"ib_send_lat\"")
            && args.contains("\"--provider\",\"efa\"")
    }));
    for pod in &tool_pods {
        let mpi = container_args(pod).contains("NPopenmpi") || container_args(pod).contains("osu_");
        let client = pod["body"]["metadata"]["labels"]["rdmabench.io/role"] == "client";
        let account = &pod["body"]["spec"]["serviceAccountName"];
        assert_eq!(
            account.is_string(),
            mpi && client,
            "{}",
            pod["body"]["metadata"]
        );
    }
    let roles = applied
        .iter()
        .filter(|a| a["body"]["kind"] == "Role")
        .count();
    assert_eq!(roles, 2, "one per mode for osu_latency");
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        report.contains("netpipe skipped: NetPIPE stands in for OSU where OSU is absent"),
        "{report}"
    );
    assert!(
        err.contains("stack 'rdmabench' is up to date; reusing it"),
        "{err}"
    );
    assert!(err.contains("is already in ECR; reusing it"), "{err}");
    assert!(err.contains("stack 'rdmabench' destroyed"), "{err}");
    assert_eq!(m.moto.leftovers("rdmabench"), Vec::<String>::new());
}

#[test]
fn a_failing_step_still_tears_the_stack_down_with_down_after() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(m) = Machine::new("image-pull") else {
        return;
    };
    let out = m.rdmabench(&[RUN, &["--down-after"]].concat());
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("test 'pingpong' in node mode"), "{err}");
    assert!(err.contains("rdmabench image build --push"), "{err}");
    assert!(err.contains("stack 'rdmabench' destroyed"), "{err}");
    assert!(out.stdout.is_empty(), "no report without measurements");
    assert_eq!(m.moto.leftovers("rdmabench"), Vec::<String>::new());
}

#[test]
fn a_tool_that_fails_is_noted_but_a_cluster_refusal_stops_the_run() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(m) = Machine::new("tools-fail") else {
        return;
    };
    // perftest's clients exit 1 in this cluster (the tool's own failure); the Role an MPI
    // client needs is forbidden (the cluster's refusal, which every later test would meet too).
    let suite = m.path().join("tools.toml");
    std::fs::write(
        &suite,
        "name = \"tools\"\n\
         [[test]]\nname = \"first\"\nkind = \"pingpong\"\nsizes = \"4\"\n\
         [[test]]\nname = \"perftest\"\nkind = \"tool\"\ntool = \"ib_send_lat\"\nsizes = \"4\"\n\
         [[test]]\nname = \"osu\"\nkind = \"tool\"\ntool = \"osu_latency\"\nsizes = \"4\"\n\
         [[test]]\nname = \"last\"\nkind = \"pingpong\"\nsizes = \"4\"\n",
    )
    .unwrap();
    let out = m.rdmabench(&[RUN, &["--down-after", "--suite", suite.to_str().unwrap()]].concat());
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for mode in ["node", "pod"] {
        assert!(
            err.contains(&format!("perftest in {mode} mode did not run")),
            "{err}"
        );
        assert!(err.contains("Unsupported connection type SRD"), "{err}");
    }
    assert!(err.contains("test 'osu' in node mode"), "{err}");
    assert!(err.contains("is forbidden"), "{err}");
    assert!(!err.contains("osu in node mode did not run"), "{err}");
    let dir = &m.run_dirs()[0];
    let written: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    let mut written = written;
    written.sort();
    assert_eq!(written, ["first-node-1.json", "first-pod-1.json"], "{err}");
    // What ran before the refusal is still reported, with why the rest is missing.
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    for note in [
        "perftest in pod mode did not run",
        "the run stopped early, so later tests are missing: test 'osu' in node mode",
    ] {
        assert!(report.contains(note), "{note}: {report}");
    }
    assert!(text(&out.stdout).starts_with("rdmabench report\n"));
    // Pods of rdmabench's own tests: "first" in both modes, server and client; none of "last".
    let pingpong_pods = m
        .kube
        .applied()
        .iter()
        .filter(|a| a["body"]["kind"] == "Pod")
        .filter(|a| {
            !a["body"]["spec"]["containers"][0]["args"]
                .to_string()
                .contains("--tool")
        })
        .count();
    assert_eq!(pingpong_pods, 4, "the run must stop at the refusal: {err}");
    assert!(err.contains("stack 'rdmabench' destroyed"), "{err}");
    let pods_left: Vec<String> = m
        .kube
        .inventory()
        .into_iter()
        .filter(|o| o.starts_with("Pod/"))
        .collect();
    assert_eq!(pods_left, Vec::<String>::new());
    assert_eq!(m.moto.leftovers("rdmabench"), Vec::<String>::new());
}
