//! The AWS EFA Kubernetes device plugin: it finds the EFA devices under /dev/infiniband on each
//! EFA node and advertises them to the kubelet as `vpc.amazonaws.com/efa`, which pods then
//! request like CPU or memory. Modelled on the eks-charts DaemonSet, with two deliberate
//! differences: it is restricted to the stack's labelled nodes, and it runs without host
//! networking (it only talks to the kubelet through the device-plugin socket directory).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec, DaemonSetUpdateStrategy};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, HostPathVolumeSource, PodSpec, PodTemplateSpec, ResourceRequirements,
    SeccompProfile, SecurityContext, Toleration, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::{eks_addon_registry, labels, metadata, DEVICE_PLUGIN_VERSION, EFA_NODE_LABEL};

/// Name of the DaemonSet (and of its pods' selector label).
pub const DEVICE_PLUGIN_NAME: &str = "rdmabench-efa-device-plugin";
/// Device plugins are node infrastructure, kept beside the other EKS add-ons.
pub const DEVICE_PLUGIN_NAMESPACE: &str = "kube-system";

fn host_path(name: &str, path: &str) -> (Volume, VolumeMount) {
    let volume = Volume {
        name: name.to_string(),
        host_path: Some(HostPathVolumeSource {
            path: path.to_string(),
            type_: None,
        }),
        ..Volume::default()
    };
    let mount = VolumeMount {
        name: name.to_string(),
        mount_path: path.to_string(),
        ..VolumeMount::default()
    };
    (volume, mount)
}

fn quantities(cpu: &str, memory: &str) -> BTreeMap<String, Quantity> {
    BTreeMap::from([
        ("cpu".to_string(), Quantity(cpu.to_string())),
        ("memory".to_string(), Quantity(memory.to_string())),
    ])
}

/// The device plugin DaemonSet for a cluster in `region`, image pulled from that region's EKS
/// add-on registry.
pub fn device_plugin(region: &str) -> DaemonSet {
    let selector = BTreeMap::from([("name".to_string(), DEVICE_PLUGIN_NAME.to_string())]);
    let (volumes, mounts): (Vec<_>, Vec<_>) = [
        host_path("device-plugin", "/var/lib/kubelet/device-plugins"),
        host_path("infiniband", "/dev/infiniband"),
    ]
    .into_iter()
    .unzip();
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
        security_context: Some(SecurityContext {
            privileged: Some(false),
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".to_string()]),
                add: None,
            }),
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
                        seccomp_profile: Some(SeccompProfile {
                            type_: "RuntimeDefault".to_string(),
                            ..SeccompProfile::default()
                        }),
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
