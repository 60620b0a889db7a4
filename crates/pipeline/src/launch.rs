//! Where `rdmabench launch` (Open MPI's remote launcher, `plm_rsh_agent`) starts a command for
//! each host of an MPI run: in a network namespace of the local target, or in a pod through the
//! Kubernetes exec API. No SSH: the map travels to the launcher in an environment variable that
//! mpirun passes on to its launcher processes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The environment variable holding the launch map (JSON) for `rdmabench launch`.
pub const LAUNCH_MAP_ENV: &str = "RDMABENCH_LAUNCH_MAP";

/// How to reach one host of an MPI run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Destination {
    /// A network namespace on this machine (`ip netns exec`).
    Netns {
        /// The namespace's name.
        name: String,
        /// Variables set for the command there (the provider's interface).
        #[serde(default)]
        env: BTreeMap<String, String>,
    },
    /// A container of a running pod (the Kubernetes exec API).
    Pod {
        /// The pod's namespace.
        namespace: String,
        /// The pod's name.
        name: String,
        /// The container to run in.
        container: String,
        /// Variables set for the command there.
        #[serde(default)]
        env: BTreeMap<String, String>,
    },
}

/// Host name (as mpirun passes it to its launcher) to where it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchMap {
    /// Every host of the run.
    pub hosts: BTreeMap<String, Destination>,
}

/// The launch map is missing or unusable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LaunchError {
    /// The variable is not set.
    #[error("{LAUNCH_MAP_ENV} is not set: `rdmabench launch` is Open MPI's remote launcher (--mca plm_rsh_agent) for the MPI runs rdmabench starts itself, which set it")]
    NoMap,
    /// The variable is not a launch map.
    #[error("{LAUNCH_MAP_ENV} is not a launch map: {0}")]
    BadMap(String),
    /// mpirun asked for a host the map does not know.
    #[error("host {host:?} is not in the launch map (it knows {known}); mpirun's host list and {LAUNCH_MAP_ENV} must name the same hosts")]
    UnknownHost {
        /// The host asked for.
        host: String,
        /// The hosts the map has.
        known: String,
    },
}

impl LaunchMap {
    /// The map as the environment variable carries it.
    pub fn to_env_value(&self) -> String {
        serde_json::to_string(self).expect("a launch map always serialises")
    }

    /// Reads the map from `value` (the variable's content, None when unset).
    pub fn from_env_value(value: Option<&str>) -> Result<LaunchMap, LaunchError> {
        let value = value.ok_or(LaunchError::NoMap)?;
        serde_json::from_str(value).map_err(|e| LaunchError::BadMap(e.to_string()))
    }

    /// Where `host` is.
    pub fn destination(&self, host: &str) -> Result<&Destination, LaunchError> {
        self.hosts
            .get(host)
            .ok_or_else(|| LaunchError::UnknownHost {
                host: host.to_string(),
                known: self.hosts.keys().cloned().collect::<Vec<_>>().join(", "),
            })
    }
}

/// The shell command line Open MPI asked for: its launcher is called like ssh (`HOST WORDS...`),
/// and like ssh the words are joined with spaces and run by a shell, which undoes mpirun's
/// quoting (`-mca orte_hnp_uri "..."`).
pub fn shell_command(words: &[String]) -> String {
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_round_trips_through_the_environment_and_names_unknown_hosts() {
        let map = LaunchMap {
            hosts: BTreeMap::from([
                (
                    "198.51.100.2".to_string(),
                    Destination::Netns {
                        name: "rdmabench-run-1-cli".into(),
                        env: BTreeMap::from([("FI_TCP_IFACE".into(), "rbr1c".into())]),
                    },
                ),
                (
                    "node-b".to_string(),
                    Destination::Pod {
                        namespace: "rdmabench".into(),
                        name: "rdmabench-pod-mpi-1".into(),
                        container: "mpi".into(),
                        env: BTreeMap::new(),
                    },
                ),
            ]),
        };
        let value = map.to_env_value();
        let back = LaunchMap::from_env_value(Some(&value)).unwrap();
        assert_eq!(back, map);
        assert!(matches!(
            back.destination("node-b").unwrap(),
            Destination::Pod { .. }
        ));
        let err = back.destination("node-c").unwrap_err().to_string();
        assert!(err.contains("\"node-c\" is not in the launch map (it knows 198.51.100.2, node-b)"));
        assert_eq!(LaunchMap::from_env_value(None), Err(LaunchError::NoMap));
        assert!(LaunchMap::from_env_value(Some("{\"hosts\": 3}"))
            .unwrap_err()
            .to_string()
            .contains("is not a launch map"));
    }

    #[test]
    fn the_command_is_joined_as_ssh_joins_it() {
        let words: Vec<String> = ["", "orted", "-mca", "orte_hnp_uri", "\"1.0;tcp://a:1\""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            shell_command(&words),
            " orted -mca orte_hnp_uri \"1.0;tcp://a:1\""
        );
    }
}
