//! The rendered manifests: snapshots of every object, and the properties a benchmark's validity
//! depends on, asserted directly so a snapshot update cannot silently drop them.

use k8s_openapi::api::core::v1::Pod;
use rdmabench_infra::instances::lookup;
use rdmabench_infra::EfaDevices;
use rdmabench_k8s::manifests::{
    agent_pod, bench_pod, coordinator_pod, BenchSpec, Bundle, EfaObjects, LauncherAccess, Mode,
    Role, DRA_DRIVER, EFA_CLAIM_TEMPLATE, EFA_DEVICE_CLASS, EFA_RESOURCE,
};

fn spec(instance: &str, hugepages_2mi: u32) -> BenchSpec {
    BenchSpec {
        namespace: "rdmabench".into(),
        image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/rdmabench-demo:0.1.0-abc1234".into(),
        region: "us-east-1".into(),
        instance: lookup(instance).expect("known instance type"),
        hugepages_2mi,
        port: 18515,
        test: "pingpong".into(),
        bench_args: vec![
            "--provider".into(),
            "efa".into(),
            "--sizes".into(),
            "seed".into(),
        ],
        deadline_seconds: 1800,
        launcher: false,
        efa_devices: EfaDevices::DevicePlugin,
    }
}

fn dra_spec(instance: &str) -> BenchSpec {
    BenchSpec {
        efa_devices: EfaDevices::Dra,
        ..spec(instance, 2048)
    }
}

#[test]
fn every_object_matches_its_snapshot() {
    let bundle = Bundle::new(&spec("c6in.32xlarge", 2048), &[Mode::Node, Mode::Pod]);
    insta::assert_snapshot!("bundle_c6in_both_modes", bundle.to_yaml().unwrap());
    let dra = Bundle::new(&dra_spec("c6in.32xlarge"), &[Mode::Node, Mode::Pod]);
    insta::assert_snapshot!("bundle_c6in_dra_both_modes", dra.to_yaml().unwrap());
}

/// With `k8s.efa = "dra"`, a pod-mode pod claims every EFA interface of its node through a
/// ResourceClaim from the template (DeviceClass efa.networking.k8s.aws) and asks for no
/// extended resource; the budget is otherwise the device plugin variant's.
#[test]
fn with_dra_pod_mode_claims_every_efa_interface_instead_of_the_extended_resource() {
    let dra = dra_spec("c6in.32xlarge");
    let pod = bench_pod(&dra, Mode::Pod, Role::Client);
    let pod_spec = pod.spec.as_ref().unwrap();
    let claims = pod_spec.resource_claims.as_ref().unwrap();
    assert_eq!(claims.len(), 1);
    assert_eq!(
        claims[0].resource_claim_template_name.as_deref(),
        Some(EFA_CLAIM_TEMPLATE)
    );
    let container = &pod_spec.containers[0];
    let used = container
        .resources
        .as_ref()
        .unwrap()
        .claims
        .as_ref()
        .unwrap();
    assert_eq!(
        used[0].name, claims[0].name,
        "the container uses the pod's claim"
    );
    let mut resources = container_resources(&pod);
    assert!(!resources.contains_key(EFA_RESOURCE));
    let mut plugin_resources = container_resources(&bench_pod(
        &spec("c6in.32xlarge", 2048),
        Mode::Pod,
        Role::Client,
    ));
    plugin_resources.remove(EFA_RESOURCE);
    resources.remove(EFA_RESOURCE);
    assert_eq!(resources, plugin_resources);

    let EfaObjects::Dra(objects) = Bundle::new(&dra, &[Mode::Pod]).efa else {
        panic!("k8s.efa = dra renders the DRA driver");
    };
    let request = &objects
        .claim_template
        .spec
        .spec
        .devices
        .unwrap()
        .requests
        .unwrap()[0];
    let exactly = request.exactly.as_ref().unwrap();
    assert_eq!(exactly.device_class_name, EFA_DEVICE_CLASS);
    assert_eq!(
        exactly.count,
        Some(2),
        "c6in.32xlarge has two EFA interfaces"
    );
    let selector = &objects.device_class.spec.selectors.unwrap()[0];
    assert!(selector
        .cel
        .as_ref()
        .unwrap()
        .expression
        .contains(&format!("device.driver == \"{DRA_DRIVER}\"")));
}

