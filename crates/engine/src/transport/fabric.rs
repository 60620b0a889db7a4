//! The libfabric data path: provider selection and an RDM endpoint.

use std::sync::Arc;

use rdmabench_fabric::{
    core_provider_name, Endpoint, EndpointOptions, FabricError, Info, Library, MessageApi, Query,
    RemoteMemory,
};
use rdmabench_results::{FabricInfo, RmaEmulated};

use super::{Buffers, Transport, Watchdog};
use crate::config::{BandwidthMethod, FabricChoice, ProviderChoice, RunConfig, Test};
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

/// What provider and fabric selection looks at in one fi_getinfo answer (built by hand in
/// tests, where no EFA or verbs device exists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// Full provider name ("efa", "verbs;ofi_rxm", "tcp;ofi_rxm").
    pub provider: String,
    /// "efa" or "efa-direct" for efa, the core provider otherwise (`FabricInfo::kind_of`).
    pub fabric_kind: String,
    /// The answer's ep_attr.max_msg_size (efa-direct without FI_RMA: the device MTU).
    pub max_msg_size: u64,
}

impl Offer {
    fn of(entry: &rdmabench_fabric::InfoRef<'_>) -> Offer {
        let provider = entry.provider();
        Offer {
            fabric_kind: FabricInfo::kind_of(&provider, &entry.fabric_name()),
            provider,
            max_msg_size: entry.max_msg_size() as u64,
        }
    }
}

/// Which of one provider's `offers` (libfabric's order) to measure on: those of the requested
/// fabric, and with `FabricChoice::Auto` the first that carries the largest size (efa lists
/// efa-direct, limited to the MTU, before efa). None when no offer is of that fabric; an error
/// when the named fabric cannot carry the sizes.
pub fn choose_offer(
    offers: &[Offer],
    fabric: FabricChoice,
    largest: u64,
) -> Result<Option<usize>, EngineError> {
    let mut candidates = offers
        .iter()
        .enumerate()
        .filter(|(_, o)| fabric.name().is_none_or(|name| o.fabric_kind == name));
    let Some((first, first_offer)) = candidates.clone().next() else {
        return Ok(None);
    };
    if fabric == FabricChoice::Auto {
        let serving = candidates.find(|(_, o)| o.max_msg_size >= largest);
        return Ok(Some(serving.map_or(first, |(i, _)| i)));
    }
    if first_offer.max_msg_size < largest {
        return Err(EngineError::InvalidParameters(format!(
            "{largest} B is larger than the {} fabric carries in one message ({} B, its max_msg_size{}); use smaller --sizes, or --fabric auto to let larger sizes run on efa",
            first_offer.fabric_kind,
            first_offer.max_msg_size,
            if first_offer.fabric_kind == "efa-direct" { ": the device MTU" } else { "" }
        )));
    }
    Ok(Some(first))
}

/// Finds the provider to use: the requested one, or the first of `auto_order` that answers,
/// on the requested fabric; with the reasons for the choice, which the caller shows.
/// `local_ip` is the address this end uses to reach its peer (passed to IP providers).
pub fn select_provider(
    lib: &Arc<Library>,
    config: &RunConfig,
    choice: ProviderChoice,
    local_ip: &str,
    both_local: bool,
) -> Result<(Info, String), EngineError> {
    let (api, rma) = (config.api, config.test.is_rma());
    let largest = config.sizes.iter().copied().max().unwrap_or(0);
    let candidates = match (choice.name(), config.fabric) {
        (Some(name), _) => vec![name],
        // Naming one of efa's fabrics names efa.
        (None, FabricChoice::Efa | FabricChoice::EfaDirect) => vec!["efa"],
        (None, FabricChoice::Auto) => auto_order(both_local),
    };
    let mut passed_over = Vec::new();
    for name in &candidates {
        let query = Query {
            provider: Some((*name).to_string()),
            api,
            node: binds_to_ip(name).then(|| local_ip.to_string()),
            rma,
        };
        let list = lib.getinfo(&query)?;
        let entries: Vec<_> = list.iter().filter(|e| e.core_provider() == *name).collect();
        let offers: Vec<Offer> = entries.iter().map(Offer::of).collect();
        if let Some(index) = choose_offer(&offers, config.fabric, largest)? {
            let offer = &offers[index];
            let why = selection_reason(choice, config.fabric, offer, &passed_over, &offers);
            return Ok((list.duplicate(entries[index])?, why));
        }
        if config.fabric != FabricChoice::Auto && !offers.is_empty() {
            return Err(no_such_fabric(lib, config));
        }
        passed_over.push(unavailable_reason(lib, name, &query)?);
    }
    Err(no_provider(lib, choice.label(), api, local_ip, rma)?)
}

