//! moto (the AWS fake) behind tests/support/moto_wrapper.py, for the offline AWS round trips.
//! Needs `#[path = "support/service.rs"] mod service;` beside it. Shared by path (`#[path]`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::service::Service;

/// moto behind the wrapper, stopped on drop.
pub struct Moto {
    _service: Service,
    /// Its URL, for AWS_ENDPOINT_URL.
    pub endpoint: String,
    /// The venv python that has moto and boto3, for helper scripts.
    pub python: PathBuf,
}

impl Moto {
    /// Starts moto with the wrapper's `extra` options, logging to `dir/moto.log`; None (the
    /// test is skipped) when moto is not installed, unless RDMABENCH_REQUIRE_MOTO is set.
    pub fn start(dir: &Path, extra: &[&str]) -> Option<Moto> {
        let python = match std::env::var_os("RDMABENCH_MOTO_PYTHON").map(PathBuf::from) {
            Some(p) if p.exists() => p,
            other => {
                assert!(
                    std::env::var_os("RDMABENCH_REQUIRE_MOTO").is_none(),
                    "RDMABENCH_REQUIRE_MOTO is set but RDMABENCH_MOTO_PYTHON ({other:?}) is not a python with moto; run scripts/test, which creates it with scripts/python-venv"
                );
                eprintln!("SKIPPED: no moto (set RDMABENCH_MOTO_PYTHON to a python with tests/support/requirements-moto.txt)");
                return None;
            }
        };
        let mut command = Command::new(&python);
        command
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/moto_wrapper.py"))
            .args(extra);
        let service = Service::start(command, &dir.join("moto.port"), &dir.join("moto.log"));
        Some(Moto {
            endpoint: service.url(),
            _service: service,
            python,
        })
    }
}
