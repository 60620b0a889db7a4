//! Two "hosts" as two network namespaces joined by a veth pair, created by this test and removed
//! afterwards: the closest stand-in for two nodes this machine allows. Checks that the IP
//! providers bind to the veth address the control connection uses (not lo, not the machine's
//! main interface). Needs root and iproute2; skipped otherwise.

#[path = "support/cli.rs"]
mod cli;

use std::process::{Command, Stdio};

use cli::json;

/// Addresses live only inside the namespaces this test creates (netns-only test hosts).
const SERVER_NETNS_ADDR: &str = "10.231.0.1"; // netns veth address
const CLIENT_NETNS_ADDR: &str = "10.231.0.2"; // netns veth address

/// A pair of namespaces joined by veth; deleted on drop, also when an assertion fails.
struct NetnsPair {
    server: String,
    client: String,
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl NetnsPair {
    fn create() -> Option<NetnsPair> {
        let id = std::process::id();
        let pair = NetnsPair {
            server: format!("rdmabench-srv-{id}"),
            client: format!("rdmabench-cli-{id}"),
        };
        let (s, c) = (pair.server.as_str(), pair.client.as_str());
        let veth_s = format!("rbs{id}");
        let veth_c = format!("rbc{id}");
        let server_cidr = format!("{SERVER_NETNS_ADDR}/30");
        let client_cidr = format!("{CLIENT_NETNS_ADDR}/30");
        let steps: Vec<Vec<&str>> = vec![
            vec!["netns", "add", s],
            vec!["netns", "add", c],
            vec![
                "link", "add", &veth_s, "netns", s, "type", "veth", "peer", "name", &veth_c,
                "netns", c,
            ],
            vec!["-n", s, "addr", "add", &server_cidr, "dev", &veth_s],
            vec!["-n", c, "addr", "add", &client_cidr, "dev", &veth_c],
            vec!["-n", s, "link", "set", &veth_s, "up"],
            vec!["-n", c, "link", "set", &veth_c, "up"],
            vec!["-n", s, "link", "set", "lo", "up"],
            vec!["-n", c, "link", "set", "lo", "up"],
        ];
        for step in &steps {
            if !ip(step) {
                eprintln!(
                    "skipping: `ip {}` failed (needs root and iproute2)",
                    step.join(" ")
                );
                return None; // drop removes what was created
            }
        }
        Some(pair)
    }

    fn exec(&self, netns: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", netns, env!("CARGO_BIN_EXE_rdmabench")]);
        cmd.args(args);
        cmd
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        ip(&["netns", "delete", &self.server]);
        ip(&["netns", "delete", &self.client]);
    }
}

#[test]
fn client_and_server_in_separate_network_namespaces() {
    let Some(hosts) = NetnsPair::create() else {
        return;
    };
    let mut transports: Vec<Vec<&str>> = vec![vec!["--transport", "socket"]];
    for provider in cli::network_providers() {
        transports.push(vec!["--provider", provider]);
    }
    for transport in transports {
        let mut common = transport.clone();
        common.extend([
            "--sizes", "4,64K", "--iters", "300", "--verify", "--format", "json",
        ]);
        common.extend(["--port", "18515", "--timeout", "20s"]);
        let mut server_args = vec!["pingpong", "--server", "--bind", SERVER_NETNS_ADDR];
        server_args.extend(&common);
        let server = hosts
            .exec(&hosts.server, &server_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut client_args = vec!["pingpong", SERVER_NETNS_ADDR];
        client_args.extend(&common);
        let client = hosts.exec(&hosts.client, &client_args).output().unwrap();
        let server = server.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&client.stderr);
        assert!(client.status.success(), "{transport:?}: {err}");
        assert!(
            server.status.success(),
            "{transport:?}: {}",
            String::from_utf8_lossy(&server.stderr)
        );
        let (c, s) = (json(&client), json(&server));
        assert_eq!(c["complete"], true);
        assert_eq!(c["results"], s["results"]);
        assert_eq!(c["results"].as_array().unwrap().len(), 2);
        if transport.contains(&"--provider") {
            // Bound to the veth address the control connection uses: the fabric is the veth's
            // network, not loopback.
            let fabric = c["fabric"]["fabric"].as_str().unwrap();
            assert!(
                fabric.starts_with("10.231.0."),
                "netns veth fabric: {fabric}"
            );
            assert_ne!(c["fabric"]["domain"], "lo");
        }
    }
}