/// Why a provider auto tried answered nothing: not here at all, or (verbs) devices that FI_SOURCE
/// excluded because none owns the address the peer is reached from.
fn unavailable_reason(
    lib: &Arc<Library>,
    name: &str,
    query: &Query,
) -> Result<String, EngineError> {
    let Some(node) = &query.node else {
        return Ok(excluded_reason(name, None, &[]));
    };
    let unbound = lib.getinfo(&Query {
        node: None,
        ..query.clone()
    })?;
    let mut domains: Vec<String> = unbound
        .iter()
        .filter(|e| e.core_provider() == name)
        .map(|e| e.domain_name())
        .collect();
    domains.sort();
    domains.dedup();
    Ok(excluded_reason(name, Some(node), &domains))
}

/// The words for a provider that gave no answer bound to `node`, given the domains (devices) it
/// offers unbound: verbs drops every device that does not own the FI_SOURCE address
/// (prov/verbs/src/verbs_info.c, vrb_del_info_not_belong_to_dev), which must not pass silently.
fn excluded_reason(name: &str, node: Option<&str>, unbound_domains: &[String]) -> String {
    match (node, unbound_domains.is_empty()) {
        (Some(ip), false) => format!(
            "{name}: its devices ({}) do not own {ip}, the address the peer is reached from (libfabric binds {name} to it with FI_SOURCE); reach the peer over an address of one of them to use {name}",
            unbound_domains.join(", ")
        ),
        _ => format!("{name}: not offered here"),
    }
}

/// The explanation of a selection, for the user and the results file.
fn selection_reason(
    choice: ProviderChoice,
    fabric: FabricChoice,
    chosen: &Offer,
    passed_over: &[String],
    offers: &[Offer],
) -> String {
    let mut why = match choice {
        ProviderChoice::Auto => format!("--provider auto chose {}", chosen.provider),
        _ => format!("provider {}", chosen.provider),
    };
    if !passed_over.is_empty() {
        why.push_str(&format!(" ({})", passed_over.join("; ")));
    }
    let kinds: Vec<&str> = offers.iter().map(|o| o.fabric_kind.as_str()).collect();
    if kinds.iter().any(|k| *k != kinds[0]) || chosen.fabric_kind.starts_with("efa") {
        let how = match fabric {
            FabricChoice::Auto => format!(
                "--fabric auto: the first of {} that carries every size",
                dedup(&kinds).join(", ")
            ),
            named => format!("--fabric {}", named.label()),
        };
        why.push_str(&format!(", fabric {} ({how})", chosen.fabric_kind));
    }
    why
}

fn dedup<'a>(kinds: &[&'a str]) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for kind in kinds {
        if !out.contains(kind) {
            out.push(kind);
        }
    }
    out
}

/// The named efa fabric is not offered: efa-direct arrived in libfabric 2.1 and never has the
/// tagged API.
fn no_such_fabric(lib: &Library, config: &RunConfig) -> EngineError {
    EngineError::InvalidParameters(format!(
        "the efa provider offers no {} fabric here for {} reliable-datagram endpoints{} (libfabric {}; efa-direct arrived in libfabric 2.1 and has no tagged API or emulated RMA); use --fabric auto",
        config.fabric.label(),
        match config.api {
            MessageApi::Msg => "msg",
            MessageApi::Tagged => "tagged",
        },
        if config.test.is_rma() { " with RMA" } else { "" },
        lib.runtime_version()
    ))
}

