//! Arguments of the cloud commands (init, infra, image, k8s), in builds with the `cloud`
//! feature only.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// `rdmabench k8s` subcommands.
#[derive(Debug, Subcommand)]
pub enum K8sCommand {
    /// Print every manifest `deploy` and `run` apply, as YAML (no cluster needed).
    Render(K8sRenderArgs),
    /// Install the EFA device plugin (or, with k8s.efa = "dra", the EFA DRA driver) and wait
    /// until the nodes offer their EFA interfaces.
    Deploy(K8sDeployArgs),
    /// Measure on the nodes (node mode), in pods (pod mode) or both, and store the results.
    Run(K8sRunArgs),
    /// One `rdmabench agent` per EFA node and a coordinator pod: the latency matrix of the
    /// whole node group, in node mode, pod mode or both.
    Matrix(K8sMatrixArgs),
    /// Print the logs of the benchmark pods that still exist (e.g. after a failed run).
    Logs(K8sLogsArgs),
    /// Delete everything rdmabench created in the cluster.
    Clean(K8sCleanArgs),
}

/// Which measurements to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// On the nodes' hosts, outside any container.
    Node,
    /// Inside pods, EFA through the device plugin.
    Pod,
    /// Node then pod, alternating when repeated; never both at once.
    Both,
}

/// What the benchmark pods run.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Which measurements.
    #[arg(long, value_enum, default_value_t = ModeArg::Both)]
    pub mode: ModeArg,
    /// Benchmark image [default: the one `rdmabench image build --push` recorded].
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
    /// `rdmabench pingpong` options for both ends, after `--` (default: --provider efa).
    #[arg(last = true, value_name = "PINGPONG_OPTIONS")]
    pub bench_options: Vec<String>,
}

/// `rdmabench k8s render`.
#[derive(Debug, Args)]
pub struct K8sRenderArgs {
    #[command(flatten)]
    pub bench: BenchArgs,
}

/// `rdmabench k8s deploy`.
#[derive(Debug, Args)]
pub struct K8sDeployArgs {
    /// Limit for the device plugin to report EFA on the nodes.
    #[arg(long, default_value = "10m")]
    pub timeout: String,
}

/// `rdmabench k8s run`.
#[derive(Debug, Args)]
pub struct K8sRunArgs {
    #[command(flatten)]
    pub bench: BenchArgs,
    /// Measurements per mode; with --mode both they alternate node, pod, node, pod ...
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
    #[command(flatten)]
    pub limits: ClusterLimits,
}

/// Where results go and how long pods may take, for every command that measures on the
/// cluster.
#[derive(Debug, Args)]
pub struct ClusterLimits {
    /// Directory for the results JSON files.
    #[arg(long, default_value = "results", value_name = "DIR")]
    pub results_dir: PathBuf,
    /// Limit for one measurement (one mode of a run or of a matrix), from creating its pods to
    /// collecting the results.
    #[arg(long, default_value = "30m")]
    pub timeout: String,
    /// Limit for a pod to be scheduled and started (includes pulling the image).
    #[arg(long, default_value = "10m")]
    pub start_timeout: String,
}

/// `rdmabench k8s matrix`.
#[derive(Debug, Args)]
pub struct K8sMatrixArgs {
    /// Where the agents run: on the nodes' hosts, in pods, or both (node first).
    #[arg(long, value_enum, default_value_t = ModeArg::Both)]
    pub mode: ModeArg,
    /// Benchmark image [default: the one `rdmabench image build --push` recorded].
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
    #[command(flatten)]
    pub limits: ClusterLimits,
    /// `rdmabench matrix` options after `--` (default: --provider efa); the agents are the nodes,
    /// so no hosts.
    #[arg(last = true, value_name = "MATRIX_OPTIONS")]
    pub options: Vec<String>,
}

/// `rdmabench k8s logs`.
#[derive(Debug, Args)]
pub struct K8sLogsArgs {
    /// Only the pods of this mode.
    #[arg(long, value_enum, default_value_t = ModeArg::Both)]
    pub mode: ModeArg,
}

/// `rdmabench k8s clean`.
#[derive(Debug, Args)]
pub struct K8sCleanArgs {
    /// Limit for the deletions to finish.
    #[arg(long, default_value = "5m")]
    pub timeout: String,
}

/// `rdmabench image` subcommands.
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Build the image for the nodes' architecture with docker buildx; --push sends it to ECR.
    Build(ImageBuildArgs),
}

/// `rdmabench image build`.
#[derive(Debug, Args)]
pub struct ImageBuildArgs {
    /// Push to the stack's ECR repository (or --repository) instead of loading the image into
    /// the local engine; a tag already in the repository is left as it is.
    #[arg(long)]
    pub push: bool,
    /// ECR repository URL instead of the stack's `ecr_repository_url`
    /// (ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME), e.g. to push without `rdmabench infra`.
    #[arg(long, value_name = "URL")]
    pub repository: Option<String>,
    /// Platform instead of the nodes' (from nodes.instance_type).
    #[arg(long, value_parser = ["linux/arm64", "linux/amd64"])]
    pub platform: Option<String>,
    /// The rdmabench source checkout to build (it holds docker/Dockerfile).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub context: PathBuf,
    /// Rebuild every layer (docker buildx build --no-cache).
    #[arg(long)]
    pub no_cache: bool,
}

/// `rdmabench infra` subcommands.
#[derive(Debug, Subcommand)]
pub enum InfraCommand {
    /// Preflight: credentials, the instance type's offering in the region, service quotas.
    Check,
    /// Write the stack's Terraform JSON (versions.tf.json, main.tf.json) for review or use
    /// without rdmabench.
    Synth(SynthArgs),
    /// Show what `up` would change (terraform plan).
    Plan(PlanArgs),
    /// Create or update the stack, after the preflight, a cost estimate and your confirmation.
    Up(UpArgs),
    /// The stack's outputs: region, cluster endpoint and CA, node group, ECR URL, AZ.
    Outputs(OutputsArgs),
    /// Destroy everything the stack created.
    Down(DownArgs),
    /// What exists, since when, the TTL, and what it has cost so far.
    Status,
    /// List the EFA-capable instance types rdmabench knows, with their EFA interface count.
    InstanceTypes,
}

/// `rdmabench init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write the configuration.
    #[arg(long, default_value = "rdmabench.toml")]
    pub config: PathBuf,
    /// Address allowed to reach the public Kubernetes API (repeatable), e.g. 203.0.113.7/32.
    #[arg(long, value_name = "CIDR")]
    pub public_cidr: Vec<String>,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// `rdmabench infra plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Exit 2 when the plan has changes, 0 when it has none (terraform's -detailed-exitcode).
    #[arg(long)]
    pub detailed_exitcode: bool,
}

/// `rdmabench infra up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// How long the stack may live before `status` warns [default: ttl from the config].
    #[arg(long)]
    pub ttl: Option<String>,
}

/// `rdmabench infra outputs`.
#[derive(Debug, Args)]
pub struct OutputsArgs {
    /// JSON instead of `name = value` lines.
    #[arg(long)]
    pub json: bool,
}

/// `rdmabench infra down`.
#[derive(Debug, Args)]
pub struct DownArgs {
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Without state: find the stack's resources by its tag and names, import and destroy them.
    #[arg(long)]
    pub orphans: bool,
}

/// `rdmabench infra synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Directory for the files [default: the stack's state directory]/terraform.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}
