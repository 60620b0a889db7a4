//! `rdmabench tool` with an MPI benchmark (NPopenmpi, osu_latency, osu_bw) between two real
//! hosts, as the cluster runs it: the client end runs mpirun with one rank here and one on the
//! server's host, whose daemon `rdmabench launch` starts in the server's pod through the
//! Kubernetes exec API (no SSH); the server end only keeps its pod up until the client says it
//! is done.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crate::ends::{hostname, mpi_daemon_ports, EndReport, Planned, ToolEndOptions};
use crate::launch::Destination;
use crate::local::{interface_variable, Outcome};
use crate::mpi::{measure_mpi, MpiPlacement, MpiTool};
use crate::reference::{
    installed, mpi_format, mpi_measurement, tool_context, tool_results, MpiCounts,
};
use crate::tools::discover;
use crate::{LocalHosts, PipelineError};

/// The environment variable through which the cluster runner names the server's pod.
const SERVER_POD_ENV: &str = "RDMABENCH_SERVER_POD";
/// The default first port of an MPI run's ends (the cluster's control port).
const DEFAULT_PORT: u16 = 18515;
/// How long the client tries to tell the server it is done.
const RELEASE_LIMIT: Duration = Duration::from_secs(5);
/// How often the waiting server checks for the client and for Ctrl-C.
const POLL: Duration = Duration::from_millis(100);

/// Runs an MPI tool's end (see `ends::run_end`).
pub(crate) fn run_end(
    args: &ToolEndOptions,
    tool: MpiTool,
    planned: &Planned,
    interrupted: &AtomicBool,
    progress: &mut dyn FnMut(&str),
) -> Result<EndReport, PipelineError> {
    let port = args.port.unwrap_or(DEFAULT_PORT);
    // The server waits for as long as the client may take for every size.
    let Some(server) = &args.server else {
        let limit = planned.limit * planned.sizes.len() as u32 + planned.reach;
        progress(&format!(
            "keeping this host up for the MPI client (port {port})"
        ));
        return Ok(EndReport {
            results: None,
            outcome: serve(port, limit, interrupted)?,
        });
    };
    let server_ip = resolve(server, port)?;
    let own = own_address(server_ip)?;
    let destination = server_pod(args)?;
    let path = std::env::var_os("PATH").unwrap_or_default();
    let tools = discover(&path);
    let (program, version) = installed(&tools, &args.tool).map_err(PipelineError::Refused)?;
    let (mpirun, _) = installed(&tools, "mpirun").map_err(PipelineError::Refused)?;
    let counts = MpiCounts {
        sizes: planned.sizes.clone(),
        iterations: planned.iterations,
        warmup: planned.warmup,
        limit: planned.limit,
    };
    let measurement = mpi_measurement(tool, program, mpirun, &args.provider, counts)?;
    let mut placement = MpiPlacement::remote(&own.to_string(), &server_ip.to_string(), destination);
    placement.network = args.mpi_network.clone();
    placement.static_ports = Some(mpi_daemon_ports(port));
    progress(&format!(
        "{} over mpirun, ranks on {own} and {server_ip}",
        args.tool
    ));
    let started = SystemTime::now();
    let run = measure_mpi(&LocalHosts::Loopback, &placement, &measurement, interrupted)?;
    release(SocketAddr::new(server_ip, port));
    let context = tool_context(
        (&args.provider, None),
        "tagged",
        hostname(),
        started,
        format!("{}, run by rdmabench tool against {server}", args.tool),
    );
    Ok(EndReport {
        results: tool_results(
            &run,
            mpi_format(tool),
            version,
            context,
            (&planned.sizes, planned.iterations),
        )?,
        outcome: run.outcome,
    })
}

/// The server's pod from --server-pod, else RDMABENCH_SERVER_POD, with the provider's
/// interface variable passed on when it is set here.
fn server_pod(args: &ToolEndOptions) -> Result<Destination, PipelineError> {
    let text = args
        .server_pod
        .clone()
        .or_else(|| std::env::var(SERVER_POD_ENV).ok())
        .ok_or_else(|| {
            PipelineError::Refused(format!("{} needs the server's pod to start its daemon in: --server-pod NAMESPACE/POD/CONTAINER (the cluster runner sets {SERVER_POD_ENV})", args.tool))
        })?;
    let parts: Vec<&str> = text.split('/').collect();
    let [namespace, name, container] = parts[..] else {
        return Err(PipelineError::Refused(format!(
            "--server-pod {text}: expected NAMESPACE/POD/CONTAINER"
        )));
    };
    let env: BTreeMap<String, String> = interface_variable(&args.provider)
        .and_then(|variable| Some((variable.clone(), std::env::var(variable).ok()?)))
        .into_iter()
        .collect();
    Ok(Destination::Pod {
        namespace: namespace.into(),
        name: name.into(),
        container: container.into(),
        env,
    })
}

/// The server's address (mpirun names hosts by address: both ranks' hosts must be told apart).
fn resolve(host: &str, port: u16) -> Result<IpAddr, PipelineError> {
    (host, port)
        .to_socket_addrs()
        .map_err(PipelineError::io(format!("resolving {host}")))?
        .map(|a| a.ip())
        .find(IpAddr::is_ipv4)
        .ok_or_else(|| PipelineError::Refused(format!("{host} has no IPv4 address")))
}

/// This host's address towards `peer`: the source the kernel picks for it (a UDP "connect"
/// sends nothing).
fn own_address(peer: IpAddr) -> Result<IpAddr, PipelineError> {
    let socket = UdpSocket::bind("0.0.0.0:0").map_err(PipelineError::io("opening a UDP socket"))?;
    socket
        .connect((peer, 9))
        .map_err(PipelineError::io(format!("finding the route to {peer}")))?;
    Ok(socket
        .local_addr()
        .map_err(PipelineError::io("reading the local address"))?
        .ip())
}

/// Tells the server end the run is over (a connection, nothing sent); a server already gone is
/// fine.
fn release(server: SocketAddr) {
    let deadline = Instant::now() + RELEASE_LIMIT;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&server, RELEASE_LIMIT).is_ok() {
            return;
        }
        std::thread::sleep(POLL);
    }
}

/// The server end: waits on `port` for the client's "done" connection, within `limit`.
fn serve(port: u16, limit: Duration, interrupted: &AtomicBool) -> Result<Outcome, PipelineError> {
    let listener = TcpListener::bind(("0.0.0.0", port)).map_err(PipelineError::io(format!(
        "listening on port {port} for the MPI client"
    )))?;
    listener
        .set_nonblocking(true)
        .map_err(PipelineError::io("making the listener non-blocking"))?;
    let deadline = Instant::now() + limit;
    loop {
        match listener.accept() {
            Ok(_) => return Ok(Outcome::Complete),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(PipelineError::io("waiting for the MPI client")(e)),
        }
        if interrupted.load(Ordering::SeqCst) {
            return Ok(Outcome::Interrupted);
        }
        if Instant::now() >= deadline {
            return Ok(Outcome::Failed(format!(
                "the MPI client did not finish within {limit:?}"
            )));
        }
        std::thread::sleep(POLL);
    }
}
