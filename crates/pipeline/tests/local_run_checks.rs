//! The local run's checks through the pipeline's API: a suite that cannot run here is refused
//! before anything is made (no run directory, no network namespaces, no process), with the
//! test's name and the option check's own words. The runs themselves are measured end to end
//! through the binary (tests/run_cli.rs), which is the one that can start both ends.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use rdmabench_pipeline::local_run::{run_local, LocalRun, OptionsCheck};
use rdmabench_pipeline::{BoxError, HostsChoice, PipelineError, Suite};

fn suite(text: &str) -> Suite {
    Suite::from_toml(text, "test suite").unwrap()
}

/// Runs `suite` with `check` into a fresh results directory; returns the error and whether
/// the directory stayed empty.
fn refused(suite: &Suite, check: OptionsCheck) -> (String, bool) {
    let results = tempfile::tempdir().unwrap();
    let run = LocalRun {
        suite,
        suite_text: "",
        iters: None,
        repeat: 1,
        results_dir: results.path(),
        hosts: HostsChoice::Loopback,
        timeout: "5s",
        limit: Duration::from_secs(30),
        program: Path::new("/nonexistent/rdmabench").to_path_buf(),
    };
    let mut progress = Vec::new();
    let error = match run_local(
        &run,
        check,
        &Arc::new(AtomicBool::new(false)),
        &mut |line| progress.push(line.to_string()),
    ) {
        Err(error) => error,
        Ok(_) => panic!("the run was not refused"),
    };
    let empty = std::fs::read_dir(results.path()).unwrap().next().is_none();
    (chain(&error), empty && progress.is_empty())
}

fn chain(error: &PipelineError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[test]
fn shm_is_refused_before_anything_is_made() {
    let shm = suite(
        "name = \"s\"\n[[test]]\nname = \"same-host\"\nkind = \"pingpong\"\nsizes = \"4\"\ntransport = \"fabric\"\nprovider = \"shm\"\n",
    );
    let (error, untouched) = refused(&shm, &|_, _| Ok(()));
    assert!(
        error.contains("test 'same-host' uses provider shm, which crosses no network stack"),
        "{error}"
    );
    assert!(untouched);
}

#[test]
fn the_option_check_names_the_test_and_keeps_its_reason() {
    let two = suite(
        "name = \"s\"\n[[test]]\nname = \"first\"\nkind = \"pingpong\"\nsizes = \"4\"\n[[test]]\nname = \"second\"\nkind = \"bw\"\nsizes = \"4\"\n",
    );
    let checked = std::cell::RefCell::new(Vec::new());
    let check = |kind: &str, options: &[String]| -> Result<(), BoxError> {
        checked
            .borrow_mut()
            .push((kind.to_string(), options.to_vec()));
        if kind == "bw" {
            return Err("invalid bw options: --window 0".into());
        }
        Ok(())
    };
    let (error, untouched) = refused(&two, &check);
    assert_eq!(error, "test 'second': invalid bw options: --window 0");
    assert!(
        untouched,
        "nothing may be made before every test is checked"
    );
    // Both tests' options were checked as the two ends would get them.
    let checked = checked.borrow();
    assert_eq!(checked.len(), 2);
    assert!(
        checked[0].1.windows(2).any(|w| w == ["--sizes", "4"]),
        "{checked:?}"
    );
}
