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

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rdmabench_infra::{synthesize, StackConfig};
use serde::Deserialize;
use serde_json::Value;

const CREATED_AT: &str = "2026-11-25T08:00:00Z";

/// A scan of all variants takes about 3 s here (checkov 3.3.30, 2 cores); this bound only
/// guards against a hang.
const CHECKOV_TIMEOUT: Duration = Duration::from_secs(300);

const VENV_HINT: &str = "run `scripts/python-venv checkov tests/support/requirements-checkov.txt` \
     and set RDMABENCH_CHECKOV=<the bin directory it prints>/checkov";

/// The skip file, beside this crate's Cargo.toml.
fn skip_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("checkov-skips.toml")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SkipFile {
    #[serde(default)]
    skip: Vec<Skip>,
}

/// One accepted finding: a check, the resources it may fail on, and why that is acceptable.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Skip {
    id: String,
    /// Terraform addresses (`aws_subnet.public_0`, `data.aws_availability_zones.available`).
    resources: Vec<String>,
    reason: String,
}

impl Skip {
    fn covers(&self, finding: &Finding) -> bool {
        self.id == finding.id && self.resources.contains(&finding.resource)
    }
}

fn read_skips() -> Vec<Skip> {
    let path = skip_file();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let file: SkipFile =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut ids = BTreeSet::new();
    for skip in &file.skip {
        assert!(
            skip.id.starts_with("CKV")
                && !skip.resources.is_empty()
                && !skip.reason.trim().is_empty(),
            "{}: every skip names a check, the resources it covers and why: {skip:?}",
            path.display()
        );
        assert!(
            ids.insert(&skip.id),
            "{}: {} is listed twice; merge the entries",
            path.display(),
            skip.id
        );
    }
    file.skip
}

/// One failed check, as checkov reports it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Finding {
    id: String,
    /// Terraform address of the resource or data source.
    resource: String,
    variant: String,
    name: String,
    file: String,
    lines: String,
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

/// Where checkov is, or None when the scan is to be skipped.
fn checkov() -> Option<PathBuf> {
    let required = std::env::var_os("RDMABENCH_REQUIRE_CHECKOV").is_some_and(|v| v == "1");
    match std::env::var_os("RDMABENCH_CHECKOV") {
        Some(path) => {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "RDMABENCH_CHECKOV={} is not a file: {VENV_HINT}",
                path.display()
            );
            Some(path)
        }
        None => {
            assert!(
                !required,
                "RDMABENCH_REQUIRE_CHECKOV=1 but RDMABENCH_CHECKOV is not set: {VENV_HINT}"
            );
            eprintln!(
                "\n********\n* SKIPPING the checkov scan of the Terraform stack: RDMABENCH_CHECKOV \
                 is not set.\n* To run it: {VENV_HINT} (scripts/test does).\n********\n"
            );
            None
        }
    }
}

/// Runs checkov over `dir`, bounded by [`CHECKOV_TIMEOUT`], and returns its JSON report.
fn run_checkov(checkov: &Path, dir: &Path) -> Value {
    let mut child = Command::new(checkov)
        .arg("--directory")
        .arg(dir)
        .args([
            "--framework",
            "terraform_json",
            // Otherwise checkov fetches extra policies from its vendor's API (no network here,
            // and the scan must not depend on what that API serves today).
            "--skip-download",
            "--output",
            "json",
            "--compact",
            "--quiet",
            // Failed checks exit 0: the verdict is this test's, so a non-zero exit is an error.
            "--soft-fail",
        ])
        // Keeps whatever checkov caches out of the user's home directory.
        .env("HOME", dir)
        // Its own process group, so a timeout ends checkov's worker processes too.
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}; {VENV_HINT}", checkov.display()));
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > CHECKOV_TIMEOUT {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            // Not waiting for the output: a straggler may still hold the pipes open.
            panic!("checkov did not finish within {CHECKOV_TIMEOUT:?}: killed it");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    eprintln!("checkov scanned the stacks in {:.1?}", start.elapsed());
    assert!(
        status.success(),
        "checkov failed ({status}); stderr:\n{stderr}\nstdout:\n{stdout}"
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("checkov printed no JSON report ({e}); stderr:\n{stderr}\nstdout:\n{stdout}")
    })
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

