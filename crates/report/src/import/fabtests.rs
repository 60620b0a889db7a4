//! fi_pingpong (libfabric util/pingpong.c), whose output format the seed's table has:
//!
//! ```text
//! bytes   #sent   #ack     total       time     MB/sec    usec/xfer   Mxfers/sec
//! 1k      1k      =1k      1.9m        0.07s     31.30      32.72       0.03
//! ```
//!
//! Sizes are printed 1024-based ("1k" = 1024 B), counts 1000-based ("1k" = 1000), the time
//! with 10 ms resolution; usec/xfer is elapsed / iterations / 2. The import keeps usec/xfer
//! as the mean and rebuilds the total from it (usec/xfer x 2 x iterations), which is the
//! printed time without its rounding.

use super::{bad_row, empty_row, table_rows, usec_to_ns, ImportError, Parsed};
use rdmabench_stats::LatencySummary;

const TOOL: &str = "fi_pingpong";

/// "1k" -> 1000 (counts) or 1024 (sizes); "1.9m"; plain numbers.
fn abbreviated(text: &str, base: f64) -> Option<u64> {
    let (number, scale) = match text.chars().last()? {
        'k' => (&text[..text.len() - 1], base),
        'm' => (&text[..text.len() - 1], base * base),
        'g' => (&text[..text.len() - 1], base * base * base),
        _ => (text, 1.0),
    };
    let value: f64 = number.parse().ok()?;
    (value.is_finite() && value >= 0.0).then(|| (value * scale).round() as u64)
}

pub(super) fn parse(text: &str) -> Result<Parsed, ImportError> {
    let (header_line, header) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("usec/xfer") && l.contains("#sent"))
        .map(|(i, l)| (i, l.split_whitespace().collect::<Vec<_>>()))
        .ok_or(ImportError::NoRows { tool: TOOL })?;
    let column = |name: &str| header.iter().position(|h| *h == name);
    let (Some(bytes), Some(sent), Some(usec)) =
        (column("bytes"), column("#sent"), column("usec/xfer"))
    else {
        return Err(ImportError::Unsupported {
            tool: TOOL,
            problem: format!("unexpected header {:?}", header.join(" ")),
        });
    };
    let mut rows = Vec::new();
    for (line, fields) in table_rows(text, header_line, |f| f.len() == header.len()) {
        let size = abbreviated(fields[bytes], 1024.0).ok_or_else(|| {
            bad_row(
                TOOL,
                line,
                format!("size {:?} is not a byte count", fields[bytes]),
            )
        })?;
        let iterations = abbreviated(fields[sent], 1000.0).ok_or_else(|| {
            bad_row(
                TOOL,
                line,
                format!("#sent {:?} is not a count", fields[sent]),
            )
        })?;
        let mean_ns = usec_to_ns(fields[usec]).ok_or_else(|| {
            bad_row(
                TOOL,
                line,
                format!("usec/xfer {:?} is not a number", fields[usec]),
            )
        })?;
        let mut row = empty_row(size);
        row.iterations = Some(iterations);
        row.total_ns = Some(mean_ns * 2 * iterations);
        row.latency = Some(LatencySummary::mean_only(mean_ns));
        rows.push(row);
    }
    Ok(Parsed {
        test: "pingpong".into(),
        version: None,
        rows,
        note: Some(
            "fi_pingpong prints no percentiles; its time column is rebuilt from usec/xfer".into(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::fixture;
    use super::*;

    #[test]
    fn real_fi_pingpong_output_is_read_row_by_row() {
        let parsed = parse(&fixture("fi_pingpong-1.17-tcp-rdm-all.txt")).unwrap();
        assert_eq!(parsed.test, "pingpong");
        let first = &parsed.rows[0];
        assert_eq!(first.size_bytes, 0);
        assert_eq!(first.iterations, Some(1000));
        assert_eq!(first.latency.unwrap().mean_ns, 17_380);
        let one_k = parsed.rows.iter().find(|r| r.size_bytes == 1024).unwrap();
        assert_eq!(one_k.iterations, Some(1000));
        assert!(one_k.latency.unwrap().p99_ns.is_none());
        assert_eq!(
            one_k.seed_usec(),
            Some(one_k.latency.unwrap().mean_ns as f64 / 1000.0)
        );
        // Sizes are 1024-based: the table ends at "6m", 6 MiB.
        assert_eq!(parsed.rows.last().unwrap().size_bytes, 6 * 1024 * 1024);
        assert_eq!(
            parsed.rows.last().unwrap().latency.unwrap().mean_ns,
            2_679_420
        );
    }

    #[test]
    fn abbreviations_follow_fabtests() {
        assert_eq!(abbreviated("1k", 1024.0), Some(1024));
        assert_eq!(abbreviated("1k", 1000.0), Some(1000));
        assert_eq!(abbreviated("1.9m", 1024.0), Some(1_992_294));
        assert_eq!(abbreviated("64", 1024.0), Some(64));
        assert_eq!(abbreviated("x", 1024.0), None);
    }

    #[test]
    fn a_broken_row_names_its_line() {
        let text =
            "bytes   #sent   #ack     total       time     MB/sec    usec/xfer   Mxfers/sec\n\
                    4       1k      =1k      7.8k        0.02s      0.53       fast       0.13\n";
        assert_eq!(
            parse(text).unwrap_err().to_string(),
            "fi_pingpong output, line 2: usec/xfer \"fast\" is not a number"
        );
    }
}
