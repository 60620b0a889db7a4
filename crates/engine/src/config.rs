//! What a run is asked to measure, and which of those choices both ends must share.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use rdmabench_fabric::{Completion, MessageApi};
use serde::{Deserialize, Serialize};

/// Default out-of-band port, the one perftest uses, so firewall rules written for it apply.
pub const DEFAULT_PORT: u16 = 18515;
/// Ports from the control port on that one run between two hosts may use: the control port,
/// one per message size of a reference tool's run (`rdmabench tool`), the last two for Open
/// MPI's daemons: a known range, so a firewall or a cluster's own policies can open exactly these.
pub const TOOL_PORTS: u16 = 64;

/// Which data path carries the benchmark's messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportChoice {
    /// libfabric with the given provider choice.
    Fabric(ProviderChoice),
    /// The kernel TCP baseline every RDMA number is compared with.
    Socket,
}

/// The libfabric provider the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderChoice {
    /// The best available: efa, verbs, then shm (both ends local) or net/tcp (between hosts).
    Auto,
    /// AWS Elastic Fabric Adapter.
    Efa,
    /// InfiniBand / RoCE through rdma-core.
    Verbs,
    /// Kernel TCP sockets, RDM via ofi_rxm.
    Tcp,
    /// libfabric's newer socket provider with native RDM.
    Net,
    /// Shared memory between processes on one host.
    Shm,
    /// UDP, RDM via ofi_rxd.
    Udp,
}

impl ProviderChoice {
    /// The core provider name libfabric uses, or None for auto.
    pub fn name(self) -> Option<&'static str> {
        match self {
            ProviderChoice::Auto => None,
            ProviderChoice::Efa => Some("efa"),
            ProviderChoice::Verbs => Some("verbs"),
            ProviderChoice::Tcp => Some("tcp"),
            ProviderChoice::Net => Some("net"),
            ProviderChoice::Shm => Some("shm"),
            ProviderChoice::Udp => Some("udp"),
        }
    }

    /// The name shown to users and written to results ("auto" included).
    pub fn label(self) -> &'static str {
        self.name().unwrap_or("auto")
    }
}

/// Which of a provider's fabrics to measure. Since libfabric 2.1 the efa provider offers two for
/// reliable-datagram endpoints and lists `efa-direct` (the device's own send/recv and RMA, no
/// tagged API, send/recv limited to the MTU) before `efa` (libfabric's protocol on top: tagged
/// messages, any size, emulated RMA where the device has none). One measurement uses one fabric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum FabricChoice {
    /// The first fabric, in libfabric's order, that serves every requested size and the API.
    #[default]
    #[serde(rename = "auto")]
    Auto,
    /// efa's `efa` fabric (what the seed measured; efa-direct did not exist then).
    #[serde(rename = "efa")]
    Efa,
    /// efa's `efa-direct` fabric.
    #[serde(rename = "efa-direct")]
    EfaDirect,
}

impl FabricChoice {
    /// The fabric's name in libfabric (fabric_attr->name), None for auto.
    pub fn name(self) -> Option<&'static str> {
        match self {
            FabricChoice::Auto => None,
            FabricChoice::Efa => Some("efa"),
            FabricChoice::EfaDirect => Some("efa-direct"),
        }
    }

    /// The name users type and results record ("auto" included).
    pub fn label(self) -> &'static str {
        self.name().unwrap_or("auto")
    }
}

/// How much to measure at each size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Amount {
    /// A fixed number of timed round trips.
    Iterations(u64),
    /// As many round trips as fit (estimated from the warm-up rate), up to `MAX_SAMPLES`.
    Duration(Duration),
}

