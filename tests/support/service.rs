//! Local stand-ins started by tests (moto, the fake Kubernetes API): a child process that binds
//! 127.0.0.1 on a free port and writes the number to its --port-file when it is ready. Stopped
//! when dropped. Shared by path (`#[path]`) between test crates.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a stand-in may take to start (moto loads its models: a few seconds here).
const START_LIMIT: Duration = Duration::from_secs(60);

/// A running stand-in.
pub struct Service {
    child: Child,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
}

impl Drop for Service {
    /// TERM first, so a service can remove what it made (the fake cluster's namespaces and
    /// processes); KILL if it has not exited within 15 s.
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Service {
    /// Starts `command --port-file FILE`, its stderr going to `log`, and waits until it listens.
    pub fn start(mut command: Command, port_file: &Path, log: &Path) -> Service {
        let child = command
            .arg("--port-file")
            .arg(port_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {command:?}: {e}"));
        let mut service = Service { child, port: 0 };
        let deadline = Instant::now() + START_LIMIT;
        loop {
            let port = std::fs::read_to_string(port_file)
                .ok()
                .and_then(|text| text.trim().parse().ok());
            if let Some(port) = port {
                service.port = port;
                return service;
            }
            if let Ok(Some(status)) = service.child.try_wait() {
                panic!(
                    "{command:?} exited ({status}): {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{command:?} did not start within {START_LIMIT:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}
