//! The libfabric data path: provider selection and an RDM endpoint.

use std::sync::Arc;

use rdmabench_fabric::{
    core_provider_name, Completion, Endpoint, EndpointOptions, FabricError, Info, Library,
    MessageApi, Query, RemoteMemory,
};
use rdmabench_report::model::FabricInfo;

use super::{Buffers, Transport, Watchdog};
use crate::config::ProviderChoice;
use crate::error::EngineError;

/// Providers that address peers by IP and must be told which local address to use.
fn binds_to_ip(core_provider: &str) -> bool {
    matches!(core_provider, "tcp" | "net" | "udp" | "sockets" | "verbs")
}

/// Order in which `--provider auto` tries providers: the hardware ones first, then shared memory
/// when both ends are on this host, then the software network providers.
fn auto_order(both_local: bool) -> Vec<&'static str> {
    let mut order = vec!["efa", "verbs"];
    if both_local {
        order.push("shm");
    }
    order.extend(["net", "tcp"]);
    order
}

/// Finds the provider to use: the requested one, or the first of `auto_order` that answers.
/// `local_ip` is the address this end uses to reach its peer (passed to IP providers).
pub fn select_provider(
    lib: &Arc<Library>,
    choice: ProviderChoice,
    api: MessageApi,
    local_ip: &str,
    both_local: bool,
    rma: bool,
) -> Result<Info, EngineError> {
    let candidates = match choice.name() {
        Some(name) => vec![name],
        None => auto_order(both_local),
    };
    for name in &candidates {
        let query = Query {
            provider: Some((*name).to_string()),
            api,
            node: binds_to_ip(name).then(|| local_ip.to_string()),
            rma,
        };
        let list = lib.getinfo(&query)?;
        let found = list.iter().find(|e| e.core_provider() == *name);
        if let Some(entry) = found {
            return Ok(list.duplicate(entry)?);
        }
    }
    Err(no_provider(lib, choice.label(), api, local_ip, rma)?)
}

/// Opens exactly the provider the server chose (full name, e.g. "tcp;ofi_rxm"), so both ends
/// speak the same protocol.
pub fn select_named_provider(
    lib: &Arc<Library>,
    provider: &str,
    api: MessageApi,
    local_ip: &str,
    rma: bool,
) -> Result<Info, EngineError> {
    let core = core_provider_name(provider);
    let query = Query {
        provider: Some(core.to_string()),
        api,
        node: binds_to_ip(core).then(|| local_ip.to_string()),
        rma,
    };
    let list = lib.getinfo(&query)?;
    let found = list.iter().find(|e| e.provider() == provider);
    if let Some(entry) = found {
        return Ok(list.duplicate(entry)?);
    }
    Err(no_provider(lib, provider, api, local_ip, rma)?)
}

fn no_provider(
    lib: &Arc<Library>,
    requested: &str,
    api: MessageApi,
    local_ip: &str,
    rma: bool,
) -> Result<EngineError, EngineError> {
    let available = available_providers(lib, api)?;
    if rma && available.iter().any(|p| core_provider_name(p) == requested) {
        return Ok(EngineError::InvalidParameters(format!(
            "provider {requested} offers no reliable-datagram endpoint with RMA (FI_RMA, remote reads and writes) here, so `rdmabench rma` cannot run on it; try a provider that does, e.g. efa, verbs, tcp, net or shm"
        )));
    }
    Ok(FabricError::NoProvider {
        requested: requested.to_string(),
        node: format!(" usable from {local_ip}"),
        available,
    }
    .into())
}

