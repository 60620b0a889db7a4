//! Getting EFA devices to pods before anything measures: install the device plugin or the DRA
//! driver (unless the cluster runs one already), refuse a cluster where both would manage the
//! same devices, and wait, with a limit, until two Ready EFA nodes offer every EFA interface of
//! the instance type, naming each node and the likely cause when they do not.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::api::resource::v1::{DeviceClass, ResourceClaimTemplate, ResourceSlice};
use kube::api::{Api, ListParams};
use kube::ResourceExt;
use rdmabench_infra::EfaDevices;

use crate::diagnose::pod_state;
use crate::error::K8sError;
use crate::manifests::{
    Bundle, DraObjects, EfaObjects, DEVICE_PLUGIN_NAME, DEVICE_PLUGIN_NAMESPACE, DRA_DRIVER,
    DRA_DRIVER_NAME, EFA_CLAIM_TEMPLATE, EFA_DEVICE_CLASS, EFA_NODE_LABEL, EFA_PCI_DEVICE,
    EFA_RESOURCE, MANAGED_BY,
};
use crate::orchestrate::{is_not_found, name_of, Cluster};

/// How often the wait looks at the nodes again.
const POLL: Duration = Duration::from_secs(1);
/// How long removing rdmabench's copy of the other mechanism may take.
const RETIRE_LIMIT: Duration = Duration::from_secs(120);

/// An EFA node as the cluster's EFA mechanism reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EfaNode {
    /// Node name.
    pub name: String,
    /// EFA interfaces it offers: allocatable `vpc.amazonaws.com/efa` (device plugin), or EFA
    /// devices in its `dra.net` ResourceSlices (DRA driver).
    pub efa: u32,
    /// Whether the node is Ready.
    pub ready: bool,
}

/// What each mechanism's DaemonSet is recognised by (its image), its own name, and how the
/// messages call it.
struct Mechanism {
    kind: EfaDevices,
    image_marker: &'static str,
    ours: &'static str,
    called: &'static str,
}

const DEVICE_PLUGIN: Mechanism = Mechanism {
    kind: EfaDevices::DevicePlugin,
    image_marker: "aws-efa-k8s-device-plugin",
    ours: DEVICE_PLUGIN_NAME,
    called: "EFA device plugin",
};

const DRA: Mechanism = Mechanism {
    kind: EfaDevices::Dra,
    image_marker: "dranet",
    ours: DRA_DRIVER_NAME,
    called: "EFA DRA driver (DRANET)",
};

impl Mechanism {
    fn of(kind: EfaDevices) -> &'static Mechanism {
        match kind {
            EfaDevices::DevicePlugin => &DEVICE_PLUGIN,
            EfaDevices::Dra => &DRA,
        }
    }

    fn other(&self) -> &'static Mechanism {
        match self.kind {
            EfaDevices::DevicePlugin => &DRA,
            EfaDevices::Dra => &DEVICE_PLUGIN,
        }
    }

    fn runs_in(&self, daemon_set: &DaemonSet) -> bool {
        daemon_set.spec.iter().any(|spec| {
            spec.template.spec.iter().any(|pod| {
                pod.containers.iter().any(|c| {
                    c.image
                        .as_deref()
                        .is_some_and(|i| i.contains(self.image_marker))
                })
            })
        })
    }
}

fn managed_by_us(daemon_set: &DaemonSet) -> bool {
    daemon_set.labels().get(MANAGED_BY.0).map(String::as_str) == Some(MANAGED_BY.1)
}

/// The bundle's mechanism.
pub(crate) fn mechanism_of(bundle: &Bundle) -> EfaDevices {
    match bundle.efa {
        EfaObjects::DevicePlugin(_) => EfaDevices::DevicePlugin,
        EfaObjects::Dra(_) => EfaDevices::Dra,
    }
}

