//! The fake Kubernetes API (tests/support/kube_fake.py) for the orchestration tests: started in
//! its own temporary directory, which also holds its request journal and its inventory of the
//! objects that exist. Needs `service.rs` beside it. Shared by path (`#[path]`).
// Each including test crate uses its own part of this module.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::service::Service;

/// A running fake API.
pub struct FakeApi {
    /// The server process.
    pub service: Service,
    dir: tempfile::TempDir,
}

fn support(file: &str) -> PathBuf {
    // CARGO_MANIFEST_DIR is the root package or a crate two levels below it.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = if manifest.join("tests/support").is_dir() {
        manifest.to_path_buf()
    } else {
        manifest.join("../..")
    };
    root.join("tests/support").join(file)
}

/// A results document as the client pod prints it (a real socket-transport run, committed).
pub fn fixture_results() -> PathBuf {
    support("fixtures/pingpong-socket-results.json")
}

/// The fake's arguments that make rdmabench's benchmark pods run `binary` for real on fake nodes
/// made of namespaces (`--measure`, tests/support/kube_fake_nodes.py), or None where this
/// machine cannot make namespaces (not root): said on stderr, and a failure when
/// RDMABENCH_REQUIRE_NETNS is set (CI sets it).
pub fn measuring(binary: &Path) -> Option<Vec<std::ffi::OsString>> {
    let uid = Command::new("id").arg("-u").output().ok();
    let root = uid.is_some_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        assert!(
            std::env::var_os("RDMABENCH_REQUIRE_NETNS").is_none(),
            "RDMABENCH_REQUIRE_NETNS is set, but the measuring fake cluster needs root"
        );
        eprintln!("skipped: the measuring fake cluster needs root (network namespaces)");
        return None;
    }
    Some(vec!["--measure".into(), binary.as_os_str().to_owned()])
}

/// One deleted pod-mode pod's veth byte counters, as the measuring fake recorded them.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct VethCounters {
    /// namespace/name.
    pub pod: String,
    /// The fake node it ran on.
    pub node: String,
    /// Bytes the node received from the pod.
    pub veth_rx_bytes: u64,
    /// Bytes the node sent to the pod.
    pub veth_tx_bytes: u64,
}

impl FakeApi {
    /// The pod veths' counters, one entry per deleted pod-mode pod (measuring fake only).
    pub fn counters(&self) -> Vec<VethCounters> {
        std::fs::read_to_string(self.dir.path().join("counters"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Starts the fake with `args` (scenario, authentication, client log ...).
    pub fn start<S: AsRef<OsStr>>(args: &[S]) -> FakeApi {
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new("python3");
        command
            .arg(support("kube_fake.py"))
            .arg("--journal")
            .arg(dir.path().join("journal"))
            .arg("--inventory")
            .arg(dir.path().join("inventory"))
            .args(args);
        let service = Service::start(command, &dir.path().join("port"), &dir.path().join("log"));
        FakeApi { service, dir }
    }

    /// Writes a kubeconfig whose current context is this fake, authenticating with `token`;
    /// returns its path (in the fake's directory).
    pub fn write_kubeconfig(&self, token: &str) -> PathBuf {
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n  cluster:\n    server: {url}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\nusers:\n- name: fake\n  user:\n    token: {token}\n",
            url = self.service.url()
        );
        let path = self.dir().join("kubeconfig");
        std::fs::write(&path, kubeconfig).unwrap();
        path
    }

    /// Its temporary directory, for the test's own files too.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Every request, in order, as the fake recorded it (method, path, token, rejection).
    pub fn journal(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("journal"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Every object applied, in order, as {path, body}.
    pub fn applied(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("journal.applied"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// What exists in the fake cluster, as kind/namespace/name.
    pub fn inventory(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.dir.path().join("inventory")).unwrap();
        serde_json::from_str(&text).unwrap()
    }
}