/// Distinct provider names that offer RDM endpoints on this host.
pub fn available_providers(
    lib: &Arc<Library>,
    api: MessageApi,
) -> Result<Vec<String>, EngineError> {
    let list = lib.getinfo(&Query {
        provider: None,
        api,
        node: None,
        rma: false,
    })?;
    let mut names: Vec<String> = list.iter().map(|e| e.provider()).collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// Refuses sizes the provider cannot carry before anything is allocated or sent.
fn check_size_limit(max_size: u64, limit: u64, provider: &str) -> Result<(), EngineError> {
    if max_size > limit {
        return Err(EngineError::SizeTooLarge {
            size: max_size,
            limit,
            transport: provider.to_string(),
        });
    }
    Ok(())
}

/// A ping-pong end over a libfabric RDM endpoint.
pub struct FabricTransport {
    endpoint: Endpoint,
    facts: FabricInfo,
}

impl FabricTransport {
    /// Opens an endpoint on `info` with buffers for `max_size`-byte messages and `depth`
    /// operations in flight per direction (and, for RMA, memory the peer can reach).
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        lib: &Library,
        info: &Info,
        max_size: u64,
        buffers: Buffers,
        api: MessageApi,
        completion: Completion,
        force_mr_local: bool,
        rma: bool,
    ) -> Result<FabricTransport, EngineError> {
        let view = info.view();
        let limit = view.max_msg_size() as u64;
        check_size_limit(max_size, limit, &view.provider())?;
        let endpoint = Endpoint::open(
            info,
            EndpointOptions {
                buffer_size: usize::try_from(max_size).unwrap_or(usize::MAX),
                depth: buffers.depth,
                separate_buffers: buffers.separate,
                completion,
                force_mr_local,
                api,
                rma,
            },
        )?;
        let facts = FabricInfo {
            provider: view.provider(),
            fabric: view.fabric_name(),
            domain: view.domain_name(),
            api_version: lib.api_version(),
            mr_mode: view.mr_mode_names(),
            memory_registered: endpoint.memory_registered(),
            inject_size: endpoint.inject_size() as u64,
            max_msg_size: limit,
        };
        Ok(FabricTransport { endpoint, facts })
    }

    /// Facts about the opened provider for the results file.
    pub fn facts(&self) -> &FabricInfo {
        &self.facts
    }

    /// Our fabric address for the peer.
    pub fn address(&self) -> Result<Vec<u8>, EngineError> {
        Ok(self.endpoint.address()?)
    }

    /// Registers the peer's fabric address.
    pub fn insert_peer(&mut self, address: &[u8]) -> Result<(), EngineError> {
        Ok(self.endpoint.insert_peer(address)?)
    }
}

impl Transport for FabricTransport {
    fn max_message(&self) -> usize {
        self.endpoint.max_message()
    }

    fn depth(&self) -> usize {
        self.endpoint.depth()
    }

    fn post_receive(
        &mut self,
        op: usize,
        len: usize,
        watchdog: &mut Watchdog,
    ) -> Result<(), EngineError> {
        Ok(self.endpoint.post_receive(op, len, watchdog)?)
    }

    fn post_send(
        &mut self,
        op: usize,
        len: usize,
        watchdog: &mut Watchdog,
    ) -> Result<(), EngineError> {
        Ok(self.endpoint.send(op, len, watchdog)?)
    }

    fn wait_sends(&mut self, watchdog: &mut Watchdog) -> Result<(), EngineError> {
        Ok(self.endpoint.wait_sends(watchdog)?)
    }

    fn wait_receive(&mut self, op: usize, watchdog: &mut Watchdog) -> Result<(), EngineError> {
        Ok(self.endpoint.wait_receive(op, watchdog)?)
    }

    fn send_buffer(&mut self, op: usize) -> Result<&mut [u8], EngineError> {
        Ok(self.endpoint.send_buffer(op)?)
    }

    fn receive_buffer(&self, op: usize) -> Result<&[u8], EngineError> {
        Ok(self.endpoint.receive_buffer(op)?)
    }

    fn memory_for_peer(&self) -> Option<RemoteMemory> {
        self.endpoint.memory_for_peer()
    }

    fn set_peer_memory(&mut self, memory: RemoteMemory) -> Result<(), EngineError> {
        self.endpoint.set_peer_memory(memory);
        Ok(())
    }

    fn post_write(
        &mut self,
        op: usize,
        len: usize,
        notify: bool,
        watchdog: &mut Watchdog,
    ) -> Result<(), EngineError> {
        Ok(self.endpoint.write(op, len, notify, watchdog)?)
    }

    fn post_read(
        &mut self,
        op: usize,
        len: usize,
        watchdog: &mut Watchdog,
    ) -> Result<(), EngineError> {
        Ok(self.endpoint.read(op, len, watchdog)?)
    }

    fn remote_writes(&self) -> u64 {
        self.endpoint.remote_writes()
    }

    fn wait_remote_writes(
        &mut self,
        count: u64,
        watchdog: &mut Watchdog,
    ) -> Result<(), EngineError> {
        Ok(self.endpoint.wait_remote_writes(count, watchdog)?)
    }

    fn exposed_buffer(&mut self, op: usize) -> Result<&mut [u8], EngineError> {
        Ok(self.endpoint.exposed_buffer(op)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_prefers_hardware_then_shm_only_for_local_runs() {
        assert_eq!(auto_order(true), ["efa", "verbs", "shm", "net", "tcp"]);
        assert_eq!(auto_order(false), ["efa", "verbs", "net", "tcp"]);
    }

    #[test]
    fn sizes_above_the_providers_max_msg_size_are_refused_by_name() {
        assert!(check_size_limit(8192, 8192, "efa").is_ok());
        let err = check_size_limit(8193, 8192, "efa").unwrap_err().to_string();
        assert!(
            err.contains("8193") && err.contains("8192") && err.contains("efa"),
            "{err}"
        );
    }

    #[test]
    fn only_ip_providers_get_a_source_address() {
        assert!(binds_to_ip("tcp") && binds_to_ip("net") && binds_to_ip("udp"));
        assert!(!binds_to_ip("shm") && !binds_to_ip("efa"));
    }
}