impl Cluster {
    /// Installs the namespace and, unless the cluster already runs one, the bundle's EFA
    /// mechanism (device plugin, or DRA driver and the pods' claim template); then waits up to
    /// `limit` until at least two Ready EFA nodes offer `efa_per_node` interfaces each.
    pub async fn deploy(
        &self,
        bundle: &Bundle,
        efa_per_node: u32,
        limit: Duration,
    ) -> Result<Vec<EfaNode>, K8sError> {
        let wanted = Mechanism::of(mechanism_of(bundle));
        if wanted.kind == EfaDevices::Dra {
            // Before anything is created: a cluster without the API gets a sentence, not a 404.
            self.efa_devices_in_slices().await?;
        }
        let daemon_sets = self
            .daemon_sets()
            .list(&ListParams::default())
            .await
            .map_err(K8sError::api("listing DaemonSets in kube-system"))?
            .items;
        self.retire_the_other(wanted, &daemon_sets).await?;
        self.apply(&Api::<Namespace>::all(self.client()), &bundle.namespace)
            .await?;
        let foreign = daemon_sets
            .iter()
            .filter(|ds| !managed_by_us(ds))
            .find(|ds| wanted.runs_in(ds))
            .map(name_of);
        match (&bundle.efa, foreign) {
            (_, Some(existing)) => self.say(&format!(
                "an {} is already installed ({DEVICE_PLUGIN_NAMESPACE}/{existing}); using it",
                wanted.called
            )),
            (EfaObjects::DevicePlugin(plugin), None) => {
                self.apply(&self.daemon_sets(), plugin).await?;
                self.say(&format!(
                    "applied {DEVICE_PLUGIN_NAMESPACE}/{DEVICE_PLUGIN_NAME}"
                ));
            }
            (EfaObjects::Dra(dra), None) => self.install_dra_driver(dra).await?,
        }
        if let EfaObjects::Dra(dra) = &bundle.efa {
            self.apply(&self.here::<ResourceClaimTemplate>(), &dra.claim_template)
                .await?;
        }
        self.wait_for_efa(wanted, efa_per_node, limit).await
    }

    /// The DRA driver's objects, cluster-wide ones included.
    async fn install_dra_driver(&self, dra: &DraObjects) -> Result<(), K8sError> {
        let client = self.client();
        self.apply(
            &Api::<ServiceAccount>::namespaced(client.clone(), DEVICE_PLUGIN_NAMESPACE),
            &dra.service_account,
        )
        .await?;
        self.apply(&Api::<ClusterRole>::all(client.clone()), &dra.cluster_role)
            .await?;
        self.apply(
            &Api::<ClusterRoleBinding>::all(client.clone()),
            &dra.cluster_role_binding,
        )
        .await?;
        self.apply(&Api::<DeviceClass>::all(client), &dra.device_class)
            .await?;
        self.apply(&self.daemon_sets(), &dra.daemon_set).await?;
        self.say(&format!(
            "applied {DEVICE_PLUGIN_NAMESPACE}/{DRA_DRIVER_NAME} and DeviceClass {EFA_DEVICE_CLASS}"
        ));
        Ok(())
    }

    /// Removes rdmabench's DRA driver and claim template, if it installed them; the
    /// DeviceClass only when it carries rdmabench's label (its name is the one the upstream
    /// chart creates). Returns what was deleted.
    pub(crate) async fn remove_dra_driver(&self, limit: Duration) -> Result<Vec<String>, K8sError> {
        let client = self.client();
        let mut deleted = Vec::new();
        let system = |kind: &str| format!("{kind} {DEVICE_PLUGIN_NAMESPACE}/{DRA_DRIVER_NAME}");
        if self
            .delete(&self.daemon_sets(), DRA_DRIVER_NAME, limit)
            .await?
        {
            deleted.push(system("daemonset"));
        }
        let accounts = Api::<ServiceAccount>::namespaced(client.clone(), DEVICE_PLUGIN_NAMESPACE);
        if self.delete(&accounts, DRA_DRIVER_NAME, limit).await? {
            deleted.push(system("serviceaccount"));
        }
        let bindings = Api::<ClusterRoleBinding>::all(client.clone());
        if self.delete(&bindings, DRA_DRIVER_NAME, limit).await? {
            deleted.push(format!("clusterrolebinding {DRA_DRIVER_NAME}"));
        }
        let roles = Api::<ClusterRole>::all(client.clone());
        if self.delete(&roles, DRA_DRIVER_NAME, limit).await? {
            deleted.push(format!("clusterrole {DRA_DRIVER_NAME}"));
        }
        let classes = Api::<DeviceClass>::all(client);
        let ours = classes
            .get_opt(EFA_DEVICE_CLASS)
            .await
            .map_err(K8sError::api(format!(
                "reading DeviceClass {EFA_DEVICE_CLASS}"
            )))?
            .is_some_and(|class| {
                class.labels().get(MANAGED_BY.0).map(String::as_str) == Some(MANAGED_BY.1)
            });
        if ours && self.delete(&classes, EFA_DEVICE_CLASS, limit).await? {
            deleted.push(format!("deviceclass {EFA_DEVICE_CLASS}"));
        }
        let templates = self.here::<ResourceClaimTemplate>();
        if self.delete(&templates, EFA_CLAIM_TEMPLATE, limit).await? {
            deleted.push(format!(
                "resourceclaimtemplate {}/{EFA_CLAIM_TEMPLATE}",
                self.namespace()
            ));
        }
        Ok(deleted)
    }