/// The failed checks of a report, after making sure checkov parsed and checked the stacks.
fn findings(report: &Value, scan: &Path, variants: &[&str]) -> Vec<Finding> {
    // One framework gives an object, several a list of them.
    let reports: Vec<&Value> = match report {
        Value::Array(list) => list.iter().collect(),
        single => vec![single],
    };
    let report = reports
        .into_iter()
        .find(|r| r["check_type"] == "terraform_json")
        .unwrap_or_else(|| panic!("no terraform_json results in checkov's report: {report}"));
    let summary = &report["summary"];
    assert_eq!(
        summary["parsing_errors"], 0,
        "checkov could not parse a stack file: {summary}"
    );
    assert!(
        summary["passed"].as_u64().unwrap_or(0) >= 30 * variants.len() as u64,
        "checkov passed too few checks to have read the stacks: {summary}"
    );
    let addresses: BTreeMap<&str, BTreeMap<usize, String>> = variants
        .iter()
        .map(|v| {
            let text = std::fs::read_to_string(scan.join(v).join("main.tf.json")).unwrap();
            (*v, addresses_by_line(&text))
        })
        .collect();
    let failed = report["results"]["failed_checks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut out: Vec<Finding> = failed
        .iter()
        .map(|f| {
            let file = f["file_path"].as_str().unwrap_or("?").to_string();
            let variant = file
                .trim_start_matches('/')
                .split('/')
                .next()
                .unwrap_or("?")
                .to_string();
            let range: Vec<u64> = f["file_line_range"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default();
            let resource = range
                .first()
                .and_then(|start| addresses.get(variant.as_str())?.get(&(*start as usize)))
                .cloned()
                .unwrap_or_else(|| f["resource"].as_str().unwrap_or("?").to_string());
            Finding {
                id: f["check_id"].as_str().unwrap_or("?").into(),
                resource,
                variant,
                name: f["check_name"].as_str().unwrap_or("?").into(),
                file,
                lines: match range.as_slice() {
                    [a, b] => format!("{a}-{b}"),
                    _ => "?".into(),
                },
            }
        })
        .collect();
    out.sort();
    out
}

#[test]
fn checkov_finds_nothing_beyond_the_reasoned_skips() {
    let skips = read_skips();
    let Some(checkov) = checkov() else { return };

    let dir = tempfile::tempdir().unwrap();
    let variants = variants(dir.path());
    let scan = dir.path().join("scan");
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
    }
    let names: Vec<&str> = variants.iter().map(|(n, _)| *n).collect();
    let findings = findings(&run_checkov(&checkov, &scan), &scan, &names);
    for f in &findings {
        eprintln!("{:<8} {:<12} {}", f.variant, f.id, f.resource);
    }

    let mut problems = String::new();
    for f in findings
        .iter()
        .filter(|f| !skips.iter().any(|s| s.covers(f)))
    {
        problems.push_str(&format!(
            "NEW FINDING {} on {} ({} stack, {} lines {}): \"{}\"\n",
            f.id, f.resource, f.variant, f.file, f.lines, f.name
        ));
    }
    for skip in &skips {
        for resource in &skip.resources {
            if !findings
                .iter()
                .any(|f| f.id == skip.id && f.resource == *resource)
            {
                problems.push_str(&format!(
                    "STALE SKIP {} on {resource}: checkov does not report it on any variant\n",
                    skip.id
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "\n{problems}\nFix new findings in crates/infra/src/synth, or list them with the reason \
         they do not apply in {}; remove stale skips from it.\n",
        skip_file().display()
    );
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
