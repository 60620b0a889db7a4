//! Command-line arguments (clap derive).

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};
use rdmabench_engine::DEFAULT_PORT;

#[cfg(feature = "cloud")]
mod cloud;
mod generate;
#[cfg(feature = "cloud")]
pub use cloud::*;
pub use generate::{completions, man, CompletionsArgs, ManArgs};

/// RDMA latency benchmarks over libfabric (EFA, verbs, tcp, shm ...) with a kernel-TCP baseline.
#[derive(Debug, Parser)]
#[command(name = "rdmabench", version = env!("RDMABENCH_VERSION"), about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The main job: a suite of benchmarks between two hosts, then the report (no AWS needed
    /// for the default local target).
    Run(RunArgs),
    /// Report on results files: the seed's tables, percentiles, comparisons against a
    /// baseline (e.g. pod against node) and the seed's published numbers.
    Report(ReportArgs),
    /// Read another tool's output (fi_pingpong, fabtests' fi_*_pingpong and fi_*_bw, perftest,
    /// OSU, IMB PingPong/Uniband, NetPIPE) into a results file, so `report` can set its numbers
    /// beside rdmabench's.
    Import(ImportArgs),
    /// Ping-pong latency between two endpoints (like fi_pingpong / ib_send_lat).
    Pingpong(Box<PingpongArgs>),
    /// Bandwidth and message rate with a window of messages in flight (like ib_send_bw /
    /// fi_msg_bw).
    Bw(Box<BwArgs>),
    /// RMA write or read latency, or with --bw bandwidth (like ib_write_lat, ib_read_lat,
    /// ib_write_bw, ib_read_bw), where the provider offers FI_RMA.
    Rma(Box<RmaArgs>),
    /// Wait for `rdmabench matrix` coordinators and measure as they ask (one per host).
    Agent(AgentArgs),
    /// Latency between every pair of N hosts running `rdmabench agent`, one pair at a time: an
    /// N x N matrix with the slowest pairs and outliers, the health check before a big job.
    Matrix(Box<MatrixArgs>),
    /// Which reference tools (fi_pingpong, perftest, OSU, NetPIPE, Open MPI) exist here, with
    /// their versions and what provides the missing ones.
    Tools(ToolsArgs),
    /// One end of a reference tool (fi_pingpong, perftest) between two hosts, as `run --target
    /// eks` starts it in pods: the server end runs the tool once per size, the client end
    /// prints the results file (the tool's output read as `import` reads it).
    Tool(Box<ToolEndArgs>),
    /// Open MPI's remote launcher (`--mca plm_rsh_agent "rdmabench launch"`), called like ssh:
    /// starts a command on a host of an MPI run rdmabench set up, in its network namespace or
    /// its pod (Kubernetes exec API), as named in RDMABENCH_LAUNCH_MAP. No SSH.
    Launch(LaunchArgs),
    /// List the libfabric providers this host offers for reliable-datagram endpoints.
    Providers(ProvidersArgs),
    /// Print the shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the man page (roff), or with --dir write one page per command into a directory.
    Man(ManArgs),
    #[cfg(feature = "cloud")]
    /// Write a commented rdmabench.toml with safe defaults.
    Init(InitArgs),
    #[cfg(feature = "cloud")]
    /// The cloud stack: preflight, Terraform JSON, create, inspect and remove it.
    Infra {
        /// Stack configuration file.
        #[arg(long, global = true, default_value = "rdmabench.toml")]
        config: PathBuf,
        #[command(subcommand)]
        command: InfraCommand,
    },
    #[cfg(feature = "cloud")]
    /// The benchmark container image (EFA userspace, OpenMPI, perftest, rdmabench).
    Image {
        /// Stack configuration file.
        #[arg(long, global = true, default_value = "rdmabench.toml")]
        config: PathBuf,
        #[command(subcommand)]
        command: ImageCommand,
    },
    #[cfg(feature = "cloud")]
    /// Kubernetes: the EFA device plugin, and node-mode vs pod-mode runs on the stack's cluster.
    K8s {
        /// Stack configuration file.
        #[arg(long, global = true, default_value = "rdmabench.toml")]
        config: PathBuf,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[command(subcommand)]
        command: K8sCommand,
    },
}

/// How the local target makes its two hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HostsArg {
    /// Two network namespaces joined by veth when possible (root, iproute2), else loopback.
    Auto,
    /// Two network namespaces joined by a veth pair, or an error.
    Netns,
    /// Two processes on 127.0.0.1.
    Loopback,
}