    /// The EKS user guide: the device plugin and the DRA driver "cannot coexist on the same
    /// node" (silent oversubscription). rdmabench's own copy of the other one is removed; one
    /// someone else installed is a refusal naming it.
    async fn retire_the_other(
        &self,
        wanted: &Mechanism,
        daemon_sets: &[DaemonSet],
    ) -> Result<(), K8sError> {
        let other = wanted.other();
        for daemon_set in daemon_sets.iter().filter(|ds| other.runs_in(ds)) {
            let name = name_of(daemon_set);
            if !managed_by_us(daemon_set) {
                return Err(K8sError::BothEfaMechanisms {
                    installed: other.called,
                    daemon_set: format!("{DEVICE_PLUGIN_NAMESPACE}/{name}"),
                    installed_setting: other.kind.as_str(),
                    wanted: wanted.kind.as_str(),
                    wanted_called: wanted.called,
                });
            }
            if self
                .delete(&self.daemon_sets(), &name, RETIRE_LIMIT)
                .await?
            {
                self.say(&format!(
                    "removed rdmabench's {} ({DEVICE_PLUGIN_NAMESPACE}/{name}): k8s.efa is now \"{}\"",
                    other.called,
                    wanted.kind.as_str()
                ));
            }
        }
        Ok(())
    }

