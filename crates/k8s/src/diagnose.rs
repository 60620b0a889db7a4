//! Reading a benchmark pod's status the way an experienced operator would: is it on its way,
//! running, done, or stuck for a reason that will not fix itself, and what should the user do.

use k8s_openapi::api::core::v1::Pod;

use crate::manifests::EFA_RESOURCE;

/// What a pod is doing, as far as a measurement cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodState {
    /// Not running yet, for a reason that may pass (scheduling, pulling, creating).
    Waiting(String),
    /// Its container runs.
    Running,
    /// It finished with exit code 0.
    Succeeded,
    /// It cannot make progress without the user: the cause and the fix.
    Stuck {
        /// What Kubernetes reported.
        cause: String,
        /// What to do about it.
        hint: String,
    },
    /// Its container ended with an error (the log says more).
    Failed(String),
}

/// Image-pull and container-creation reasons that repeat forever once they appear.
const STUCK_WAITING: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

/// Interprets a pod's status.
pub fn pod_state(pod: &Pod) -> PodState {
    let Some(status) = &pod.status else {
        return PodState::Waiting("no status yet".into());
    };
    if let Some(scheduled) = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False")
    {
        let message = scheduled.message.clone().unwrap_or_default();
        return match unschedulable_hint(&message) {
            Some(hint) => PodState::Stuck {
                cause: format!("cannot be scheduled: {message}"),
                hint,
            },
            None => PodState::Waiting(format!("not scheduled yet: {message}")),
        };
    }
    let container = status.container_statuses.iter().flatten().next();
    let container_state = container.and_then(|c| c.state.as_ref());
    if let Some(waiting) = container_state.and_then(|s| s.waiting.as_ref()) {
        let reason = waiting.reason.clone().unwrap_or_default();
        let message = waiting.message.clone().unwrap_or_default();
        if STUCK_WAITING.contains(&reason.as_str()) {
            return PodState::Stuck {
                cause: format!("{reason}: {message}"),
                hint: waiting_hint(&reason),
            };
        }
        return PodState::Waiting(format!("{reason} {message}").trim().to_string());
    }
    if let Some(terminated) = container_state.and_then(|s| s.terminated.as_ref()) {
        return if terminated.exit_code == 0 {
            PodState::Succeeded
        } else {
            PodState::Failed(format!(
                "exited with code {}{}",
                terminated.exit_code,
                terminated
                    .reason
                    .as_ref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ))
        };
    }
    match status.phase.as_deref() {
        Some("Running") => PodState::Running,
        Some("Succeeded") => PodState::Succeeded,
        Some("Failed") => {
            let reason = status.reason.clone().unwrap_or_default();
            let message = status.message.clone().unwrap_or_default();
            if reason == "DeadlineExceeded" {
                PodState::Failed(format!(
                    "stopped by its deadline ({message}); raise --timeout if the run needs longer"
                ))
            } else {
                PodState::Failed(format!("{reason} {message}").trim().to_string())
            }
        }
        other => PodState::Waiting(other.unwrap_or("Pending").to_string()),
    }
}

/// A fix for a scheduling failure that will not resolve itself, or None when waiting may help.
fn unschedulable_hint(message: &str) -> Option<String> {
    if message.contains(&format!("Insufficient {EFA_RESOURCE}")) {
        Some(format!(
            "no node has a free {EFA_RESOURCE}: run `rdmabench k8s deploy` so the EFA device \
             plugin advertises the interfaces, check that the node group uses an EFA instance \
             type, and that no earlier benchmark pod still holds them (`rdmabench k8s clean`)"
        ))
    } else if message.contains("Insufficient hugepages-2Mi") {
        Some(
            "the nodes have fewer free 2 MiB hugepages than the pod asks for: raise \
             nodes.hugepages_2mi in the configuration (applied at boot, so `rdmabench infra up` \
             replaces the nodes) or set it to 0 to run without hugepages"
                .to_string(),
        )
    } else if message.contains("anti-affinity") {
        Some(
            "server and client must run on different nodes and no second node is free: the \
             node group needs at least 2 nodes (nodes.count)"
                .to_string(),
        )
    } else {
        None
    }
}