/// Where `run` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetArg {
    /// Two hosts on this machine.
    Local,
    /// The stack's EKS cluster: infra up, image build --push, node and pod mode, report.
    Eks,
}

/// `rdmabench run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Where to measure.
    #[arg(long, value_enum, default_value_t = TargetArg::Local)]
    pub target: TargetArg,
    /// Suite file (TOML) [default: the seed's ping-pong at its 8 sizes; see --print-suite].
    #[arg(long, value_name = "FILE")]
    pub suite: Option<PathBuf>,
    /// Print the default suite, commented, and exit (a starting point for your own).
    #[arg(long)]
    pub print_suite: bool,
    /// Timed round trips per size for every test (e.g. `1m`, the seed's) [default: the
    /// suite's, else 100k locally].
    #[arg(short = 'n', visible_short_alias = 'I', long, value_name = "N")]
    pub iters: Option<String>,
    /// Run the whole suite this many times, tests alternating, to see the spread.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeat: u32,
    /// Directory under which each run gets its own directory of results and reports.
    #[arg(long, default_value = "results", value_name = "DIR")]
    pub results_dir: PathBuf,
    /// How the local target makes its two hosts.
    #[arg(long, value_enum, default_value_t = HostsArg::Auto)]
    pub hosts: HostsArg,
    /// Limit for reaching the peer and for any stretch without progress (both ends).
    #[arg(long, default_value = "30s")]
    pub timeout: String,
    /// Limit for one measurement (one test, one repetition) from start to results.
    #[arg(long, default_value = "30m")]
    pub limit: String,
    /// eks: the stack configuration file.
    #[arg(long, default_value = "rdmabench.toml")]
    pub config: PathBuf,
    /// eks: create the stack without asking (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// eks: how long the stack may live before `infra status` warns [default: the config's].
    #[arg(long)]
    pub ttl: Option<String>,
    /// eks: destroy the stack at the end, also when a step failed or Ctrl-C stopped the run.
    #[arg(long)]
    pub down_after: bool,
    /// eks: the rdmabench source checkout the image is built from (holds docker/Dockerfile).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub source: PathBuf,
    /// eks: run this image instead of building and pushing one.
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
    /// eks: limit for a pod to be scheduled and started (includes pulling the image).
    #[arg(long, default_value = "10m")]
    pub start_timeout: String,
    /// Latency statistic the report's comparisons use (means where a side prints no other).
    #[arg(long, value_enum, default_value_t = MetricArg::Median)]
    pub metric: MetricArg,
    /// eks: how to reach the cluster (default: the stack's, with EKS tokens).
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Formats of `rdmabench report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormatArg {
    Table,
    Markdown,
    Json,
    Csv,
    /// One self-contained page with inline SVG charts.
    Html,
}

/// `rdmabench report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Results files, or directories whose *.json files are read (e.g. a run's directory).
    #[arg(required = true, value_name = "FILE_OR_DIR")]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormatArg::Table)]
    pub format: ReportFormatArg,
    /// Series to compare the others with, by its label in the report [default: node mode,
    /// else kernel TCP, else the first given].
    #[arg(long, value_name = "LABEL")]
    pub baseline: Option<String>,
    /// Write the report to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write every chart as SVG and PNG files into DIR.
    #[arg(long, value_name = "DIR")]
    pub plots: Option<PathBuf>,
    /// Latency statistic the comparisons use (means where a side prints no other).
    #[arg(long, value_enum, default_value_t = MetricArg::Median)]
    pub metric: MetricArg,
    #[command(flatten)]
    pub exports: ExportArgs,
}

/// `--metric`: which latency statistic comparisons and outlier rules use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MetricArg {
    /// The mean half round trip (the seed table's usec): moved by every stall.
    Mean,
    /// The median half round trip: robust against a busy host's outliers.
    Median,
    /// The 99th percentile: the tail.
    P99,
}

impl MetricArg {
    /// The report's statistic.
    pub fn statistic(self) -> rdmabench_report::collection::Statistic {
        use rdmabench_report::collection::Statistic;
        match self {
            MetricArg::Mean => Statistic::Mean,
            MetricArg::Median => Statistic::Median,
            MetricArg::P99 => Statistic::P99,
        }
    }
}

