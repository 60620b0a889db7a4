//! The agents of a matrix: as given on the command line and in a hosts file, each once.

use std::path::Path;

use rdmabench_engine::DEFAULT_PORT;

use crate::MatrixError;

/// HOST or HOST:PORT (IPv6 as [ADDR]:PORT) with the default port made explicit, so one agent
/// written two ways is still found twice.
fn normalise(host: &str) -> Result<String, MatrixError> {
    let host = host.trim();
    if host.is_empty() {
        return Err(MatrixError::Hosts("an empty host name was given".into()));
    }
    if host.parse::<std::net::Ipv6Addr>().is_ok() {
        return Ok(format!("[{host}]:{DEFAULT_PORT}"));
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') || name.ends_with(']') => {
            port.parse::<u16>().map_err(|e| {
                MatrixError::Hosts(format!("host '{host}': '{port}' is not a port: {e}"))
            })?;
            Ok(host.to_string())
        }
        _ => Ok(format!("{host}:{DEFAULT_PORT}")),
    }
}

/// The agents from the arguments and the hosts file (one per line, `#` starts a comment), in
/// order, each exactly once, at least two.
pub fn agents(given: &[String], hosts_file: Option<&Path>) -> Result<Vec<String>, MatrixError> {
    let mut given = given.to_vec();
    if let Some(path) = hosts_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            MatrixError::Hosts(format!("reading the hosts file {}: {e}", path.display()))
        })?;
        given.extend(
            text.lines()
                .map(|line| line.split('#').next().unwrap_or_default().trim())
                .filter(|line| !line.is_empty())
                .map(str::to_string),
        );
    }
    let mut hosts: Vec<String> = Vec::new();
    for host in &given {
        let host = normalise(host)?;
        if hosts.contains(&host) {
            return Err(MatrixError::Hosts(format!("{host} is given twice: list each agent once (a pair of one host with itself measures nothing)")));
        }
        hosts.push(host);
    }
    if hosts.len() < 2 {
        return Err(MatrixError::Hosts(format!(
            "a matrix needs at least two agents (got {}): start `rdmabench agent` on each host and list them",
            hosts.len()
        )));
    }
    Ok(hosts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_get_the_default_port_and_ports_must_be_numbers() {
        assert_eq!(normalise("node-a").unwrap(), "node-a:18515");
        assert_eq!(normalise("10.0.0.5:9000").unwrap(), "10.0.0.5:9000");
        assert_eq!(normalise("fe80::1").unwrap(), "[fe80::1]:18515");
        assert_eq!(normalise("[fe80::1]:7").unwrap(), "[fe80::1]:7");
        assert!(normalise("node-a:http").is_err());
    }

    #[test]
    fn one_agent_written_two_ways_is_refused() {
        let err = agents(&["node-a".into(), "node-a:18515".into()], None).unwrap_err();
        assert!(err.to_string().contains("is given twice"), "{err}");
    }
}
