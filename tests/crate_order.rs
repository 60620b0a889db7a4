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

/// The binary's modules (src/*.rs, src/<dir>/mod.rs) and the modules each names as `crate::x`.
fn binary_module_graph() -> std::collections::BTreeMap<String, Vec<String>> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap().flatten() {
        let path = entry.path();
        let (name, file) = if path.is_dir() {
            (
                entry.file_name().to_string_lossy().to_string(),
                path.join("mod.rs"),
            )
        } else if path.extension().is_some_and(|e| e == "rs") {
            let stem = path.file_stem().unwrap().to_string_lossy().to_string();
            (stem, path.clone())
        } else {
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        let mut uses: Vec<String> = text
            .split("crate::")
            .skip(1)
            .map(|rest| {
                rest.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect::<String>()
            })
            .filter(|used| *used != name)
            .collect();
        uses.sort();
        uses.dedup();
        graph.insert(name, uses);
    }
    graph
}

/// A module that (through others) uses itself: the chain, e.g. ["bench", "local", "bench"].
fn cycle(graph: &std::collections::BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &std::collections::BTreeMap<String, Vec<String>>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut chain = path[start..].to_vec();
            chain.push(node.to_string());
            return Some(chain);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(chain) = visit(next, graph, path, done) {
                return Some(chain);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = std::collections::BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_binarys_modules_form_no_cycle() {
    let graph = binary_module_graph();
    assert!(
        graph.contains_key("main") && graph.contains_key("cli"),
        "{graph:?}"
    );
    assert_eq!(cycle(&graph), None, "modules of src/ that use each other");
    // The check itself finds a cycle where there is one.
    let mut looped = graph.clone();
    looped.insert("output".into(), vec!["run".into()]);
    looped.insert("run".into(), vec!["output".into()]);
    assert!(cycle(&looped).is_some());
}
