//! End-to-end tests of `rdmabench tools`: what is found on PATH, the version each tool (or its
//! package) reports, what provides a missing one, and a bounded wait for a tool that hangs; and
//! of `rdmabench tool`, the two ends of fi_pingpong as the cluster runs them (over loopback).
//! The reference tools CI installs (libfabric-bin, perftest, openmpi-bin, netpipe-openmpi) are
//! required to be found when RDMABENCH_REQUIRE_REFERENCE_TOOLS is set.

#[path = "support/cli.rs"]
mod cli;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use cli::{bin, json, stderr};
use serde_json::Value;

fn script(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn tools(path: &std::ffi::OsStr) -> Value {
    let out = bin()
        .args(["tools", "--format", "json"])
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    json(&out)
}

fn tool<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not listed: {doc}"))
}

#[test]
fn versions_come_from_each_tool_and_missing_tools_name_their_package() {
    let dir = tempfile::tempdir().unwrap();
    // What the real tools print (fi_info prefixes its own path, as Debian's 1.17 does).
    script(dir.path(), "fi_pingpong", "exit 0");
    script(
        dir.path(),
        "fi_info",
        "echo \"$0: 9.9.9\"; echo 'libfabric: 9.9.9'",
    );
    script(dir.path(), "ib_send_lat", "echo 'Version: 7.1'");
    script(
        dir.path(),
        "mpirun",
        "echo 'mpirun (Open MPI) 5.0.1'; echo; echo 'Report bugs'",
    );
    script(dir.path(), "NPopenmpi", "exit 1");
    // A tool that hangs on --version must not hang the listing.
    script(dir.path(), "ib_write_bw", "exec /bin/sleep 60");
    // OSU as the rdmabench image installs it: built from source under a prefix with a VERSION.
    let osu_prefix = tempfile::tempdir().unwrap();
    let osu_bin = osu_prefix.path().join("bin");
    std::fs::create_dir(&osu_bin).unwrap();
    script(&osu_bin, "osu_bw", "exit 0");
    std::fs::write(osu_prefix.path().join("VERSION"), "7.5\n").unwrap();
    let path = std::env::join_paths([dir.path(), osu_bin.as_path()]).unwrap();
    let started = Instant::now();
    let doc = tools(&path);
    // The hanging probe is given up after its limit (5 s), not waited for.
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(30),
        "{took:?}"
    );
    assert_eq!(doc["kind"], "rdmabench-tools");
    assert_eq!(tool(&doc, "fi_pingpong")["version"], "9.9.9");
    assert_eq!(tool(&doc, "ib_send_lat")["version"], "7.1");
    assert_eq!(tool(&doc, "ib_send_lat")["version_source"], "tool");
    assert_eq!(tool(&doc, "mpirun")["version"], "5.0.1");
    // Found, but neither it nor a package manager (none on this PATH) tells a version.
    let netpipe = tool(&doc, "NPopenmpi");
    assert!(netpipe["path"].as_str().unwrap().ends_with("/NPopenmpi"));
    assert!(netpipe["version"].is_null());
    assert!(tool(&doc, "ib_write_bw")["version"].is_null());
    assert_eq!(tool(&doc, "osu_bw")["version"], "7.5");
    let osu = tool(&doc, "osu_latency");
    assert!(osu["path"].is_null());
    assert!(
        osu["provided_by"].as_str().unwrap().contains("OSU"),
        "{osu}"
    );
    let imb = tool(&doc, "IMB-MPI1");
    assert!(imb["path"].is_null());
    assert_eq!(imb["provided_by"], "impi-rt (PyPI), Intel MPI", "{imb}");

    let out = bin().arg("tools").env("PATH", dir.path()).output().unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("not installed: perftest") && table.contains("not installed: OSU"),
        "{table}"
    );
}

#[test]
fn the_installed_reference_tools_are_found_with_their_versions() {
    let doc = tools(&std::env::var_os("PATH").unwrap_or_default());
    let required = std::env::var_os("RDMABENCH_REQUIRE_REFERENCE_TOOLS").is_some();
    // CI puts impi-rt's bin (IMB-MPI1, mpiexec.hydra) at the end of PATH.
    for name in [
        "fi_pingpong",
        "ib_send_lat",
        "NPopenmpi",
        "mpirun",
        "IMB-MPI1",
        "mpiexec.hydra",
    ] {
        let entry = tool(&doc, name);
        if entry["path"].is_null() {
            assert!(
                !required,
                "{name} is required (RDMABENCH_REQUIRE_REFERENCE_TOOLS): {entry}"
            );
            eprintln!("skipping {name}: not installed");
            continue;
        }
        assert!(
            entry["version"].as_str().is_some_and(|v| !v.is_empty()),
            "{name} has no version: {entry}"
        );
    }
    // IMB's version is its own banner's ("Intel(R) MPI Benchmarks 2021.10", printed only with
    // Intel MPI's libraries found), Intel MPI's its launcher's ("Version 2021.17 Build ...").
    for (name, shape) in [("IMB-MPI1", "20"), ("mpiexec.hydra", " Build ")] {
        let entry = tool(&doc, name);
        if let Some(version) = entry["version"].as_str() {
            assert!(version.contains(shape), "{name}: {entry}");
            assert_eq!(entry["version_source"], "tool", "{entry}");
        }
    }
}

