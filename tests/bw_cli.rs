//! End-to-end tests of `rdmabench bw`: windowed bandwidth over libfabric's software providers
//! and kernel TCP on 127.0.0.1, with every payload verified, and the bad input a user can give.
//!
//! Without libfabric the fabric cases skip, unless RDMABENCH_REQUIRE_LIBFABRIC is set (CI).

#[path = "support/cli.rs"]
mod cli;

use std::process::Stdio;
use std::time::Duration;

use cli::{assert_refused, bin, free_port, json, run, software_providers, stderr};
use serde_json::Value;

const SIZES: [u64; 3] = [4, 4096, 65536];

fn bw(transport: &[&str], extra: &[&str]) -> Value {
    let mut args = vec!["bw", "--local", "--sizes", "4,4K,64K", "--format", "json"];
    args.extend(transport);
    args.extend(extra);
    let out = run(&args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    json(&out)
}

/// Checks a complete bandwidth results file: a row per size with `messages` timed messages
/// per direction, figures that agree with each other, and no latency.
fn assert_bandwidth(doc: &Value, messages: u64, directions: u64) {
    assert_eq!(doc["schema_version"], rdmabench_results::SCHEMA_VERSION);
    assert_eq!(doc["test"], "bw");
    assert_eq!(doc["complete"], true, "{doc}");
    let rows = doc["results"].as_array().unwrap();
    assert_eq!(rows.len(), SIZES.len());
    for (row, size) in rows.iter().zip(SIZES) {
        assert_eq!(row["size_bytes"].as_u64().unwrap(), size);
        assert_eq!(row["iterations"].as_u64().unwrap(), messages, "{row}");
        assert!(row["latency"].is_null(), "{row}");
        let b = &row["bandwidth"];
        let average = b["average_bytes_per_sec"].as_u64().unwrap();
        let peak = b["peak_bytes_per_sec"].as_u64().unwrap();
        let rate = b["messages_per_sec"].as_u64().unwrap();
        let total = row["total_ns"].as_u64().unwrap();
        assert!(average > 0, "{row}");
        // The windows' times add up to the total, so the fastest is at least the average.
        assert!(peak + 1 >= average, "{row}");
        let expected_rate = (messages * directions) as f64 * 1e9 / total as f64;
        assert!(
            (rate as f64 - expected_rate).abs() <= 1.0 + expected_rate * 1e-9,
            "{row}"
        );
        let expected_average = expected_rate * size as f64;
        assert!(
            (average as f64 - expected_average).abs() <= size as f64 + 1.0,
            "{row}"
        );
    }
}

/// Every data path the bandwidth tests run over here: kernel TCP and libfabric's software
/// providers.
fn transports() -> Vec<Vec<&'static str>> {
    let mut transports: Vec<Vec<&str>> = vec![vec!["--transport", "socket"]];
    for provider in software_providers() {
        transports.push(vec!["--provider", provider]);
    }
    transports
}

#[test]
fn every_method_moves_verified_payloads_over_each_software_provider_and_kernel_tcp() {
    for method in ["osu", "fabtests", "perftest"] {
        for transport in transports() {
            let doc = bw(
                &transport,
                &[
                    "--iters", "256", "--window", "16", "--verify", "--method", method,
                ],
            );
            assert_bandwidth(&doc, 256, 1);
            let parameters = &doc["parameters"];
            assert_eq!(parameters["window"], 16, "{transport:?}");
            assert_eq!(parameters["method"], method, "{transport:?}");
            assert_eq!(parameters["bidirectional"], false);
            assert_eq!(parameters["verify"], true);
        }
    }
}

#[test]
fn bidirectional_runs_count_both_directions() {
    for method in ["osu", "perftest"] {
        for transport in transports() {
            let doc = bw(
                &transport,
                &[
                    "--iters",
                    "128",
                    "--window",
                    "8",
                    "--bidirectional",
                    "--verify",
                    "--method",
                    method,
                ],
            );
            assert_bandwidth(&doc, 128, 2);
            assert_eq!(doc["parameters"]["bidirectional"], true, "{transport:?}");
            assert_eq!(doc["parameters"]["method"], method, "{transport:?}");
        }
    }
}

