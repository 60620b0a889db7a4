//! End-to-end tests of `rdmabench agent` and `rdmabench matrix`: three agents on distinct
//! loopback ports (and, as root, in network namespaces joined by veth pairs that the test makes),
//! every pair measured, an unreachable host reported as failed pairs while the rest completes,
//! and the host lists a user can get wrong.

#[path = "support/cli.rs"]
mod cli;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use cli::{assert_refused, bin, free_port, json, libfabric_available, run, stderr};

/// Agents that are stopped when the test ends, whatever happens.
struct Agents(Vec<Child>);

impl Drop for Agents {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts an agent on 127.0.0.1 per port and waits until each accepts connections.
fn agents(ports: &[u16]) -> Agents {
    let agents = Agents(
        ports
            .iter()
            .map(|port| {
                bin()
                    .args([
                        "agent",
                        "--bind",
                        "127.0.0.1",
                        "--port",
                        &port.to_string(),
                        "--idle-timeout",
                        "2m",
                    ])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("agent starts")
            })
            .collect(),
    );
    for port in ports {
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", *port)).is_err() {
            assert!(Instant::now() < deadline, "agent on {port} never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    agents
}

fn address(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

#[test]
fn three_agents_give_a_full_matrix_over_kernel_tcp_and_the_provider_they_used() {
    let ports = [free_port(), free_port(), free_port()];
    let _agents = agents(&ports);
    let hosts: Vec<String> = ports.iter().map(|p| address(*p)).collect();
    let mut transports = vec![vec!["--transport", "socket"]];
    if libfabric_available() {
        transports.push(vec!["--provider", "tcp"]);
        transports.push(vec!["--provider", "auto"]);
    }
    for transport in transports {
        let mut args = vec!["matrix"];
        args.extend(hosts.iter().map(String::as_str));
        args.extend(&transport);
        args.extend([
            "--sizes", "4,4K", "--iters", "500", "--verify", "--format", "json",
        ]);
        let out = run(&args);
        assert!(out.status.success(), "{transport:?}: {}", stderr(&out));
        let doc = json(&out);
        assert_eq!(doc["kind"], "rdmabench-matrix");
        assert_eq!(doc["hosts"].as_array().unwrap().len(), 3);
        // The document names the provider every pair opened, not the one asked for ("auto").
        let provider = &doc["sizes"][0]["pairs"][0]["provider"];
        if transport[0] == "--transport" {
            assert_eq!(doc["transport"], "socket");
            assert!(provider.is_null(), "{provider}");
        } else {
            let provider = provider.as_str().expect("the provider a pair used");
            assert!(provider != "auto" && !provider.is_empty(), "{provider}");
            if transport[1] == "tcp" {
                assert!(provider.starts_with("tcp"), "{provider}");
            }
            assert_eq!(doc["transport"], format!("fabric ({provider})"));
        }
        for size in doc["sizes"].as_array().unwrap() {
            let pairs = size["pairs"].as_array().unwrap();
            assert_eq!(pairs.len(), 3, "{size}");
            for pair in pairs {
                assert_eq!(pair["provider"], doc["sizes"][0]["pairs"][0]["provider"]);
                assert!(pair["mean_ns"].as_u64().unwrap() > 0, "{pair}");
                assert!(pair["error"].is_null(), "{pair}");
            }
            assert!(size["median_ns"].as_u64().unwrap() > 0);
        }
    }
    // The table names every host in its header and calls out the slowest pairs.
    let mut args = vec!["matrix"];
    args.extend(hosts.iter().map(String::as_str));
    args.extend(["--transport", "socket", "--sizes", "4", "--iters", "200"]);
    let out = run(&args);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains(&hosts[2]) && table.contains("median pair"),
        "{table}"
    );
    assert!(
        table.contains("slowest:") && table.to_lowercase().contains("outliers (> 1.5 x"),
        "{table}"
    );
}

#[test]
fn an_unreachable_host_fails_its_pairs_and_the_rest_of_the_matrix_completes() {
    let ports = [free_port(), free_port(), free_port()];
    let _agents = agents(&ports);
    let dead = address(free_port());
    let mut args = vec!["matrix"];
    let hosts: Vec<String> = ports.iter().map(|p| address(*p)).collect();
    args.extend(hosts.iter().map(String::as_str));
    args.push(&dead);
    args.extend([
        "--transport",
        "socket",
        "--sizes",
        "4",
        "--iters",
        "200",
        "--format",
        "json",
    ]);
    let out = run(&args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = json(&out);
    let pairs = doc["sizes"][0]["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 6);
    for pair in pairs {
        let involves_dead = pair["client"] == dead.as_str() || pair["server"] == dead.as_str();
        if involves_dead {
            let error = pair["error"].as_str().unwrap();
            assert!(
                error.contains("unreachable") && error.contains(&dead),
                "{error}"
            );
        } else {
            assert!(pair["mean_ns"].as_u64().is_some(), "{pair}");
        }
    }
}

#[test]
fn precision_reaches_every_pair_and_the_matrix_names_the_pairs_that_fell_short() {
    let ports = [free_port(), free_port(), free_port()];
    let _agents = agents(&ports);
    let hosts: Vec<String> = ports.iter().map(|p| address(*p)).collect();
    let matrix = |extra: &[&str]| {
        let mut args = vec!["matrix"];
        args.extend(hosts.iter().map(String::as_str));
        args.extend(["--transport", "socket", "--sizes", "4"]);
        args.extend(extra);
        let out = run(&args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        out
    };
    // Every pair's client gets the target: each records how well its mean is known and why
    // it stopped (on a quiet machine a loose target stops long before the ceiling; the
    // stopping rule itself is tested in pingpong_cli and crates/stats, and no test here
    // asserts that the machine is quiet).
    let doc = json(&matrix(&[
        "--precision",
        "50%",
        "--iters",
        "100000",
        "--format",
        "json",
    ]));
    assert_eq!(doc["schema_version"], 3);
    for pair in doc["sizes"][0]["pairs"].as_array().unwrap() {
        let quality = &pair["quality"]["precision"];
        assert_eq!(quality["target_percent"], 50.0, "{pair}");
        let round_trips = pair["round_trips"].as_u64().unwrap();
        match quality["stopped"].as_str() {
            Some("precision_reached") => {
                assert!(
                    quality["mean_ci95_percent"].as_f64().unwrap() <= 50.0,
                    "{pair}"
                );
                assert!(round_trips < 100_000, "stopped before the ceiling: {pair}");
            }
            Some("iteration_ceiling") => assert_eq!(round_trips, 100_000, "{pair}"),
            other => panic!("stopped {other:?}: {pair}"),
        }
    }
    // An unreachable one stops every pair at the ceiling, and the table says so.
    let table =
        String::from_utf8_lossy(&matrix(&["--precision", "0.001%", "--iters", "300"]).stdout)
            .into_owned();
    assert!(
        table.contains("precision +-0.001 % (mean's 95 % interval): 0 of 3 pairs reached it")
            && table.contains("after 300 round trips"),
        "{table}"
    );
}

#[test]
fn bad_host_lists_are_refused_before_anything_is_measured() {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        "# agents\n127.0.0.1:7001\n\n127.0.0.1:7002 # rack 2\n",
    )
    .unwrap();
    let listed = file.path().to_str().unwrap();
    for (args, expected) in [
        (vec!["127.0.0.1:7001", "127.0.0.1:7001"], "given twice"),
        (vec!["127.0.0.1", "127.0.0.1:18515"], "given twice"),
        (
            vec!["127.0.0.1:7002", "--hosts-file", listed],
            "given twice",
        ),
        (vec!["127.0.0.1:7001"], "at least two agents"),
        (vec!["127.0.0.1:http", "127.0.0.1:1"], "not a port"),
        (vec!["a", "b", "--outlier-factor", "0.5"], "must be above 1"),
        (
            vec!["a", "b", "--hosts-file", "/nonexistent/hosts"],
            "hosts file",
        ),
    ] {
        let mut full = vec!["matrix"];
        full.extend(&args);
        assert_refused(&full, expected);
    }
}

#[test]
fn a_pingpong_client_is_told_it_reached_an_agent_and_idle_agents_exit() {
    let port = free_port();
    let _agents = agents(&[port]);
    let out = run(&[
        "pingpong",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--transport",
        "socket",
        "--timeout",
        "10s",
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("rdmabench agent"), "{}", stderr(&out));

    let started = Instant::now();
    let out = run(&[
        "agent",
        "--bind",
        "127.0.0.1",
        "--port",
        &free_port().to_string(),
        "--idle-timeout",
        "1s",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no request for 1s"),
        "{}",
        stderr(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}
