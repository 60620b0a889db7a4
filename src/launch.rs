//! `rdmabench launch HOST WORDS...`: Open MPI's remote launcher for the MPI runs rdmabench
//! starts. mpirun calls it as it would call ssh; the launch map in RDMABENCH_LAUNCH_MAP says
//! where HOST is: a network namespace here (entered with `ip netns exec`), or a pod (the
//! Kubernetes exec API, as the MPI Operator uses kubectl exec).

use std::os::unix::process::CommandExt;
use std::process::Command;

use anyhow::{Context, Result};
use rdmabench_pipeline::launch::{shell_command, Destination, LaunchMap, LAUNCH_MAP_ENV};

use crate::cli::LaunchArgs;

/// Runs `rdmabench launch`; returns the remote command's exit code.
pub fn run(args: &LaunchArgs) -> Result<i32> {
    let value = std::env::var(LAUNCH_MAP_ENV).ok();
    let map = LaunchMap::from_env_value(value.as_deref())?;
    let script = shell_command(&args.command);
    match map.destination(&args.host)? {
        Destination::Netns { name, env } => {
            // Replaces this process, so mpirun sees the command's own exit and signals.
            let error = Command::new("ip")
                .args(["netns", "exec", name, "env"])
                .args(env.iter().map(|(k, v)| format!("{k}={v}")))
                .args(["sh", "-c", &script])
                .exec();
            Err(error)
                .with_context(|| format!("entering network namespace {name} with `ip netns exec`"))
        }
        #[cfg(feature = "cloud")]
        Destination::Pod {
            namespace,
            name,
            container,
            env,
        } => crate::k8s::exec_in_pod(namespace, name, container, env, &script),
        #[cfg(not(feature = "cloud"))]
        Destination::Pod { name, .. } => anyhow::bail!(
            "host {} is pod {name}: starting a command in a pod needs the Kubernetes exec API, which this benchmark-only build (--no-default-features) leaves out",
            args.host
        ),
    }
}