/// Which measurement a run makes; both ends run the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Test {
    /// Round trips of one message (fi_pingpong, ib_send_lat): latency.
    PingPong,
    /// Windows of messages kept in flight (fi_msg_bw, ib_send_bw): bandwidth and message rate.
    Bandwidth {
        /// Messages in flight per window (perftest's tx-depth, fabtests' -W).
        window: usize,
        /// Both ends send and receive at once (ib_send_bw -b); figures count both directions.
        bidirectional: bool,
        /// Whose loop: the three tools users compare with keep messages in flight differently,
        /// which decides the message rate at small sizes.
        #[serde(default)]
        method: BandwidthMethod,
    },
    /// RMA latency (ib_write_lat, ib_read_lat): a write ping-pong of fi_writedata, each end
    /// waiting for the other's write on its own completion queue; or one fi_read at a time.
    RmaLatency {
        /// Write or read.
        op: RmaOp,
    },
    /// RMA bandwidth (ib_write_bw, ib_read_bw): windows of fi_write or fi_read in flight, the
    /// target passive.
    RmaBandwidth {
        /// Write or read.
        op: RmaOp,
        /// Operations in flight per window.
        window: usize,
    },
}

/// How a bandwidth test keeps messages in flight, each as its reference tool's source does
/// (docs/engine.md, Bandwidth methods, cites the functions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BandwidthMethod {
    /// OSU osu_bw (also IMB Uniband): a window of sends, wait for all, a one-byte
    /// acknowledgement; the receiver re-posts each receive as it completes, before acknowledging.
    #[default]
    Osu,
    /// fabtests' bandwidth() (fi_msg_bw, fi_rdm_tagged_bw): a window of sends (fi_inject at or
    /// below the inject size), wait for all, a 4-byte acknowledgement; the receiver posts the
    /// next window's receives only after acknowledging, so the sender may overrun it.
    Fabtests,
    /// perftest ib_send_bw: up to tx-depth sends in flight, a new one posted as each completes,
    /// receives re-posted as they complete, no acknowledgement until the end.
    Perftest,
}

impl BandwidthMethod {
    /// The name users type and results record.
    pub fn name(self) -> &'static str {
        match self {
            BandwidthMethod::Osu => "osu",
            BandwidthMethod::Fabtests => "fabtests",
            BandwidthMethod::Perftest => "perftest",
        }
    }

    /// The reference tool's default window: osu_bw's and fabtests' 64, ib_send_bw's tx-depth
    /// 128.
    pub fn default_window(self) -> usize {
        match self {
            BandwidthMethod::Osu | BandwidthMethod::Fabtests => 64,
            BandwidthMethod::Perftest => 128,
        }
    }
}

/// Which RMA operation a test issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RmaOp {
    /// fi_write / fi_writedata into the peer's memory.
    Write,
    /// fi_read from the peer's memory.
    Read,
}

impl RmaOp {
    /// The name users type.
    pub fn name(self) -> &'static str {
        match self {
            RmaOp::Write => "write",
            RmaOp::Read => "read",
        }
    }
}

/// Largest `--window`: deeper windows than perftest's default of 128 add nothing on the
/// fabrics we measure, and every provider's default completion queue holds this many.
pub const MAX_WINDOW: usize = 256;

