//! Network policies: the benchmark pods talk only to each other on the control port and the
//! reference tools' ports after it (and to cluster DNS to find the server), the device plugin to nobody (it uses the kubelet's unix
//! socket). EFA traffic bypasses the kernel, so no policy can slow it down; node-mode pods use
//! the host network, which policies do not govern. They only take effect where the cluster
//! enforces policies (the VPC CNI's network policy agent); elsewhere they are inert.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use rdmabench_engine::TOOL_PORTS;

use super::{metadata, BenchSpec, DEVICE_PLUGIN_NAME, DEVICE_PLUGIN_NAMESPACE, MANAGED_BY};

fn selector(labels: &[(&str, &str)]) -> LabelSelector {
    LabelSelector {
        match_labels: Some(
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        ),
        ..LabelSelector::default()
    }
}

fn port(protocol: &str, number: i32) -> NetworkPolicyPort {
    NetworkPolicyPort {
        protocol: Some(protocol.to_string()),
        port: Some(IntOrString::Int(number)),
        ..NetworkPolicyPort::default()
    }
}

/// Benchmark pods: control-port traffic among themselves, DNS lookups to kube-dns.
pub fn bench_network_policy(spec: &BenchSpec) -> NetworkPolicy {
    let peers = vec![NetworkPolicyPeer {
        pod_selector: Some(selector(&[MANAGED_BY])),
        ..NetworkPolicyPeer::default()
    }];
    // The control port and the ports after it, which `rdmabench tool` gives each size's run.
    let control = vec![NetworkPolicyPort {
        end_port: Some(i32::from(spec.port) + i32::from(TOOL_PORTS) - 1),
        ..port("TCP", i32::from(spec.port))
    }];
    let dns = NetworkPolicyPeer {
        namespace_selector: Some(selector(&[("kubernetes.io/metadata.name", "kube-system")])),
        pod_selector: Some(selector(&[("k8s-app", "kube-dns")])),
        ..NetworkPolicyPeer::default()
    };
    NetworkPolicy {
        metadata: metadata("rdmabench-bench", Some(&spec.namespace), &[]),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(selector(&[MANAGED_BY])),
            policy_types: Some(vec!["Ingress".to_string(), "Egress".to_string()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                from: Some(peers.clone()),
                ports: Some(control.clone()),
            }]),
            egress: Some(vec![
                NetworkPolicyEgressRule {
                    to: Some(peers),
                    ports: Some(control),
                },
                NetworkPolicyEgressRule {
                    to: Some(vec![dns]),
                    ports: Some(vec![port("UDP", 53), port("TCP", 53)]),
                },
            ]),
        }),
    }
}

/// The device plugin: no traffic at all.
pub fn device_plugin_network_policy() -> NetworkPolicy {
    NetworkPolicy {
        metadata: metadata(DEVICE_PLUGIN_NAME, Some(DEVICE_PLUGIN_NAMESPACE), &[]),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(selector(&[("name", DEVICE_PLUGIN_NAME)])),
            policy_types: Some(vec!["Ingress".to_string(), "Egress".to_string()]),
            ..NetworkPolicySpec::default()
        }),
    }
}