/// Tools whose output `import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ToolArg {
    /// fabtests' fi_pingpong.
    FiPingpong,
    /// perftest: ib_*_lat and ib_*_bw, text or --out_json.
    Perftest,
    /// OSU micro-benchmarks: osu_latency, osu_bw.
    Osu,
    /// Intel MPI Benchmarks: PingPong, Uniband.
    Imb,
    /// NetPIPE (NPopenmpi ...): its np.out or its log.
    Netpipe,
    /// fabtests' fi_rdm_pingpong, fi_msg_pingpong ...: show_perf's table (or -m output).
    FabtestsPingpong,
    /// fabtests' fi_msg_bw, fi_rdm_tagged_bw ...: show_perf's table (or -m output).
    FabtestsBw,
}

/// `rdmabench import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The tool's saved output (stdout, or perftest's --out_json file).
    pub file: PathBuf,
    /// Which tool wrote it [default: recognised from its header; fabtests' table, the same for
    /// ping-pongs and bandwidth tests, from the program --command names].
    #[arg(long, value_enum)]
    pub tool: Option<ToolArg>,
    /// The fabric it ran over (efa, verbs, tcp ...), which the output does not say.
    #[arg(long)]
    pub provider: Option<String>,
    /// Which of efa's fabrics it ran on (fi_pingpong -f efa-direct), which the output does not
    /// say [default: not known, filed as efa].
    #[arg(long, value_parser = ["efa", "efa-direct"], requires = "provider")]
    pub fabric: Option<String>,
    /// Message API: msg, or tagged (MPI) [default: tagged for OSU and IMB, msg otherwise].
    #[arg(long, value_parser = ["msg", "tagged"])]
    pub api: Option<String>,
    /// Where it ran on a cluster: on the nodes or in pods.
    #[arg(long, value_parser = ["node", "pod"])]
    pub mode: Option<String>,
    /// EC2 instance type of the hosts (needed for the comparison with the seed's numbers).
    #[arg(long, value_name = "TYPE")]
    pub instance_type: Option<String>,
    /// Host it ran on.
    #[arg(long)]
    pub host: Option<String>,
    /// The exact command line that produced the output, recorded with the results (its fi_*_pingpong
    /// or fi_*_bw program tells which fabtests test printed a show_perf table).
    #[arg(long, value_name = "COMMAND")]
    pub command: Option<String>,
    /// Write the results file here instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// How to reach the cluster.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// Use this context of your kubeconfig instead of the stack's EKS cluster.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Use your kubeconfig's current context instead of the stack's EKS cluster.
    #[arg(long, global = true)]
    pub kubeconfig: bool,
    /// Namespace of the benchmark pods.
    #[arg(long, global = true, default_value = "rdmabench")]
    pub namespace: String,
}

/// Which libfabric provider to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProviderArg {
    Auto,
    Efa,
    Verbs,
    Tcp,
    Net,
    Shm,
    Udp,
}

/// Which of the efa provider's fabrics to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FabricArg {
    /// The first, in libfabric's order, that carries every size and the API.
    Auto,
    /// efa: libfabric's protocol over the device (tagged messages, any size).
    Efa,
    /// efa-direct (libfabric 2.1+): the device's own path; msg API, sizes up to the MTU.
    EfaDirect,
}

/// Which data path to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TransportArg {
    /// libfabric (the provider from --provider).
    Fabric,
    /// Kernel TCP sockets: the baseline every RDMA number is compared with.
    Socket,
}

/// Message API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApiArg {
    /// fi_send / fi_recv.
    Msg,
    /// fi_tsend / fi_trecv (tag matching, as MPI uses).
    Tagged,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Table,
    Json,
    Csv,
    Markdown,
}

/// `rdmabench pingpong`.
#[derive(Debug, Args)]
pub struct PingpongArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Time the whole loop with one clock read at each end, as fi_pingpong does, instead of
    /// every round trip: for parity runs against it. The mean (usec) only, no percentiles; the
    /// per-round-trip timestamp's cost is measured apart (clock_overhead_ns).
    #[arg(long, conflicts_with = "precision")]
    pub loop_timed: bool,
}

/// `rdmabench bw`.
#[derive(Debug, Args)]
pub struct BwArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Messages in flight per window (perftest's tx-depth, fabtests' -W); both ends must agree.
    /// Default: the method's tool's, 64 (osu, fabtests) or 128 (perftest).
    #[arg(short = 't', visible_short_alias = 'W', long)]
    pub window: Option<usize>,
    /// Whose loop keeps the messages in flight; both ends must agree. The three differ by up
    /// to a round trip per window, which decides the message rate at small sizes.
    #[arg(long, value_enum, default_value_t = BwMethodArg::Osu)]
    pub method: BwMethodArg,
    /// Both ends send and receive at once; figures add both directions (ib_send_bw -b).
    #[arg(short, long)]
    pub bidirectional: bool,
    /// Show bandwidth in Gbit/s (10^9 bit/s) instead of MB/s (10^6 B/s), like perftest's
    /// --report_gbits. JSON always holds bytes per second.
    #[arg(long)]
    pub gbits: bool,
}

