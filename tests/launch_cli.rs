//! `rdmabench launch`, Open MPI's remote launcher: where the launch map sends a host (the
//! local target's namespaces are exercised by the reference suite in run_cli.rs, under a real
//! mpirun), and the pod path through the Kubernetes exec API against the fake API
//! (tests/support/kube_fake.py: a real WebSocket exec session, the command run on this machine),
//! also under a real mpirun as `rdmabench tool` runs MPI tools between a cluster's pods.

#[path = "support/cli.rs"]
mod cli;
#[path = "support/kube_fake.rs"]
mod kube_fake;
#[path = "support/service.rs"]
mod service;

use cli::{bin, stderr};

const MAP_ENV: &str = "RDMABENCH_LAUNCH_MAP";

fn pod_map() -> String {
    r#"{"hosts": {"node-b": {"kind": "pod", "namespace": "rdmabench", "name": "rdmabench-pod-mpi-1",
        "container": "mpi", "env": {"FI_EFA_FORK_SAFE": "1"}}}}"#
        .to_string()
}

#[test]
fn without_a_map_or_for_an_unknown_host_it_says_what_is_wrong() {
    let out = bin()
        .args(["launch", "node-b", "orted", "-mca", "x"])
        .env_remove(MAP_ENV)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("RDMABENCH_LAUNCH_MAP is not set"),
        "{}",
        stderr(&out)
    );
    let out = bin()
        .args(["launch", "node-c", "true"])
        .env(MAP_ENV, pod_map())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("host \"node-c\" is not in the launch map (it knows node-b)"),
        "{}",
        stderr(&out)
    );
    let out = bin()
        .args(["launch", "node-b", "true"])
        .env(MAP_ENV, "{\"hosts\": {\"node-b\": {\"kind\": \"ssh\"}}}")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is not a launch map"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_pod_host_runs_the_command_through_the_exec_api_with_its_output_and_exit_code() {
    let api = kube_fake::FakeApi::start(&[
        "--token",
        "t0k",
        "--pod",
        "rdmabench/rdmabench-pod-mpi-1/mpi",
    ]);
    let kubeconfig = api.write_kubeconfig("t0k");
    let launch = |words: &[&str]| {
        bin()
            .arg("launch")
            .arg("node-b")
            .args(words)
            .env(MAP_ENV, pod_map())
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .unwrap()
    };
    // Words joined and run by a shell, as ssh does: mpirun's quoting is undone there.
    let out = launch(&[
        "",
        "echo",
        "\"orte_hnp_uri=1.0;tcp://a:1\"",
        "$FI_EFA_FORK_SAFE",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "orte_hnp_uri=1.0;tcp://a:1 1\n"
    );
    let out = launch(&["echo", "oops", ">&2;", "exit", "3"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("oops"), "{}", stderr(&out));
    let exec: Vec<_> = api
        .journal()
        .into_iter()
        .filter(|e| e.get("exec").is_some())
        .collect();
    assert_eq!(exec.len(), 2);
    assert_eq!(exec[0]["pod"], "rdmabench-pod-mpi-1");
    assert_eq!(exec[0]["container"], "mpi");
    assert_eq!(exec[0]["exec"][0], "env");
    assert_eq!(exec[0]["exec"][1], "FI_EFA_FORK_SAFE=1");
    assert_eq!(exec[0]["exec"][2], "sh");

    // A pod that is not there: the API's answer, and a non-zero exit.
    let missing = pod_map().replace("rdmabench-pod-mpi-1", "rdmabench-pod-gone");
    let out = bin()
        .args(["launch", "node-b", "true"])
        .env(MAP_ENV, missing)
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("running a command in pod rdmabench/rdmabench-pod-gone"),
        "{}",
        stderr(&out)
    );
}

/// Whether `program` is on PATH.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// The pod-mode MPI path as the cluster runs it, on this machine: the client end runs mpirun with
/// one rank here (127.0.0.1) and one on "the server's host" (127.0.0.2), whose daemon `rdmabench
/// launch` starts through the fake API's exec into the server pod (the fake runs it here). All
/// traffic stays on loopback: Open MPI's on lo, libfabric's tcp provider pinned to lo.
#[test]
fn an_mpi_client_starts_its_peer_in_the_server_pod_through_the_exec_api() {
    if !on_path("NPopenmpi") || !on_path("mpirun") || !cli::libfabric_available() {
        assert!(
            std::env::var_os("RDMABENCH_REQUIRE_REFERENCE_TOOLS").is_none(),
            "CI installs netpipe-openmpi and openmpi-bin"
        );
        return;
    }
    let api = kube_fake::FakeApi::start(&[
        "--token",
        "t0k",
        "--pod",
        "rdmabench/rdmabench-pod-server/server",
    ]);
    let kubeconfig = api.write_kubeconfig("t0k");
    let port = cli::free_port().to_string();
    let common = ["--tool", "NPopenmpi", "--port", &port];
    let mut server = bin()
        .args(["tool", "--server"])
        .args(common)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = bin()
        .args(["tool", "127.0.0.2"])
        .args(common)
        .args(["--provider", "tcp", "--sizes", "4,1K", "--iters", "200"])
        .args(["--mpi-network", "lo"])
        .env(
            "RDMABENCH_SERVER_POD",
            "rdmabench/rdmabench-pod-server/server",
        )
        .env("KUBECONFIG", &kubeconfig)
        .env("FI_TCP_IFACE", "lo")
        // Both "hosts" are this machine: unbound ranks, or they would share a core.
        .env("OMPI_MCA_hwloc_base_binding_policy", "none")
        .output()
        .unwrap();
    assert!(client.status.success(), "{}", stderr(&client));
    // The client's "done" releases the server end, which then exits by itself.
    assert!(server.wait().unwrap().success());
    let doc = cli::json(&client);
    assert_eq!(doc["tool"]["name"], "netpipe");
    assert_eq!(doc["parameters"]["api"], "tagged");
    let sizes: Vec<u64> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["size_bytes"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, [4, 1024]);
    let command = doc["command_line"].as_str().unwrap();
    let first: u16 = port.parse().unwrap();
    for part in [
        "printf '%s\\n' '127.0.0.1 slots=1' '127.0.0.2 slots=1' > ",
        " --hostfile ",
        &format!(
            "--mca oob_tcp_static_ipv4_ports {}-{}",
            first + 62,
            first + 63
        ),
        "\"kind\":\"pod\",\"namespace\":\"rdmabench\",\"name\":\"rdmabench-pod-server\"",
    ] {
        assert!(command.contains(part), "{part}: {command}");
    }
    // One exec per size: Open MPI's daemon, in the server pod's container, with the provider's
    // interface passed on.
    let execs: Vec<_> = api
        .journal()
        .into_iter()
        .filter(|e| e.get("exec").is_some())
        .collect();
    assert_eq!(execs.len(), 2, "{execs:?}");
    assert_eq!(execs[0]["container"], "server");
    assert_eq!(execs[0]["exec"][1], "FI_TCP_IFACE=lo");
    assert!(execs[0]["exec"][4].as_str().unwrap().contains("orted"));
}