fn waiting_hint(reason: &str) -> String {
    match reason {
        "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName" => {
            "the nodes cannot pull the image: push it with `rdmabench image build --push` (or \
             pass an existing reference with --image) and check the tag in the stack's ECR \
             repository"
                .to_string()
        }
        "CreateContainerConfigError" => {
            "the pod's settings do not fit the image or the node (the message above says which, \
             e.g. a security context the image does not satisfy): run the image that \
             `rdmabench image build --push` recorded, unmodified, and compare with `rdmabench k8s \
             render`"
                .to_string()
        }
        _ => "the container could not be created: `kubectl describe pod` shows the details; \
              if the image was built for another architecture, rebuild it for the nodes' one"
            .to_string(),
    }
}

/// A fix suggested by what a failed benchmark printed.
pub fn failure_hint(log: &str) -> String {
    let lower = log.to_lowercase();
    if lower.contains("-12") && lower.contains("mr")
        || lower.contains("cannot allocate memory")
        || lower.contains("memory registration")
    {
        "memory registration failed (-12, ENOMEM): the locked-memory limit or hugepages are too \
         small; the pod needs IPC_LOCK (it has it unless the image was changed), the node \
         memlock limit must be unlimited, and the pod's hugepages request must fit \
         nodes.hugepages_2mi"
            .to_string()
    } else if lower.contains("no provider") || lower.contains("fi_getinfo") {
        "libfabric found no usable provider: in pod mode the pod needs vpc.amazonaws.com/efa \
         (device plugin) and an image with the EFA installer; in node mode the node needs the \
         EFA installer (the stack's user data runs it at boot)"
            .to_string()
    } else if lower.contains("cannot resolve") || lower.contains("connect") {
        "the client could not reach the server's control port: check the node security group \
         allows all traffic between the nodes (`rdmabench infra plan` shows drift) and that \
         cluster DNS (CoreDNS) runs"
            .to_string()
    } else {
        "see the log above; `rdmabench k8s logs` prints both ends while the pods exist".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p"}, "status": status})).unwrap()
    }

    #[test]
    fn insufficient_efa_is_stuck_with_the_device_plugin_hint() {
        let state = pod_state(&pod(json!({
            "phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": "0/2 nodes are available: 2 Insufficient vpc.amazonaws.com/efa."}]
        })));
        let PodState::Stuck { hint, .. } = state else {
            panic!("expected Stuck, got {state:?}")
        };
        assert!(hint.contains("rdmabench k8s deploy"));
    }

    #[test]
    fn a_node_not_ready_yet_is_worth_waiting_for() {
        let state = pod_state(&pod(json!({
            "phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": "0/2 nodes are available: 2 node(s) had untolerated taint {node.kubernetes.io/not-ready: }."}]
        })));
        assert!(matches!(state, PodState::Waiting(_)), "{state:?}");
    }

    #[test]
    fn image_pull_back_off_is_stuck_and_names_image_build() {
        let state = pod_state(&pod(json!({
            "phase": "Pending",
            "containerStatuses": [{"name": "c", "image": "i", "imageID": "", "ready": false,
                "restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff",
                "message": "Back-off pulling image"}}}]
        })));
        let PodState::Stuck { cause, hint } = state else {
            panic!("expected Stuck")
        };
        assert!(cause.starts_with("ImagePullBackOff"));
        assert!(hint.contains("image build --push"));
    }

    #[test]
    fn exit_codes_and_deadlines_are_reported() {
        let failed = pod_state(&pod(json!({
            "phase": "Failed",
            "containerStatuses": [{"name": "c", "image": "i", "imageID": "", "ready": false,
                "restartCount": 0, "state": {"terminated": {"exitCode": 2, "reason": "Error"}}}]
        })));
        assert_eq!(
            failed,
            PodState::Failed("exited with code 2 (Error)".into())
        );
        let deadline = pod_state(&pod(json!({
            "phase": "Failed", "reason": "DeadlineExceeded",
            "message": "Pod was active on the node longer than the specified deadline"
        })));
        assert!(matches!(deadline, PodState::Failed(m) if m.contains("--timeout")));
    }

    #[test]
    fn memory_registration_failures_point_at_memlock_and_hugepages() {
        // The fabric crate's FabricError::Call as rdmabench prints it.
        let hint = failure_hint("fi_mr_reg failed: Cannot allocate memory (-12)");
        assert!(hint.contains("IPC_LOCK") && hint.contains("hugepages"));
    }
}
