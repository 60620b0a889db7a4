//! What a cluster enforces of NetworkPolicies, recorded with every measurement: a policy engine
//! puts its own code (eBPF or iptables) on pod mode's socket path, never on EFA's (kernel
//! bypass) or on node mode's (host network), so it can tilt a tcp or socket comparison between
//! the two modes and must be visible in the results. rdmabench renders no policies itself (see
//! `manifests::Bundle::to_yaml`).

use k8s_openapi::api::apps::v1::DaemonSet;
use kube::api::{Api, ListParams};
use kube::ResourceExt;
use rdmabench_results::NetworkPolicyEnforcement;

use crate::error::K8sError;
use crate::orchestrate::Cluster;

/// The VPC CNI's DaemonSet and its policy agent container (amazon-vpc-cni-k8s), which ships
/// with `--enable-network-policy=false` unless the add-on's `enableNetworkPolicy` is set.
const VPC_CNI_DAEMONSET: &str = "aws-node";
const VPC_CNI_POLICY_AGENT: &str = "aws-network-policy-agent";
const VPC_CNI_ENFORCING_ARG: &str = "--enable-network-policy=true";

/// DaemonSets of CNIs that enforce NetworkPolicies whenever they run, and the engine's name.
const ENFORCING_CNIS: &[(&str, &str)] = &[
    ("cilium", "cilium"),
    ("calico-node", "calico"),
    ("antrea-agent", "antrea"),
];

/// The policy engine `daemon_sets` show: an enforcing one first, else the VPC CNI's agent
/// with enforcement off, else none.
pub(crate) fn engine_of(daemon_sets: &[DaemonSet]) -> (Option<String>, bool) {
    let mut found = (None, false);
    for daemon_set in daemon_sets {
        let name = daemon_set.name_any();
        if let Some((_, engine)) = ENFORCING_CNIS.iter().find(|(ds, _)| *ds == name) {
            return (Some((*engine).to_string()), true);
        }
        if name != VPC_CNI_DAEMONSET {
            continue;
        }
        let agent = daemon_set
            .spec
            .iter()
            .flat_map(|spec| spec.template.spec.iter())
            .flat_map(|pod| pod.containers.iter())
            .find(|c| c.name == VPC_CNI_POLICY_AGENT);
        if let Some(agent) = agent {
            let enforcing = agent
                .args
                .iter()
                .flatten()
                .any(|a| a == VPC_CNI_ENFORCING_ARG);
            found = (Some(VPC_CNI_POLICY_AGENT.to_string()), enforcing);
        }
    }
    found
}

impl Cluster {
    /// The cluster's policy engine and the NetworkPolicies in the benchmark namespace; an error
    /// when the account may not list DaemonSets or policies (the caller records nothing then
    /// rather than a guess).
    pub(crate) async fn network_policy_enforcement(
        &self,
    ) -> Result<NetworkPolicyEnforcement, K8sError> {
        let daemon_sets = Api::<DaemonSet>::all(self.client())
            .list(&ListParams::default())
            .await
            .map_err(K8sError::api(
                "listing DaemonSets to find a NetworkPolicy engine",
            ))?;
        let (engine, enforcing) = engine_of(&daemon_sets.items);
        let policies = self
            .policies(self.namespace())
            .list(&ListParams::default())
            .await
            .map_err(K8sError::api(format!(
                "listing NetworkPolicies in {}",
                self.namespace()
            )))?;
        Ok(NetworkPolicyEnforcement {
            engine,
            enforcing,
            policies_in_namespace: u32::try_from(policies.items.len()).unwrap_or(u32::MAX),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::DaemonSetSpec;
    use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn daemon_set(name: &str, containers: &[(&str, &[&str])]) -> DaemonSet {
        DaemonSet {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..ObjectMeta::default()
            },
            spec: Some(DaemonSetSpec {
                template: PodTemplateSpec {
                    spec: Some(PodSpec {
                        containers: containers
                            .iter()
                            .map(|(name, args)| Container {
                                name: (*name).into(),
                                args: Some(args.iter().map(|a| (*a).to_string()).collect()),
                                ..Container::default()
                            })
                            .collect(),
                        ..PodSpec::default()
                    }),
                    ..PodTemplateSpec::default()
                },
                ..DaemonSetSpec::default()
            }),
            ..DaemonSet::default()
        }
    }

    #[test]
    fn the_vpc_cni_agent_enforces_only_when_enabled() {
        // The agent's arguments as the VPC CNI add-on renders them (off by default).
        let off = daemon_set(
            "aws-node",
            &[
                ("aws-node", &[]),
                (
                    "aws-network-policy-agent",
                    &["--enable-ipv6=false", "--enable-network-policy=false"],
                ),
            ],
        );
        assert_eq!(
            engine_of(&[off]),
            (Some("aws-network-policy-agent".into()), false)
        );
        let on = daemon_set(
            "aws-node",
            &[(
                "aws-network-policy-agent",
                &["--enable-network-policy=true"],
            )],
        );
        assert_eq!(
            engine_of(&[on]),
            (Some("aws-network-policy-agent".into()), true)
        );
    }

    #[test]
    fn an_old_vpc_cni_without_the_agent_is_no_engine() {
        let old = daemon_set("aws-node", &[("aws-node", &[])]);
        assert_eq!(engine_of(&[old]), (None, false));
        assert_eq!(engine_of(&[]), (None, false));
    }

    #[test]
    fn an_enforcing_cni_wins_over_a_disabled_agent() {
        let off = daemon_set(
            "aws-node",
            &[(
                "aws-network-policy-agent",
                &["--enable-network-policy=false"],
            )],
        );
        let calico = daemon_set("calico-node", &[("calico-node", &[])]);
        assert_eq!(engine_of(&[off, calico]), (Some("calico".into()), true));
    }
}
