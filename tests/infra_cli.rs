//! `rdmabench init` and `rdmabench infra synth|instance-types` as a user runs them.

use std::process::{Command, Output};

fn run(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rdmabench"))
        .args(args)
        .current_dir(dir)
        .env("RDMABENCH_STATE_DIR", dir.join("state"))
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn init_then_synth_writes_reviewable_terraform() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["init", "--public-cidr", "203.0.113.7/32"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(dir.path().join("rdmabench.toml")).unwrap();
    assert!(text.contains("instance_type = \"m7g.16xlarge\"") && text.contains("203.0.113.7/32"));

    let again = run(dir.path(), &["init"]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("already exists"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("rdmabench.toml")).unwrap(),
        text
    );

    let out = run(dir.path(), &["infra", "synth", "--out", "tf"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "tf");
    let main: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("tf/main.tf.json")).unwrap())
            .unwrap();
    assert_eq!(
        main["resource"]["aws_eks_node_group"]["efa"]["scaling_config"]["desired_size"],
        2
    );
    assert!(dir.path().join("tf/versions.tf.json").exists());

    let out = run(dir.path(), &["infra", "synth"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir
        .path()
        .join("state/rdmabench/terraform/main.tf.json")
        .exists());
}

#[test]
fn bad_configurations_name_the_setting_and_write_nothing() {
    let cases = [
        (
            "[nodes]\ninstance_type = \"t3.micro\"\n",
            "nodes.instance_type",
        ),
        ("[nodes]\ncount = 1\n", "nodes.count"),
        (
            "[network]\nvpc_cidr = \"10.0.0.0/33\"\n",
            "network.vpc_cidr",
        ),
        (
            "name = \"x\"\n[cluster]\npublic_endpoint = true\n",
            "cluster.public_access_cidrs",
        ),
        ("colour = \"blue\"\n", "unknown field"),
    ];
    for (body, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from(body);
        if !body.contains("[cluster]") {
            text.push_str("[cluster]\npublic_access_cidrs = [\"203.0.113.7/32\"]\n");
        }
        std::fs::write(dir.path().join("rdmabench.toml"), text).unwrap();
        let out = run(dir.path(), &["infra", "synth", "--out", "tf"]);
        assert!(!out.status.success(), "{body}");
        assert!(stderr(&out).contains(expected), "{body}: {}", stderr(&out));
        assert!(stderr(&out).contains("rdmabench.toml"), "{}", stderr(&out));
        assert!(!dir.path().join("tf").exists(), "nothing may be written");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["infra", "synth"]);
    assert!(stderr(&out).contains("rdmabench init"), "{}", stderr(&out));
}

#[test]
fn instance_types_lists_efa_interfaces() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["infra", "instance-types"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let p5 = text.lines().find(|l| l.starts_with("p5.48xlarge")).unwrap();
    assert!(
        p5.contains(" 32 ") && p5.contains("AL2023_x86_64_NVIDIA"),
        "{p5}"
    );
}
