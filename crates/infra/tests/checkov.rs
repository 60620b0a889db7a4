//! checkov (a static analyser for infrastructure code) over the synthesized stack. Findings worth
//! fixing are fixed in `src/synth`; the others are listed in `checkov-skips.toml`, each with the
//! resources it covers and the reason it does not apply. This test fails on any finding not
//! listed there, and on any listed skip that no longer fires on every resource it names (a stale
//! skip would silently cover a future regression).
//!
//! checkov lives in its own Python venv: `scripts/python-venv checkov
//! tests/support/requirements-checkov.txt` prints the venv's bin directory; point
//! `RDMABENCH_CHECKOV` at the `checkov` executable in it. Without that variable the test is
//! skipped with a note, unless `RDMABENCH_REQUIRE_CHECKOV=1` (as `scripts/test` sets), which turns
//! the skip into a failure.

#[path = "../../../tests/support/checkov.rs"]
mod checkov;
#[path = "../../../tests/support/tool.rs"]
mod tool;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rdmabench_infra::{synthesize, StackConfig};
use serde_json::Value;

const CREATED_AT: &str = "2026-11-25T08:00:00Z";

/// The skip file, beside this crate's Cargo.toml.
fn skip_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("checkov-skips.toml")
}

/// The configurations scanned, between them every block the synthesis can emit.
fn variants(key_dir: &Path) -> Vec<(&'static str, StackConfig)> {
    let base = |instance_type: &str| {
        let mut config = StackConfig::default();
        config.nodes.instance_type = instance_type.into();
        config.owner = "platform-team".into();
        // A documentation address (RFC 5737), never contacted.
        config.cluster.public_access_cidrs = vec!["203.0.113.7/32".into()];
        config
    };
    // The default instance type (arm64, one EFA card), public endpoint for one address, zones
    // looked up.
    let default = base("m7g.16xlarge");
    // 32 EFA cards and the NVIDIA AMI.
    let p5 = base("p5.48xlarge");
    // Private API endpoint only, configured zones, and the optional SSH key and capacity
    // reservation.
    let mut private = base("c6in.32xlarge");
    private.cluster.public_endpoint = false;
    private.cluster.public_access_cidrs.clear();
    private.network.availability_zones = vec!["us-east-1b".into(), "us-east-1c".into()];
    private.nodes.capacity_reservation_id = Some("cr-0123456789abcdef0".into());
    let key = key_dir.join("id_ed25519.pub");
    std::fs::write(
        &key,
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvXhPlUw0vVJ7mJ2bbTHW9Zfiib1LLcF3q9zyT4d1/a test\n",
    )
    .unwrap();
    private.nodes.ssh_public_key_path = Some(key.to_str().unwrap().into());
    vec![("default", default), ("p5", p5), ("private", private)]
}

/// Maps the line where each resource and data source starts in a pretty-printed `main.tf.json`
/// to its Terraform address. checkov's terraform_json scanner names resources `resource.<name>`
/// without their type (only its graph checks give full addresses), so the address is recovered
/// from the line range checkov reports.
fn addresses_by_line(text: &str) -> BTreeMap<usize, String> {
    let key = |line: &str, indent: usize| -> Option<String> {
        let rest = line.strip_prefix(&" ".repeat(indent))?;
        let rest = rest.strip_prefix('"')?.strip_suffix("\": {")?;
        (!rest.contains('"')).then(|| rest.to_string())
    };
    let (mut block, mut kind) = (String::new(), String::new());
    let mut out = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        if let Some(k) = key(line, 2) {
            block = k;
        } else if let Some(k) = key(line, 4) {
            kind = k;
        } else if let Some(name) = key(line, 6) {
            match block.as_str() {
                "resource" => out.insert(index + 1, format!("{kind}.{name}")),
                "data" => out.insert(index + 1, format!("data.{kind}.{name}")),
                _ => None,
            };
        }
    }
    out
}

/// checkov's terraform_json scanner names resources `resource.<name>` without their type; the
/// address is recovered from the line where the reported range starts.
fn address(
    check: &Value,
    addresses: &BTreeMap<String, BTreeMap<usize, String>>,
    variant: &str,
) -> String {
    check["file_line_range"][0]
        .as_u64()
        .and_then(|start| addresses.get(variant)?.get(&(start as usize)))
        .cloned()
        .unwrap_or_else(|| check["resource"].as_str().unwrap_or("?").to_string())
}

#[test]
fn checkov_finds_nothing_beyond_the_reasoned_skips() {
    let skips = checkov::read_skips(&skip_file());
    let Some(checkov_bin) = tool::external_tool(
        "RDMABENCH_CHECKOV",
        "RDMABENCH_REQUIRE_CHECKOV",
        "checkov",
        "checkov",
    ) else {
        return;
    };

    let dir = tempfile::tempdir().unwrap();
    let variants = variants(dir.path());
    let scan = dir.path().join("scan");
    let mut addresses = BTreeMap::new();
    for (name, config) in &variants {
        let stack = synthesize(config, CREATED_AT).unwrap();
        // checkov cannot parse the `terraform {}` block (it reports a parsing error), which is
        // why the synthesis keeps it alone in versions.tf.json; only main.tf.json is scanned,
        // so nothing else may ever go into versions.tf.json.
        let keys: Vec<&String> = stack.versions.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["terraform"],
            "versions.tf.json holds only the terraform block"
        );
        let out = dir.path().join("stacks").join(name);
        stack.write_to(&out).unwrap();
        std::fs::create_dir_all(scan.join(name)).unwrap();
        std::fs::copy(
            out.join("main.tf.json"),
            scan.join(name).join("main.tf.json"),
        )
        .unwrap();
        let text = std::fs::read_to_string(out.join("main.tf.json")).unwrap();
        addresses.insert(name.to_string(), addresses_by_line(&text));
    }
    let report = checkov::run_checkov(
        &checkov_bin,
        &scan,
        "terraform_json",
        30 * variants.len() as u64,
    );
    let findings = checkov::findings(&report, |check, variant| {
        address(check, &addresses, variant)
    });
    checkov::judge(&findings, &skips, &skip_file(), "crates/infra/src/synth");
}

#[test]
fn addresses_are_recovered_from_line_numbers() {
    let text = r#"{
  "data": {
    "aws_partition": {
      "current": {}
    },
    "aws_availability_zones": {
      "available": {
        "state": "available"
      }
    }
  },
  "resource": {
    "aws_vpc": {
      "main": {
        "tags": {
          "Name": "x"
        }
      }
    }
  }
}"#;
    let map = addresses_by_line(text);
    assert_eq!(
        map.into_iter().collect::<Vec<_>>(),
        [
            (7, "data.aws_availability_zones.available".to_string()),
            (14, "aws_vpc.main".to_string())
        ]
    );
}
