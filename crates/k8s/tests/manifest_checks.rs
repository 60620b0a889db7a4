//! The rendered manifests checked by the tools a platform team would run on them: the
//! Kubernetes API schema (kubernetes-validate --strict, offline) for the oldest and the default
//! supported version, and checkov's Kubernetes policies with a reasoned skip list
//! (`checkov-skips.toml` beside this crate's Cargo.toml): the node-mode runner's privilege and
//! host namespaces are expected findings; the device plugin must pass without privilege.

#[path = "../../../tests/support/checkov.rs"]
mod checkov;
#[path = "../../../tests/support/tool.rs"]
mod tool;

use std::path::{Path, PathBuf};
use std::process::Command;

use rdmabench_infra::instances::lookup;
use rdmabench_infra::{EfaDevices, StackConfig};
use rdmabench_k8s::manifests::{agent_pod, coordinator_pod, BenchSpec, Bundle, Mode};

/// The oldest Kubernetes version every variant is checked against; the DRA variant needs the
/// resource.k8s.io/v1 API of 1.34.
const OLDEST: &str = "1.31";
const OLDEST_WITH_DRA: &str = "1.34";

/// Every shape of manifest: one EFA interface with hugepages (the default nodes), two without
/// hugepages, 32 on a GPU node, and two through the EFA DRA driver; each with the oldest
/// Kubernetes version it must validate against.
fn variants() -> Vec<(&'static str, String, &'static str)> {
    [
        ("default", "m7g.16xlarge", 2048, EfaDevices::DevicePlugin),
        ("c6in-nohuge", "c6in.32xlarge", 0, EfaDevices::DevicePlugin),
        ("p5", "p5.48xlarge", 4096, EfaDevices::DevicePlugin),
        ("c6in-dra", "c6in.32xlarge", 2048, EfaDevices::Dra),
    ]
    .into_iter()
    .map(|(name, instance, hugepages_2mi, efa_devices)| {
        let spec = BenchSpec {
            namespace: "rdmabench".into(),
            image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/rdmabench-demo:0.1.0-abc1234"
                .into(),
            region: "us-east-1".into(),
            instance: lookup(instance).unwrap(),
            hugepages_2mi,
            port: 18515,
            test: "pingpong".into(),
            bench_args: vec!["--provider".into(), "efa".into()],
            deadline_seconds: 1800,
            launcher: false,
            efa_devices,
        };
        let mut yaml = Bundle::new(&spec, &[Mode::Node, Mode::Pod])
            .to_yaml()
            .unwrap();
        yaml.push_str(&matrix_yaml(&spec));
        let oldest = match efa_devices {
            EfaDevices::DevicePlugin => OLDEST,
            EfaDevices::Dra => OLDEST_WITH_DRA,
        };
        (name, yaml, oldest)
    })
    .chain(std::iter::once(("mpi", mpi_yaml(), OLDEST)))
    .collect()
}

/// An MPI tool's run: the client pods get the launcher's service account, and the Role that
/// lets them exec into the server pod comes with them.
fn mpi_yaml() -> String {
    let spec = BenchSpec {
        namespace: "rdmabench".into(),
        image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/rdmabench-demo:0.1.0-abc1234".into(),
        region: "us-east-1".into(),
        instance: lookup("m7g.16xlarge").unwrap(),
        hugepages_2mi: 2048,
        port: 18515,
        test: "tool".into(),
        bench_args: ["--tool", "NPopenmpi", "--provider", "efa"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        deadline_seconds: 1800,
        launcher: true,
        efa_devices: EfaDevices::DevicePlugin,
    };
    Bundle::new(&spec, &[Mode::Node, Mode::Pod])
        .to_yaml()
        .unwrap()
}

/// What `k8s matrix` applies in each mode for a two-node matrix: an agent per node and the
/// coordinator.
fn matrix_yaml(spec: &BenchSpec) -> String {
    let agent = BenchSpec {
        test: "agent".into(),
        bench_args: vec!["--idle-timeout".into(), "2100s".into()],
        ..spec.clone()
    };
    let coordinator = BenchSpec {
        test: "matrix".into(),
        bench_args: vec![
            "192.0.2.1:18515".into(),
            "192.0.2.2:18515".into(),
            "--provider".into(),
            "efa".into(),
        ],
        ..spec.clone()
    };
    let mut yaml = String::new();
    for mode in [Mode::Node, Mode::Pod] {
        let pods = [
            agent_pod(&agent, mode, 0, "node-a"),
            agent_pod(&agent, mode, 1, "node-b"),
            coordinator_pod(&coordinator, mode),
        ];
        for pod in pods {
            yaml.push_str("---\n");
            yaml.push_str(&serde_saphyr::to_string(&pod).unwrap());
        }
    }
    yaml
}

/// Each variant written to its own directory, with the oldest version it must validate on.
fn write_variants(dir: &Path) -> Vec<(PathBuf, &'static str)> {
    variants()
        .into_iter()
        .map(|(name, yaml, oldest)| {
            let path = dir.join(name).join("manifests.yaml");
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, yaml).unwrap();
            (path, oldest)
        })
        .collect()
}

