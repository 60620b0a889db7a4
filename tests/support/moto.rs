//! moto (the AWS fake) behind tests/support/moto_wrapper.py, for the offline AWS round trips.
//! Needs `#[path = "support/service.rs"] mod service;` beside it. Shared by path (`#[path]`).
// Each including test crate uses its own part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

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

    /// Sets what a user's shell would hold to work against this moto: AWS credentials, region
    /// and endpoint, terraform's CLI config (`home/cli.tfrc`, the provider mirror) and plugin
    /// cache, and rdmabench's state root, all under `home`.
    pub fn user_env(&self, command: &mut Command, home: &Path) {
        command
            .env("HOME", home)
            .env("RDMABENCH_STATE_DIR", home.join("state"))
            .env("TF_CLI_CONFIG_FILE", home.join("cli.tfrc"))
            .env("TF_PLUGIN_CACHE_DIR", home.join("plugin-cache"))
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", home.join("aws-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", home.join("aws-credentials"));
    }

    /// Creates an untagged log group, as EKS's service-linked role does for a cluster's logs.
    pub fn create_log_group(&self, name: &str) {
        let script = "import sys, boto3\n\
            boto3.client('logs', endpoint_url=sys.argv[1], region_name='us-east-1', \
            aws_access_key_id='testing', aws_secret_access_key='testing')\
            .create_log_group(logGroupName=sys.argv[2])";
        self.python(&["-c", script, &self.endpoint, name]);
    }

    /// Runs moto's Python with `args` and returns its stdout; a failure shows its stderr.
    pub fn python(&self, args: &[&str]) -> Vec<u8> {
        let out = Command::new(&self.python).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// What moto still holds of `stack` (tests/support/moto_inventory.py), one line per kind
    /// with anything left; empty when nothing is.
    pub fn leftovers(&self, stack: &str) -> Vec<String> {
        let inventory =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/moto_inventory.py");
        let stdout = self.python(&[
            &inventory.to_string_lossy(),
            "--endpoint",
            &self.endpoint,
            "--region",
            "us-east-1",
            "--stack",
            stack,
        ]);
        match serde_json::from_slice::<Value>(&stdout).unwrap() {
            Value::Object(kinds) => kinds
                .iter()
                .filter(|(_, v)| v.as_array().is_some_and(|a| !a.is_empty()))
                .map(|(k, v)| format!("{k}: {v}"))
                .collect(),
            Value::Array(items) => items.iter().map(Value::to_string).collect(),
            other => panic!("unexpected inventory {other}"),
        }
    }
}
