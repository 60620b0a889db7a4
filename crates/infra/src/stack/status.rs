//! `infra status`: what exists, since when, the TTL, and what it has cost so far, from the
//! record `up` wrote, the local state and the stack's tag in AWS.

use super::{now, read_record};
use crate::aws::{Aws, STACK_TAG};
use crate::error::InfraError;
use crate::state::StackRecord;
use crate::workspace::Workspace;

/// The status report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Aligned `name: value` lines for stdout.
    pub text: String,
    /// Set when the stack has outlived its TTL: it keeps costing until someone acts.
    pub warning: Option<String>,
    /// Why AWS could not be asked for the stack's tagged resources (no credentials, an API
    /// error): the text then shows only what this machine knows, which cannot prove the stack
    /// is gone (another machine may have created it).
    pub unchecked: Option<String>,
}

/// `infra status` for the workspace's stack. AWS being unreachable is reported in `unchecked`,
/// not as an error: the local part is still worth showing.
pub fn status(workspace: &Workspace) -> Result<Status, InfraError> {
    let config = workspace.config();
    let recorded = from_record(&config.name, read_record(&config.name)?.as_ref(), now().1);
    let mut text = format!(
        "stack:    {} ({})\nstate:    {}\n",
        config.name,
        config.region,
        workspace.dir().display()
    );
    text.push_str(&recorded.text);
    let in_state = if workspace.dir().join(".terraform").exists() {
        workspace.state_resources()?.len()
    } else {
        0
    };
    text.push_str(&format!("in state: {in_state} resources\n"));
    let tagged = Aws::connect(&config.region).and_then(|aws| {
        aws.check_credentials()?;
        aws.stack_resources(&config.name)
    });
    let unchecked = match tagged {
        Ok(found) => {
            text.push_str(&format!(
                "tagged:   {} resources carry {STACK_TAG}={} in AWS\n",
                found.len(),
                config.name
            ));
            None
        }
        Err(e) => {
            text.push_str("tagged:   not checked\n");
            Some(e.to_string())
        }
    };
    Ok(Status {
        text,
        warning: recorded.warning,
        unchecked,
    })
}

/// The part of the status the record gives (creation, nodes, TTL, cost so far) at `now_unix`.
fn from_record(name: &str, record: Option<&StackRecord>, now_unix: u64) -> Status {
    let Some(record) = record else {
        return Status {
            text: "created:  never (no `rdmabench infra up` recorded on this machine)\n".into(),
            warning: None,
            unchecked: None,
        };
    };
    let age_minutes = now_unix.saturating_sub(record.created_at_unix) / 60;
    let cost = record.usd_per_hour * age_minutes as f64 / 60.0;
    let exceeded = age_minutes > record.ttl_minutes;
    Status {
        text: format!(
            "created:  {} ({}h{:02}m ago)\nnodes:    {} x {}\nttl:      {}h{:02}m{}\ncost:     {}${cost:.2} so far at ${:.2}/h (estimate)\n",
            record.created_at,
            age_minutes / 60,
            age_minutes % 60,
            record.node_count,
            record.instance_type,
            record.ttl_minutes / 60,
            record.ttl_minutes % 60,
            if exceeded { "  EXCEEDED: run `rdmabench infra down`" } else { "" },
            if record.price_complete { "" } else { "at least " },
            record.usd_per_hour,
        ),
        warning: exceeded.then(|| {
            format!("stack '{name}' has outlived its TTL; it keeps costing until `rdmabench infra down`")
        }),
        unchecked: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::RECORD_SCHEMA_VERSION;

    fn record(price_complete: bool) -> StackRecord {
        StackRecord {
            schema_version: RECORD_SCHEMA_VERSION,
            created_at: "2026-01-01T00:00:00Z".into(),
            created_at_unix: 1_000_000,
            ttl_minutes: 240,
            region: "us-east-1".into(),
            instance_type: "m7g.16xlarge".into(),
            node_count: 2,
            usd_per_hour: 2.0,
            price_complete,
        }
    }

    #[test]
    fn age_ttl_and_cost_come_from_the_record() {
        let young = from_record("bench", Some(&record(true)), 1_000_000 + 90 * 60);
        assert_eq!(
            young.text,
            "created:  2026-01-01T00:00:00Z (1h30m ago)\nnodes:    2 x m7g.16xlarge\nttl:      4h00m\ncost:     $3.00 so far at $2.00/h (estimate)\n"
        );
        assert_eq!(young.warning, None);

        let old = from_record("bench", Some(&record(false)), 1_000_000 + 5 * 3600);
        assert!(
            old.text
                .contains("ttl:      4h00m  EXCEEDED: run `rdmabench infra down`\n"),
            "{}",
            old.text
        );
        assert!(
            old.text.contains("cost:     at least $10.00 so far"),
            "{}",
            old.text
        );
        assert!(old
            .warning
            .unwrap()
            .starts_with("stack 'bench' has outlived its TTL"));
    }

    #[test]
    fn no_record_means_never_created_here() {
        let status = from_record("bench", None, 0);
        assert!(status.text.starts_with("created:  never"));
        assert_eq!(status.warning, None);
    }
}
