//! `rdmabench init` and `rdmabench infra synth|instance-types|plan|outputs|status` as a user runs
//! them, without AWS.

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

/// Writes a valid configuration into `dir`.
fn configured(dir: &std::path::Path) {
    let out = run(dir, &["init", "--public-cidr", "203.0.113.7/32"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_missing_or_old_terraform_is_named_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    configured(dir.path());
    let with_terraform = |binary: &std::path::Path, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_rdmabench"))
            .args(args)
            .current_dir(dir.path())
            .env("RDMABENCH_STATE_DIR", dir.path().join("state"))
            .env("RDMABENCH_TERRAFORM", binary)
            .output()
            .unwrap()
    };
    for args in [
        &["infra", "plan"][..],
        &["infra", "up", "--yes"],
        &["infra", "down", "--yes"],
    ] {
        let out = with_terraform(&dir.path().join("no-such-terraform"), args);
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("terraform was not found"),
            "{}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("RDMABENCH_TERRAFORM"),
            "{}",
            stderr(&out)
        );
    }

    let old = dir.path().join("terraform-1.3");
    std::fs::write(&old, "#!/bin/sh\necho 'Terraform v1.3.9'\n").unwrap();
    std::fs::set_permissions(&old, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = with_terraform(&old, &["infra", "plan"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("v1.3.9") && stderr(&out).contains("1.5 or newer"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("state").exists(), "nothing may be written");
}

#[test]
fn up_rejects_a_bad_ttl_before_touching_aws() {
    let dir = tempfile::tempdir().unwrap();
    configured(dir.path());
    let out = run(dir.path(), &["infra", "up", "--yes", "--ttl", "2d"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--ttl 2d"), "{}", stderr(&out));
    assert!(!dir.path().join("state/rdmabench/stack.json").exists());
}

/// `infra status` with AWS unreachable: the live check must fail fast and be reported, not hang.
fn status_without_aws(dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rdmabench"))
        .args(["infra", "status"])
        .current_dir(dir)
        .env("RDMABENCH_STATE_DIR", dir.join("state"))
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap()
}

/// `infra status`'s exit code when it showed the local part but could not look in AWS.
const STATUS_UNCHECKED: i32 = 3;

#[test]
fn status_without_a_stack_says_so() {
    let dir = tempfile::tempdir().unwrap();
    configured(dir.path());
    let out = status_without_aws(dir.path());
    // Nothing recorded here, and AWS could not be asked: that proves nothing, so not 0.
    assert_eq!(
        out.status.code(),
        Some(STATUS_UNCHECKED),
        "{}",
        stderr(&out)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("created:  never"), "{text}");
    assert!(text.contains("in state: 0 resources"), "{text}");
    assert!(text.contains("tagged:   not checked"), "{text}");
    assert!(
        stderr(&out).contains("error: could not look for the stack in AWS: tag:GetResources"),
        "{}",
        stderr(&out)
    );
}

/// Runs `args` with no AWS credentials anywhere (environment, profile files under an empty
/// HOME, instance metadata) and a terraform that only logs how it was called.
fn without_credentials(dir: &std::path::Path, args: &[&str]) -> (Output, String) {
    let terraform = dir.join("terraform-log.sh");
    let log = dir.join("terraform.log");
    std::fs::write(
        &terraform,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\necho 'Terraform v1.9.8'\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &terraform,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_rdmabench"));
    command
        .args(args)
        .current_dir(dir)
        .env("RDMABENCH_STATE_DIR", dir.join("state"))
        .env("RDMABENCH_TERRAFORM", &terraform)
        .env("HOME", &home)
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") && name != "AWS_EC2_METADATA_DISABLED" {
            command.env_remove(name);
        }
    }
    let out = command.output().unwrap();
    (out, std::fs::read_to_string(&log).unwrap_or_default())
}

#[test]
fn no_credentials_are_said_once_before_terraform_runs() {
    let dir = tempfile::tempdir().unwrap();
    configured(dir.path());
    for args in [&["infra", "plan"][..], &["infra", "outputs"]] {
        let (out, terraform_calls) = without_credentials(dir.path(), args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let text = stderr(&out);
        assert_eq!(text.lines().count(), 1, "{args:?}: one message: {text}");
        assert!(
            text.starts_with("error: no AWS credentials found")
                && text.contains("AWS_PROFILE, `aws sso login`"),
            "{args:?}: {text}"
        );
        assert!(
            terraform_calls.lines().all(|call| call == "version"),
            "{args:?}: terraform must not run: {terraform_calls}"
        );
    }

    let (out, _) = without_credentials(dir.path(), &["infra", "status"]);
    assert_eq!(out.status.code(), Some(STATUS_UNCHECKED));
    assert!(String::from_utf8_lossy(&out.stdout).contains("tagged:   not checked"));
    assert!(
        stderr(&out).contains("could not look for the stack in AWS: no AWS credentials found"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_s3_state_backend_is_written_beside_the_stack() {
    let dir = tempfile::tempdir().unwrap();
    configured(dir.path());
    let config = dir.path().join("rdmabench.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    // [state] is the template's last section.
    std::fs::write(&config, format!("{text}s3_bucket = \"team-tf-state\"\n")).unwrap();
    let out = run(dir.path(), &["infra", "synth", "--out", "tf"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let backend: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("tf/backend.tf.json")).unwrap(),
    )
    .unwrap();
    let s3 = &backend["terraform"]["backend"]["s3"];
    assert_eq!(s3["bucket"], "team-tf-state");
    assert_eq!(s3["key"], "rdmabench/rdmabench.tfstate");
    assert_eq!(s3["use_lockfile"], true);
    assert_eq!(s3["encrypt"], true);

    // Back to local state: the backend file goes away.
    std::fs::write(&config, text).unwrap();
    let out = run(dir.path(), &["infra", "synth", "--out", "tf"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!dir.path().join("tf/backend.tf.json").exists());
}

#[test]
fn status_warns_when_the_ttl_is_exceeded_and_estimates_the_cost() {
    let dir = tempfile::tempdir().unwrap();
    configured(dir.path());
    let stack_dir = dir.path().join("state/rdmabench");
    std::fs::create_dir_all(&stack_dir).unwrap();
    let five_hours_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 5 * 3600;
    let record = serde_json::json!({
        "schema_version": 1,
        "created_at": "2026-01-01T00:00:00Z",
        "created_at_unix": five_hours_ago,
        "ttl_minutes": 240,
        "region": "us-east-1",
        "instance_type": "m7g.16xlarge",
        "node_count": 2,
        "usd_per_hour": 2.0,
        "price_complete": true
    });
    std::fs::write(stack_dir.join("stack.json"), record.to_string()).unwrap();
    let out = status_without_aws(dir.path());
    assert_eq!(
        out.status.code(),
        Some(STATUS_UNCHECKED),
        "{}",
        stderr(&out)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("(5h00m ago)"), "{text}");
    assert!(text.contains("ttl:      4h00m  EXCEEDED"), "{text}");
    assert!(
        text.contains("cost:     $10.00 so far at $2.00/h"),
        "{text}"
    );
    assert!(
        stderr(&out).contains("outlived its TTL"),
        "{}",
        stderr(&out)
    );
}
