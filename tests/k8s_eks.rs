//! The Kubernetes layer on a real EKS cluster made by `rdmabench infra up`: ignored by default
//! (it costs money and needs AWS credentials); docs/real-cluster.md has the procedure.
//! Enabled with RDMABENCH_EKS_TEST=1 and `cargo test --test k8s_eks -- --ignored`, run from the
//! directory holding the stack's rdmabench.toml (or with RDMABENCH_EKS_CONFIG pointing at it).

use std::path::PathBuf;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

/// The stack's rdmabench.toml, once the runner has confirmed that the test may use (and pay
/// for) it.
fn confirmed_config() -> PathBuf {
    assert_eq!(
        std::env::var("RDMABENCH_EKS_TEST").as_deref(),
        Ok("1"),
        "set RDMABENCH_EKS_TEST=1 to confirm that this test may use the stack in rdmabench.toml"
    );
    std::env::var_os("RDMABENCH_EKS_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| "rdmabench.toml".into())
}

/// The one run directory a test's results directory holds.
fn only_run_dir(results: &std::path::Path) -> PathBuf {
    std::fs::read_dir(results)
        .unwrap()
        .next()
        .expect("a run directory")
        .unwrap()
        .path()
}

#[test]
#[ignore = "needs a real EKS stack: see docs/real-cluster.md"]
fn node_and_pod_mode_measure_over_efa_on_two_nodes() {
    let config = confirmed_config();
    let results = tempfile::tempdir().unwrap();
    let rdmabench = |args: &[&str]| {
        let out = Command::cargo_bin("rdmabench")
            .unwrap()
            .arg("k8s")
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "rdmabench k8s {args:?}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    rdmabench(&["deploy", "--timeout", "15m"]);
    rdmabench(&[
        "run",
        "--mode",
        "both",
        "--results-dir",
        results.path().to_str().unwrap(),
        "--",
        "--sizes",
        "4,64,4K",
        "--iters",
        "10k",
    ]);
    let run_dir = only_run_dir(results.path());
    for mode in ["node", "pod"] {
        let text =
            std::fs::read_to_string(run_dir.join(format!("pingpong-{mode}-1.json"))).unwrap();
        let results: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            results["fabric"]["provider"], "efa",
            "{mode} mode must use EFA"
        );
        assert_ne!(
            results["placement"]["server_node"], results["placement"]["client_node"],
            "{mode} mode: the ends must be on different nodes"
        );
        assert_eq!(results["endpoints"]["same_host"], false);
        assert_eq!(results["results"].as_array().unwrap().len(), 3);
    }
    let clean = rdmabench(&["clean"]);
    assert!(String::from_utf8_lossy(&clean.stdout).contains("deleted"));
}

#[test]
#[ignore = "needs a real EKS stack and its pushed image: see docs/real-cluster.md"]
fn the_reference_tools_run_beside_rdmabench_over_efa_in_both_modes() {
    let config = confirmed_config();
    let results = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("rdmabench")
        .unwrap()
        .args([
            "run",
            "--target",
            "eks",
            "--suite",
            "reference",
            "--iters",
            "10k",
            "--yes",
        ])
        .arg("--config")
        .arg(&config)
        .arg("--results-dir")
        .arg(results.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let run_dir = only_run_dir(results.path());
    for (test, tool) in [
        ("fi-pingpong", "fi_pingpong"),
        ("ib-send-lat", "perftest"),
        ("osu-latency", "osu"),
    ] {
        for mode in ["node", "pod"] {
            let path = run_dir.join(format!("{test}-{mode}-1.json"));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}\n{err}", path.display()));
            let results: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(results["tool"]["name"], tool, "{test} {mode}");
            assert_eq!(results["parameters"]["provider"], "efa", "{test} {mode}");
            assert!(results["complete"].as_bool().unwrap(), "{test} {mode}");
            assert_ne!(
                results["placement"]["server_node"], results["placement"]["client_node"],
                "{test} {mode}: the ends must be on different nodes"
            );
            assert!(
                tool != "perftest"
                    || results["command_line"]
                        .as_str()
                        .unwrap()
                        .contains(" -c SRD -x 0"),
                "perftest on EFA uses SRD and GID index 0: {}",
                results["command_line"]
            );
        }
    }
    let report = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(report.contains("What each tool's numbers mean"), "{report}");
}
