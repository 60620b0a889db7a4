//! Which cluster a flow works on: a context of the user's kubeconfig, or the EKS cluster of the
//! stack, and how its results name it (the placement every results file records).

use rdmabench_infra::StackConfig;
use rdmabench_results::Placement;

use crate::client::{connect, ClusterAccess};
use crate::error::K8sError;
use crate::orchestrate::{Cluster, Progress};

/// What the user chose on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterChoice {
    /// The kubeconfig's current context instead of the stack's cluster.
    pub kubeconfig: bool,
    /// This kubeconfig context instead of the stack's cluster.
    pub context: Option<String>,
    /// Namespace of the benchmark pods.
    pub namespace: String,
}

/// The stack's EKS cluster as its Terraform outputs describe it; the caller reads them, so this
/// crate never runs Terraform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EksOutputs {
    /// `cluster_name`.
    pub cluster_name: String,
    /// `cluster_endpoint`.
    pub endpoint: String,
    /// `cluster_certificate_authority` (base64 of PEM).
    pub certificate_authority: String,
}

/// A cluster to connect to, with the namespace of the benchmark pods and the placement its
/// results record (mode, nodes, image and repetition are filled in per measurement).
#[derive(Debug, Clone, PartialEq)]
pub struct ChosenCluster {
    /// How to reach and authenticate to it.
    pub access: ClusterAccess,
    /// Namespace of the benchmark pods.
    pub namespace: String,
    /// Target, cluster name, namespace and instance type, as the results name them.
    pub placement: Placement,
}

/// The cluster `choice` names: a kubeconfig context when one was asked for, else the stack's
/// EKS cluster, whose outputs `eks_outputs` reads only then (a kubeconfig user needs no stack).
pub fn choose<E>(
    config: &StackConfig,
    choice: &ClusterChoice,
    eks_outputs: impl FnOnce() -> Result<EksOutputs, E>,
) -> Result<ChosenCluster, E> {
    let mut placement = Placement {
        target: "kubernetes".into(),
        cluster: String::new(),
        mode: String::new(),
        namespace: choice.namespace.clone(),
        server_node: String::new(),
        client_node: String::new(),
        instance_type: config.nodes.instance_type.clone(),
        image: String::new(),
        repetition: 0,
        efa_devices: Some(config.k8s.efa.as_str().into()),
        network_policy: None,
    };
    let access = if choice.kubeconfig || choice.context.is_some() {
        placement.cluster = choice
            .context
            .clone()
            .unwrap_or_else(|| "(current context)".into());
        ClusterAccess::Kubeconfig {
            context: choice.context.clone(),
        }
    } else {
        let outputs = eks_outputs()?;
        placement.target = "eks".into();
        placement.cluster = outputs.cluster_name.clone();
        ClusterAccess::Eks {
            cluster_name: outputs.cluster_name,
            region: config.region.clone(),
            endpoint: outputs.endpoint,
            certificate_authority: Some(outputs.certificate_authority),
        }
    };
    Ok(ChosenCluster {
        access,
        namespace: choice.namespace.clone(),
        placement,
    })
}

impl ChosenCluster {
    /// Connects, for a flow that reports its progress to `progress`.
    pub(crate) async fn open(&self, progress: Progress) -> Result<Cluster, K8sError> {
        let client = connect(&self.access)
            .await
            .map_err(|source| K8sError::Connect {
                to: "the Kubernetes API",
                source,
            })?;
        Ok(Cluster::new(client, &self.namespace, progress))
    }
}