/// `rdmabench bw --method`: the reference tool whose loop the test runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BwMethodArg {
    /// OSU osu_bw / IMB Uniband: a window of sends, wait for all, a 1-byte acknowledgement;
    /// receives re-posted before it, so none is missing when a message arrives.
    Osu,
    /// fabtests' bandwidth() (fi_msg_bw, fi_rdm_tagged_bw): the same with a 4-byte
    /// acknowledgement, each window's receives posted only as it begins (may be overrun).
    Fabtests,
    /// perftest ib_send_bw: a sliding window of --window sends in flight, no acknowledgement.
    Perftest,
}

/// Which RMA operation `rdmabench rma` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RmaOpArg {
    /// fi_writedata (latency) / fi_write (bandwidth) into the peer's memory.
    Write,
    /// fi_read from the peer's memory.
    Read,
}

/// `rdmabench rma`.
#[derive(Debug, Args)]
pub struct RmaArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// The operation.
    #[arg(long, value_enum)]
    pub op: RmaOpArg,
    /// Bandwidth with a window of operations in flight instead of latency.
    #[arg(long)]
    pub bw: bool,
    /// With --bw: operations in flight per window; both ends must agree.
    #[arg(
        short = 't',
        visible_short_alias = 'W',
        long,
        default_value_t = 64,
        requires = "bw"
    )]
    pub window: usize,
    /// With --bw: show Gbit/s instead of MB/s.
    #[arg(long, requires = "bw")]
    pub gbits: bool,
}

/// Options every two-ended measurement (pingpong, bw) takes: the role and the measurement.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("role").required(true).args(["host", "server", "local"])))]
pub struct CommonArgs {
    /// Server to connect to (client role).
    pub host: Option<String>,
    /// Wait for one client, serve its run, exit (perftest-style).
    #[arg(long)]
    pub server: bool,
    /// Run both ends on this machine, bound to 127.0.0.1.
    #[arg(long)]
    pub local: bool,
    /// Address the server listens on.
    #[arg(long, default_value = "0.0.0.0", requires = "server")]
    pub bind: String,
    /// Out-of-band TCP port (both ends must agree); --local picks a free one unless given.
    #[arg(short, long, visible_short_alias = 'P')]
    pub port: Option<u16>,
    /// Pin to CPUs: `A,B` pins the server to A and the client to B; a single CPU pins this end;
    /// `numa` pins each end to a CPU on its EFA device's NUMA node.
    #[arg(long)]
    pub cpu: Option<String>,
    /// Run the whole measurement this many times (a new connection each) and report the
    /// median of the runs with their min..max; both ends need the same value.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeat: u32,
    #[command(flatten)]
    pub measure: MeasureArgs,
}

