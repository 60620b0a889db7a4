//! The AWS EFA Kubernetes device plugin: it finds the EFA devices under /dev/infiniband on each
//! EFA node and advertises them to the kubelet as `vpc.amazonaws.com/efa`, which pods then
//! request like CPU or memory. It follows the upstream chart of the pinned version
//! (aws/eks-charts `stable/aws-efa-k8s-device-plugin` chart v0.5.30, app v0.5.20,
//! templates/daemonset.yaml and values.yaml): host network, a privileged container running as
//! root with privilege escalation allowed (the chart's securityContext since eks-charts #1245,
//! which the plugin's device and topology discovery expects), and the same three host paths.
//! Deliberate differences: it is restricted to the stack's labelled nodes (the chart matches a
//! list of instance types), it has CPU and memory limits and a read-only root filesystem, and
//! the `/opt/aws/neuron` mount (Neuron tools, for Trainium/Inferentia nodes) is left out on
//! instance types without Neuron devices, where the chart would create an empty directory on
//! the host.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec, DaemonSetUpdateStrategy};
use k8s_openapi::api::core::v1::{
    Container, PodSpec, PodTemplateSpec, ResourceRequirements, SecurityContext, Toleration,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use rdmabench_infra::instances::{Accelerator, InstanceType};

use super::{
    eks_addon_registry, host_path, labels, metadata, quantities, runtime_default_seccomp,
    DEVICE_PLUGIN_VERSION, EFA_NODE_LABEL,
};

/// Name of the DaemonSet (and of its pods' selector label).
pub const DEVICE_PLUGIN_NAME: &str = "rdmabench-efa-device-plugin";
/// Device plugins are node infrastructure, kept beside the other EKS add-ons.
pub const DEVICE_PLUGIN_NAMESPACE: &str = "kube-system";

/// The device plugin DaemonSet for a cluster in `region` of `instance` nodes, image pulled from
/// that region's EKS add-on registry.
pub fn device_plugin(region: &str, instance: &InstanceType) -> DaemonSet {
    let selector = BTreeMap::from([("name".to_string(), DEVICE_PLUGIN_NAME.to_string())]);
    let mut paths = vec![
        host_path(
            "device-plugin",
            "/var/lib/kubelet/device-plugins",
            None,
            None,
        ),
        host_path("infiniband-volume", "/dev/infiniband/", None, None),
    ];
    if instance.accelerator == Accelerator::Neuron {
        paths.push(host_path(
            "neuron-tools",
            "/opt/aws/neuron/",
            Some("DirectoryOrCreate"),
            None,
        ));
    }
    let (volumes, mounts): (Vec<_>, Vec<_>) = paths.into_iter().unzip();
    let container = Container {
        name: "efa-device-plugin".to_string(),
        image: Some(format!(
            "{}/eks/aws-efa-k8s-device-plugin:{DEVICE_PLUGIN_VERSION}",
            eks_addon_registry(region)
        )),
        image_pull_policy: Some("Always".to_string()),
        resources: Some(ResourceRequirements {
            requests: Some(quantities("10m", "20Mi")),
            limits: Some(quantities("100m", "64Mi")),
            ..ResourceRequirements::default()
        }),
        // The chart's securityContext (values.yaml of chart v0.5.30). A privileged container
        // has every capability, so no drop list is set: it would only mislead a reader.
        security_context: Some(SecurityContext {
            privileged: Some(true),
            allow_privilege_escalation: Some(true),
            run_as_non_root: Some(false),
            run_as_user: Some(0),
            read_only_root_filesystem: Some(true),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(mounts),
        ..Container::default()
    };
    let mut pod_labels = labels(&[]);
    pod_labels.extend(selector.clone());
    DaemonSet {
        metadata: metadata(DEVICE_PLUGIN_NAME, Some(DEVICE_PLUGIN_NAMESPACE), &[]),
        spec: Some(DaemonSetSpec {
            selector: LabelSelector {
                match_labels: Some(selector),
                ..LabelSelector::default()
            },
            update_strategy: Some(DaemonSetUpdateStrategy {
                type_: Some("RollingUpdate".to_string()),
                ..DaemonSetUpdateStrategy::default()
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    automount_service_account_token: Some(false),
                    host_network: Some(true),
                    priority_class_name: Some("system-node-critical".to_string()),
                    node_selector: Some(BTreeMap::from([(
                        EFA_NODE_LABEL.0.to_string(),
                        EFA_NODE_LABEL.1.to_string(),
                    )])),
                    tolerations: Some(vec![
                        Toleration {
                            key: Some("CriticalAddonsOnly".to_string()),
                            operator: Some("Exists".to_string()),
                            ..Toleration::default()
                        },
                        Toleration {
                            key: Some("aws.amazon.com/efa".to_string()),
                            operator: Some("Exists".to_string()),
                            effect: Some("NoSchedule".to_string()),
                            ..Toleration::default()
                        },
                    ]),
                    security_context: Some(k8s_openapi::api::core::v1::PodSecurityContext {
                        seccomp_profile: Some(runtime_default_seccomp()),
                        ..Default::default()
                    }),
                    containers: vec![container],
                    volumes: Some(volumes),
                    ..PodSpec::default()
                }),
            },
            ..DaemonSetSpec::default()
        }),
        ..DaemonSet::default()
    }
}
