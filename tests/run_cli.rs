//! End-to-end tests of the main job, `rdmabench run` on the local target, and of
//! `rdmabench report` over what it wrote: real measurements between two hosts on this machine
//! (network namespaces joined by veth when root, else loopback), the results files checked
//! against the report's numbers, suites, repetitions, comparisons and every bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

#[path = "support/cli.rs"]
mod cli;

use cli::{bin, stderr};

fn run_in(dir: &Path, args: &[&str]) -> Output {
    run_with_pid(dir, args).0
}

/// Runs rdmabench and also returns its process id, which names its network namespaces.
fn run_with_pid(dir: &Path, args: &[&str]) -> (Output, u32) {
    let child = bin()
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rdmabench runs");
    let pid = child.id();
    (child.wait_with_output().unwrap(), pid)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The single run directory under `root/results`.
fn run_dir(root: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(root.join("results"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The run with process id `pid` left none of its network namespaces behind.
fn assert_no_namespaces_left(pid: u32) {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    let prefix = format!("rdmabench-run-{pid}-");
    let left: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(&prefix))
        .collect();
    assert!(left.is_empty(), "namespaces left behind: {left:?}");
}

/// The provider the local target picks: net on libfabric 1.x, tcp on 2.x (whose tcp is 1.x's
/// net), kernel TCP ("socket") without libfabric.
fn expected_provider() -> &'static str {
    match cli::libfabric_version() {
        Some(version) if version.starts_with("1.") => "net",
        Some(_) => "tcp",
        None => "socket",
    }
}

#[test]
fn the_default_run_measures_the_seed_sizes_between_two_hosts_and_reports_them() {
    let root = tempfile::tempdir().unwrap();
    let (out, pid) = run_with_pid(root.path(), &["run", "--iters", "2k"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let dir = run_dir(root.path());
    assert!(
        err.contains(&format!(
            "results in results/{}",
            dir.file_name().unwrap().to_string_lossy()
        )),
        "{err}"
    );
    if is_root() {
        assert!(
            err.contains("two network namespaces joined by a veth pair"),
            "{err}"
        );
    }
    let results = read_json(&dir.join("pingpong-1.json"));
    assert_eq!(results["schema_version"], rdmabench_results::SCHEMA_VERSION);
    assert_eq!(results["complete"], true);
    let provider = expected_provider();
    if provider != "socket" {
        assert_eq!(results["fabric"]["provider"], provider);
        if is_root() {
            // The provider is bound to the veth pair's network from the first measurement on
            // (the run waits for carrier): the fabric is that network, not a generic entry.
            let fabric = results["fabric"]["fabric"].as_str().unwrap();
            assert!(
                fabric.starts_with("10.231.0."),
                "netns veth fabric: {fabric}"
            );
        }
    } else {
        assert_eq!(results["parameters"]["transport"], "socket");
    }
    let placement = &results["placement"];
    assert_eq!(placement["target"], "local");
    assert_eq!(
        placement["mode"],
        if is_root() { "netns" } else { "loopback" }
    );
    assert_eq!(placement["repetition"], 1);
    let rows = results["results"].as_array().unwrap();
    let sizes: Vec<u64> = rows
        .iter()
        .map(|r| r["size_bytes"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, [4, 16, 64, 256, 1024, 10240, 51200, 102400]);
    // The report's seed table agrees with the results file, row by row.
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(report.contains(
        "| Number of messages | Message size | Time spent | usec |\n| ------------------ | ------------ | ---------- | ---------------- |\n"
    ));
    for row in rows {
        let iterations = row["iterations"].as_u64().unwrap();
        let total_ns = row["total_ns"].as_u64().unwrap();
        assert_eq!(iterations, 2000);
        let mean_ns = (total_ns + iterations) / (2 * iterations);
        let line = format!(
            "| 2k | {} | {:.2}s | {:.2} |",
            row["size_bytes"],
            total_ns as f64 / 1e9,
            mean_ns as f64 / 1000.0
        );
        assert!(report.contains(&line), "{line} not in\n{report}");
        let p99 = format!(
            "{:.2}",
            row["latency"]["p99_ns"].as_u64().unwrap() as f64 / 1000.0
        );
        assert!(report.contains(&p99), "p99 {p99} not in the report");
    }
    assert!(
        report.contains("not compared, the setup differs"),
        "{report}"
    );
    // stdout carries the same report as a table; the suite used is kept beside the results.
    assert!(stdout(&out).contains("Number of messages  Message size  Time spent"));
    let suite = std::fs::read_to_string(dir.join("suite.toml")).unwrap();
    assert!(suite.contains("name = \"seed\""));
    assert_no_namespaces_left(pid);
    // `report` over the run directory gives the same numbers as the run's own report.
    let again = run_in(&dir, &["report", ".", "--format", "markdown"]);
    assert!(again.status.success(), "{}", stderr(&again));
    let table_part = |text: &str| {
        text[text.find("## pingpong").unwrap()..text.find("## Environment").unwrap()].to_string()
    };
    assert_eq!(table_part(&stdout(&again)), table_part(&report));
}

const TWO_TESTS: &str = r#"
name = "fabric-vs-kernel"

[[test]]
name = "fabric"
kind = "pingpong"
sizes = "4,64K"
iterations = "1k"

[[test]]
name = "kernel-tcp"
kind = "pingpong"
transport = "socket"
sizes = "4,64K"
iterations = "1k"
"#;

#[test]
fn a_suite_with_repetitions_compares_each_test_with_the_kernel_tcp_baseline() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("suite.toml"), TWO_TESTS).unwrap();
    let out = run_in(
        root.path(),
        &[
            "run",
            "--suite",
            "suite.toml",
            "--repeat",
            "2",
            "--hosts",
            "loopback",
            "--timeout",
            "20s",
        ],
    );
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    // Tests alternate: fabric, kernel-tcp, fabric, kernel-tcp.
    let order: Vec<&str> = err.lines().filter(|l| l.contains("] ")).collect();
    assert_eq!(order.len(), 4, "{err}");
    assert!(order[0].contains("[1/4] fabric") && order[1].contains("[2/4] kernel-tcp"));
    assert!(order[2].contains("[3/4] fabric") && order[3].contains("[4/4] kernel-tcp"));
    let dir = run_dir(root.path());
    for name in ["fabric-1", "fabric-2", "kernel-tcp-1", "kernel-tcp-2"] {
        let doc = read_json(&dir.join(format!("{name}.json")));
        assert_eq!(doc["complete"], true, "{name}");
        assert_eq!(doc["placement"]["mode"], "loopback");
    }
    let report = run_in(&dir, &["report", ".", "--format", "json"]);
    assert!(report.status.success(), "{}", stderr(&report));
    let doc: Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(doc["schema_version"], 4);
    let test = &doc["tests"][0];
    if expected_provider() == "socket" {
        // Without libfabric both tests are kernel TCP: one series, nothing to compare.
        assert_eq!(test["series"].as_array().unwrap().len(), 1);
        return;
    }
    assert_eq!(test["baseline"], "kernel TCP");
    let comparison = &test["comparisons"][0];
    assert_eq!(comparison["other"], expected_provider());
    assert_eq!(comparison["pairs"], 2);
    assert_eq!(comparison["metric"], "latency");
    assert_eq!(comparison["statistic"], "median", "the default --metric");
    // Each compared number is the median of the two repetitions' medians (p50).
    let median = |file: &str, row: usize| {
        read_json(&dir.join(file))["results"][row]["latency"]["p50_ns"]
            .as_u64()
            .unwrap()
    };
    for (row, size) in [(0, 4), (1, 65536)] {
        let compared = &comparison["rows"][row];
        assert_eq!(compared["size_bytes"], size);
        let baseline = (median("kernel-tcp-1.json", row) + median("kernel-tcp-2.json", row)) / 2;
        let other = (median("fabric-1.json", row) + median("fabric-2.json", row)) / 2;
        assert_eq!(compared["baseline"], baseline);
        assert_eq!(compared["other"], other);
        assert_eq!(
            compared["paired_overheads_percent"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }
    let markdown = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        markdown.contains(&format!(
            "### {} against kernel TCP (baseline)",
            expected_provider()
        )),
        "{markdown}"
    );
    assert!(markdown.contains("spread across 2 paired runs"));
}

#[test]
fn bad_suites_and_options_are_refused_before_anything_runs() {
    let root = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(root.path().join(name), text).unwrap();
    write(
        "shm.toml",
        "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"pingpong\"\nprovider = \"shm\"\n",
    );
    write(
        "typo.toml",
        "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"pingpong\"\nsizez = \"4\"\n",
    );
    write("broken.toml", "name = \n");
    let cases: [(&[&str], &str); 9] = [
        (
            &["run", "--suite", "shm.toml"],
            "uses provider shm, which crosses no network stack",
        ),
        (&["run", "--suite", "typo.toml"], "unknown field `sizez`"),
        (&["run", "--suite", "broken.toml"], "broken.toml:"),
        (
            &["run", "--suite", "missing.toml"],
            "reading suite file missing.toml",
        ),
        (&["run", "--iters", "lots"], "--iters"),
        (
            &["run", "--iters", "20m"],
            "test 'pingpong': invalid pingpong options: --iters 20000000 is above the limit",
        ),
        (
            &["run", "--target", "eks"],
            "cannot read rdmabench.toml (create one with `rdmabench init`, or pass --config)",
        ),
        (&["run", "--limit", "soon"], "--limit"),
        (&["run", "--repeat", "0"], "0 is not in 1..=100"),
    ];
    for (args, expected) in cases {
        let out = run_in(root.path(), args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = stderr(&out);
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(
            !root.path().join("results").exists(),
            "{args:?} created results"
        );
    }
    let out = run_in(root.path(), &["run", "--print-suite"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("[[test]]"));
}

#[test]
fn the_eks_target_refuses_bad_tests_before_the_stack_is_touched() {
    let root = tempfile::tempdir().unwrap();
    let init = run_in(root.path(), &["init", "--public-cidr", "203.0.113.7/32"]);
    assert!(init.status.success(), "{}", stderr(&init));
    let sizes: Vec<String> = (1..=65).map(|s| s.to_string()).collect();
    std::fs::write(
        root.path().join("tool.toml"),
        format!(
            "name = \"t\"\n[[test]]\nname = \"perf\"\nkind = \"tool\"\ntool = \"ib_send_lat\"\nsizes = \"{}\"\n",
            sizes.join(",")
        ),
    )
    .unwrap();
    for (args, expected) in [
        (
            &["run", "--target", "eks", "--iters", "20m"][..],
            "test 'pingpong': invalid pingpong options: --iters 20000000 is above the limit",
        ),
        (
            &["run", "--target", "eks", "--start-timeout", "soon"][..],
            "--start-timeout soon: invalid duration",
        ),
        // A tool test's options are checked as `rdmabench tool` will get them.
        (
            &["run", "--target", "eks", "--suite", "tool.toml"][..],
            "test 'perf': invalid tool options: --sizes: 65 sizes, at most 62 per run",
        ),
        (
            &["run", "--suite", "no-such-suite"][..],
            "reading suite file no-such-suite (built-in suites: seed, reference)",
        ),
    ] {
        let out = bin()
            .current_dir(root.path())
            .args(args)
            .env("RDMABENCH_STATE_DIR", root.path().join("state"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(
            !err.contains("preflight"),
            "{args:?} reached the stack: {err}"
        );
        assert!(!root.path().join("results").exists() && !root.path().join("state").exists());
    }
}

#[test]
fn a_measurement_over_its_limit_is_stopped_and_cleaned_up() {
    let root = tempfile::tempdir().unwrap();
    let (out, pid) = run_with_pid(root.path(), &["run", "--iters", "1m", "--limit", "300ms"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("did not finish within 300ms (--limit); both ends were stopped"),
        "{err}"
    );
    assert!(err.contains("nothing to report"), "{err}");
    assert_no_namespaces_left(pid);
}

#[test]
fn ctrl_c_stops_the_run_keeps_partial_results_and_removes_the_hosts() {
    let root = tempfile::tempdir().unwrap();
    let child = bin()
        .current_dir(root.path())
        .args(["run", "--iters", "1m"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    // To this process only: the run must pass it on to both ends itself.
    assert!(Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{err}");
    let dir = run_dir(root.path());
    let results = read_json(&dir.join("pingpong-1.json"));
    assert_eq!(results["complete"], false);
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(report.contains("is a partial run"), "{report}");
    assert_no_namespaces_left(pid);
}

#[test]
fn report_refuses_what_it_cannot_read_and_explains_mixed_input() {
    let root = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support/fixtures/pingpong-socket-results.json");
    let good: Value = read_json(&fixture);
    let write = |name: &str, value: &Value| {
        std::fs::write(
            root.path().join(name),
            serde_json::to_string(value).unwrap(),
        )
        .unwrap()
    };
    let mut future = good.clone();
    let newest = rdmabench_results::SCHEMA_VERSION;
    future["schema_version"] = (newest + 1).into();
    write("future.json", &future);
    let future_refused = format!(
        "future.json: results file has schema_version {}, but this rdmabench reads versions 1 to {newest}",
        newest + 1
    );
    std::fs::write(
        root.path().join("corrupt.json"),
        "{\"schema_version\": 1, \"tool\": ",
    )
    .unwrap();
    std::fs::write(root.path().join("log.json"), "[1, 2]").unwrap();
    std::fs::create_dir(root.path().join("empty")).unwrap();
    let cases: [(&[&str], &str); 6] = [
        (&["report", "future.json"], future_refused.as_str()),
        (
            &["report", "corrupt.json"],
            "corrupt.json: not an rdmabench results file",
        ),
        (
            &["report", "log.json"],
            "log.json: not an rdmabench results file",
        ),
        (&["report", "absent.json"], "reading absent.json"),
        (&["report", "empty"], "empty holds no *.json results files"),
        (&["report"], "required"),
    ];
    for (args, expected) in cases {
        let out = run_in(root.path(), args);
        assert!(!out.status.success(), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    // Different tests and different sizes are reported apart and explained, not mixed.
    write("a.json", &good);
    let mut other = good.clone();
    other["test"] = "bw".into();
    write("b.json", &other);
    let mut fewer = good.clone();
    fewer["results"].as_array_mut().unwrap().truncate(1);
    write("c.json", &fewer);
    let out = run_in(
        root.path(),
        &[
            "report", "a.json", "b.json", "c.json", "--format", "markdown",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("the files hold different tests (pingpong, bw)"),
        "{text}"
    );
    assert!(
        text.contains("were not measured by every repetition"),
        "{text}"
    );
    let out = run_in(root.path(), &["report", "a.json", "--baseline", "pod"]);
    assert!(
        stderr(&out).contains("--baseline 'pod' names no series"),
        "{}",
        stderr(&out)
    );
}

/// A suite with a bandwidth test beside a ping-pong, as `run --print-suite` documents it.
const BANDWIDTH_SUITE: &str = r#"name = "bw"
[[test]]
name = "latency"
kind = "pingpong"
transport = "socket"
sizes = "4"
iterations = "1k"
[[test]]
name = "bandwidth"
kind = "bw"
transport = "socket"
sizes = "4K,64K"
iterations = "256"
window = 16
bidirectional = true
verify = true
"#;

#[test]
fn a_suite_runs_bandwidth_tests_beside_pingpongs_and_reports_them_as_bandwidth() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("suite.toml"), BANDWIDTH_SUITE).unwrap();
    let out = run_in(
        root.path(),
        &["run", "--suite", "suite.toml", "--hosts", "loopback"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = run_dir(root.path());
    let doc = read_json(&dir.join("bandwidth-1.json"));
    assert_eq!(doc["test"], "bw");
    assert_eq!(doc["complete"], true);
    assert_eq!(doc["parameters"]["window"], 16);
    assert_eq!(doc["parameters"]["bidirectional"], true);
    assert_eq!(doc["results"][1]["iterations"], 256);
    assert!(
        doc["results"][1]["bandwidth"]["average_bytes_per_sec"]
            .as_u64()
            .unwrap()
            > 0
    );
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        report.contains("## bw") && report.contains("BW average [MB/s]"),
        "{report}"
    );
    assert!(report.contains("## pingpong"), "{report}");
    assert!(stdout(&out).contains("Bandwidth test: higher is better"));

    if expected_provider() != "socket" {
        let rma = "name = \"rma\"\n[[test]]\nname = \"rma-write\"\nkind = \"rma\"\nop = \"write\"\nprovider = \"tcp\"\nsizes = \"4,4K\"\niterations = \"300\"\nverify = true\n";
        std::fs::write(root.path().join("rma.toml"), rma).unwrap();
        let out = run_in(
            root.path(),
            &["run", "--suite", "rma.toml", "--hosts", "loopback"],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let dirs: Vec<PathBuf> = std::fs::read_dir(root.path().join("results"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|d| d.join("rma-write-1.json").exists())
            .collect();
        let doc = read_json(&dirs[0].join("rma-write-1.json"));
        assert_eq!(doc["test"], "write-lat");
        assert_eq!(doc["complete"], true);
    }

    let bad = BANDWIDTH_SUITE.replace("kind = \"pingpong\"", "kind = \"pingpong\"\nwindow = 4");
    std::fs::write(root.path().join("bad.toml"), bad).unwrap();
    let out = run_in(root.path(), &["run", "--suite", "bad.toml"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("only a bandwidth test has a window"),
        "{}",
        stderr(&out)
    );
}

/// A reference suite: rdmabench's ping-pong and fi_pingpong at the same sizes and counts.
const REFERENCE_SUITE: &str = r#"name = "reference"
[[test]]
name = "rdmabench"
kind = "pingpong"
provider = "tcp"
sizes = "4,1K"
iterations = "2k"
[[test]]
name = "fi-pingpong"
kind = "tool"
tool = "fi_pingpong"
provider = "tcp"
sizes = "4,1K"
iterations = "2k"
verify = true
[[test]]
name = "netpipe"
kind = "tool"
tool = "NPopenmpi"
provider = "tcp"
sizes = "4,1K"
iterations = "2k"
"#;

/// Whether `program` is on PATH (the MPI tools are optional off CI).
fn installed(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// Whether all of `programs` are on PATH; when not, says what was not run, or fails where
/// RDMABENCH_REQUIRE_REFERENCE_TOOLS says they were installed (`how`).
fn reference_tools_here(programs: &[&str], how: &str) -> bool {
    if programs.iter().all(|p| installed(p)) {
        return true;
    }
    let names = programs.join(" or ");
    assert!(
        std::env::var_os("RDMABENCH_REQUIRE_REFERENCE_TOOLS").is_none(),
        "{names} not on PATH: {how}"
    );
    eprintln!("{names} not on PATH: that part was not run");
    false
}

/// The message sizes of a results file's rows, in order.
fn row_sizes(doc: &Value) -> Vec<u64> {
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["size_bytes"].as_u64().unwrap())
        .collect()
}

#[test]
fn fi_pingpong_runs_beside_rdmabench_between_the_same_hosts_and_lands_in_the_report() {
    if expected_provider() == "socket" {
        eprintln!("skipping: fi_pingpong needs libfabric");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("suite.toml"), REFERENCE_SUITE).unwrap();
    let out = run_in(root.path(), &["run", "--suite", "suite.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = run_dir(root.path());
    let doc = read_json(&dir.join("fi-pingpong-1.json"));
    assert_eq!(doc["tool"]["name"], "fi_pingpong");
    // The fi_pingpong of the libfabric under test (1.17, or 2.2 in CI's second pass).
    let libfabric = cli::libfabric_version().unwrap();
    assert!(
        doc["tool"]["version"]
            .as_str()
            .unwrap()
            .starts_with(&libfabric),
        "{doc}"
    );
    assert_eq!(doc["test"], "pingpong");
    assert_eq!(doc["complete"], true);
    assert_eq!(doc["parameters"]["provider"], "tcp");
    let rows = doc["results"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["size_bytes"], 1024);
    assert_eq!(rows[1]["iterations"], 2000);
    // The -S and -I rdmabench passed stand for fi_pingpong's rounded bytes and #sent; only its
    // time is kept as printed, to 10 ms, and marked so.
    assert_eq!(rows[1]["rounded"], serde_json::json!(["total_ns"]));
    // Every size's exact command line, the provider pinned to the host's interface.
    let command = doc["command_line"].as_str().unwrap();
    assert_eq!(
        command.matches("fi_pingpong -p tcp -e rdm").count(),
        2,
        "{command}"
    );
    assert!(
        command.contains("FI_TCP_IFACE=") && command.contains(" -c "),
        "{command}"
    );
    // Placed like rdmabench's results, so the report sets them side by side.
    let ours = read_json(&dir.join("rdmabench-1.json"));
    assert_eq!(doc["placement"]["mode"], ours["placement"]["mode"]);
    // rdmabench's series is the baseline the tools are set against, each size's figure also as
    // a multiple of rdmabench's. Series labels name only what differs between them (on 1.17
    // rdmabench's tcp is "tcp;ofi_rxm", on 2.x the native "tcp"), so they are read from the report.
    let summary = run_in(&dir, &["report", ".", "--format", "json"]);
    assert!(summary.status.success(), "{}", stderr(&summary));
    let summary: Value = serde_json::from_slice(&summary.stdout).unwrap();
    let test = &summary["tests"][0];
    let label_of = |tool: &str| {
        test["series"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["key"]["tool"] == tool)
            .unwrap_or_else(|| panic!("no {tool} series: {test}"))["label"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (ours_label, tool_label) = (label_of("rdmabench"), label_of("fi_pingpong"));
    assert_eq!(test["baseline"], ours_label.as_str(), "{test}");
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        report.contains(&format!("### {tool_label} against {ours_label} (baseline)")),
        "rdmabench's series is the baseline of the tools:\n{report}"
    );
    assert!(
        report.contains(&format!("| {tool_label} / {ours_label} |")),
        "{report}"
    );
    assert!(
        report.contains("What each tool's numbers mean") && report.contains("show_perf()"),
        "{report}"
    );
    if !reference_tools_here(
        &["NPopenmpi", "mpirun"],
        "CI installs netpipe-openmpi and openmpi-bin",
    ) {
        return;
    }
    // NetPIPE under mpirun, one rank per host over Open MPI's ofi MTL on the same provider,
    // rdmabench entering the client's host as Open MPI's launcher.
    let doc = read_json(&dir.join("netpipe-1.json"));
    assert_eq!(doc["tool"]["name"], "netpipe");
    assert!(
        doc["tool"]["version"]
            .as_str()
            .unwrap()
            .contains("netpipe-openmpi"),
        "{doc}"
    );
    assert_eq!(doc["test"], "pingpong");
    assert_eq!(doc["complete"], true);
    assert_eq!(doc["parameters"]["api"], "tagged");
    let rows = doc["results"].as_array().unwrap();
    assert_eq!(row_sizes(&doc), [4, 1024]);
    assert!(rows
        .iter()
        .all(|r| r["latency"]["mean_ns"].as_u64().unwrap() > 0));
    let command = doc["command_line"].as_str().unwrap();
    assert_eq!(
        command.matches("/mpirun --hostfile ").count(),
        2,
        "{command}"
    );
    // Open MPI's ofi MTL is told libfabric's name for tcp's tagged endpoint, as rdmabench's.
    let ours_provider = ours["fabric"]["provider"].as_str().unwrap();
    let mtl = format!(
        "--mca pml cm --mca mtl ofi --mca mtl_ofi_provider_include {}",
        if ours_provider.contains(';') {
            format!("'{ours_provider}'")
        } else {
            ours_provider.to_string()
        }
    );
    for part in [
        mtl.as_str(),
        " launch' --mca oob_tcp_if_include ",
        "NPopenmpi -l 1024 -u 1024 -p 0 -n 2000 ",
        "FI_TCP_IFACE=",
    ] {
        assert!(command.contains(part), "{part}: {command}");
    }
    if command.contains("; ip netns exec ") {
        // One rank in each namespace; the launch map names the client's.
        assert!(
            command.contains(".1 slots=1' '") && command.contains("RDMABENCH_LAUNCH_MAP="),
            "{command}"
        );
    }
    assert!(
        report.contains("the lowest of its trials"),
        "NetPIPE's definition is in the report:\n{report}"
    );
}

#[test]
fn a_missing_tool_is_skipped_and_reported_while_the_rest_runs() {
    let root = tempfile::tempdir().unwrap();
    // rdmabench over kernel TCP, so it runs whatever this machine has; fi_pingpong nowhere on PATH.
    let suite = REFERENCE_SUITE.replacen("provider = \"tcp\"", "transport = \"socket\"", 1)
        + "[[test]]\nname = \"imb\"\nkind = \"tool\"\ntool = \"IMB-PingPong\"\nprovider = \"tcp\"\n";
    std::fs::write(root.path().join("suite.toml"), &suite).unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = bin()
        .current_dir(root.path())
        .args(["run", "--suite", "suite.toml", "--hosts", "loopback"])
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let report = stdout(&out);
    assert!(
        report.contains(
            "fi-pingpong skipped: fi_pingpong is not installed (it comes with libfabric-bin"
        ),
        "{report}"
    );
    let dir = run_dir(root.path());
    assert!(
        report.contains("netpipe skipped: NPopenmpi is not installed"),
        "{report}"
    );
    assert!(
        report.contains(
            "imb skipped: IMB-MPI1 is not installed (it comes with impi-rt (PyPI), Intel MPI)"
        ),
        "{report}"
    );
    assert!(dir.join("rdmabench-1.json").is_file());
    assert!(!dir.join("fi-pingpong-1.json").exists());
}

/// IMB's PingPong and Uniband beside rdmabench, small enough to stay fast (Uniband's windows
/// are slow in wall time here).
const IMB_SUITE: &str = r#"name = "imb"
[[test]]
name = "rdmabench"
kind = "pingpong"
provider = "tcp"
sizes = "4,1K"
iterations = "200"
[[test]]
name = "imb-pingpong"
kind = "tool"
tool = "IMB-PingPong"
provider = "tcp"
sizes = "4,1K"
iterations = "200"
[[test]]
name = "imb-uniband"
kind = "tool"
tool = "IMB-Uniband"
provider = "tcp"
sizes = "4,1K"
iterations = "200"
"#;

/// The file rdmabench loads libfabric from: RDMABENCH_LIBFABRIC, else the system's.
fn libfabric_file() -> PathBuf {
    let named = std::env::var_os("RDMABENCH_LIBFABRIC")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/x86_64-linux-gnu/libfabric.so.1"));
    std::fs::canonicalize(&named).unwrap_or(named)
}

#[test]
fn imb_pingpong_and_uniband_run_under_intel_mpi_between_the_same_hosts() {
    if expected_provider() == "socket" {
        eprintln!("skipping: IMB runs over libfabric");
        return;
    }
    if !reference_tools_here(
        &["IMB-MPI1", "mpiexec.hydra"],
        "CI puts pip package impi-rt's bin at the end of PATH",
    ) {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("suite.toml"), IMB_SUITE).unwrap();
    let (out, pid) = run_with_pid(root.path(), &["run", "--suite", "suite.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_no_namespaces_left(pid);
    let dir = run_dir(root.path());
    for (file, test, benchmark) in [
        ("imb-pingpong-1.json", "pingpong", "PingPong"),
        ("imb-uniband-1.json", "bw", "Uniband"),
    ] {
        let doc = read_json(&dir.join(file));
        assert_eq!(doc["tool"]["name"], "imb", "{doc}");
        // IMB's own banner ("Intel(R) MPI Benchmarks 2021.10"); Intel MPI's version in the note.
        assert!(
            doc["tool"]["version"].as_str().unwrap().starts_with("20"),
            "{doc}"
        );
        assert!(
            doc["note"].as_str().unwrap().contains("under Intel MPI 20"),
            "{doc}"
        );
        assert_eq!(doc["test"], test);
        assert_eq!(doc["complete"], true, "{doc}");
        assert_eq!(doc["parameters"]["provider"], "tcp");
        assert_eq!(doc["parameters"]["api"], "tagged");
        let rows = doc["results"].as_array().unwrap();
        assert_eq!(row_sizes(&doc), [4, 1024], "{doc}");
        assert!(rows.iter().all(|r| r["iterations"] == 200), "{doc}");
        if test == "pingpong" {
            assert!(rows
                .iter()
                .all(|r| r["latency"]["mean_ns"].as_u64().unwrap() > 0));
        } else {
            assert!(rows.iter().all(|r| {
                r["bandwidth"]["average_bytes_per_sec"].as_u64().unwrap() > 0
                    && r["bandwidth"]["messages_per_sec"].as_u64().unwrap() > 0
            }));
        }
        // hydra in the server's host, rdmabench as its rsh bootstrap, each rank pinned to its
        // host's interface, over the test's provider and rdmabench's own libfabric.
        let command = doc["command_line"].as_str().unwrap();
        assert_eq!(
            command
                .matches("/mpiexec.hydra -genvnone -bootstrap rsh -bootstrap-exec ")
                .count(),
            2,
            "{command}"
        );
        let library = format!("I_MPI_OFI_LIBRARY={}", libfabric_file().display());
        let options = format!("IMB-MPI1 {benchmark} -msgsize 1024 -iter 200 -iter_policy off ");
        for part in [
            " -bootstrap-exec-args launch ",
            "FI_PROVIDER=tcp ",
            "I_MPI_FABRICS=ofi ",
            library.as_str(),
            " -env FI_TCP_IFACE ",
            options.as_str(),
        ] {
            assert!(command.contains(part), "{part}: {command}");
        }
        if command.contains("ip netns exec ") {
            // One rank in each namespace, each host with its own interface.
            assert!(
                command.contains("-n 1 -host 10.") && command.contains(" : -n 1 -host 10."),
                "{command}"
            );
            assert!(command.contains("RDMABENCH_LAUNCH_MAP="), "{command}");
        }
    }
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        report.contains("IMB src_c/IMB_pingpong.c"),
        "IMB PingPong's definition is in the report:\n{report}"
    );
}
