#![forbid(unsafe_code)]
//! rdmabench: RDMA latency benchmarks on nodes and in Kubernetes pods.
//! This binary only parses arguments and wires the library crates together.

mod agent;
mod bench;
mod cli;
#[cfg(feature = "cloud")]
mod image;
mod import;
#[cfg(feature = "cloud")]
mod infra;
mod interrupt;
#[cfg(feature = "cloud")]
mod k8s;
mod launch;
mod local;
mod matrix;
mod output;
mod progress;
mod providers;
mod report;
mod run;
#[cfg(feature = "cloud")]
mod run_eks;
mod tool_end;
mod tools;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let result = match &cli.command {
        cli::Command::Run(args) => run::run(args),
        cli::Command::Report(args) => report::run(args),
        cli::Command::Import(args) => import::run(args),
        cli::Command::Pingpong(args) => bench::run_pingpong(args),
        cli::Command::Bw(args) => bench::run_bw(args),
        cli::Command::Rma(args) => bench::run_rma(args),
        cli::Command::Agent(args) => agent::run(args),
        cli::Command::Matrix(args) => matrix::run(args),
        cli::Command::Tool(args) => tool_end::run(args),
        cli::Command::Launch(args) => launch::run(args),
        cli::Command::Providers(args) => providers::run(args),
        cli::Command::Tools(args) => tools::run(args),
        cli::Command::Completions(args) => cli::completions(args),
        cli::Command::Man(args) => cli::man(args),
        #[cfg(feature = "cloud")]
        cli::Command::Init(args) => infra::init(args),
        #[cfg(feature = "cloud")]
        cli::Command::Infra { config, command } => infra::run(command, config),
        #[cfg(feature = "cloud")]
        cli::Command::Image { config, command } => image::run(command, config),
        #[cfg(feature = "cloud")]
        cli::Command::K8s {
            config,
            cluster,
            command,
        } => k8s::run(command, config, cluster),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::exit(1);
        }
    }
}
