//! A command in a running pod through the Kubernetes exec API (what `kubectl exec` does): how
//! `rdmabench launch` starts Open MPI's daemon on the other host of a pod-mode MPI run, with no
//! SSH in the image.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use kube::api::AttachParams;
use kube::{Api, Client};
use tokio::io::AsyncWriteExt;

use crate::client::infer;
use crate::runtime::block_on;
use crate::K8sError;

/// Where a command runs: a container of a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecTarget {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod.
    pub pod: String,
    /// The container.
    pub container: String,
}

/// The exit code a finished exec's status reports: 0 on success, the container runtime's code
/// when it names one, else 1 (the command could not be run).
fn exit_code(status: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Status>) -> i32 {
    let Some(status) = status else {
        return 1;
    };
    if status.status.as_deref() == Some("Success") {
        return 0;
    }
    status
        .details
        .as_ref()
        .and_then(|d| d.causes.as_ref())
        .and_then(|causes| {
            causes
                .iter()
                .find(|c| c.reason.as_deref() == Some("ExitCode"))
                .and_then(|c| c.message.as_deref()?.parse().ok())
        })
        .unwrap_or(1)
}

/// Runs `command` in `target`, copying its stdout and stderr to ours as they come (Open MPI's
/// daemon reports through them), and returns its exit code.
pub async fn exec(
    client: Client,
    target: &ExecTarget,
    command: Vec<String>,
) -> Result<i32, K8sError> {
    let pods: Api<Pod> = Api::namespaced(client, &target.namespace);
    let params = AttachParams::default()
        .container(target.container.clone())
        .stdin(false)
        .stdout(true)
        .stderr(true);
    let action = format!(
        "running a command in pod {}/{} (container {})",
        target.namespace, target.pod, target.container
    );
    let mut process = pods
        .exec(&target.pod, command, &params)
        .await
        .map_err(K8sError::api(action.clone()))?;
    let copy = |reader: Option<Box<dyn tokio::io::AsyncRead + Unpin + Send>>,
                mut writer: Box<dyn tokio::io::AsyncWrite + Unpin + Send>| async move {
        if let Some(mut reader) = reader {
            let _ = tokio::io::copy(&mut reader, &mut writer).await;
            let _ = writer.flush().await;
        }
    };
    let stdout = copy(
        process.stdout().map(|r| Box::new(r) as _),
        Box::new(tokio::io::stdout()),
    );
    let stderr = copy(
        process.stderr().map(|r| Box::new(r) as _),
        Box::new(tokio::io::stderr()),
    );
    let status = process.take_status();
    let (_, _, status) = tokio::join!(stdout, stderr, async {
        match status {
            Some(status) => status.await,
            None => None,
        }
    });
    process.join().await.map_err(|e| K8sError::Api {
        action,
        message: e.to_string(),
    })?;
    Ok(exit_code(status.as_ref()))
}

/// `rdmabench launch` into a pod: runs `script` with `env` under `sh -c` in `target`, reaching
/// the API through the kubeconfig or the pod's own service account, and returns its exit code.
pub fn exec_in_pod(
    target: &ExecTarget,
    env: &BTreeMap<String, String>,
    script: &str,
) -> Result<i32, K8sError> {
    let command: Vec<String> = ["env".to_string()]
        .into_iter()
        .chain(env.iter().map(|(k, v)| format!("{k}={v}")))
        .chain(["sh".to_string(), "-c".to_string(), script.to_string()])
        .collect();
    block_on(async {
        let client = infer().await.map_err(|source| K8sError::Connect {
            to: "the cluster to start the remote side",
            source,
        })?;
        exec(client, target, command).await
    })
}
