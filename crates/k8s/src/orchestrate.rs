//! Driving the cluster: installing the device plugin and waiting for the nodes to advertise EFA,
//! running one measurement (server, then client, then collecting the client's results), and
//! removing what was created, also when a step fails or the user presses Ctrl-C.
//! Every wait polls with an explicit limit; nothing waits on the cluster forever.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Namespace, Pod, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, DeleteParams, ListParams, LogParams, Patch, PatchParams};
use kube::{Client, Resource, ResourceExt};
use rdmabench_results::ResultsFile;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::watch;

use crate::diagnose::{failure_hint, pod_state, PodState};
use crate::error::K8sError;
use crate::manifests::{
    LauncherAccess, Mode, ModeObjects, DEVICE_PLUGIN_NAME, DEVICE_PLUGIN_NAMESPACE, MANAGED_BY,
};
use crate::runtime::interrupted;

/// The field manager of rdmabench's server-side applies.
const FIELD_MANAGER: &str = "rdmabench";
/// How often a wait looks at the cluster again.
const POLL: Duration = Duration::from_secs(1);
/// How long the server may take to exit after its client finished.
const SERVER_EXIT: Duration = Duration::from_secs(60);
/// The most log text read from one pod.
const LOG_LIMIT_BYTES: i64 = 16 * 1024 * 1024;
/// Deletions of benchmark pods during a run.
const DELETE_LIMIT: Duration = Duration::from_secs(120);
/// Lines of a failed pod's log shown in the error.
const LOG_TAIL_LINES: usize = 30;

/// Where progress lines go (stderr in the CLI).
pub type Progress = Arc<dyn Fn(&str) + Send + Sync>;

/// Limits for one measurement's waits.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// For a pod to be scheduled and started (image pull included).
    pub start: Duration,
    /// For the whole measurement, from creating the server to the client's exit.
    pub run: Duration,
    /// For deletions to finish.
    pub delete: Duration,
}

impl Timeouts {
    /// The limits of a run that gives pods `start` to start and a measurement `run` to finish;
    /// deletions get a fixed two minutes.
    pub fn new(start: Duration, run: Duration) -> Timeouts {
        Timeouts {
            start,
            run,
            delete: DELETE_LIMIT,
        }
    }
}

/// One finished measurement.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// The client's results document.
    pub results: ResultsFile,
    /// Node that ran the server.
    pub server_node: String,
    /// Node that ran the client.
    pub client_node: String,
}

/// What a matrix on the cluster produced.
#[derive(Debug, Clone)]
pub struct MatrixRun {
    /// The coordinator's log, which ends with the matrix document.
    pub log: String,
    /// Each agent's address (host:port, as the matrix names it) and the node it ran on.
    pub nodes: std::collections::BTreeMap<String, String>,
}

/// A cluster and the namespace of the benchmark pods.
pub struct Cluster {
    client: Client,
    namespace: String,
    progress: Progress,
}

pub(crate) fn name_of<K: Resource>(object: &K) -> String {
    object.meta().name.clone().unwrap_or_default()
}

pub(crate) fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.is_not_found())
}

impl Cluster {
    /// Works in `namespace` through `client`, reporting progress to `progress`.
    pub fn new(client: Client, namespace: &str, progress: Progress) -> Cluster {
        Cluster {
            client,
            namespace: namespace.to_string(),
            progress,
        }
    }

    /// Reports `line` as this flow's progress.
    pub(crate) fn say(&self, line: &str) {
        (self.progress)(line);
    }

    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    fn services(&self) -> Api<Service> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// The connection, for flows in other modules.
    pub(crate) fn client(&self) -> Client {
        self.client.clone()
    }

    /// The benchmark namespace.
    pub(crate) fn namespace(&self) -> &str {
        &self.namespace
    }

