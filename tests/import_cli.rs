//! `rdmabench import` end to end: other tools' output becomes results files that `rdmabench
//! report` sets beside rdmabench's own, with the seed comparison where the setup matches, and
//! figures a tool printed rounded kept as printed and marked. Where each sample came from
//! (captured here, or written from the tool's documented format) is in
//! crates/report/tests/fixtures/PROVENANCE.md.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rdmabench"))
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    bin().current_dir(dir).args(args).output().unwrap()
}

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/report/tests/fixtures/import")
        .join(name)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn import(dir: &Path, file: &str, extra: &[&str], output: &str) -> Value {
    let source = sample(file);
    let mut args = vec!["import", source.to_str().unwrap(), "--output", output];
    args.extend(extra);
    let out = run_in(dir, &args);
    assert!(out.status.success(), "{file}: {}", stderr(&out));
    assert!(out.stdout.is_empty(), "--output leaves stdout empty");
    serde_json::from_str(&std::fs::read_to_string(dir.join(output)).unwrap()).unwrap()
}

/// The fi_pingpong sample is a Debian libfabric 1.17 tcp run over loopback. It is imported
/// with `--provider efa --instance-type m7g.16xlarge` only to reach the seed comparison: the
/// numbers stay tcp-over-loopback numbers under an EFA label, so this checks the comparison's
/// plumbing, not EFA.
#[test]
fn every_tools_output_imports_and_reports_together_with_the_tcp_fi_pingpong_capture_relabelled_efa()
{
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A tcp capture, relabelled efa on m7g.16xlarge (see above).
    let fi = import(
        d,
        "fi_pingpong-1.17-tcp-rdm-all.txt",
        &[
            "--provider",
            "efa",
            "--mode",
            "node",
            "--instance-type",
            "m7g.16xlarge",
            "--command",
            "fi_pingpong -p tcp -e rdm -S all -I 1000 127.0.0.1",
        ],
        "fi.json",
    );
    assert_eq!(fi["schema_version"], rdmabench_results::SCHEMA_VERSION);
    assert_eq!(fi["tool"]["name"], "fi_pingpong");
    assert_eq!(fi["results"].as_array().unwrap().len(), 46);
    assert_eq!(
        fi["command_line"],
        "fi_pingpong -p tcp -e rdm -S all -I 1000 127.0.0.1"
    );
    let lat = import(
        d,
        "perftest-ib_send_lat.txt",
        &["--provider", "efa"],
        "lat.json",
    );
    assert_eq!(lat["results"][0]["latency"]["p999_ns"], 36_920);
    let bw = import(d, "perftest-ib_send_bw.txt", &[], "bw.json");
    assert_eq!(bw["test"], "bw");
    let osu = import(d, "osu_latency-7.3.txt", &["--provider", "efa"], "osu.json");
    assert_eq!(osu["parameters"]["api"], "tagged");
    import(
        d,
        "imb-pingpong-2021.txt",
        &["--provider", "efa"],
        "imb.json",
    );
    import(d, "perftest-ib_write_lat.json", &[], "write.json");
    // NetPIPE's np.out is bare numbers: named with --tool.
    let np = import(
        d,
        "netpipe-3.7.2-np.out",
        &["--tool", "netpipe", "--provider", "efa"],
        "np.json",
    );
    assert_eq!(np["tool"]["name"], "netpipe");
    // Its last row, 65536 B: "0.00012643" seconds.
    assert_eq!(np["results"][31]["size_bytes"], 65536);
    assert_eq!(np["results"][31]["latency"]["mean_ns"], 126_430);

    let out = run_in(
        d,
        &[
            "report",
            "fi.json",
            "lat.json",
            "osu.json",
            "imb.json",
            "np.json",
            "bw.json",
            "write.json",
            "--format",
            "markdown",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let report = String::from_utf8_lossy(&out.stdout);
    // One pingpong section with each tool as a series, compared with the first.
    for label in [
        "### fi_pingpong",
        "### perftest",
        "### osu",
        "### imb",
        "### netpipe",
    ] {
        assert!(report.contains(label), "{label} missing in\n{report}");
    }
    assert!(report.contains("against fi_pingpong"), "{report}");
    // The tcp capture relabelled efa, m7g.16xlarge, node mode matches the seed's setup on paper:
    // compared (the figures themselves are loopback tcp).
    assert!(report.contains("seed node usec"), "{report}");
    // OSU is MPI (tagged): not the seed's API, and the report says so.
    assert!(
        report.contains(
            "api tagged (seed: msg: its table is in fi_pingpong's output format, our inference)"
        ),
        "{report}"
    );
    // Figures a tool does not print show as "-", never as zero.
    assert!(
        report.contains("| 65536 | - | - | - | - | - | - | "),
        "{report}"
    );
    // bw and write-lat are other tests: reported apart, not compared with pingpong.
    assert!(
        report.contains("## bw") && report.contains("## write-lat"),
        "{report}"
    );
    assert!(
        report.contains("the files hold different tests"),
        "{report}"
    );
}

#[test]
fn an_imported_fi_pingpong_keeps_its_rounded_figures_marked_and_rebuilds_no_total() {
    // fi_pingpong 1.17's output of -I 1500 -S 12000 (captured here; its commands are in the
    // PROVENANCE file beside it): "11k" bytes, "1k" #sent, "0.21s", 70.52 usec/xfer.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fi = import(
        d,
        "fi_pingpong-1.17-tcp-rdm-I1500-S12000.txt",
        &["--provider", "tcp"],
        "fi.json",
    );
    let rows = fi["results"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    // What was printed, not what was run: the file does not say -S 12000 -I 1500.
    assert_eq!(row["size_bytes"], 11 * 1024);
    assert_eq!(row["iterations"], 1000);
    assert_eq!(
        row["total_ns"], 210_000_000,
        "the printed time, not 70.52 x 2 x 1000"
    );
    assert_eq!(
        row["rounded"],
        serde_json::json!(["size_bytes", "iterations", "total_ns"])
    );
    assert_eq!(row["latency"]["mean_ns"], 70_520);
    assert!(
        fi["note"].as_str().unwrap().contains("kept as printed"),
        "{fi}"
    );

    let out = run_in(d, &["report", "fi.json", "--format", "markdown"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = String::from_utf8_lossy(&out.stdout);
    // usec is fi_pingpong's usec/xfer, not 0.21 s / (2 x 1000) = 105 usec.
    assert!(
        report.contains("| ~1k | ~11264 | ~0.21s | 70.52 |"),
        "{report}"
    );
    assert!(
        report.contains("~ = as the tool printed it, rounded"),
        "{report}"
    );
}

#[test]
fn unreadable_output_is_refused_with_the_line_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("log.txt"), "Connection refused\n").unwrap();
    std::fs::write(
        d.join("bad.txt"),
        "# OSU MPI Latency Test v7.3\n# Size       Avg Latency(us)\n1    fast\n",
    )
    .unwrap();
    std::fs::write(
        d.join("empty.txt"),
        "# OSU MPI Latency Test v7.3\n# Size       Avg Latency(us)\n",
    )
    .unwrap();
    let header = "bytes   iters   total       time     MB/sec    usec/xfer   Mxfers/sec\n";
    std::fs::write(
        d.join("fabtests.txt"),
        format!("{header}64      1k      93k         0.20s      0.49     130.62       0.01\n"),
    )
    .unwrap();
    std::fs::write(
        d.join("fabtests-error.txt"),
        format!("{header}fi_tsend(): common/shared.c:2143, ret=-11 (Resource temporarily unavailable)\n"),
    )
    .unwrap();
    let cases: [(&[&str], &str); 7] = [
        (&["import", "log.txt"], "cannot tell which tool wrote this"),
        (
            &["import", "bad.txt"],
            "osu output, line 3 (\"1 fast\"): no latency",
        ),
        (
            &["import", "fabtests.txt"],
            "fabtests output (show_perf's `bytes iters total time MB/sec usec/xfer Mxfers/sec`) does not say which test printed it: pass --tool fabtests-pingpong",
        ),
        (
            &["import", "fabtests-error.txt", "--tool", "fabtests-bw"],
            "fabtests-bw output, line 2 (\"fi_tsend(): common/shared.c:2143, ret=-11 (Resource temporarily unavaila...\"): expected the first row of the table whose header is line 1",
        ),
        (
            &["import", "empty.txt"],
            "osu output without any result row",
        ),
        (&["import", "missing.txt"], "reading missing.txt"),
        (
            &["import", "log.txt", "--tool", "imb"],
            "imb output without any result row",
        ),
    ];
    for (args, expected) in cases {
        let out = run_in(d, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(out.stdout.is_empty());
    }
}

/// fabtests' own benchmarks, captured here (fabtests v1.17.0 built with gcc against Debian's
/// libfabric 1.17.0, tcp and shm on 127.0.0.1; PROVENANCE file beside the samples): a
/// ping-pong and a bandwidth test named by --tool, by --command or by their -m output, each a
/// results file `report` reads.
#[test]
fn fabtests_ping_pongs_and_bandwidth_tests_import_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let lat = import(
        d,
        "fabtests-1.17-fi_rdm_pingpong-tcp.txt",
        &["--tool", "fabtests-pingpong", "--provider", "tcp"],
        "lat.json",
    );
    assert_eq!(
        (&lat["tool"]["name"], &lat["test"]),
        (&"fabtests-pingpong".into(), &"pingpong".into())
    );
    let row = &lat["results"][1];
    // "11k 1k 34m 0.38s 94.79 126.60 0.01": as printed, the abbreviated figures marked.
    assert_eq!(row["size_bytes"], 11 * 1024);
    assert_eq!(row["latency"]["mean_ns"], 126_600);
    assert_eq!(
        row["rounded"],
        serde_json::json!(["size_bytes", "iterations", "total_ns"])
    );

    // The table is the same for a bandwidth test: --command's program says which it is.
    let bw = import(
        d,
        "fabtests-1.17-fi_rdm_tagged_bw-tcp.txt",
        &[
            "--provider",
            "tcp",
            "--api",
            "tagged",
            "--command",
            "fi_rdm_tagged_bw -p tcp -e rdm -I 1500 -W 64 -S r:64,11936,12000 -s 127.0.0.1 -E=47104 127.0.0.1",
        ],
        "bw.json",
    );
    assert_eq!(
        (&bw["tool"]["name"], &bw["test"]),
        (&"fabtests-bw".into(), &"bw".into())
    );
    // "11k 1k 17m 0.23s 79.28 151.35 0.01": MB/sec is 10^6 B/s.
    assert_eq!(
        bw["results"][1]["bandwidth"]["average_bytes_per_sec"],
        79_280_000
    );
    assert!(bw["results"][1]["latency"].is_null());

    // -m output names its program: no --tool needed, and every figure is exact.
    let exact = import(
        d,
        "fabtests-1.17-fi_rdm_pingpong-shm-m.txt",
        &["--provider", "shm"],
        "m.json",
    );
    assert_eq!(exact["tool"]["name"], "fabtests-pingpong");
    assert_eq!(exact["results"][1]["size_bytes"], 12000);
    assert_eq!(exact["results"][1]["iterations"], 1500);
    assert_eq!(exact["results"][1]["rounded"], serde_json::json!([]));

    let out = run_in(
        d,
        &[
            "report", "lat.json", "m.json", "bw.json", "--format", "markdown",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("## pingpong") && report.contains("## bw"),
        "{report}"
    );
    // The table's figures show marked rounded; the -m run's exact ones do not.
    assert!(
        report.contains("| ~1k | ~11264 | ~0.38s | 126.60 |"),
        "{report}"
    );
    assert!(report.contains("| 1k | 12000 | 0.01s | 4.14 |"), "{report}");
    // The bandwidth test is reported apart, in MB/s of 10^6 B.
    assert!(report.contains("### fabtests-bw tcp tagged"), "{report}");
    assert!(
        report.contains("| ~11264 | ~1k | - | 79.28 | 0.010 |"),
        "{report}"
    );
}