/// DRANET refuses devices to host-network pods, so node mode (host network, host namespaces)
/// claims nothing with DRA either, and the driver itself runs unprivileged as the chart has it.
#[test]
fn with_dra_node_mode_claims_nothing_and_the_driver_is_unprivileged() {
    let dra = dra_spec("c6in.32xlarge");
    let node = bench_pod(&dra, Mode::Node, Role::Server);
    let node_spec = node.spec.as_ref().unwrap();
    assert_eq!(node_spec.host_network, Some(true));
    assert!(node_spec.resource_claims.is_none());
    assert!(node_spec.containers[0]
        .resources
        .as_ref()
        .unwrap()
        .claims
        .is_none());
    let EfaObjects::Dra(objects) = Bundle::new(&dra, &[]).efa else {
        panic!("k8s.efa = dra renders the DRA driver");
    };
    let driver = objects.daemon_set.spec.unwrap().template.spec.unwrap();
    let security = driver.containers[0].security_context.clone().unwrap();
    assert_eq!(security.privileged, Some(false));
    assert_eq!(
        security.capabilities.unwrap().drop,
        Some(vec!["ALL".to_string()])
    );
    assert_eq!(
        driver.service_account_name.as_deref(),
        Some("rdmabench-dranet")
    );
}

/// The arguments `spec`'s benchmark container runs with in `mode` as `role`.
fn container_args(spec: &BenchSpec, mode: Mode, role: Role) -> Vec<String> {
    bench_pod(spec, mode, role).spec.unwrap().containers[0]
        .args
        .clone()
        .unwrap()
}

fn container_resources(pod: &Pod) -> std::collections::BTreeMap<String, String> {
    let resources = pod.spec.as_ref().unwrap().containers[0]
        .resources
        .clone()
        .unwrap();
    assert_eq!(
        resources.requests, resources.limits,
        "requests must equal limits"
    );
    resources
        .limits
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect()
}

#[test]
fn pod_mode_requests_every_efa_interface_and_a_share_of_hugepages() {
    let spec = spec("c6in.32xlarge", 2048);
    let pod = rdmabench_k8s::manifests::bench_pod(&spec, Mode::Pod, Role::Client);
    let resources = container_resources(&pod);
    assert_eq!(
        resources[EFA_RESOURCE], "2",
        "c6in.32xlarge has two EFA interfaces"
    );
    assert_eq!(resources["hugepages-2Mi"], "1024Mi");
    let container = &pod.spec.as_ref().unwrap().containers[0];
    let caps = container
        .security_context
        .as_ref()
        .unwrap()
        .capabilities
        .as_ref()
        .unwrap();
    assert_eq!(caps.add.as_deref(), Some(&["IPC_LOCK".to_string()][..]));
    assert!(container.env.is_none(), "hugepages available: no override");
    let spec_ = pod.spec.as_ref().unwrap();
    assert_eq!(spec_.host_network, None);
    assert_eq!(spec_.restart_policy.as_deref(), Some("Never"));
}

#[test]
fn without_hugepages_efa_is_told_not_to_use_them() {
    let spec = spec("c7gn.16xlarge", 0);
    let pod = rdmabench_k8s::manifests::bench_pod(&spec, Mode::Pod, Role::Server);
    let resources = container_resources(&pod);
    assert!(!resources.contains_key("hugepages-2Mi"));
    assert_eq!(resources[EFA_RESOURCE], "1");
    let env = pod.spec.unwrap().containers[0].env.clone().unwrap();
    assert!(env
        .iter()
        .any(|e| e.name == "FI_EFA_USE_HUGE_PAGE" && e.value.as_deref() == Some("0")));
}

#[test]
fn the_two_ends_can_never_share_a_node() {
    for mode in [Mode::Node, Mode::Pod] {
        let spec = spec("c7gn.16xlarge", 512);
        let server = rdmabench_k8s::manifests::bench_pod(&spec, mode, Role::Server);
        let client = rdmabench_k8s::manifests::bench_pod(&spec, mode, Role::Client);
        for (pod, other) in [(&server, &client), (&client, &server)] {
            let terms = pod
                .spec
                .as_ref()
                .unwrap()
                .affinity
                .as_ref()
                .unwrap()
                .pod_anti_affinity
                .as_ref()
                .unwrap()
                .required_during_scheduling_ignored_during_execution
                .clone()
                .expect("anti-affinity must be required, not preferred");
            assert_eq!(terms[0].topology_key, "kubernetes.io/hostname");
            let wanted = terms[0]
                .label_selector
                .clone()
                .unwrap()
                .match_labels
                .unwrap();
            let other_labels = other.metadata.labels.clone().unwrap();
            assert!(
                wanted.iter().all(|(k, v)| other_labels.get(k) == Some(v)),
                "{mode:?}: the selector must match the other end's labels"
            );
        }
    }
}