/// Opens exactly the provider and fabric the server chose (full name, e.g. "tcp;ofi_rxm", and
/// fabric kind), so both ends speak the same protocol.
pub fn select_named_provider(
    lib: &Arc<Library>,
    provider: &str,
    fabric_kind: &str,
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
    let found = list
        .iter()
        .find(|e| e.provider() == provider && Offer::of(e).fabric_kind == fabric_kind);
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
    /// Opens an endpoint on `info` for `config`'s test, with buffers for `max_size`-byte messages
    /// and `buffers.depth` operations in flight per direction (and, for RMA, memory the peer can
    /// reach). `selected` says why this provider and fabric, for the results.
    pub fn open(
        lib: &Library,
        info: &Info,
        config: &RunConfig,
        max_size: u64,
        buffers: Buffers,
        selected: Option<String>,
    ) -> Result<FabricTransport, EngineError> {
        let view = info.view();
        check_size_limit(max_size, view.max_msg_size() as u64, &view.provider())?;
        let rma = config.test.is_rma();
        let endpoint = Endpoint::open(
            info,
            EndpointOptions {
                buffer_size: usize::try_from(max_size).unwrap_or(usize::MAX),
                depth: buffers.depth,
                separate_buffers: buffers.separate,
                completion: config.completion,
                force_mr_local: config.force_mr_local,
                api: config.api,
                rma,
                require_device_rdma: config.require_device_rdma,
                inject_at_inject_size: matches!(
                    config.test,
                    Test::Bandwidth {
                        method: BandwidthMethod::Fabtests,
                        ..
                    }
                ),
            },
        )?;
        let rma_emulated = if rma {
            endpoint.rma_emulation()?.map(|e| RmaEmulated {
                read: e.read,
                write: e.write,
            })
        } else {
            None
        };
        let provider = view.provider();
        let fabric = view.fabric_name();
        let facts = FabricInfo {
            fabric_kind: FabricInfo::kind_of(&provider, &fabric),
            provider,
            fabric,
            domain: view.domain_name(),
            api_version: lib.api_version(),
            mr_mode: view.mr_mode_names(),
            memory_registered: endpoint.memory_registered(),
            inject_size: endpoint.inject_size() as u64,
            max_msg_size: endpoint.max_msg_size() as u64,
            rma_emulated,
            selected,
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

    fn wait_send(&mut self, op: usize, watchdog: &mut Watchdog) -> Result<(), EngineError> {
        Ok(self.endpoint.wait_send(op, watchdog)?)
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

    /// efa as libfabric 2.1+ answers a msg query on one device: efa-direct first, limited to
    /// the MTU without FI_RMA in the hints (prov/efa/src/efa_prov.c, efa_user_info.c), then efa.
    fn efa_offers() -> Vec<Offer> {
        vec![
            Offer {
                provider: "efa".into(),
                fabric_kind: "efa-direct".into(),
                max_msg_size: 8928,
            },
            Offer {
                provider: "efa".into(),
                fabric_kind: "efa".into(),
                max_msg_size: u64::MAX,
            },
        ]
    }

    #[test]
    fn auto_takes_the_first_fabric_that_carries_every_size() {
        let offers = efa_offers();
        assert_eq!(
            choose_offer(&offers, FabricChoice::Auto, 4096).unwrap(),
            Some(0)
        );
        assert_eq!(
            choose_offer(&offers, FabricChoice::Auto, 8928).unwrap(),
            Some(0)
        );
        // The seed's sizes go up to 100 KB: efa-direct cannot carry them, efa can.
        assert_eq!(
            choose_offer(&offers, FabricChoice::Auto, 102_400).unwrap(),
            Some(1)
        );
        // A tagged query never returns efa-direct; libfabric 1.x has only efa.
        assert_eq!(
            choose_offer(&offers[1..], FabricChoice::Auto, 4).unwrap(),
            Some(0)
        );
    }

    #[test]
    fn a_named_fabric_is_that_fabric_or_a_clear_refusal() {
        let offers = efa_offers();
        assert_eq!(
            choose_offer(&offers, FabricChoice::Efa, 4).unwrap(),
            Some(1)
        );
        assert_eq!(
            choose_offer(&offers, FabricChoice::EfaDirect, 4).unwrap(),
            Some(0)
        );
        let err = choose_offer(&offers, FabricChoice::EfaDirect, 102_400)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("102400 B") && err.contains("8928 B") && err.contains("the device MTU"),
            "{err}"
        );
        // No efa-direct (libfabric before 2.1, or the tagged API): nothing to choose.
        assert_eq!(
            choose_offer(&offers[1..], FabricChoice::EfaDirect, 4).unwrap(),
            None
        );
        assert_eq!(choose_offer(&[], FabricChoice::Auto, 4).unwrap(), None);
    }

    #[test]
    fn the_reason_names_what_auto_passed_over_and_which_fabric() {
        let offers = efa_offers();
        let why = selection_reason(
            ProviderChoice::Auto,
            FabricChoice::Auto,
            &offers[1],
            &[],
            &offers,
        );
        assert_eq!(
            why,
            "--provider auto chose efa, fabric efa (--fabric auto: the first of efa-direct, efa that carries every size)"
        );
        let verbs = Offer {
            provider: "tcp;ofi_rxm".into(),
            fabric_kind: "tcp".into(),
            max_msg_size: u64::MAX,
        };
        let passed = vec![
            "efa: not offered here".to_string(),
            "verbs: its devices (mlx5_0) do not own 10.0.0.2".to_string(),
        ];
        let why = selection_reason(
            ProviderChoice::Auto,
            FabricChoice::Auto,
            &verbs,
            &passed,
            std::slice::from_ref(&verbs),
        );
        assert_eq!(
            why,
            "--provider auto chose tcp;ofi_rxm (efa: not offered here; verbs: its devices (mlx5_0) do not own 10.0.0.2)"
        );
    }

    #[test]
    fn a_device_that_fi_source_excluded_is_named_not_dropped() {
        let devices = ["mlx5_0".to_string(), "mlx5_1".to_string()];
        let why = excluded_reason("verbs", Some("10.0.0.2"), &devices);
        assert!(
            why.starts_with("verbs: its devices (mlx5_0, mlx5_1) do not own 10.0.0.2"),
            "{why}"
        );
        assert!(why.contains("FI_SOURCE"), "{why}");
        assert_eq!(
            excluded_reason("verbs", Some("10.0.0.2"), &[]),
            "verbs: not offered here"
        );
        assert_eq!(excluded_reason("efa", None, &[]), "efa: not offered here");
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