/// Whether `program` is on PATH.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

#[test]
fn tool_ends_run_fi_pingpong_between_two_processes_and_the_client_waits_for_the_server() {
    if !cli::libfabric_available() || !on_path("fi_pingpong") {
        assert!(std::env::var_os("RDMABENCH_REQUIRE_REFERENCE_TOOLS").is_none());
        return;
    }
    let port = cli::free_port().to_string();
    let common = [
        "--tool",
        "fi_pingpong",
        "--provider",
        "tcp",
        "--port",
        &port,
        "--sizes",
        "4,12000",
        "--iters",
        "1500",
        "--verify",
    ];
    // The client first: it keeps starting again until the server listens (fi_pingpong itself
    // gives up at once). Loopback only: the provider is pinned to lo.
    let client = bin()
        .args(["tool", "127.0.0.1"])
        .args(common)
        .env("FI_TCP_IFACE", "lo")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let server = bin()
        .args(["tool", "--server"])
        .args(common)
        .env("FI_TCP_IFACE", "lo")
        .output()
        .unwrap();
    let client = client.wait_with_output().unwrap();
    assert!(server.status.success(), "{}", stderr(&server));
    assert!(client.status.success(), "{}", stderr(&client));
    let doc = json(&client);
    assert_eq!(doc["tool"]["name"], "fi_pingpong");
    assert_eq!(doc["test"], "pingpong");
    let rows = doc["results"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    // fi_pingpong prints 12000 B as "11k" and 1500 round trips as "1k": the results hold the
    // -S and -I rdmabench passed, and only the time stays as printed (to 10 ms), marked.
    assert_eq!(rows[1]["size_bytes"], 12000);
    for row in rows {
        assert_eq!(row["iterations"], 1500, "{row}");
        assert_eq!(row["rounded"], serde_json::json!(["total_ns"]), "{row}");
    }
    let next = (port.parse::<u16>().unwrap() + 1).to_string();
    let command = doc["command_line"].as_str().unwrap();
    assert!(
        command.contains(&format!("-I 1500 -S 4 -c -P {port} 127.0.0.1"))
            && command.contains(&format!("-I 1500 -S 12000 -c -P {next} 127.0.0.1")),
        "one port per size: {command}"
    );
}

#[test]
fn tool_ends_refuse_what_the_tool_cannot_do() {
    for (args, expected) in [
        (
            &["tool", "--server", "--tool", "iperf3"][..],
            "--tool iperf3: use one of fi_pingpong, ib_send_lat",
        ),
        (
            &["tool", "--server", "--tool", "NPopenmpi", "--warmup", "10"][..],
            "--warmup: NPopenmpi has no warm-up option",
        ),
        (
            &["tool", "--server", "--tool", "IMB-Uniband"][..],
            "--tool IMB-Uniband: IMB runs under Intel MPI on the local target only",
        ),
        (
            &[
                "tool",
                "--server",
                "--tool",
                "fi_pingpong",
                "--mpi-network",
                "lo",
            ][..],
            "--server-pod and --mpi-network belong to the MPI tools",
        ),
        (
            &[
                "tool",
                "127.0.0.1",
                "--tool",
                "osu_latency",
                "--server-pod",
                "a/b",
            ][..],
            "--server-pod a/b: expected NAMESPACE/POD/CONTAINER",
        ),
        (
            &["tool", "--server", "--tool", "ib_send_lat", "--verify"][..],
            "--verify: ib_send_lat has no data check",
        ),
        (
            &[
                "tool",
                "--server",
                "--tool",
                "fi_pingpong",
                "--bind",
                "127.0.0.1",
            ][..],
            "fi_pingpong listens on every address",
        ),
        (
            &[
                "tool",
                "--server",
                "--tool",
                "fi_pingpong",
                "--sizes",
                "4,x",
            ][..],
            "--sizes",
        ),
    ] {
        cli::assert_refused(args, expected);
    }
    if on_path("ib_send_lat") {
        cli::assert_refused(
            &[
                "tool",
                "--server",
                "--tool",
                "ib_send_lat",
                "--provider",
                "tcp",
            ],
            "ib_send_lat runs on RDMA devices: provider efa (SRD) or verbs, not tcp",
        );
    }
}

/// `--format csv` is CSV, one row per tool, not the aligned table it used to print.
#[test]
fn the_listing_as_csv_has_a_row_per_tool() {
    let out = bin().args(["tools", "--format", "csv"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("tool,version,path,measures"), "{text}");
    let listed = tools(&std::env::var_os("PATH").unwrap_or_default());
    assert_eq!(
        lines.count(),
        listed["tools"].as_array().unwrap().len(),
        "{text}"
    );
}