impl Test {
    /// The results' `test` field: perftest's names for RMA (as `rdmabench import` gives them),
    /// so imported perftest runs land in the same section.
    pub fn name(self) -> &'static str {
        match self {
            Test::PingPong => "pingpong",
            Test::Bandwidth { .. } => "bw",
            Test::RmaLatency { op: RmaOp::Write } => "write-lat",
            Test::RmaLatency { op: RmaOp::Read } => "read-lat",
            Test::RmaBandwidth {
                op: RmaOp::Write, ..
            } => "write-bw",
            Test::RmaBandwidth {
                op: RmaOp::Read, ..
            } => "read-bw",
        }
    }

    /// The subcommand that runs it.
    pub fn subcommand(self) -> &'static str {
        match self {
            Test::PingPong => "pingpong",
            Test::Bandwidth { .. } => "bw",
            Test::RmaLatency { .. } | Test::RmaBandwidth { .. } => "rma",
        }
    }

    /// Whether the server only keeps its endpoint progressing while the client measures (RMA
    /// reads and RMA bandwidth), so the client ends each phase with PhaseDone.
    pub fn passive_target(self) -> bool {
        matches!(
            self,
            Test::RmaLatency { op: RmaOp::Read } | Test::RmaBandwidth { .. }
        )
    }

    /// Whether it needs FI_RMA.
    pub fn is_rma(self) -> bool {
        matches!(self, Test::RmaLatency { .. } | Test::RmaBandwidth { .. })
    }

    /// What one timed unit is called in messages to the user.
    pub fn unit_plural(self) -> &'static str {
        match self {
            Test::PingPong | Test::RmaLatency { .. } => "round trips",
            Test::Bandwidth { .. } | Test::RmaBandwidth { .. } => "bandwidth windows",
        }
    }

    /// Operations each direction keeps in flight.
    pub fn depth(self) -> usize {
        match self {
            Test::PingPong | Test::RmaLatency { .. } => 1,
            Test::Bandwidth { window, .. } | Test::RmaBandwidth { window, .. } => window,
        }
    }
}

/// Most bytes a size's automatic warm-up sends each way (64 MiB): enough to fault in buffers
/// and settle a provider's protocol, without minutes of warm-up at large sizes.
pub const WARMUP_BYTES: u64 = 64 << 20;

/// Largest number of per-iteration samples kept for one size (8 bytes each: 80 MB), which
/// bounds memory in `--duration` mode and for huge `--iters`.
pub const MAX_SAMPLES: u64 = 10_000_000;

/// Everything a run needs besides where the peer is.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// What to measure.
    pub test: Test,
    /// Data path.
    pub transport: TransportChoice,
    /// fi_send/fi_recv or fi_tsend/fi_trecv.
    pub api: MessageApi,
    /// Message sizes in bytes, ascending.
    pub sizes: Vec<u64>,
    /// Timed round trips (ping-pong) or messages (bandwidth) per size.
    pub amount: Amount,
    /// Untimed round trips (messages) per size; None = rdmabench's rule (`warmup_for`).
    pub warmup: Option<u64>,
    /// Check every received payload.
    pub verify: bool,
    /// Busy-poll or block for completions.
    pub completion: Completion,
    /// Register buffers even when the provider does not require it.
    pub force_mr_local: bool,
    /// Which fabric of the efa provider (auto elsewhere).
    pub fabric: FabricChoice,
    /// Fail unless the efa provider uses device RDMA (FI_OPT_EFA_USE_DEVICE_RDMA).
    pub require_device_rdma: bool,
    /// CPU to pin this end to.
    pub cpu: Option<usize>,
    /// Measure each size until the 95 % interval of its mean half round trip is within +-this
    /// many percent (latency tests only; `amount` is then the ceiling; the median's interval is
    /// recorded beside it). Only the client uses it: it decides how many phases the server
    /// serves.
    pub precision: Option<f64>,
    /// Ping-pong only: time the whole timed loop with one clock read at each end, as
    /// fi_pingpong does, instead of every round trip, for parity runs. No per-round-trip samples,
    /// so no percentiles. Only the client uses it.
    pub loop_timed: bool,
    /// Limit for connecting, for any single wait, and for a run making no progress.
    pub timeout: Duration,
    /// Set by the Ctrl-C handler; checked while waiting.
    pub interrupted: Arc<AtomicBool>,
    /// The client's progress within the size it measures, for a progress bar.
    pub progress: Arc<crate::progress::SizeProgress>,
}

