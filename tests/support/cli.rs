//! Running the rdmabench binary from integration tests: its output as text or JSON, whether
//! libfabric is usable, free loopback ports. Shared by path (`#[path]`) between test crates,
//! each of which uses only some of it.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Command, Output};

use serde_json::Value;

/// The binary under test.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rdmabench"))
}

/// Runs it to completion.
pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("rdmabench runs")
}

/// Its stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Its stdout as JSON, or a panic that shows both streams.
pub fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); stderr: {}; stdout: {}",
            stderr(out),
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Whether libfabric is usable here; panics when it must be (CI) and is not, or when it is
/// not the version the run expects (see `libfabric_version`).
pub fn libfabric_available() -> bool {
    libfabric_version().is_some()
}

/// The version ("1.17", "2.2") of the libfabric rdmabench loads here, None when there is none.
/// CI runs the engine's tests twice, on Debian's 1.17 and on libfabric 2.2 (scripts/test sets
/// RDMABENCH_LIBFABRIC and RDMABENCH_EXPECT_LIBFABRIC for the second pass): a library other than
/// the expected one fails the test, so the 2.2 pass can never quietly run on 1.17.
pub fn libfabric_version() -> Option<String> {
    let out = run(&["providers", "--format", "json"]);
    if !out.status.success() {
        assert!(
            std::env::var_os("RDMABENCH_REQUIRE_LIBFABRIC").is_none(),
            "libfabric is required (RDMABENCH_REQUIRE_LIBFABRIC) but `rdmabench providers` failed: {}",
            stderr(&out)
        );
        eprintln!("skipping: libfabric not installed");
        return None;
    }
    let version = json(&out)["libfabric"]["version"]
        .as_str()
        .expect("providers names the libfabric version")
        .to_string();
    if let Ok(expected) = std::env::var("RDMABENCH_EXPECT_LIBFABRIC") {
        assert_eq!(
            version, expected,
            "RDMABENCH_EXPECT_LIBFABRIC={expected} but rdmabench loaded libfabric {version}"
        );
    }
    Some(version)
}

/// The software providers with reliable-datagram endpoints that every libfabric of that major
/// version has: tcp, net and shm in 1.x; tcp and shm in 2.x, whose tcp is 1.x's net (2.0 retired
/// the old tcp and gave net its name). Empty without libfabric.
pub fn software_providers() -> Vec<&'static str> {
    match libfabric_version() {
        Some(v) if v.starts_with("1.") => vec!["tcp", "net", "shm"],
        Some(_) => vec!["tcp", "shm"],
        None => Vec::new(),
    }
}

/// The software providers that cross a network stack (software_providers without shm).
pub fn network_providers() -> Vec<&'static str> {
    software_providers()
        .into_iter()
        .filter(|p| *p != "shm")
        .collect()
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `args` and checks it was refused as a user must see it: a failure status, nothing on
/// stdout, and `expected` in the message.
pub fn assert_refused(args: &[&str], expected: &str) {
    let out = run(args);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(out.stdout.is_empty(), "{args:?} printed results");
    assert!(
        stderr(&out).contains(expected),
        "{args:?}: {}",
        stderr(&out)
    );
}
