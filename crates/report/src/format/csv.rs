//! CSV: one row per size with integer nanoseconds, for spreadsheets and scripts.

use std::fmt::Write;

use crate::model::ResultsFile;

const HEADER: &str = "provider,size_bytes,iterations,warmup_iterations,total_ns,min_ns,mean_ns,stdev_ns,p50_ns,p90_ns,p99_ns,p999_ns,max_ns,seed_usec,mb_per_sec,msg_per_sec,complete";

/// Quotes a field only when CSV requires it, so ordinary rows stay easy to read and grep.
pub(crate) fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

pub(super) fn render(results: &ResultsFile) -> String {
    let provider = results
        .fabric
        .as_ref()
        .map_or("socket".to_string(), |f| f.provider.clone());
    let mut out = String::from(HEADER);
    out.push('\n');
    for r in &results.results {
        let l = &r.latency;
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{:.3},{:.3},{:.1},{}",
            quote(&provider),
            r.size_bytes,
            r.iterations,
            r.warmup_iterations,
            r.total_ns,
            l.min_ns,
            l.mean_ns,
            l.stdev_ns,
            l.p50_ns,
            l.p90_ns,
            l.p99_ns,
            l.p999_ns,
            l.max_ns,
            r.seed_usec(),
            r.megabytes_per_sec(),
            r.messages_per_sec(),
            results.complete
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::format::sample;

    #[test]
    fn csv_has_a_header_and_one_row_per_size() {
        insta::assert_snapshot!(super::render(&sample::results()));
    }

    #[test]
    fn awkward_fields_are_quoted() {
        assert_eq!(super::quote("a,b"), "\"a,b\"");
        assert_eq!(super::quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(super::quote("tcp;ofi_rxm"), "tcp;ofi_rxm");
    }
}
