//! `rdmabench providers`: what this host's libfabric offers, before anyone runs a benchmark.

use std::sync::Arc;

use anyhow::{Context, Result};
use rdmabench_fabric::{Library, MessageApi, Query};
use serde_json::json;

use crate::cli::{FormatArg, ProvidersArgs};
use crate::output::{emit, listing};

/// Runs `rdmabench providers`; returns the process exit code.
pub fn run(args: &ProvidersArgs) -> Result<i32> {
    let lib = Arc::new(Library::load().context("listing providers needs libfabric")?);
    let list = lib
        .getinfo(&Query {
            provider: None,
            api: MessageApi::Msg,
            node: None,
            rma: false,
        })
        .context("asking libfabric for its providers")?;
    let mut rows: Vec<[String; 6]> = list
        .iter()
        .map(|e| {
            [
                e.provider(),
                e.fabric_name(),
                e.domain_name(),
                e.mr_mode_names().join("|"),
                e.inject_size().to_string(),
                e.max_msg_size().to_string(),
            ]
        })
        .collect();
    rows.sort();
    rows.dedup();
    let text = match args.format {
        FormatArg::Json => {
            let entries: Vec<_> = rows
                .iter()
                .map(|r| {
                    json!({"provider": r[0], "fabric": r[1], "domain": r[2], "mr_mode": r[3],
                           "inject_size": r[4].parse::<u64>().unwrap_or(0),
                           "max_msg_size": r[5].parse::<u64>().unwrap_or(0)})
                })
                .collect();
            let doc = json!({
                "schema_version": rdmabench_report::SCHEMA_VERSION,
                "libfabric": {"path": lib.path().display().to_string(),
                              "version": lib.runtime_version(), "api_version": lib.api_version()},
                "providers": entries,
            });
            format!("{}\n", serde_json::to_string_pretty(&doc)?)
        }
        format => {
            let headers = [
                "provider",
                "fabric",
                "domain",
                "mr_mode",
                "inject_size",
                "max_msg_size",
            ];
            let rows: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let mut row = r.to_vec();
                    // CSV keeps the exact byte count, as the JSON does.
                    if format != FormatArg::Csv {
                        row[5] = human_bytes(r[5].parse().unwrap_or(0));
                    }
                    row
                })
                .collect();
            let title = format!(
                "libfabric {} (API {}) from {}; reliable-datagram (FI_EP_RDM) endpoints",
                lib.runtime_version(),
                lib.api_version(),
                lib.path().display(),
            );
            listing(format, &title, &headers, &rows)
        }
    };
    emit(&text, None)?;
    Ok(0)
}

/// A byte count as people read it in the table (the JSON keeps the exact number): libfabric's
/// SIZE_MAX is "no limit", exact binary multiples get their unit (8 GiB), others one decimal.
fn human_bytes(n: u64) -> String {
    if n == u64::MAX {
        return "no limit".into();
    }
    for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
        let scale = 1u64 << shift;
        if n >= scale {
            return if n.is_multiple_of(scale) {
                format!("{} {unit}", n >> shift)
            } else {
                format!("{:.1} {unit}", n as f64 / scale as f64)
            };
        }
    }
    format!("{n} B")
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_bytes(u64::MAX), "no limit");
        assert_eq!(human_bytes(8 << 30), "8 GiB");
        assert_eq!(human_bytes(u64::from(u32::MAX)), "4.0 GiB");
        assert_eq!(human_bytes(65536), "64 KiB");
        assert_eq!(human_bytes(8940), "8.7 KiB");
        assert_eq!(human_bytes(64), "64 B");
    }
}