    async fn wait_for_efa(
        &self,
        mechanism: &Mechanism,
        efa_per_node: u32,
        limit: Duration,
    ) -> Result<Vec<EfaNode>, K8sError> {
        let deadline = Instant::now() + limit;
        loop {
            let nodes = self.efa_nodes(mechanism.kind).await?;
            let usable = nodes
                .iter()
                .filter(|n| n.ready && n.efa >= efa_per_node)
                .count();
            if usable >= 2 {
                return Ok(nodes);
            }
            if Instant::now() >= deadline {
                let (offered, hint) = match mechanism.kind {
                    EfaDevices::DevicePlugin => (
                        EFA_RESOURCE.to_string(),
                        "If the plugin pods run but report 0, the nodes have no EFA device \
                         (check the instance type and that the EFA installer ran in the node \
                         user data)",
                    ),
                    EfaDevices::Dra => (
                        format!("EFA devices in {DRA_DRIVER} ResourceSlices"),
                        "If the driver pods run but publish no EFA device, check that the nodes \
                         have the EFA kernel module (the EFA installer in the node user data) \
                         and that containerd has NRI enabled, which the driver needs; a node \
                         without slices at all has no running driver pod",
                    ),
                };
                let seen = nodes
                    .iter()
                    .map(|n| format!("{} (ready: {}, {offered}: {})", n.name, n.ready, n.efa))
                    .collect::<Vec<_>>()
                    .join(", ");
                let pods = self.driver_pods(mechanism).await?;
                return Err(K8sError::Timeout {
                    what: format!("2 Ready nodes offering {efa_per_node} {offered} each"),
                    limit,
                    state: format!("nodes: [{seen}]; {} pods: {pods}. {hint}", mechanism.called),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The EFA nodes with the EFA interfaces `mechanism` says they offer, and readiness.
    pub async fn efa_nodes(&self, mechanism: EfaDevices) -> Result<Vec<EfaNode>, K8sError> {
        let selector = format!("{}={}", EFA_NODE_LABEL.0, EFA_NODE_LABEL.1);
        let nodes = Api::<Node>::all(self.client())
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(K8sError::api("listing nodes"))?;
        let slices = match mechanism {
            EfaDevices::DevicePlugin => BTreeMap::new(),
            EfaDevices::Dra => self.efa_devices_in_slices().await?,
        };
        Ok(nodes
            .items
            .iter()
            .map(|node| {
                let name = name_of(node);
                let status = node.status.as_ref();
                let efa = match mechanism {
                    EfaDevices::DevicePlugin => status
                        .and_then(|s| s.allocatable.as_ref())
                        .and_then(|a| a.get(EFA_RESOURCE))
                        .and_then(|q| q.0.parse().ok())
                        .unwrap_or(0),
                    EfaDevices::Dra => slices.get(&name).copied().unwrap_or(0),
                };
                let ready = status
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
                EfaNode { name, efa, ready }
            })
            .collect())
    }

    /// EFA devices per node in the DRA driver's ResourceSlices: a node's pool may span several
    /// slices, and allocated devices stay listed, so this is what the node has, not what is
    /// free. Not found: the cluster has no resource.k8s.io/v1 API (Kubernetes before 1.34).
    async fn efa_devices_in_slices(&self) -> Result<BTreeMap<String, u32>, K8sError> {
        let slices = match Api::<ResourceSlice>::all(self.client())
            .list(&ListParams::default())
            .await
        {
            Err(error) if is_not_found(&error) => return Err(K8sError::NoDraApi),
            listed => listed.map_err(K8sError::api("listing ResourceSlices"))?,
        };
        Ok(efa_devices_per_node(&slices.items))
    }

    /// The states of `mechanism`'s pods, for error messages.
    async fn driver_pods(&self, mechanism: &Mechanism) -> Result<String, K8sError> {
        let pods = Api::<Pod>::namespaced(self.client(), DEVICE_PLUGIN_NAMESPACE)
            .list(&ListParams::default().labels(&format!("name={}", mechanism.ours)))
            .await
            .map_err(K8sError::api(format!(
                "listing the {} pods",
                mechanism.called
            )))?;
        if pods.items.is_empty() {
            return Ok(format!(
                "none (the DaemonSet matches no node: are the nodes labelled {}={}?)",
                EFA_NODE_LABEL.0, EFA_NODE_LABEL.1
            ));
        }
        Ok(pods
            .items
            .iter()
            .map(|p| format!("{} {:?}", name_of(p), pod_state(p)))
            .collect::<Vec<_>>()
            .join(", "))
    }
}

/// EFA devices (driver `dra.net`, `dra.net/pciDevice` = "Elastic Fabric Adapter (EFA)") per
/// node name, summed over every slice of the node.
pub(crate) fn efa_devices_per_node(slices: &[ResourceSlice]) -> BTreeMap<String, u32> {
    let mut per_node = BTreeMap::new();
    for slice in slices.iter().filter(|s| s.spec.driver == DRA_DRIVER) {
        let Some(node) = &slice.spec.node_name else {
            continue;
        };
        let efa = slice
            .spec
            .devices
            .iter()
            .flatten()
            .filter(|device| {
                device
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(EFA_PCI_DEVICE.0))
                    .and_then(|value| value.string.as_deref())
                    == Some(EFA_PCI_DEVICE.1)
            })
            .count();
        *per_node.entry(node.clone()).or_insert(0) += u32::try_from(efa).unwrap_or(u32::MAX);
    }
    per_node
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ResourceSlice as DRANET publishes it on EKS, in the form of the p4d.24xlarge slice in
    /// kubernetes-sigs/dranet examples/aws_eks_examples/gpu-efa/resourceslice-dranet.yaml
    /// (@ f258477), one ENA interface beside the EFA devices as when no filter is set.
    fn slice(driver: &str, node: &str, efa: usize) -> ResourceSlice {
        let mut devices: Vec<serde_json::Value> = (0..efa)
            .map(|i| {
                serde_json::json!({
                    "name": format!("pci-0000-{:02x}-1b-0", 0x10 + i),
                    "attributes": {
                        "dra.net/numaNode": {"int": 0},
                        "dra.net/pciAddress": {"string": format!("0000:{:02x}:1b.0", 0x10 + i)},
                        "dra.net/pciDevice": {"string": "Elastic Fabric Adapter (EFA)"},
                        "dra.net/pciSubsystem": {"string": "efa0"},
                        "dra.net/rdma": {"bool": true},
                        "dra.net/rdmaDevice": {"string": "rdmap16s27"},
                    }
                })
            })
            .collect();
        devices.push(serde_json::json!({
            "name": "eth0",
            "attributes": {
                "dra.net/ifName": {"string": "eth0"},
                "dra.net/pciDevice": {"string": "Elastic Network Adapter (ENA)"},
                "dra.net/rdma": {"bool": false},
            }
        }));
        serde_json::from_value(serde_json::json!({
            "apiVersion": "resource.k8s.io/v1",
            "kind": "ResourceSlice",
            "metadata": {"name": format!("{node}-{driver}")},
            "spec": {
                "driver": driver,
                "nodeName": node,
                "pool": {"generation": 1, "name": node, "resourceSliceCount": 1},
                "devices": devices,
            }
        }))
        .unwrap()
    }

    #[test]
    fn only_efa_devices_of_the_dranet_driver_count() {
        let slices = [
            slice("dra.net", "node-a", 4),
            slice("dra.net", "node-b", 1),
            // Another driver's slice on node-b (a GPU driver, say) adds nothing.
            slice("gpu.nvidia.com", "node-b", 8),
        ];
        let counted = efa_devices_per_node(&slices);
        assert_eq!(
            counted,
            BTreeMap::from([("node-a".to_string(), 4), ("node-b".to_string(), 1)])
        );
    }

    #[test]
    fn a_pool_split_over_slices_is_summed() {
        let mut second = slice("dra.net", "node-a", 2);
        second.metadata.name = Some("node-a-dra.net-2".into());
        let counted = efa_devices_per_node(&[slice("dra.net", "node-a", 2), second]);
        assert_eq!(counted.get("node-a"), Some(&4));
    }
}