    pub(crate) fn policies(&self, namespace: &str) -> Api<NetworkPolicy> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// An API of this namespace's objects of kind K.
    pub(crate) fn here<K>(&self) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    pub(crate) fn daemon_sets(&self) -> Api<DaemonSet> {
        Api::namespaced(self.client.clone(), DEVICE_PLUGIN_NAMESPACE)
    }

    pub(crate) async fn apply<K>(&self, api: &Api<K>, object: &K) -> Result<K, K8sError>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug,
    {
        let name = name_of(object);
        api.patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(object),
        )
        .await
        .map_err(K8sError::api(format!("applying {} {name}", K::kind(&()))))
    }

    /// Deletes `name` if it exists and waits until it is gone. True when something was deleted.
    pub(crate) async fn delete<K>(
        &self,
        api: &Api<K>,
        name: &str,
        limit: Duration,
    ) -> Result<bool, K8sError>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
    {
        let what = format!("{} {name}", K::kind(&()));
        match api.delete(name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => return Ok(false),
            Err(e) => return Err(K8sError::api(format!("deleting {what}"))(e)),
        }
        let deadline = Instant::now() + limit;
        loop {
            let existing = api
                .get_opt(name)
                .await
                .map_err(K8sError::api(format!("reading {what}")))?;
            if existing.is_none() {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Err(K8sError::Timeout {
                    what: format!("deletion of {what}"),
                    limit,
                    state: "still present (a finalizer or an unreachable node holds it)".into(),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Runs one measurement of `objects` and removes its pods and Service afterwards, whatever
    /// happened. `shutdown` turning true (Ctrl-C) stops the wait, cleans up, and returns
    /// `Interrupted`.
    pub async fn measure(
        &self,
        objects: &ModeObjects,
        timeouts: Timeouts,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Measurement, K8sError> {
        let outcome = tokio::select! {
            outcome = self.measure_once(objects, timeouts) => outcome,
            () = interrupted(shutdown) => Err(K8sError::Interrupted),
        };
        let cleanup = self.remove_mode(objects, timeouts.delete).await;
        self.settle(outcome, cleanup)
    }

    /// The result of a step and of the cleanup after it: the step's error first, a failed
    /// cleanup after a good step, and a failed cleanup after a failed step only as a message.
    fn settle<T>(
        &self,
        outcome: Result<T, K8sError>,
        cleanup: Result<(), K8sError>,
    ) -> Result<T, K8sError> {
        match (outcome, cleanup) {
            (Ok(value), Ok(())) => Ok(value),
            (Err(error), Ok(())) => Err(error),
            (Ok(_), Err(cleanup)) => Err(cleanup),
            (Err(error), Err(cleanup)) => {
                self.say(&format!("cleanup also failed: {cleanup}"));
                Err(error)
            }
        }
    }

    async fn remove_mode(&self, objects: &ModeObjects, limit: Duration) -> Result<(), K8sError> {
        let pods = self.pods();
        for pod in [&objects.client, &objects.server] {
            if self.delete(&pods, &name_of(pod), limit).await? {
                self.say(&format!("deleted pod {}", name_of(pod)));
            }
        }
        self.delete(&self.services(), &name_of(&objects.service), limit)
            .await?;
        if objects.launcher.is_some() {
            let name = LauncherAccess::name(objects.mode);
            self.delete(&self.here::<RoleBinding>(), &name, limit)
                .await?;
            self.delete(&self.here::<Role>(), &name, limit).await?;
            self.delete(&self.here::<ServiceAccount>(), &name, limit)
                .await?;
        }
        Ok(())
    }

    async fn measure_once(
        &self,
        objects: &ModeObjects,
        timeouts: Timeouts,
    ) -> Result<Measurement, K8sError> {
        let mode = objects.mode.as_str();
        let deadline = Instant::now() + timeouts.run;
        // Pods are immutable: leftovers of an interrupted run go first.
        self.remove_mode(objects, timeouts.delete).await?;
        self.apply(&self.services(), &objects.service).await?;
        if let Some(access) = &objects.launcher {
            self.apply(&self.here(), &access.service_account).await?;
            self.apply(&self.here(), &access.role).await?;
            self.apply(&self.here(), &access.role_binding).await?;
        }
        self.apply(&self.pods(), &objects.server).await?;
        self.say(&format!(
            "{mode} mode: server pod created, waiting for it to start"
        ));
        let server = self
            .wait_started(&name_of(&objects.server), timeouts)
            .await?;
        self.apply(&self.pods(), &objects.client).await?;
        self.say(&format!(
            "{mode} mode: server runs on {}, client pod created",
            node_of(&server)
        ));
        let client = self
            .wait_started(&name_of(&objects.client), timeouts)
            .await?;
        self.say(&format!(
            "{mode} mode: client runs on {}, measuring",
            node_of(&client)
        ));
        self.wait_client_done(objects, deadline, timeouts.run)
            .await?;
        let log = self.log(&name_of(&objects.client)).await?;
        let results = parse_results(&log).map_err(|reason| K8sError::NoResults {
            pod: self.qualified(&name_of(&objects.client)),
            reason,
        })?;
        self.wait_server_exit(&name_of(&objects.server)).await?;
        Ok(Measurement {
            results,
            server_node: node_of(&server),
            client_node: node_of(&client),
        })
    }

    fn qualified(&self, name: &str) -> String {
        format!("{}/{name}", self.namespace)
    }

    async fn get_pod(&self, name: &str) -> Result<Pod, K8sError> {
        self.pods()
            .get(name)
            .await
            .map_err(K8sError::api(format!("reading pod {name}")))
    }

    /// Turns a pod that cannot continue into an error carrying its log tail and a hint.
    async fn pod_error(&self, name: &str, state: PodState) -> K8sError {
        match state {
            PodState::Stuck { cause, hint } => K8sError::Pod {
                pod: self.qualified(name),
                cause,
                hint,
            },
            other => {
                let log = self.log(name).await.unwrap_or_default();
                let pod = self.qualified(name);
                let hint = failure_hint(&log);
                let tail = tail(&log, LOG_TAIL_LINES);
                match other {
                    PodState::Failed(reason) => K8sError::Exited {
                        pod,
                        cause: format!("{reason}; last log lines:\n{tail}"),
                        hint,
                    },
                    unexpected => K8sError::Pod {
                        pod,
                        cause: format!("ended early ({unexpected:?}); last log lines:\n{tail}"),
                        hint,
                    },
                }
            }
        }
    }

    /// Waits until the pod's container has started (running or already done).
    async fn wait_started(&self, name: &str, timeouts: Timeouts) -> Result<Pod, K8sError> {
        let deadline = Instant::now() + timeouts.start;
        let mut last = String::new();
        loop {
            let pod = self.get_pod(name).await?;
            match pod_state(&pod) {
                PodState::Running | PodState::Succeeded => return Ok(pod),
                PodState::Waiting(why) => {
                    if why != last {
                        self.say(&format!("pod {name}: {why}"));
                        last = why;
                    }
                }
                other => return Err(self.pod_error(name, other).await),
            }
            if Instant::now() >= deadline {
                return Err(K8sError::Timeout {
                    what: format!("start of pod {}", self.qualified(name)),
                    limit: timeouts.start,
                    state: format!(
                        "{last} (raise --start-timeout if the image pull is slow; \
                         `kubectl describe pod` shows the events)"
                    ),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits for the client to finish, failing early when either end fails.
    async fn wait_client_done(
        &self,
        objects: &ModeObjects,
        deadline: Instant,
        limit: Duration,
    ) -> Result<(), K8sError> {
        let (client, server) = (name_of(&objects.client), name_of(&objects.server));
        loop {
            match pod_state(&self.get_pod(&client).await?) {
                PodState::Succeeded => return Ok(()),
                PodState::Running | PodState::Waiting(_) => {}
                other => return Err(self.pod_error(&client, other).await),
            }
            if let state @ (PodState::Failed(_) | PodState::Stuck { .. }) =
                pod_state(&self.get_pod(&server).await?)
            {
                return Err(self.pod_error(&server, state).await);
            }
            if Instant::now() >= deadline {
                return Err(K8sError::Timeout {
                    what: format!("the {} mode measurement", objects.mode.as_str()),
                    limit,
                    state: "the client was still running (raise --timeout for long runs, or \
                            measure fewer sizes or iterations)"
                        .into(),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The server exits after serving its client; a failure there casts doubt on the run.
    async fn wait_server_exit(&self, name: &str) -> Result<(), K8sError> {
        let deadline = Instant::now() + SERVER_EXIT;
        loop {
            match pod_state(&self.get_pod(name).await?) {
                PodState::Succeeded => return Ok(()),
                PodState::Running | PodState::Waiting(_) if Instant::now() < deadline => {}
                PodState::Running | PodState::Waiting(_) => {
                    self.say(&format!(
                        "pod {name} still runs {SERVER_EXIT:?} after its client finished; removing it"
                    ));
                    return Ok(());
                }
                other => return Err(self.pod_error(name, other).await),
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Runs a matrix: starts `agents` (one per node), then the coordinator `coordinator` builds
    /// for the agents' addresses (pod IPs in pod mode, node IPs in node mode, with `port`), waits
    /// for it to finish and returns its log; every pod is removed afterwards, whatever happened.
    /// A coordinator that exits 1 (a failed pair) still returns its log: the matrix reports the
    /// failures itself.
    pub async fn matrix(
        &self,
        mode: Mode,
        agents: &[Pod],
        port: u16,
        coordinator: &(dyn Fn(&[String]) -> Pod + Sync),
        timeouts: Timeouts,
        shutdown: watch::Receiver<bool>,
    ) -> Result<MatrixRun, K8sError> {
        let mut names: Vec<String> = agents.iter().map(name_of).collect();
        let coordinator_name = name_of(&coordinator(&[]));
        names.push(coordinator_name.clone());
        let outcome = tokio::select! {
            outcome = self.matrix_once(mode, agents, port, coordinator, &coordinator_name, timeouts) => outcome,
            () = interrupted(shutdown) => Err(K8sError::Interrupted),
        };
        let cleanup = self.remove_pods(&names, timeouts.delete).await;
        self.settle(outcome, cleanup)
    }

    async fn remove_pods(&self, names: &[String], limit: Duration) -> Result<(), K8sError> {
        for name in names {
            if self.delete(&self.pods(), name, limit).await? {
                self.say(&format!("deleted pod {name}"));
            }
        }
        Ok(())
    }

    async fn matrix_once(
        &self,
        mode: Mode,
        agents: &[Pod],
        port: u16,
        coordinator: &(dyn Fn(&[String]) -> Pod + Sync),
        coordinator_name: &str,
        timeouts: Timeouts,
    ) -> Result<MatrixRun, K8sError> {
        let deadline = Instant::now() + timeouts.run;
        let mut leftovers: Vec<String> = agents.iter().map(name_of).collect();
        leftovers.push(coordinator_name.to_string());
        self.remove_pods(&leftovers, timeouts.delete).await?;
        for agent in agents {
            self.apply(&self.pods(), agent).await?;
        }
        self.say(&format!(
            "{} mode: {} agent pods created, waiting for them to start",
            mode.as_str(),
            agents.len()
        ));
        let mut hosts = Vec::new();
        let mut nodes = std::collections::BTreeMap::new();
        for agent in agents {
            let name = name_of(agent);
            let pod = self.wait_started(&name, timeouts).await?;
            let status = pod.status.as_ref();
            let ip = match mode {
                Mode::Pod => status.and_then(|s| s.pod_ip.clone()),
                Mode::Node => status.and_then(|s| s.host_ip.clone()),
            }
            .ok_or_else(|| K8sError::Pod {
                pod: self.qualified(&name),
                cause: "runs but has no IP address in its status".into(),
                hint: "check the pod network (VPC CNI) with `kubectl describe pod`".into(),
            })?;
            self.say(&format!("agent {name} runs on {} at {ip}", node_of(&pod)));
            let host = if ip.contains(':') {
                format!("[{ip}]:{port}")
            } else {
                format!("{ip}:{port}")
            };
            nodes.insert(host.clone(), node_of(&pod));
            hosts.push(host);
        }
        let pod = coordinator(&hosts);
        self.apply(&self.pods(), &pod).await?;
        self.say(&format!(
            "{} mode: measuring {} pairs, one at a time",
            mode.as_str(),
            hosts.len() * (hosts.len() - 1) / 2
        ));
        self.wait_started(coordinator_name, timeouts).await?;
        loop {
            match pod_state(&self.get_pod(coordinator_name).await?) {
                PodState::Succeeded => break,
                PodState::Running | PodState::Waiting(_) => {}
                PodState::Failed(reason) => {
                    let log = self.log(coordinator_name).await?;
                    // Exit 1 with a matrix: some pairs failed, which the matrix itself reports.
                    if log
                        .lines()
                        .any(|l| l.contains("\"kind\": \"rdmabench-matrix\""))
                    {
                        return Ok(MatrixRun { log, nodes });
                    }
                    return Err(self
                        .pod_error(coordinator_name, PodState::Failed(reason))
                        .await);
                }
                other => return Err(self.pod_error(coordinator_name, other).await),
            }
            for agent in agents {
                let name = name_of(agent);
                if let state
                @ (PodState::Failed(_) | PodState::Stuck { .. } | PodState::Succeeded) =
                    pod_state(&self.get_pod(&name).await?)
                {
                    return Err(self.pod_error(&name, state).await);
                }
            }
            if Instant::now() >= deadline {
                return Err(K8sError::Timeout {
                    what: format!("the {} mode matrix", mode.as_str()),
                    limit: timeouts.run,
                    state: "the coordinator was still measuring (raise --timeout, or measure \
                            fewer sizes or iterations per pair)"
                        .into(),
                });
            }
            tokio::time::sleep(POLL).await;
        }
        Ok(MatrixRun {
            log: self.log(coordinator_name).await?,
            nodes,
        })
    }

    /// The pod's log (both streams, as the kubelet keeps them).
    pub async fn log(&self, name: &str) -> Result<String, K8sError> {
        let params = LogParams {
            limit_bytes: Some(LOG_LIMIT_BYTES),
            ..LogParams::default()
        };
        self.pods()
            .logs(name, &params)
            .await
            .map_err(K8sError::api(format!("reading the log of pod {name}")))
    }

    /// The benchmark pods that exist now, by name, optionally only those of one mode.
    pub async fn bench_pods(&self, mode: Option<&str>) -> Result<Vec<String>, K8sError> {
        let mut selector = format!("{}={}", MANAGED_BY.0, MANAGED_BY.1);
        if let Some(mode) = mode {
            selector.push_str(&format!(",{}={mode}", crate::manifests::MODE_LABEL));
        }
        let pods = self
            .pods()
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(K8sError::api("listing benchmark pods"))?;
        let mut names: Vec<String> = pods.items.iter().map(name_of).collect();
        names.sort();
        Ok(names)
    }

    /// Deletes every benchmark pod and Service, rdmabench's device plugin or DRA driver and the
    /// namespace, waiting for each; returns what was deleted.
    pub async fn clean(&self, limit: Duration) -> Result<Vec<String>, K8sError> {
        let selector = ListParams::default().labels(&format!("{}={}", MANAGED_BY.0, MANAGED_BY.1));
        let mut deleted = Vec::new();
        let pods = self.pods();
        for name in self.bench_pods(None).await? {
            if self.delete(&pods, &name, limit).await? {
                deleted.push(format!("pod {}", self.qualified(&name)));
            }
        }
        let services = self.services();
        let listed = services
            .list(&selector)
            .await
            .map_err(K8sError::api("listing benchmark Services"))?;
        for name in listed.items.iter().map(name_of) {
            if self.delete(&services, &name, limit).await? {
                deleted.push(format!("service {}", self.qualified(&name)));
            }
        }
        if self
            .delete(&self.daemon_sets(), DEVICE_PLUGIN_NAME, limit)
            .await?
        {
            deleted.push(format!(
                "daemonset {DEVICE_PLUGIN_NAMESPACE}/{DEVICE_PLUGIN_NAME}"
            ));
        }
        deleted.extend(self.remove_dra_driver(limit).await?);
        // NetworkPolicies that rdmabench 0.1 rendered (see manifests::Bundle::to_yaml for why it
        // no longer does), so a cluster it ran on is left clean.
        let device_plugin_policies = self.policies(DEVICE_PLUGIN_NAMESPACE);
        if self
            .delete(&device_plugin_policies, DEVICE_PLUGIN_NAME, limit)
            .await?
        {
            deleted.push(format!(
                "networkpolicy {DEVICE_PLUGIN_NAMESPACE}/{DEVICE_PLUGIN_NAME}"
            ));
        }
        // MPI runs' launcher rights, if a killed run left them.
        for mode in [Mode::Node, Mode::Pod] {
            let name = LauncherAccess::name(mode);
            if self
                .delete(&self.here::<RoleBinding>(), &name, limit)
                .await?
            {
                deleted.push(format!("rolebinding {}", self.qualified(&name)));
            }
            if self.delete(&self.here::<Role>(), &name, limit).await? {
                deleted.push(format!("role {}", self.qualified(&name)));
            }
            if self
                .delete(&self.here::<ServiceAccount>(), &name, limit)
                .await?
            {
                deleted.push(format!("serviceaccount {}", self.qualified(&name)));
            }
        }
        let bench_policies = self.policies(&self.namespace);
        let listed = bench_policies
            .list(&selector)
            .await
            .map_err(K8sError::api("listing benchmark NetworkPolicies"))?;
        for name in listed.items.iter().map(name_of) {
            if self.delete(&bench_policies, &name, limit).await? {
                deleted.push(format!("networkpolicy {}", self.qualified(&name)));
            }
        }
        let namespaces = Api::<Namespace>::all(self.client.clone());
        let ours = namespaces
            .get_opt(&self.namespace)
            .await
            .map_err(K8sError::api(format!(
                "reading namespace {}",
                self.namespace
            )))?
            .is_some_and(|ns| {
                ns.labels().get(MANAGED_BY.0).map(String::as_str) == Some(MANAGED_BY.1)
            });
        if ours && self.delete(&namespaces, &self.namespace, limit).await? {
            deleted.push(format!("namespace {}", self.namespace));
        }
        Ok(deleted)
    }
}

fn node_of(pod: &Pod) -> String {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .unwrap_or_else(|| "(unknown node)".into())
}

fn tail(log: &str, lines: usize) -> String {
    let all: Vec<&str> = log.lines().collect();
    all[all.len().saturating_sub(lines)..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Finds the results document in a client's log: the kubelet interleaves stderr lines, but
/// the JSON is printed last, as one pretty-printed object starting on a line of its own.
pub fn parse_results(log: &str) -> Result<ResultsFile, String> {
    let mut last_error = "no line starts a JSON object".to_string();
    let mut offset = 0;
    for line in log.split_inclusive('\n') {
        if line.trim_end() == "{" {
            let mut stream =
                serde_json::Deserializer::from_str(&log[offset..]).into_iter::<serde_json::Value>();
            match stream.next() {
                Some(Ok(value)) => match ResultsFile::from_json(&value.to_string()) {
                    Ok(results) => return Ok(results),
                    Err(e) => last_error = e.to_string(),
                },
                Some(Err(e)) => last_error = e.to_string(),
                None => {}
            }
        }
        offset += line.len();
    }
    Err(last_error)
}
