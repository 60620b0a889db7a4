//! The workspace's house plan, checked over `cargo metadata`: each crate depends only on crates
//! before it in `ORDER`, so data flows one way (the results schema and statistics at the bottom,
//! the binary at the top) and no crate that measures depends on one that presents.

use std::process::Command;

use serde_json::Value;

/// Bottom to top. A crate may depend on crates to its left only.
const ORDER: &[&str] = &[
    "rdmabench-stats",
    "rdmabench-results",
    "rdmabench-fabric",
    "rdmabench-engine",
    "rdmabench-report",
    "rdmabench-matrix",
    "rdmabench-infra",
    "rdmabench-image",
    "rdmabench-k8s",
    "rdmabench-pipeline",
    "rdmabench",
];

#[test]
fn every_crate_depends_only_on_crates_below_it() {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    let mut names: Vec<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    names.sort();
    let mut ordered = ORDER.to_vec();
    ordered.sort();
    assert_eq!(
        names, ordered,
        "a crate was added or removed: place it in ORDER"
    );
    let mut violations = Vec::new();
    for package in packages {
        let name = package["name"].as_str().unwrap();
        let level = ORDER.iter().position(|n| *n == name).unwrap();
        for dependency in package["dependencies"].as_array().unwrap() {
            // Normal and build dependencies; tests may reach further.
            if dependency["kind"].as_str() == Some("dev") {
                continue;
            }
            let dep = dependency["name"].as_str().unwrap();
            if let Some(dep_level) = ORDER.iter().position(|n| *n == dep) {
                if dep_level >= level {
                    violations.push(format!("{name} -> {dep}"));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "dependencies against the order {ORDER:?}: {violations:?}"
    );
}