impl RunConfig {
    /// Warm-up round trips (messages) at `size` bytes for a run of `iterations` timed ones
    /// (None: as many as `--duration` allows): rdmabench's own rule, 1 % of the timed round
    /// trips but at least 1000 for a ping-pong, 10 windows for bandwidth; then at most
    /// `WARMUP_BYTES` of messages (as OSU warms up 10 times instead of 100 above 8 KiB, so an
    /// 8 MiB run does not spend seconds warming up) and at most the timed count itself. No
    /// reference tool has the rule: fi_pingpong 1.17 (util/pingpong.c) does not warm up at all,
    /// fabtests' benchmarks warm up 10 iterations (`-w`), OSU 100 (10 above 8 KiB). An explicit
    /// `--warmup` is taken as given.
    pub fn warmup_for(&self, iterations: Option<u64>, size: u64) -> u64 {
        if let Some(given) = self.warmup {
            return given;
        }
        let rule = match self.test {
            Test::PingPong | Test::RmaLatency { .. } => (iterations.unwrap_or(0) / 100).max(1000),
            Test::Bandwidth { window, .. } | Test::RmaBandwidth { window, .. } => {
                10 * window as u64
            }
        };
        let by_bytes = (WARMUP_BYTES / size.max(1)).max(1);
        rule.min(by_bytes)
            .min(iterations.unwrap_or(u64::MAX).max(1))
    }

    /// The choices both ends must share, as (name, value) pairs, in a fixed order so a mismatch
    /// can be named.
    pub fn agreement(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "test",
                match self.test {
                    Test::Bandwidth {
                        window,
                        bidirectional,
                        method,
                    } => format!(
                        "bw --method {} window {window}{}",
                        method.name(),
                        if bidirectional { " bidirectional" } else { "" }
                    ),
                    Test::RmaBandwidth { window, .. } => {
                        format!("{} window {window}", self.test.name())
                    }
                    other => other.name().into(),
                },
            ),
            (
                "transport",
                match &self.transport {
                    TransportChoice::Fabric(p) => format!("fabric ({})", p.label()),
                    TransportChoice::Socket => "socket".into(),
                },
            ),
            (
                "api",
                match self.api {
                    MessageApi::Msg => "msg".into(),
                    MessageApi::Tagged => "tagged".into(),
                },
            ),
            ("sizes", format!("{:?}", self.sizes)),
            (
                "iterations",
                match self.amount {
                    Amount::Iterations(n) => n.to_string(),
                    Amount::Duration(d) => format!("duration {d:?}"),
                },
            ),
            (
                "warmup",
                self.warmup.map_or("default".into(), |w| w.to_string()),
            ),
            ("verify", self.verify.to_string()),
            ("fabric", self.fabric.label().into()),
            ("require-device-rdma", self.require_device_rdma.to_string()),
        ]
    }
}

/// A run's measurement choices as the matrix coordinator sends them to agents: what both ends
/// of a pair need to build the same `RunConfig` (pinning and Ctrl-C stay each agent's own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// What to measure.
    pub test: Test,
    /// Data path.
    pub transport: TransportChoice,
    /// Tagged messages instead of fi_send/fi_recv.
    pub tagged: bool,
    /// Message sizes in bytes.
    pub sizes: Vec<u64>,
    /// Timed units per size.
    pub amount: Amount,
    /// Untimed units per size, if given.
    pub warmup: Option<u64>,
    /// Check every payload.
    pub verify: bool,
    /// Block for completions instead of busy-polling.
    pub wait: bool,
    /// Register buffers even when the provider does not ask.
    pub force_mr_local: bool,
    /// Which fabric of the efa provider.
    #[serde(default)]
    pub fabric: FabricChoice,
    /// Fail unless efa uses device RDMA.
    #[serde(default)]
    pub require_device_rdma: bool,
    /// `--precision`: the client measures each size until its mean's interval is this close.
    #[serde(default)]
    pub precision: Option<f64>,
    /// Limit for reaching the peer and any stretch without progress, in ns.
    pub timeout_ns: u64,
}