/// What to measure and how to print it, the same for pingpong, bw and matrix.
#[derive(Debug, Args)]
pub struct MeasureArgs {
    /// Data path.
    #[arg(long, value_enum, default_value_t = TransportArg::Fabric)]
    pub transport: TransportArg,
    /// libfabric provider; auto prefers efa, verbs, then shm (--local) or net/tcp.
    #[arg(long, value_enum, default_value_t = ProviderArg::Auto)]
    pub provider: ProviderArg,
    /// Which of the efa provider's fabrics (libfabric 2.1+ offers efa-direct before efa).
    #[arg(short, long, value_enum, default_value_t = FabricArg::Auto)]
    pub fabric: FabricArg,
    /// efa: fail unless the provider uses device RDMA (FI_OPT_EFA_USE_DEVICE_RDMA) rather than
    /// emulating RMA and large transfers over send/recv.
    #[arg(long)]
    pub require_device_rdma: bool,
    /// Send/receive API.
    #[arg(long, value_enum, default_value_t = ApiArg::Msg)]
    pub api: ApiArg,
    /// Message sizes: comma-separated with K/KiB/M/MiB suffixes (binary), or `seed` (the seed
    /// project's 8 sizes) or `sweep`.
    #[arg(
        short,
        long,
        visible_short_alias = 'S',
        default_value = "seed",
        conflicts_with = "sweep"
    )]
    pub sizes: String,
    /// All powers of two from 2 B to 8 MiB (like perftest -a).
    #[arg(short = 'a', long)]
    pub sweep: bool,
    /// Timed round trips (pingpong) or messages (bw, rounded up to whole windows) per size
    /// (k = 10^3, m = 10^6) [default: 10k round trips, 5000 messages as perftest].
    #[arg(
        short = 'n',
        visible_short_alias = 'I',
        long,
        conflicts_with = "duration"
    )]
    pub iters: Option<String>,
    /// Measure each size for about this long instead of a fixed count (e.g. 5s).
    #[arg(short = 'D', long)]
    pub duration: Option<String>,
    /// Latency: measure each size until the 95 % interval of its mean half round trip is within
    /// +-this (e.g. 1%), with --iters [default: 1m] or --duration as the ceiling; the results
    /// record the intervals reached (the median's too) and why each size stopped.
    #[arg(long, value_name = "PERCENT")]
    pub precision: Option<String>,
    /// Untimed round trips (messages) before each size [default: max(1000, iters/100) round
    /// trips; 10 windows].
    #[arg(short, long)]
    pub warmup: Option<String>,
    /// Check every received payload (costs time at large sizes; reported).
    #[arg(long)]
    pub verify: bool,
    /// Block for completions instead of busy-polling.
    #[arg(long)]
    pub wait: bool,
    /// Register buffers and pass descriptors even when the provider does not require it.
    #[arg(long)]
    pub force_mr_local: bool,
    /// Limit for reaching the peer and for any stretch without progress.
    #[arg(long, default_value = "30s")]
    pub timeout: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
    /// Write the output to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub exports: ExportArgs,
}

/// Copies of the output in other formats, as hyperfine's --export-*: any number in one run,
/// while --format goes to the terminal (or --output). Each is checked before anything runs.
#[derive(Debug, Args, Default)]
pub struct ExportArgs {
    /// Also write the output as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub export_json: Option<PathBuf>,
    /// Also write the output as CSV to FILE.
    #[arg(long, value_name = "FILE")]
    pub export_csv: Option<PathBuf>,
    /// Also write the output as a markdown table to FILE.
    #[arg(long, value_name = "FILE")]
    pub export_markdown: Option<PathBuf>,
}

impl ExportArgs {
    /// The exports asked for, with their flags and formats, in the flags' order.
    pub fn files(&self) -> Vec<(&'static str, FormatArg, &Path)> {
        [
            ("--export-json", FormatArg::Json, &self.export_json),
            ("--export-csv", FormatArg::Csv, &self.export_csv),
            (
                "--export-markdown",
                FormatArg::Markdown,
                &self.export_markdown,
            ),
        ]
        .into_iter()
        .filter_map(|(flag, format, path)| Some((flag, format, path.as_deref()?)))
        .collect()
    }
}

/// `rdmabench agent`.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind: String,
    /// Out-of-band TCP port the coordinator and the other agents reach this one on.
    #[arg(short, long, visible_short_alias = 'P', default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Exit after this long without a request, so a forgotten agent does not run for ever.
    #[arg(long, default_value = "30m")]
    pub idle_timeout: String,
}

/// `rdmabench matrix`.
#[derive(Debug, Args)]
pub struct MatrixArgs {
    /// Agents as HOST or HOST:PORT (default port 18515); at least two, each once.
    #[arg(value_name = "HOSTS")]
    pub hosts: Vec<String>,
    /// Read more agents from FILE, one per line (`#` starts a comment).
    #[arg(long, value_name = "FILE")]
    pub hosts_file: Option<PathBuf>,
    /// A pair whose --metric is more than this many times the median pair's is an outlier.
    #[arg(long, default_value_t = 1.5)]
    pub outlier_factor: f64,
    /// Latency statistic the cells and the outlier rule use.
    #[arg(long, value_enum, default_value_t = MetricArg::Median)]
    pub metric: MetricArg,
    /// Limit for one pair's measurement, from the request to its results.
    #[arg(long, default_value = "5m")]
    pub limit: String,
    #[command(flatten)]
    pub measure: MeasureArgs,
}

/// `rdmabench tools`.
#[derive(Debug, Args)]
pub struct ToolsArgs {
    /// Output format (table or json).
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
}