#[test]
fn each_method_defaults_to_its_tools_window_and_fabtests_refuses_both_ways() {
    for (method, window) in [("osu", 64), ("fabtests", 64), ("perftest", 128)] {
        let doc = bw(
            &["--transport", "socket"],
            &["--iters", "256", "--method", method],
        );
        assert_eq!(doc["parameters"]["window"], window, "{method}");
    }
    assert_refused(
        &[
            "bw",
            "--local",
            "--transport",
            "socket",
            "--method",
            "fabtests",
            "--bidirectional",
        ],
        "--method fabtests measures one way",
    );
}

#[test]
fn messages_are_rounded_up_to_whole_windows() {
    let doc = bw(
        &["--transport", "socket"],
        &["--iters", "100", "--window", "16"],
    );
    assert_bandwidth(&doc, 112, 1);
}

#[test]
fn tables_show_perftest_columns_in_mb_or_gbit_per_second() {
    let base = [
        "bw",
        "--local",
        "--transport",
        "socket",
        "--sizes",
        "64K",
        "--iters",
        "64",
    ];
    let out = run(&base);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("BW peak [MB/s]") && table.contains("BW average [MB/s]"),
        "{table}"
    );
    assert!(
        table.contains("MsgRate [Mpps]") && table.contains("65536"),
        "{table}"
    );
    let mut gbits = base.to_vec();
    gbits.push("--gbits");
    let out = run(&gbits);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("BW average [Gbit/s]"), "{table}");
    assert!(!table.contains("MB/s]"), "{table}");
    let mut csv = base.to_vec();
    csv.extend(["--format", "csv"]);
    let out = run(&csv);
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert!(
        column("average_bytes_per_sec").parse::<u64>().unwrap() > 0,
        "{text}"
    );
    assert!(
        column("peak_bytes_per_sec").parse::<u64>().unwrap() > 0,
        "{text}"
    );
}

#[test]
fn repeated_runs_report_the_median_and_the_spread() {
    let out = run(&[
        "bw",
        "--local",
        "--transport",
        "socket",
        "--sizes",
        "4K,64K",
        "--iters",
        "64",
        "--repeat",
        "3",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("3 runs, medians across them"), "{text}");
    assert!(text.contains("BW average across runs [MB/s]"), "{text}");
    assert_eq!(stderr(&out).matches("repetition ").count(), 3);

    let out = run(&[
        "pingpong",
        "--local",
        "--transport",
        "socket",
        "--sizes",
        "4",
        "--iters",
        "200",
        "--repeat",
        "2",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["kind"], "rdmabench-report");
    let sizes = &doc["tests"][0]["series"][0]["sizes"][0];
    assert_eq!(
        sizes["mean_ns_by_run"].as_array().unwrap().len(),
        2,
        "{doc}"
    );
}

#[test]
fn bad_windows_are_refused_before_anything_runs() {
    for (args, expected) in [
        (vec!["--window", "0"], "--window 0"),
        (vec!["--window", "1000"], "1 to 256"),
        (
            vec!["--window", "256", "--verify", "--sizes", "8M"],
            "its own buffer",
        ),
    ] {
        let mut full = vec!["bw", "--local", "--transport", "socket"];
        full.extend(&args);
        assert_refused(&full, expected);
    }
}

#[test]
fn ends_with_different_windows_name_the_difference() {
    let port = free_port().to_string();
    let mut server = bin()
        .args([
            "bw",
            "--server",
            "--bind",
            "127.0.0.1",
            "--port",
            &port,
            "--window",
            "8",
            "--transport",
            "socket",
            "--timeout",
            "10s",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let out = run(&[
        "bw",
        "127.0.0.1",
        "--port",
        &port,
        "--window",
        "16",
        "--transport",
        "socket",
        "--timeout",
        "10s",
    ]);
    let _ = server.wait();
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(
        text.contains("test") && text.contains("window 8") && text.contains("window 16"),
        "{text}"
    );
}
