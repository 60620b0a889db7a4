//! Setting up a run: listening or connecting, the handshake, and opening the data path on both
//! ends. The measurement itself lives in `measure`.

use std::hash::{BuildHasher, Hasher};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdmabench_fabric::{Info, Library};
use rdmabench_results::{FabricInfo, HostFacts};

use crate::config::{RunConfig, TransportChoice};
use crate::error::EngineError;
use crate::host::{host_facts, same_host};
use crate::oob::{ControlChannel, Message, MAGIC, PROTOCOL_VERSION};
use crate::transport::fabric::{select_named_provider, select_provider, FabricTransport};
use crate::transport::socket::SocketTransport;
use crate::transport::{Buffers, Transport};
use rdmabench_fabric::RemoteMemory;

const POLL_INTERVAL: Duration = Duration::from_millis(20);
const TOKEN_LEN: usize = 16;

/// A handshaken connection to the peer with the data path open.
pub struct Session {
    /// The control connection, kept for coordination and liveness.
    pub control: ControlChannel,
    /// The data path.
    pub transport: Box<dyn Transport>,
    /// Our facts.
    pub local: HostFacts,
    /// The peer's facts.
    pub peer: HostFacts,
    /// Provider facts (fabric transport only).
    pub fabric: Option<FabricInfo>,
}

impl Session {
    /// Whether both ends turned out to run on one host.
    pub fn same_host(&self) -> bool {
        same_host(&self.local, &self.peer)
    }
}

fn library_for(
    config: &RunConfig,
    lib: Option<&Arc<Library>>,
) -> Result<Option<Arc<Library>>, EngineError> {
    match (&config.transport, lib) {
        (TransportChoice::Socket, _) => Ok(None),
        (TransportChoice::Fabric(_), Some(lib)) => Ok(Some(Arc::clone(lib))),
        (TransportChoice::Fabric(_), None) => Err(EngineError::Handshake(
            "the fabric transport needs libfabric, which is not loaded".into(),
        )),
    }
}

fn max_size(config: &RunConfig) -> u64 {
    config.sizes.iter().copied().max().unwrap_or(1)
}

/// The test's operations in flight; verifying a window needs a buffer per message.
fn buffers(config: &RunConfig) -> Buffers {
    let depth = config.test.depth();
    Buffers {
        depth,
        separate: config.verify && depth > 1,
    }
}

/// The fabric transport both ends open for the run: sized for its largest message, with the
/// test's window of buffers and the memory registration it needs.
fn open_fabric(
    lib: &Library,
    info: &Info,
    config: &RunConfig,
    selected: Option<String>,
) -> Result<FabricTransport, EngineError> {
    FabricTransport::open(
        lib,
        info,
        config,
        max_size(config),
        buffers(config),
        selected,
    )
}

/// Binds the listening socket, translating "address in use" into advice.
pub fn listen(bind: SocketAddr) -> Result<TcpListener, EngineError> {
    TcpListener::bind(bind).map_err(|e| {
        if e.kind() == ErrorKind::AddrInUse {
            EngineError::PortInUse {
                address: bind.to_string(),
            }
        } else {
            EngineError::Io {
                context: format!("listening on {bind}"),
                source: e,
            }
        }
    })
}