#[test]
fn node_mode_runs_in_the_host_namespaces_with_the_same_budget_but_no_device_plugin() {
    let spec = spec("c7gn.16xlarge", 512);
    let node = rdmabench_k8s::manifests::bench_pod(&spec, Mode::Node, Role::Client);
    let pod = rdmabench_k8s::manifests::bench_pod(&spec, Mode::Pod, Role::Client);
    let node_spec = node.spec.as_ref().unwrap();
    assert_eq!(node_spec.host_pid, Some(true));
    assert_eq!(node_spec.host_network, Some(true));
    let script = node_spec.containers[0].args.as_ref().unwrap()[1].clone();
    assert!(script.contains("nsenter --target 1 --mount --uts --ipc --net --pid"));
    let mut node_resources = container_resources(&node);
    let mut pod_resources = container_resources(&pod);
    assert!(!node_resources.contains_key(EFA_RESOURCE));
    pod_resources.remove(EFA_RESOURCE);
    node_resources.remove(EFA_RESOURCE);
    assert_eq!(
        node_resources, pod_resources,
        "same CPU, memory and hugepages in both modes"
    );
}

/// Both modes' ends pin themselves next to their EFA device (`--cpu numa`), so CPU placement
/// is not what differs between node and pod numbers; a user's own `--cpu` wins, and the
/// reference tools, which take no `--cpu`, get none.
#[test]
fn every_end_pins_next_to_its_efa_device_unless_told_otherwise() {
    let args = container_args;
    let pins =
        |args: &[String], cpu: &str| args.windows(2).filter(|w| w == &["--cpu", cpu]).count();
    let default = spec("c6in.32xlarge", 512);
    for mode in [Mode::Node, Mode::Pod] {
        for role in [Role::Server, Role::Client] {
            assert_eq!(
                pins(&args(&default, mode, role), "numa"),
                1,
                "{mode:?} {role:?}"
            );
        }
    }
    let mut chosen = default.clone();
    chosen.bench_args.extend(["--cpu".into(), "3".into()]);
    let client = args(&chosen, Mode::Node, Role::Client);
    assert_eq!((pins(&client, "numa"), pins(&client, "3")), (0, 1));
    let mut tool = default.clone();
    tool.test = "tool".into();
    assert!(!args(&tool, Mode::Node, Role::Client).contains(&"--cpu".to_string()));
}

#[test]
fn client_and_server_get_the_same_measurement_arguments() {
    let spec = spec("c7gn.16xlarge", 512);
    let args = |role| container_args(&spec, Mode::Pod, role);
    let (server, client) = (args(Role::Server), args(Role::Client));
    assert_eq!(server[..3], ["--server", "--bind", "0.0.0.0"]);
    assert_eq!(
        client[0],
        "rdmabench-pod-server.rdmabench.svc.cluster.local"
    );
    for window in [
        ["--provider", "efa"],
        ["--sizes", "seed"],
        ["--port", "18515"],
    ] {
        for args in [&server, &client] {
            assert!(
                args.windows(2).any(|w| w == window),
                "{window:?} missing in {args:?}"
            );
        }
    }
    assert!(client.windows(2).any(|w| w == ["--format", "json"]));
}

#[test]
fn matrix_agents_sit_on_their_node_and_the_coordinator_holds_no_efa() {
    let base = spec("c6in.32xlarge", 2048);
    let agent_spec = BenchSpec {
        test: "agent".into(),
        bench_args: vec!["--idle-timeout".into(), "2100s".into()],
        ..base.clone()
    };
    for mode in [Mode::Node, Mode::Pod] {
        let agent = agent_pod(&agent_spec, mode, 1, "ip-192-0-2-7");
        let pod_spec = agent.spec.as_ref().unwrap();
        assert_eq!(
            pod_spec.node_selector.as_ref().unwrap()["kubernetes.io/hostname"],
            "ip-192-0-2-7"
        );
        let container = &pod_spec.containers[0];
        let args = container.args.as_ref().unwrap();
        // The same budget as a benchmark end of the mode, EFA included in pod mode.
        assert_eq!(
            container_resources(&agent),
            container_resources(&bench_pod(&base, mode, Role::Server))
        );
        assert!(args.ends_with(&["--idle-timeout".to_string(), "2100s".to_string()]));
        match mode {
            Mode::Pod => assert_eq!(container.command.as_ref().unwrap(), &["rdmabench", "agent"]),
            Mode::Node => assert!(
                args.windows(3)
                    .any(|w| w == ["node-runner", "agent", "agent"]),
                "the node runner starts `rdmabench agent`: {args:?}"
            ),
        }

        let coordinator_spec = BenchSpec {
            test: "matrix".into(),
            bench_args: vec!["192.0.2.1:18515".into(), "192.0.2.2:18515".into()],
            ..base.clone()
        };
        let coordinator = coordinator_pod(&coordinator_spec, mode);
        let resources = container_resources(&coordinator);
        assert!(!resources.contains_key(EFA_RESOURCE), "{resources:?}");
        assert!(!resources.keys().any(|k| k.starts_with("hugepages")));
        let labels = coordinator.metadata.labels.as_ref().unwrap();
        assert!(
            !labels.contains_key("rdmabench.io/mode"),
            "the agents' anti-affinity must not keep the coordinator off their nodes"
        );
        let container = &coordinator.spec.as_ref().unwrap().containers[0];
        assert_eq!(
            container.args.as_ref().unwrap(),
            &["192.0.2.1:18515", "192.0.2.2:18515", "--format", "json"]
        );
        let security = container.security_context.as_ref().unwrap();
        assert_eq!(security.run_as_non_root, Some(true));
        assert_eq!(security.privileged, Some(false));
    }
}