impl RunConfig {
    /// The choices an agent needs to run this configuration.
    pub fn spec(&self) -> RunSpec {
        RunSpec {
            test: self.test,
            transport: self.transport.clone(),
            tagged: self.api == MessageApi::Tagged,
            sizes: self.sizes.clone(),
            amount: self.amount,
            warmup: self.warmup,
            verify: self.verify,
            wait: self.completion == Completion::Wait,
            force_mr_local: self.force_mr_local,
            fabric: self.fabric,
            require_device_rdma: self.require_device_rdma,
            precision: self.precision,
            timeout_ns: u64::try_from(self.timeout.as_nanos()).unwrap_or(u64::MAX),
        }
    }

    /// The configuration an agent runs for `spec`, stopped by `interrupted`.
    pub fn from_spec(spec: &RunSpec, interrupted: Arc<AtomicBool>) -> RunConfig {
        RunConfig {
            test: spec.test,
            transport: spec.transport.clone(),
            api: if spec.tagged {
                MessageApi::Tagged
            } else {
                MessageApi::Msg
            },
            sizes: spec.sizes.clone(),
            amount: spec.amount,
            warmup: spec.warmup,
            verify: spec.verify,
            completion: if spec.wait {
                Completion::Wait
            } else {
                Completion::BusyPoll
            },
            force_mr_local: spec.force_mr_local,
            fabric: spec.fabric,
            require_device_rdma: spec.require_device_rdma,
            cpu: None,
            precision: spec.precision,
            loop_timed: false,
            timeout: Duration::from_nanos(spec.timeout_ns),
            interrupted,
            progress: Arc::default(),
        }
    }
}

#[cfg(test)]
impl RunConfig {
    /// A plain configuration for unit tests: 4-byte messages over the tcp provider, busy-poll,
    /// nothing optional set.
    pub(crate) fn for_tests(test: Test) -> RunConfig {
        RunConfig {
            test,
            transport: TransportChoice::Fabric(ProviderChoice::Tcp),
            api: MessageApi::Msg,
            sizes: vec![4],
            amount: Amount::Iterations(100),
            warmup: None,
            verify: false,
            completion: Completion::BusyPoll,
            force_mr_local: false,
            fabric: FabricChoice::Auto,
            require_device_rdma: false,
            cpu: None,
            precision: None,
            loop_timed: false,
            timeout: Duration::from_secs(1),
            interrupted: Arc::new(AtomicBool::new(false)),
            progress: Arc::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(test: Test, warmup: Option<u64>) -> RunConfig {
        RunConfig {
            warmup,
            ..RunConfig::for_tests(test)
        }
    }

    #[test]
    fn the_warm_up_shrinks_with_the_message_size_and_never_outlasts_the_run() {
        let pingpong = config(Test::PingPong, None);
        // Small messages: 1 % of the run, at least 1000 round trips.
        assert_eq!(pingpong.warmup_for(Some(1_000_000), 4), 10_000);
        assert_eq!(pingpong.warmup_for(Some(20_000), 4), 1000);
        assert_eq!(pingpong.warmup_for(None, 4), 1000);
        // Large ones: at most 64 MiB each way (8 MiB: 8 round trips; 1 GiB: one).
        assert_eq!(pingpong.warmup_for(Some(20_000), 8 << 20), 8);
        assert_eq!(pingpong.warmup_for(None, 1 << 30), 1);
        // Never more than the timed round trips themselves.
        assert_eq!(pingpong.warmup_for(Some(2), 8 << 20), 2);
        assert_eq!(pingpong.warmup_for(Some(300), 64), 300);
        // Bandwidth: 10 windows, capped the same way.
        let bw = config(
            Test::Bandwidth {
                window: 64,
                bidirectional: false,
                method: BandwidthMethod::Osu,
            },
            None,
        );
        assert_eq!(bw.warmup_for(Some(5000), 4096), 640);
        assert_eq!(bw.warmup_for(Some(5000), 4 << 20), 16);
        // What the user gives is what runs.
        assert_eq!(
            config(Test::PingPong, Some(5)).warmup_for(Some(2), 1 << 30),
            5
        );
    }
}