fn accept_within(listener: &TcpListener, config: &RunConfig) -> Result<TcpStream, EngineError> {
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    listener
        .set_nonblocking(true)
        .map_err(EngineError::io("configuring the listening socket"))?;
    let deadline = Instant::now() + config.timeout;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream
                    .set_nonblocking(false)
                    .map_err(EngineError::io("configuring the accepted connection"))?;
                return Ok(stream);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(EngineError::io(format!("accepting on {address}"))(e)),
        }
        if config.interrupted.load(Ordering::Relaxed) {
            return Err(EngineError::Interrupted);
        }
        if Instant::now() >= deadline {
            return Err(EngineError::NoClient {
                address,
                timeout: config.timeout,
            });
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

pub(crate) fn connect_within(server: &str, config: &RunConfig) -> Result<TcpStream, EngineError> {
    let deadline = Instant::now() + config.timeout;
    let mut last_error = String::from("no address");
    loop {
        let addresses: Vec<SocketAddr> = match server.to_socket_addrs() {
            Ok(a) => a.collect(),
            Err(e) => {
                last_error = format!("cannot resolve '{server}': {e}");
                Vec::new()
            }
        };
        for address in &addresses {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match TcpStream::connect_timeout(address, remaining.max(Duration::from_millis(1))) {
                Ok(stream) => return Ok(stream),
                Err(e) => last_error = e.to_string(),
            }
        }
        if config.interrupted.load(Ordering::Relaxed) {
            return Err(EngineError::Interrupted);
        }
        if Instant::now() >= deadline {
            return Err(EngineError::PeerUnreachable {
                address: server.to_string(),
                timeout: config.timeout,
                last_error,
            });
        }
        std::thread::sleep(POLL_INTERVAL * 5);
    }
}

fn session_token() -> Vec<u8> {
    let state = std::collections::hash_map::RandomState::new();
    let mut token = Vec::with_capacity(TOKEN_LEN);
    for part in 0..2u64 {
        let mut h = state.build_hasher();
        h.write_u64(part);
        h.write_u32(std::process::id());
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        token.extend_from_slice(&h.finish().to_le_bytes());
    }
    token
}

/// Checks a client's hello against our configuration; the error names the first difference.
fn check_hello(message: Message, config: &RunConfig) -> Result<HostFacts, EngineError> {
    let Message::Hello {
        magic,
        protocol,
        tool_version,
        host,
        agreement,
    } = message
    else {
        return Err(EngineError::Protocol(
            "the first message from the client was not a hello".into(),
        ));
    };
    if magic != MAGIC {
        return Err(EngineError::Handshake(format!(
            "the client is not rdmabench (magic '{magic}')"
        )));
    }
    if protocol != PROTOCOL_VERSION {
        return Err(EngineError::ParameterMismatch {
            field: "protocol version",
            ours: PROTOCOL_VERSION.to_string(),
            theirs: protocol.to_string(),
        });
    }
    let version = env!("CARGO_PKG_VERSION");
    if tool_version != version {
        return Err(EngineError::ParameterMismatch {
            field: "rdmabench version",
            ours: version.to_string(),
            theirs: tool_version,
        });
    }
    for (field, ours) in config.agreement() {
        let theirs = agreement
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| "(missing)".into());
        if theirs != ours {
            return Err(EngineError::ParameterMismatch {
                field,
                ours,
                theirs,
            });
        }
    }
    Ok(*host)
}

/// Server side: accept one client, check its parameters, open the data path.
pub fn accept(
    listener: &TcpListener,
    config: &RunConfig,
    lib: Option<&Arc<Library>>,
) -> Result<Session, EngineError> {
    let lib = library_for(config, lib)?;
    let stream = accept_within(listener, config)?;
    let mut control = ControlChannel::new(stream, config.timeout)?;
    let local = host_facts(config.cpu, lib.as_ref().map(|l| l.runtime_version()));
    let hello = control.receive("waiting for the client's hello")?;
    let peer = control.abort_on_error(check_hello(hello, config))?;
    let opened = open_server_side(&mut control, listener, config, lib, &local, &peer);
    let (transport, fabric) = control.abort_on_error(opened)?;
    Ok(Session {
        control,
        transport,
        local,
        peer,
        fabric,
    })
}