#[test]
fn only_an_mpi_runs_client_may_exec_and_only_into_its_modes_server() {
    let plain = spec("c7gn.16xlarge", 512);
    assert!(Bundle::new(&plain, &[Mode::Pod]).modes[0]
        .launcher
        .is_none());
    let mpi = BenchSpec {
        launcher: true,
        ..plain.clone()
    };
    for mode in [Mode::Node, Mode::Pod] {
        let client = bench_pod(&mpi, mode, Role::Client).spec.unwrap();
        assert_eq!(
            client.service_account_name,
            Some(LauncherAccess::name(mode))
        );
        assert_eq!(client.automount_service_account_token, Some(true));
        let env = client.containers[0].env.clone().unwrap();
        let server_pod = env
            .iter()
            .find(|e| e.name == "RDMABENCH_SERVER_POD")
            .unwrap();
        assert_eq!(
            server_pod.value.as_deref(),
            Some(format!("rdmabench/rdmabench-{}-server/server", mode.as_str()).as_str())
        );
        // The server (the exec target) and every pod of a plain run hold no token.
        for pod in [
            bench_pod(&mpi, mode, Role::Server),
            bench_pod(&plain, mode, Role::Client),
        ] {
            let spec = pod.spec.unwrap();
            assert_eq!(spec.automount_service_account_token, Some(false));
            assert_eq!(spec.service_account_name, None);
        }
        let access = LauncherAccess::new(&mpi, mode);
        let rules = access.role.rules.unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(
            rules[0].resources.as_deref(),
            Some(&["pods/exec".to_string()][..])
        );
        assert_eq!(
            rules[0].resource_names.as_deref(),
            Some(&[format!("rdmabench-{}-server", mode.as_str())][..])
        );
        assert_eq!(
            access.service_account.automount_service_account_token,
            Some(false)
        );
        let subject = &access.role_binding.subjects.unwrap()[0];
        assert_eq!(subject.name, LauncherAccess::name(mode));
    }
}

/// The device plugin as the pinned upstream chart runs it (host network, privileged, root), and
/// the Neuron tools' host path only where the nodes have Neuron devices.
#[test]
fn the_device_plugin_follows_the_chart_and_mounts_neuron_tools_only_on_neuron_nodes() {
    let paths = |instance: &str| -> Vec<String> {
        let EfaObjects::DevicePlugin(plugin) = Bundle::new(&spec(instance, 0), &[]).efa else {
            panic!("the default is the device plugin");
        };
        let pod = plugin.spec.unwrap().template.spec.unwrap();
        assert_eq!(pod.host_network, Some(true), "{instance}");
        let security = pod.containers[0].security_context.clone().unwrap();
        assert_eq!(security.privileged, Some(true));
        assert_eq!(security.run_as_user, Some(0));
        pod.volumes
            .unwrap()
            .into_iter()
            .map(|v| v.host_path.unwrap().path)
            .collect()
    };
    assert_eq!(
        paths("c6in.32xlarge"),
        ["/var/lib/kubelet/device-plugins", "/dev/infiniband/"]
    );
    assert_eq!(
        paths("trn1.32xlarge"),
        [
            "/var/lib/kubelet/device-plugins",
            "/dev/infiniband/",
            "/opt/aws/neuron/"
        ]
    );
}
