//! checkov (a static analyser for infrastructure code) with a reasoned skip list: a scan fails
//! on any finding not listed in the skip file, and on any listed skip that no longer fires on
//! every resource it names (a stale skip would silently cover a future regression). Shared by
//! path (`#[path]`) between the Terraform and the Kubernetes scans.

use std::collections::BTreeSet;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

/// A scan takes a few seconds here (checkov 3.3.30, 2 cores); this bound only guards a hang.
const CHECKOV_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SkipFile {
    #[serde(default)]
    skip: Vec<Skip>,
}

/// One accepted finding: a check, the resources it may fail on, and why that is acceptable.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Skip {
    id: String,
    resources: Vec<String>,
    reason: String,
}

/// One failed check, as checkov reports it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// Check id, e.g. CKV_K8S_16.
    pub id: String,
    /// The resource in the skip file's terms.
    pub resource: String,
    /// Which scanned variant (subdirectory) it came from.
    pub variant: String,
    /// The check's title.
    pub name: String,
    /// File and line range, for the report.
    pub location: String,
}

/// Reads and sanity-checks a skip file.
pub fn read_skips(path: &Path) -> Vec<Skip> {
    let text = std::fs::read_to_string(path)
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

/// Runs checkov's `framework` over `dir`, bounded by [`CHECKOV_TIMEOUT`], and returns the report
/// of that framework after checking that it parsed everything and passed at least `min_passed`
/// checks (so an empty scan cannot pass).
pub fn run_checkov(checkov: &Path, dir: &Path, framework: &str, min_passed: u64) -> Value {
    let mut child = Command::new(checkov)
        .arg("--directory")
        .arg(dir)
        .args([
            "--framework",
            framework,
            // Otherwise checkov fetches extra policies from its vendor's API (no network here,
            // and the scan must not depend on what that API serves today).
            "--skip-download",
            "--output",
            "json",
            "--compact",
            "--quiet",
            // Failed checks exit 0: the verdict is the test's, so a non-zero exit is an error.
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
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", checkov.display()));
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
    eprintln!("checkov ({framework}) scanned in {:.1?}", start.elapsed());
    assert!(
        status.success(),
        "checkov failed ({status}); stderr:\n{stderr}\nstdout:\n{stdout}"
    );
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("checkov printed no JSON report ({e}); stderr:\n{stderr}\nstdout:\n{stdout}")
    });
    // One framework gives an object, several a list of them.
    let reports: Vec<Value> = match report {
        Value::Array(list) => list,
        single => vec![single],
    };
    let report = reports
        .into_iter()
        .find(|r| r["check_type"] == framework)
        .unwrap_or_else(|| panic!("no {framework} results in checkov's report: {stdout}"));
    let summary = &report["summary"];
    assert_eq!(
        summary["parsing_errors"], 0,
        "checkov could not parse a file: {summary}"
    );
    assert!(
        summary["passed"].as_u64().unwrap_or(0) >= min_passed,
        "checkov passed too few checks to have read the files: {summary}"
    );
    report
}

/// The failed checks of a report, each named by `resource_of(check)`.
pub fn findings(report: &Value, resource_of: impl Fn(&Value, &str) -> String) -> Vec<Finding> {
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
            Finding {
                id: f["check_id"].as_str().unwrap_or("?").into(),
                resource: resource_of(f, &variant),
                name: f["check_name"].as_str().unwrap_or("?").into(),
                location: format!("{file} lines {}", f["file_line_range"]),
                variant,
            }
        })
        .collect();
    out.sort();
    out
}

/// Fails the test on findings not covered by `skips` and on skips that no longer fire; `fix_in`
/// says where findings should be fixed.
pub fn judge(findings: &[Finding], skips: &[Skip], skip_file: &Path, fix_in: &str) {
    for f in findings {
        eprintln!("{:<8} {:<12} {}", f.variant, f.id, f.resource);
    }
    let mut problems = String::new();
    for f in findings.iter().filter(|f| {
        !skips
            .iter()
            .any(|s| s.id == f.id && s.resources.contains(&f.resource))
    }) {
        problems.push_str(&format!(
            "NEW FINDING {} on {} ({} variant, {}): \"{}\"\n",
            f.id, f.resource, f.variant, f.location, f.name
        ));
    }
    for skip in skips {
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
        "\n{problems}\nFix new findings in {fix_in}, or list them with the reason they do not \
         apply in {}; remove stale skips from it.\n",
        skip_file.display()
    );
}