fn open_server_side(
    control: &mut ControlChannel,
    listener: &TcpListener,
    config: &RunConfig,
    lib: Option<Arc<Library>>,
    local: &HostFacts,
    peer: &HostFacts,
) -> Result<(Box<dyn Transport>, Option<FabricInfo>), EngineError> {
    match (&config.transport, lib) {
        (TransportChoice::Fabric(choice), Some(lib)) => {
            let local_ip = control
                .stream()
                .local_addr()
                .map_err(EngineError::io("reading the control connection's address"))?
                .ip()
                .to_string();
            let rma = config.test.is_rma();
            let (info, selected) =
                select_provider(&lib, config, *choice, &local_ip, same_host(local, peer))?;
            let mut transport = open_fabric(&lib, &info, config, Some(selected))?;
            control.send(&Message::Welcome {
                host: Box::new(local.clone()),
                provider: Some(transport.facts().provider.clone()),
                fabric_kind: Some(transport.facts().fabric_kind.clone()),
                selected: transport.facts().selected.clone(),
                address: transport.address()?,
            })?;
            let Message::ClientAddress { address } =
                control.receive("waiting for the client's fabric address")?
            else {
                return Err(EngineError::Protocol(
                    "expected the client's fabric address".into(),
                ));
            };
            transport.insert_peer(&address)?;
            if rma {
                send_memory(control, &transport)?;
                receive_memory(control, &mut transport)?;
            }
            let facts = transport.facts().clone();
            Ok((Box::new(transport), Some(facts)))
        }
        _ => {
            let token = session_token();
            control.send(&Message::Welcome {
                host: Box::new(local.clone()),
                provider: None,
                fabric_kind: None,
                selected: None,
                address: token.clone(),
            })?;
            let mut data = accept_within(listener, config)?;
            data.set_read_timeout(Some(config.timeout))
                .map_err(EngineError::io("configuring the data connection"))?;
            let mut presented = vec![0u8; TOKEN_LEN];
            data.read_exact(&mut presented)
                .map_err(EngineError::io("reading the data connection's token"))?;
            if presented != token {
                return Err(EngineError::Handshake(
                    "a data connection arrived with the wrong session token".into(),
                ));
            }
            let transport =
                SocketTransport::new(data, max_size(config), buffers(config), config.completion)?;
            Ok((Box::new(transport), None))
        }
    }
}

/// Client side: connect to the server, handshake, open the data path.
pub fn connect(
    server: &str,
    config: &RunConfig,
    lib: Option<&Arc<Library>>,
) -> Result<Session, EngineError> {
    let lib = library_for(config, lib)?;
    let stream = connect_within(server, config)?;
    let peer_addr = stream
        .peer_addr()
        .map_err(EngineError::io("reading the server's address"))?;
    let mut control = ControlChannel::new(stream, config.timeout)?;
    let local = host_facts(config.cpu, lib.as_ref().map(|l| l.runtime_version()));
    control.send(&Message::Hello {
        magic: MAGIC.into(),
        protocol: PROTOCOL_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        host: Box::new(local.clone()),
        agreement: config
            .agreement()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    })?;
    let Message::Welcome {
        host,
        provider,
        fabric_kind,
        selected,
        address,
    } = control.receive("waiting for the server's answer to our hello")?
    else {
        return Err(EngineError::Protocol(
            "expected the server's welcome".into(),
        ));
    };
    let peer = *host;
    let opened = match (provider, lib) {
        (Some(provider), Some(lib)) => {
            let kind = fabric_kind.unwrap_or_else(|| FabricInfo::kind_of(&provider, ""));
            let selected = selected.map(|why| format!("{why} (the server's choice)"));
            open_client_fabric(
                &mut control,
                config,
                &lib,
                (&provider, &kind, selected),
                &address,
            )
        }
        (None, None) => open_client_socket(peer_addr, config, &address),
        _ => Err(EngineError::Protocol(
            "the server chose a different transport".into(),
        )),
    };
    let (transport, fabric) = control.abort_on_error(opened)?;
    Ok(Session {
        control,
        transport,
        local,
        peer,
        fabric,
    })
}

fn open_client_fabric(
    control: &mut ControlChannel,
    config: &RunConfig,
    lib: &Arc<Library>,
    (provider, fabric_kind, selected): (&str, &str, Option<String>),
    server_address: &[u8],
) -> Result<(Box<dyn Transport>, Option<FabricInfo>), EngineError> {
    let local_ip = control
        .stream()
        .local_addr()
        .map_err(EngineError::io("reading the control connection's address"))?
        .ip()
        .to_string();
    let rma = config.test.is_rma();
    let info = select_named_provider(lib, provider, fabric_kind, config.api, &local_ip, rma)?;
    let mut transport = open_fabric(lib, &info, config, selected)?;
    transport.insert_peer(server_address)?;
    control.send(&Message::ClientAddress {
        address: transport.address()?,
    })?;
    if rma {
        receive_memory(control, &mut transport)?;
        send_memory(control, &transport)?;
    }
    let facts = transport.facts().clone();
    Ok((Box::new(transport), Some(facts)))
}

