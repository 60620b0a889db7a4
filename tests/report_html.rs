//! The HTML report in a real browser: Debian's headless Chromium opens the self-contained page
//! from disk, and the test checks what a reader would see: every chart drawn (SVG paths in the
//! browser's DOM, the summary chart before the first table, the series colours in the
//! screenshot), no console errors, nothing fetched.
//! The chart files (SVG and PNG) written beside it are checked too.
//!
//! Skipped without Chromium unless RDMABENCH_REQUIRE_CHROMIUM is set (CI sets it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rdmabench"))
}

fn chromium() -> Option<PathBuf> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var_os("RDMABENCH_REQUIRE_CHROMIUM").is_none(),
            "RDMABENCH_REQUIRE_CHROMIUM is set but no chromium is installed (apt-get install chromium)"
        );
        eprintln!("skipping: chromium is not installed");
    }
    found
}

/// Headless Chromium with everything that would reach the network switched off.
fn browse(browser: &Path, profile: &Path, args: &[&str]) -> Output {
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium runs")
}

/// A node-mode and a pod-mode run with two repetitions each, made from a real socket run.
fn write_node_and_pod(dir: &Path) -> Vec<PathBuf> {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support/fixtures/pingpong-socket-results.json");
    let base: Value = serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    let mut files = Vec::new();
    for (mode, percent) in [("node", [100, 103]), ("pod", [104, 106])] {
        for (repetition, scale) in percent.into_iter().enumerate() {
            let mut doc = base.clone();
            doc["placement"] = serde_json::json!({
                "target": "eks", "cluster": "rdmabench", "mode": mode, "namespace": "rdmabench",
                "server_node": "ip-10-0-0-1", "client_node": "ip-10-0-0-2",
                "instance_type": "c6in.32xlarge", "image": "repo/rdmabench:0.1.0",
                "repetition": repetition + 1
            });
            for row in doc["results"].as_array_mut().unwrap() {
                let total = row["total_ns"].as_u64().unwrap();
                row["total_ns"] = (total * scale / 100).into();
            }
            let path = dir.join(format!("{mode}-{}.json", repetition + 1));
            std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
            files.push(path);
        }
    }
    files
}

/// How many pixels of the screenshot have exactly this colour.
fn pixels_of(png: &Path, rgb: [u8; 3]) -> usize {
    let pixmap = resvg::tiny_skia::Pixmap::load_png(png).expect("a PNG screenshot");
    pixmap
        .pixels()
        .iter()
        .filter(|p| [p.red(), p.green(), p.blue()] == rgb)
        .count()
}

#[test]
fn the_html_report_renders_its_charts_in_a_browser_without_errors_or_fetches() {
    let Some(browser) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let files = write_node_and_pod(dir.path());
    let html = dir.path().join("report.html");
    let plots = dir.path().join("plots");
    let mut args: Vec<String> = vec!["report".into()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    args.extend(["--format", "html", "--output"].map(String::from));
    args.push(html.display().to_string());
    args.push("--plots".into());
    args.push(plots.display().to_string());
    let out = bin().args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    // Self-contained: no scripts, no external resources (the SVG namespace is not a fetch).
    assert!(!page.contains("<script"));
    let urls = page.matches("http").count();
    assert_eq!(
        urls,
        page.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
    );
    assert!(page.contains("pod against node (baseline)"));
    // The summary chart leads: it comes before the first table.
    let summary = page
        .find("<figure id=\"pingpong-summary\"")
        .expect("a summary chart");
    assert!(summary < page.find("<table").expect("tables"), "{page}");

    let profile = dir.path().join("profile");
    let url = format!("file://{}", html.display());
    let dom = browse(&browser, &profile, &["--dump-dom", &url]);
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    let log = String::from_utf8_lossy(&dom.stderr);
    assert!(!log.contains("CONSOLE"), "console output: {log}");
    // Four charts (summary, latency, bandwidth, overhead), each with drawn data paths; the
    // summary still before the first table once the browser has parsed the page.
    assert_eq!(dom_text.matches("<svg").count(), 4, "{dom_text}");
    assert!(dom_text.find("pingpong-summary") < dom_text.find("<table"));
    for figure in dom_text.split("<figure").skip(1) {
        let drawn = figure
            .split("<path")
            .skip(1)
            .filter(|p| p.contains("d=\"M") && p.contains(" L"))
            .count();
        assert!(drawn >= 1, "a chart without data: {figure}");
    }

    let shot = dir.path().join("shot.png");
    let screenshot = browse(
        &browser,
        &profile,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,6000",
            &url,
        ],
    );
    assert!(
        screenshot.status.success(),
        "{}",
        String::from_utf8_lossy(&screenshot.stderr)
    );
    // The first two series colours (#0072b2, #d55e00) are drawn: the lines were rendered.
    assert!(
        pixels_of(&shot, [0x00, 0x72, 0xb2]) > 200,
        "node series not drawn"
    );
    assert!(
        pixels_of(&shot, [0xd5, 0x5e, 0x00]) > 200,
        "pod series not drawn"
    );

    // The chart files: each SVG beside a PNG that shows the same series colours.
    let mut names: Vec<String> = std::fs::read_dir(&plots)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "pingpong-bandwidth.png",
            "pingpong-bandwidth.svg",
            "pingpong-latency.png",
            "pingpong-latency.svg",
            "pingpong-overhead-pod-vs-node.png",
            "pingpong-overhead-pod-vs-node.svg",
            "pingpong-summary.png",
            "pingpong-summary.svg"
        ]
    );
    assert!(pixels_of(&plots.join("pingpong-latency.png"), [0x00, 0x72, 0xb2]) > 200);
}