/// `rdmabench tool`.
#[derive(Debug, Args)]
pub struct ToolEndArgs {
    /// The server's address (the client end).
    #[arg(required_unless_present = "server", conflicts_with = "server")]
    pub host: Option<String>,
    /// Be the server end: run the tool's server once per size.
    #[arg(long)]
    pub server: bool,
    /// The tool: fi_pingpong, ib_send_lat, ib_send_bw, ib_write_lat, ib_write_bw, or an MPI
    /// benchmark (NPopenmpi, osu_latency, osu_bw), whose client end runs mpirun with both ranks
    /// and whose server end is only the pod its daemon is started in.
    #[arg(long)]
    pub tool: String,
    /// Where the server listens: these tools listen on every address, so only 0.0.0.0.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind: String,
    /// The first of the tool's ports, one per size (default: the tool's own, 47592 for
    /// fi_pingpong, 18515 for perftest).
    #[arg(short, long, visible_short_alias = 'P')]
    pub port: Option<u16>,
    /// Message sizes, as for pingpong (seed, sweep, or a list like 4,64,1K).
    #[arg(short, long, visible_short_alias = 'S', default_value = "seed")]
    pub sizes: String,
    /// Round trips (fi_pingpong -I) or exchanges (perftest -n) per size.
    #[arg(short = 'n', visible_short_alias = 'I', long, default_value = "10k")]
    pub iters: String,
    /// libfabric provider (fi_pingpong -p); perftest runs on efa (SRD) or verbs devices.
    #[arg(long, default_value = "efa")]
    pub provider: String,
    /// fi_pingpong's message API.
    #[arg(long, value_enum, default_value_t = ApiArg::Msg)]
    pub api: ApiArg,
    /// fi_pingpong's fabric (-f) with provider efa: efa or efa-direct [default: libfabric's
    /// first, efa-direct where it exists].
    #[arg(long, value_parser = ["efa", "efa-direct"])]
    pub fabric: Option<String>,
    /// fi_pingpong's data check (-c); perftest has none.
    #[arg(long)]
    pub verify: bool,
    /// OSU's untimed repeats first (-x).
    #[arg(long, value_name = "N")]
    pub warmup: Option<String>,
    /// MPI tools: the server's pod, where `rdmabench launch` starts Open MPI's daemon through
    /// the exec API, as NAMESPACE/POD/CONTAINER [default: RDMABENCH_SERVER_POD, which the
    /// cluster runner sets].
    #[arg(long, value_name = "NAMESPACE/POD/CONTAINER")]
    pub server_pod: Option<String>,
    /// MPI tools: keep Open MPI's own traffic on this network (oob_tcp_if_include: a CIDR or
    /// an interface name).
    #[arg(long, value_name = "NETWORK")]
    pub mpi_network: Option<String>,
    /// How long the client keeps starting again while the server does not listen yet.
    #[arg(long, default_value = "30s")]
    pub timeout: String,
    /// Limit for one size's run, at either end.
    #[arg(long, default_value = "10m")]
    pub limit: String,
    /// Output of the client end: json (the results file).
    #[arg(long, value_enum, default_value_t = FormatArg::Json)]
    pub format: FormatArg,
    /// Write the client's results file here instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// `rdmabench launch`.
#[derive(Debug, Args)]
pub struct LaunchArgs {
    /// The host, as mpirun names it (a key of RDMABENCH_LAUNCH_MAP).
    pub host: String,
    /// The command, as words that a shell joins and runs (as ssh does).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub command: Vec<String>,
}

/// `rdmabench providers`.
#[derive(Debug, Args)]
pub struct ProvidersArgs {
    /// Output format (table or json).
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
}

/// Default round trips of a ping-pong: enough for stable percentiles, a few seconds per size
/// here.
pub const DEFAULT_ITERS: &str = "10k";
/// The iteration ceiling of a `--precision` run without --iters or --duration: the seed's count.
pub const DEFAULT_PRECISION_CEILING: &str = "1m";
/// Default messages of a bandwidth test: perftest's default for its _bw tests.
pub const DEFAULT_BW_ITERS: &str = "5000";
/// The out-of-band port when none is given (perftest's).
pub const DEFAULT_SERVER_PORT: u16 = DEFAULT_PORT;

/// A parse error in options rdmabench passes on to another command (after `--`, or a suite's
/// `options`), said once: clap's own text starts with "error:" and may suggest writing
/// `-- --x`, which the user already did.
pub fn forwarded_options_error(command: &str, error: &clap::Error) -> anyhow::Error {
    let text = error.to_string();
    let first = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or_default();
    let reason = first.strip_prefix("error: ").unwrap_or(first);
    anyhow::anyhow!("invalid {command} options: {reason} (see `rdmabench {command} --help`)")
}
