//! End-to-end tests of `rdmabench rma`: write and read latency and bandwidth over libfabric's
//! software providers on 127.0.0.1, payloads verified, keys and addresses exchanged out of band;
//! and the refusals a user can hit. Without libfabric the fabric cases skip, unless
//! RDMABENCH_REQUIRE_LIBFABRIC is set (CI).

#[path = "support/cli.rs"]
mod cli;

use cli::{assert_refused, json, libfabric_available, run, software_providers, stderr};
use serde_json::Value;

fn rma(provider: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "rma",
        "--local",
        "--provider",
        provider,
        "--sizes",
        "4,4K",
        "--format",
        "json",
    ];
    args.extend(extra);
    let out = run(&args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    json(&out)
}

#[test]
fn verified_write_and_read_latency_over_each_software_provider() {
    for provider in software_providers() {
        for (op, test) in [("write", "write-lat"), ("read", "read-lat")] {
            let doc = rma(provider, &["--op", op, "--iters", "300", "--verify"]);
            assert_eq!(doc["test"], test, "{provider}");
            assert_eq!(doc["complete"], true, "{provider} {op}: {doc}");
            assert!(doc["fabric"]["memory_registered"].as_bool().unwrap());
            for row in doc["results"].as_array().unwrap() {
                assert_eq!(row["iterations"], 300, "{row}");
                let latency = &row["latency"];
                assert!(latency["min_ns"].as_u64().unwrap() > 0, "{row}");
                assert!(
                    latency["mean_ns"].as_u64().unwrap() >= latency["min_ns"].as_u64().unwrap()
                );
                // A read is reported whole (as ib_read_lat), so there is no total to halve;
                // write latency is half a round trip of two writes, with the total kept.
                assert_eq!(row["total_ns"].is_null(), op == "read", "{row}");
            }
        }
    }
}

#[test]
fn write_and_read_bandwidth_keep_a_window_in_flight() {
    if !libfabric_available() {
        return;
    }
    for (op, test, verify) in [("write", "write-bw", false), ("read", "read-bw", true)] {
        let mut extra = vec!["--op", op, "--bw", "--window", "8", "--iters", "256"];
        if verify {
            extra.push("--verify");
        }
        let doc = rma("tcp", &extra);
        assert_eq!(doc["test"], test);
        assert_eq!(doc["parameters"]["window"], 8);
        for row in doc["results"].as_array().unwrap() {
            assert_eq!(row["iterations"], 256, "{row}");
            assert!(row["latency"].is_null());
            let bw = &row["bandwidth"];
            assert!(bw["average_bytes_per_sec"].as_u64().unwrap() > 0, "{row}");
            assert!(
                bw["peak_bytes_per_sec"].as_u64().unwrap() + 1
                    >= bw["average_bytes_per_sec"].as_u64().unwrap()
            );
        }
    }
}

#[test]
fn rma_without_a_fabric_or_with_unverifiable_writes_is_refused() {
    assert_refused(
        &["rma", "--local", "--transport", "socket", "--op", "write"],
        "has no RMA",
    );
    assert_refused(
        &["rma", "--local", "--op", "write", "--bw", "--verify"],
        "bandwidth writes complete only at the initiator",
    );
    assert_refused(&["rma", "--local", "--op", "read", "--window", "4"], "--bw");
    assert_refused(&["rma", "--local"], "--op");
}
