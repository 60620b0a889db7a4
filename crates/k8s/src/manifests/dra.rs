//! The EFA DRA driver (DRANET), the variant `k8s.efa = "dra"` selects: the EKS user guide
//! ("Manage EFA devices on Amazon EKS", awsdocs/amazon-eks-user-guide
//! latest/ug/ml/device-management-efa.adoc @ 43d79bd) recommends it for new deployments on
//! Kubernetes 1.34+ with managed node groups. The driver publishes each node's EFA devices as
//! ResourceSlices of driver `dra.net`; pod-mode pods hold a ResourceClaim (from a template) for
//! the node's EFA devices of DeviceClass `efa.networking.k8s.aws`, and the driver adds their
//! `/dev/infiniband` character devices to the container through NRI.
//!
//! The objects follow the aws/eks-charts `stable/aws-dranet` chart 1.0.0 (app
//! v1.2.0-eksbuild.2; templates at c043cef, values.yaml at b4e9338): ServiceAccount,
//! ClusterRole (rules verbatim), ClusterRoleBinding, the DaemonSet (host network, unprivileged
//! root with every capability dropped, read-only root filesystem, the same host paths, args
//! and readiness probe) and the DeviceClass with the chart's CEL selector. Deliberate
//! differences, as with the device plugin: the DaemonSet selects the stack's labelled nodes
//! (the chart lists instance types), and its image is pulled with `Always`.
//!
//! Node-mode pods claim nothing: they use the host network, and DRANET refuses to hand devices
//! to a host-network pod ("using host network can not claim host devices", kubernetes-sigs/
//! dranet pkg/driver/nri_hooks.go); they reach the devices through the host's namespaces, as
//! with the device plugin, where they do not request `vpc.amazonaws.com/efa` either.
//!
//! None of this has run on a real cluster (no AWS here): it is validated offline only.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource, HTTPGetAction,
    ObjectFieldSelector, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements,
    SecurityContext, ServiceAccount, Toleration, Volume, VolumeMount,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use k8s_openapi::api::resource::v1::{
    CELDeviceSelector, DeviceClaim, DeviceClass, DeviceClassSpec, DeviceRequest, DeviceSelector,
    ExactDeviceRequest, ResourceClaimSpec, ResourceClaimTemplate, ResourceClaimTemplateSpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{
    eks_addon_registry, host_path, labels, metadata, quantities, runtime_default_seccomp,
    BenchSpec, EFA_NODE_LABEL,
};

/// Name of the driver's DaemonSet, ServiceAccount, ClusterRole and binding.
pub const DRA_DRIVER_NAME: &str = "rdmabench-dranet";
/// The driver name in DRANET's ResourceSlices and claims.
pub const DRA_DRIVER: &str = "dra.net";
/// The DeviceClass the chart creates and EKS's examples claim from.
pub const EFA_DEVICE_CLASS: &str = "efa.networking.k8s.aws";
/// The attribute and value that mark an EFA device in DRANET's ResourceSlices.
pub const EFA_PCI_DEVICE: (&str, &str) = ("dra.net/pciDevice", "Elastic Fabric Adapter (EFA)");
/// The template each pod-mode pod's claim is made from, in the benchmark namespace.
pub const EFA_CLAIM_TEMPLATE: &str = "rdmabench-efa";
/// The claim's name inside a pod (spec.resourceClaims and the container's resources.claims).
pub const EFA_CLAIM: &str = "efa";
/// The pinned driver build: the chart's 1.0.0 image.
pub const DRA_DRIVER_VERSION: &str = "v1.2.0-eksbuild.2";
/// The driver's health endpoint (chart value healthPort).
const HEALTH_PORT: i32 = 9177;
/// The chart's device filter: only EFA devices are published, no veth or ENA interfaces.
const DEVICE_FILTER: &str = r#"(!("dra.net/type" in attributes) || attributes["dra.net/type"].StringValue != "veth") && (!("dra.net/pciDevice" in attributes) || attributes["dra.net/pciDevice"].StringValue != "Elastic Network Adapter (ENA)")"#;

/// Everything the DRA variant installs: the driver (cluster-wide, in kube-system) and the claim
/// template the pod-mode pods use (in the benchmark namespace).
#[derive(Debug, Clone)]
pub struct DraObjects {
    /// The driver's identity.
    pub service_account: ServiceAccount,
    /// What the driver may do: publish ResourceSlices, read and update claims.
    pub cluster_role: ClusterRole,
    /// Grants the role to the service account.
    pub cluster_role_binding: ClusterRoleBinding,
    /// The driver on every EFA node.
    pub daemon_set: DaemonSet,
    /// Which devices count as EFA.
    pub device_class: DeviceClass,
    /// One claim per pod-mode pod for the node's EFA interfaces.
    pub claim_template: ResourceClaimTemplate,
}

impl DraObjects {
    /// The driver for `spec`'s region and the claim template for its instance type.
    pub fn new(spec: &BenchSpec) -> DraObjects {
        let namespace = super::DEVICE_PLUGIN_NAMESPACE;
        DraObjects {
            service_account: ServiceAccount {
                metadata: metadata(DRA_DRIVER_NAME, Some(namespace), &[]),
                ..ServiceAccount::default()
            },
            cluster_role: cluster_role(),
            cluster_role_binding: ClusterRoleBinding {
                metadata: metadata(DRA_DRIVER_NAME, None, &[]),
                role_ref: RoleRef {
                    api_group: "rbac.authorization.k8s.io".into(),
                    kind: "ClusterRole".into(),
                    name: DRA_DRIVER_NAME.into(),
                },
                subjects: Some(vec![Subject {
                    kind: "ServiceAccount".into(),
                    name: DRA_DRIVER_NAME.into(),
                    namespace: Some(namespace.into()),
                    ..Subject::default()
                }]),
            },
            daemon_set: daemon_set(&spec.region),
            device_class: DeviceClass {
                metadata: metadata(EFA_DEVICE_CLASS, None, &[]),
                spec: DeviceClassSpec {
                    selectors: Some(vec![DeviceSelector {
                        cel: Some(CELDeviceSelector {
                            expression: format!(
                                "device.driver == \"{DRA_DRIVER}\" && device.attributes[\"dra.net\"].pciDevice == '{}'",
                                EFA_PCI_DEVICE.1
                            ),
                        }),
                    }]),
                    ..DeviceClassSpec::default()
                },
            },
            claim_template: claim_template(spec),
        }
    }
}

fn rule(group: &str, resources: &[&str], verbs: &[&str]) -> PolicyRule {
    let strings = |items: &[&str]| items.iter().map(|s| (*s).to_string()).collect();
    PolicyRule {
        api_groups: Some(vec![group.to_string()]),
        resources: Some(strings(resources)),
        verbs: strings(verbs),
        ..PolicyRule::default()
    }
}

/// The chart's rules, verbatim: read its node, publish ResourceSlices, read claims and
/// classes, write claim status, and the node-scoped driver subresource of its own claims.
fn cluster_role() -> ClusterRole {
    ClusterRole {
        metadata: metadata(DRA_DRIVER_NAME, None, &[]),
        rules: Some(vec![
            rule("", &["nodes"], &["get"]),
            rule(
                "resource.k8s.io",
                &["resourceslices"],
                &["list", "watch", "create", "update", "delete"],
            ),
            rule(
                "resource.k8s.io",
                &["resourceclaims", "deviceclasses"],
                &["get"],
            ),
            rule(
                "resource.k8s.io",
                &["resourceclaims/status"],
                &["patch", "update"],
            ),
            PolicyRule {
                resource_names: Some(vec![DRA_DRIVER.to_string()]),
                ..rule(
                    "resource.k8s.io",
                    &["resourceclaims/driver"],
                    &["associated-node:patch", "associated-node:update"],
                )
            },
        ]),
        ..ClusterRole::default()
    }
}

fn daemon_set(region: &str) -> DaemonSet {
    let selector = BTreeMap::from([("name".to_string(), DRA_DRIVER_NAME.to_string())]);
    let mut pairs = vec![
        host_path(
            "device-plugin",
            "/var/lib/kubelet/plugins",
            Some("DirectoryOrCreate"),
            None,
        ),
        host_path(
            "plugin-registry",
            "/var/lib/kubelet/plugins_registry",
            Some("DirectoryOrCreate"),
            None,
        ),
        host_path(
            "nri-plugin",
            "/var/run/nri",
            Some("DirectoryOrCreate"),
            None,
        ),
        host_path(
            "netns",
            "/var/run/netns",
            Some("DirectoryOrCreate"),
            Some("HostToContainer"),
        ),
        host_path(
            "infiniband",
            "/dev/infiniband",
            Some("DirectoryOrCreate"),
            Some("HostToContainer"),
        ),
        host_path(
            "dranet-run",
            "/var/run/dranet",
            Some("DirectoryOrCreate"),
            None,
        ),
    ];
    pairs.push((
        Volume {
            name: "tmp".into(),
            empty_dir: Some(EmptyDirVolumeSource {
                medium: Some("Memory".into()),
                size_limit: Some(Quantity("10Mi".into())),
            }),
            ..Volume::default()
        },
        VolumeMount {
            name: "tmp".into(),
            mount_path: "/tmp".into(),
            ..VolumeMount::default()
        },
    ));
    let (volumes, mounts): (Vec<_>, Vec<_>) = pairs.into_iter().unzip();
    let container = Container {
        name: "dranet".into(),
        image: Some(format!(
            "{}/eks/dranet:{DRA_DRIVER_VERSION}",
            eks_addon_registry(region)
        )),
        image_pull_policy: Some("Always".into()),
        args: Some(vec![
            "/dranet".into(),
            "--v=4".into(),
            "--hostname-override=$(NODE_NAME)".into(),
            format!("--bind-address=:{HEALTH_PORT}"),
            "--cloud-provider-hint=AWS".into(),
            format!("--filter={DEVICE_FILTER}"),
        ]),
        env: Some(vec![EnvVar {
            name: "NODE_NAME".into(),
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    field_path: "spec.nodeName".into(),
                    ..ObjectFieldSelector::default()
                }),
                ..EnvVarSource::default()
            }),
            ..EnvVar::default()
        }]),
        resources: Some(ResourceRequirements {
            requests: Some(quantities("100m", "50Mi")),
            limits: Some(quantities("500m", "256Mi")),
            ..ResourceRequirements::default()
        }),
        security_context: Some(SecurityContext {
            privileged: Some(false),
            run_as_user: Some(0),
            run_as_group: Some(0),
            read_only_root_filesystem: Some(true),
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Capabilities::default()
            }),
            seccomp_profile: Some(runtime_default_seccomp()),
            ..SecurityContext::default()
        }),
        readiness_probe: Some(Probe {
            http_get: Some(HTTPGetAction {
                path: Some("/healthz".into()),
                port: IntOrString::Int(HEALTH_PORT),
                ..HTTPGetAction::default()
            }),
            ..Probe::default()
        }),
        volume_mounts: Some(mounts),
        ..Container::default()
    };
    DaemonSet {
        metadata: metadata(DRA_DRIVER_NAME, Some(super::DEVICE_PLUGIN_NAMESPACE), &[]),
        spec: Some(DaemonSetSpec {
            selector: LabelSelector {
                match_labels: Some(selector.clone()),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                    labels: Some(labels(&[("name", DRA_DRIVER_NAME)])),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    priority_class_name: Some("system-node-critical".into()),
                    host_network: Some(true),
                    host_pid: Some(false),
                    service_account_name: Some(DRA_DRIVER_NAME.into()),
                    node_selector: Some(BTreeMap::from([(
                        EFA_NODE_LABEL.0.to_string(),
                        EFA_NODE_LABEL.1.to_string(),
                    )])),
                    tolerations: Some(vec![Toleration {
                        key: Some("CriticalAddonsOnly".into()),
                        operator: Some("Exists".into()),
                        ..Toleration::default()
                    }]),
                    containers: vec![container],
                    volumes: Some(volumes),
                    security_context: Some(PodSecurityContext {
                        seccomp_profile: Some(runtime_default_seccomp()),
                        ..PodSecurityContext::default()
                    }),
                    ..PodSpec::default()
                }),
            },
            ..DaemonSetSpec::default()
        }),
        ..DaemonSet::default()
    }
}

/// Every EFA interface of the node, as the device plugin variant requests
/// `vpc.amazonaws.com/efa: <network cards>`: the same share, so the two variants measure alike.
fn claim_template(spec: &BenchSpec) -> ResourceClaimTemplate {
    ResourceClaimTemplate {
        metadata: metadata(EFA_CLAIM_TEMPLATE, Some(&spec.namespace), &[]),
        spec: ResourceClaimTemplateSpec {
            spec: ResourceClaimSpec {
                devices: Some(DeviceClaim {
                    requests: Some(vec![DeviceRequest {
                        name: EFA_CLAIM.into(),
                        exactly: Some(ExactDeviceRequest {
                            device_class_name: EFA_DEVICE_CLASS.into(),
                            count: Some(i64::from(spec.instance.network_cards)),
                            ..ExactDeviceRequest::default()
                        }),
                        ..DeviceRequest::default()
                    }]),
                    ..DeviceClaim::default()
                }),
            },
            ..ResourceClaimTemplateSpec::default()
        },
    }
}