#[test]
fn manifests_are_valid_for_the_supported_kubernetes_versions() {
    let Some(validate) = tool::external_tool(
        "RDMABENCH_KUBERNETES_VALIDATE",
        "RDMABENCH_REQUIRE_KUBERNETES_VALIDATE",
        "kubernetes-validate",
        "kubernetes-validate",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let files = write_variants(dir.path());
    let default_version = StackConfig::default().cluster.kubernetes_version;
    for (file, oldest) in &files {
        for version in [*oldest, default_version.as_str()] {
            let out = Command::new(&validate)
                .args(["--strict", "--kubernetes-version", &format!("{version}.0")])
                .arg(file)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{} on Kubernetes {version}:\n{stdout}{}",
                file.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            // Every document of the file was read and validated.
            let documents = std::fs::read_to_string(file)
                .unwrap()
                .matches("---\n")
                .count();
            assert_eq!(stdout.matches("INFO").count(), documents, "{stdout}");
        }
    }
    // The DRA variant's objects do not exist before 1.34, and the validator knows it.
    let (dra, _) = files
        .iter()
        .find(|(_, oldest)| *oldest == OLDEST_WITH_DRA)
        .unwrap();
    let out = Command::new(&validate)
        .args(["--strict", "--kubernetes-version", "1.33.0"])
        .arg(dra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    for kind in ["DeviceClass", "ResourceClaimTemplate"] {
        assert!(
            stdout.contains(&format!(
                "Couldn't find schema for kind {kind} with api version resource.k8s.io/v1 for kubernetes version 1.33"
            )),
            "{stdout}"
        );
    }
    // The validator must be able to fail: an unknown field is rejected under --strict.
    let broken = dir.path().join("broken.yaml");
    let text = std::fs::read_to_string(&files[0].0).unwrap();
    std::fs::write(
        &broken,
        text.replacen("restartPolicy:", "restartPolicyy:", 1),
    )
    .unwrap();
    let out = Command::new(&validate)
        .args([
            "--strict",
            "--kubernetes-version",
            &format!("{default_version}.0"),
        ])
        .arg(&broken)
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn checkov_finds_nothing_beyond_the_reasoned_skips() {
    let skip_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("checkov-skips.toml");
    let skips = checkov::read_skips(&skip_file);
    let Some(checkov_bin) = tool::external_tool(
        "RDMABENCH_CHECKOV",
        "RDMABENCH_REQUIRE_CHECKOV",
        "checkov",
        "checkov",
    ) else {
        return;
    };
    // checkov's Kubernetes scanner ignores files under hidden directories, and tempdir names
    // start with a dot by default.
    let dir = tempfile::Builder::new()
        .prefix("rdmabench-checkov-")
        .tempdir()
        .unwrap();
    write_variants(dir.path());
    let report = checkov::run_checkov(&checkov_bin, dir.path(), "kubernetes", 100);
    let findings = checkov::findings(&report, |check, _| {
        check["resource"].as_str().unwrap_or("?").to_string()
    });
    checkov::judge(&findings, &skips, &skip_file, "crates/k8s/src/manifests");
}
