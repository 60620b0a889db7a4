//! The results file's JSON Schema (docs/results.schema.json): generated from the Rust types
//! the files are written from, kept in step with them, and checked against real results files
//! (measured here, over kernel TCP and libfabric, and imported) with Python's jsonschema, the
//! validator people will use on it.

#[path = "support/cli.rs"]
mod cli;
#[path = "support/tool.rs"]
mod tool;

use std::path::{Path, PathBuf};
use std::process::Command;

use cli::{libfabric_available, run, stderr};

/// The published schema, beside the docs that describe the fields.
fn published() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/results.schema.json")
}

/// The schema of what rdmabench writes (the serialize side: `quality` as written, not the
/// older shapes it still reads), pretty-printed with a trailing newline.
fn generated() -> String {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let mut schema = generator.into_root_schema_for::<rdmabench_results::ResultsFile>();
    schema.insert(
        "$id".into(),
        "https://github.com/rdmabench/rdmabench/docs/results.schema.json".into(),
    );
    schema.insert(
        "description".into(),
        format!(
            "One rdmabench results file, schema_version {} (rdmabench reads {} to {}). Generated from the Rust types by tests/results_schema.rs; do not edit.",
            rdmabench_results::SCHEMA_VERSION,
            rdmabench_results::OLDEST_SCHEMA_VERSION,
            rdmabench_results::SCHEMA_VERSION
        )
        .into(),
    );
    serde_json::to_string_pretty(&schema).unwrap() + "\n"
}

#[test]
fn the_published_schema_is_the_one_the_types_generate() {
    let generated = generated();
    if std::env::var_os("RDMABENCH_UPDATE_SCHEMA").is_some() {
        std::fs::write(published(), &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(published()).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/results.schema.json is not what the results types generate: the results layout changed. Bump SCHEMA_VERSION if it did, then regenerate with `RDMABENCH_UPDATE_SCHEMA=1 cargo test --test results_schema`"
    );
}

/// Results files of every kind rdmabench writes, measured or imported, into `dir`.
fn real_results_files(dir: &Path) -> Vec<PathBuf> {
    let mut runs: Vec<(&str, Vec<&str>)> = vec![
        (
            "pingpong-socket",
            vec!["pingpong", "--local", "--transport", "socket"],
        ),
        (
            "pingpong-precision",
            vec![
                "pingpong",
                "--local",
                "--transport",
                "socket",
                "--precision",
                "50%",
            ],
        ),
        (
            "pingpong-loop-timed",
            vec![
                "pingpong",
                "--local",
                "--transport",
                "socket",
                "--loop-timed",
            ],
        ),
        ("bw-socket", vec!["bw", "--local", "--transport", "socket"]),
    ];
    if libfabric_available() {
        runs.push((
            "pingpong-tcp",
            vec!["pingpong", "--local", "--provider", "tcp"],
        ));
        runs.push((
            "rma-tcp",
            vec!["rma", "--local", "--provider", "tcp", "--op", "write"],
        ));
    }
    let mut files = Vec::new();
    for (name, args) in runs {
        let file = dir.join(format!("{name}.json"));
        let mut args = args.clone();
        let path = file.to_str().unwrap().to_string();
        args.extend([
            "--sizes", "4,4K", "--iters", "600", "--format", "json", "--output", &path,
        ]);
        let out = run(&args);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        files.push(file);
    }
    let fixtures =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/report/tests/fixtures/import");
    for (name, fixture, tool) in [
        (
            "import-fi-pingpong",
            "fi_pingpong-1.17-tcp-rdm-all.txt",
            "fi-pingpong",
        ),
        ("import-perftest-bw", "perftest-ib_send_bw.txt", "perftest"),
        ("import-osu", "osu_latency-7.3.txt", "osu"),
    ] {
        let file = dir.join(format!("{name}.json"));
        let out = run(&[
            "import",
            fixtures.join(fixture).to_str().unwrap(),
            "--tool",
            tool,
            "--output",
            file.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        files.push(file);
    }
    files
}

#[test]
fn real_results_files_validate_against_the_published_schema() {
    // kubernetes-validate's venv carries jsonschema (pinned in its requirements file).
    let Some(validate) = tool::external_tool(
        "RDMABENCH_KUBERNETES_VALIDATE",
        "RDMABENCH_REQUIRE_KUBERNETES_VALIDATE",
        "kubernetes-validate",
        "kubernetes-validate",
    ) else {
        return;
    };
    let python = validate.with_file_name("python");
    let dir = tempfile::tempdir().unwrap();
    let files = real_results_files(dir.path());
    let check = |schema: &Path, file: &Path| {
        Command::new(&python)
            .args([
                "-c",
                "import json, sys, jsonschema\n\
                 schema = json.load(open(sys.argv[1]))\n\
                 jsonschema.Draft202012Validator.check_schema(schema)\n\
                 errors = list(jsonschema.Draft202012Validator(schema).iter_errors(json.load(open(sys.argv[2]))))\n\
                 for e in errors: print(list(e.absolute_path), e.message)\n\
                 sys.exit(1 if errors else 0)",
            ])
            .arg(schema)
            .arg(file)
            .output()
            .unwrap()
    };
    for file in &files {
        let out = check(&published(), file);
        assert!(
            out.status.success(),
            "{} does not match docs/results.schema.json:\n{}{}",
            file.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The check can fail: a file with a field of the wrong type is refused.
    let mut broken: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    broken["results"][0]["latency"]["mean_ns"] = "fast".into();
    let broken_file = dir.path().join("broken.json");
    std::fs::write(&broken_file, broken.to_string()).unwrap();
    let out = check(&published(), &broken_file);
    assert!(!out.status.success(), "a string mean_ns passed the schema");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("mean_ns"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
