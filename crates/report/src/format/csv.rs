//! CSV: one row per size with integer nanoseconds, for spreadsheets and scripts; the last
//! column names the figures a tool printed rounded (space-separated, e.g. "iterations total_ns").

use std::fmt::Write;

use crate::model::ResultsFile;

const HEADER: &str = "provider,size_bytes,iterations,warmup_iterations,total_ns,min_ns,mean_ns,stdev_ns,p50_ns,p90_ns,p99_ns,p999_ns,max_ns,seed_usec,mb_per_sec,msg_per_sec,bw_average_bytes_per_sec,bw_peak_bytes_per_sec,complete,rounded";

/// Quotes a field only when CSV requires it, so ordinary rows stay easy to read and grep.
pub fn quote(field: &str) -> String {
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
    let text = |v: Option<u64>| v.map_or(String::new(), |v| v.to_string());
    let real = |v: Option<f64>, digits: usize| v.map_or(String::new(), |v| format!("{v:.digits$}"));
    for r in &results.results {
        let l = r.latency.as_ref();
        let cells = [
            quote(&provider),
            r.size_bytes.to_string(),
            text(r.iterations),
            text(r.warmup_iterations),
            text(r.total_ns),
            text(l.and_then(|l| l.min_ns)),
            text(l.map(|l| l.mean_ns)),
            text(l.and_then(|l| l.stdev_ns)),
            text(l.and_then(|l| l.p50_ns)),
            text(l.and_then(|l| l.p90_ns)),
            text(l.and_then(|l| l.p99_ns)),
            text(l.and_then(|l| l.p999_ns)),
            text(l.and_then(|l| l.max_ns)),
            real(r.seed_usec(), 3),
            real(r.megabytes_per_sec(), 3),
            real(r.messages_per_sec(), 1),
            text(r.bandwidth.map(|b| b.average_bytes_per_sec)),
            text(r.bandwidth.and_then(|b| b.peak_bytes_per_sec)),
            results.complete.to_string(),
            r.rounded
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(" "),
        ];
        let _ = writeln!(out, "{}", cells.join(","));
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
