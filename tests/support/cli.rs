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

/// Whether libfabric is usable here; panics when it must be (CI) and is not.
pub fn libfabric_available() -> bool {
    let ok = run(&["providers"]).status.success();
    if !ok {
        assert!(
            std::env::var_os("RDMABENCH_REQUIRE_LIBFABRIC").is_none(),
            "libfabric is required (RDMABENCH_REQUIRE_LIBFABRIC) but `rdmabench providers` failed"
        );
        eprintln!("skipping: libfabric not installed");
    }
    ok
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