/// Tells the peer where it may read and write our memory (RMA tests).
fn send_memory(
    control: &mut ControlChannel,
    transport: &FabricTransport,
) -> Result<(), EngineError> {
    let memory = transport
        .memory_for_peer()
        .ok_or_else(|| EngineError::Protocol("the RMA endpoint has no registered memory".into()))?;
    control.send(&Message::Memory {
        address: memory.address,
        key: memory.key,
    })
}

/// Learns where the peer's memory is (RMA tests).
fn receive_memory(
    control: &mut ControlChannel,
    transport: &mut FabricTransport,
) -> Result<(), EngineError> {
    let Message::Memory { address, key } =
        control.receive("waiting for the peer's memory address and key")?
    else {
        return Err(EngineError::Protocol(
            "expected the peer's memory address and key".into(),
        ));
    };
    transport.set_peer_memory(RemoteMemory { address, key })
}

fn open_client_socket(
    server: SocketAddr,
    config: &RunConfig,
    token: &[u8],
) -> Result<(Box<dyn Transport>, Option<FabricInfo>), EngineError> {
    let mut data = TcpStream::connect_timeout(&server, config.timeout).map_err(EngineError::io(
        format!("opening the data connection to {server}"),
    ))?;
    data.write_all(token)
        .map_err(EngineError::io("sending the data connection's token"))?;
    let transport =
        SocketTransport::new(data, max_size(config), buffers(config), config.completion)?;
    Ok((Box::new(transport), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(sizes: Vec<u64>) -> RunConfig {
        RunConfig {
            sizes,
            ..RunConfig::for_tests(crate::config::Test::PingPong)
        }
    }

    fn hello(config: &RunConfig, protocol: u32, magic: &str) -> Message {
        Message::Hello {
            magic: magic.into(),
            protocol,
            tool_version: env!("CARGO_PKG_VERSION").into(),
            host: Box::new(host_facts(None, None)),
            agreement: config
                .agreement()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        }
    }

    #[test]
    fn matching_hello_is_accepted() {
        let ours = config(vec![4, 64]);
        assert!(check_hello(hello(&ours, PROTOCOL_VERSION, MAGIC), &ours).is_ok());
    }

    #[test]
    fn a_different_parameter_is_named_with_both_values() {
        let ours = config(vec![4, 64]);
        let theirs = config(vec![4, 128]);
        let err = check_hello(hello(&theirs, PROTOCOL_VERSION, MAGIC), &ours).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("sizes") && text.contains("64") && text.contains("128"),
            "{text}"
        );
    }

    #[test]
    fn ends_running_different_bandwidth_methods_are_told_which() {
        let bw = |method| crate::config::Test::Bandwidth {
            window: 64,
            bidirectional: false,
            method,
        };
        let ours = RunConfig {
            test: bw(crate::config::BandwidthMethod::Perftest),
            ..config(vec![4])
        };
        let theirs = RunConfig {
            test: bw(crate::config::BandwidthMethod::Osu),
            ..config(vec![4])
        };
        let err = check_hello(hello(&theirs, PROTOCOL_VERSION, MAGIC), &ours).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("--method perftest") && text.contains("--method osu"),
            "{text}"
        );
    }

    #[test]
    fn another_protocol_version_or_tool_is_refused() {
        let ours = config(vec![4]);
        let err = check_hello(hello(&ours, PROTOCOL_VERSION + 1, MAGIC), &ours).unwrap_err();
        assert!(err.to_string().contains("protocol version"), "{err}");
        let err = check_hello(hello(&ours, PROTOCOL_VERSION, "perftest"), &ours).unwrap_err();
        assert!(err.to_string().contains("not rdmabench"), "{err}");
    }
}
