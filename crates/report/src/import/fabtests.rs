//! fi_pingpong (libfabric's `util/pingpong.c`, shipped in Debian's libfabric-bin and by the EFA
//! installer; the seed's table has its output format), here a run of `-I 1500 -S 12000`:
//!
//! ```text
//! bytes   #sent   #ack     total       time     MB/sec    usec/xfer   Mxfers/sec
//! 11k     1k      =1k      34m         0.21s    170.17      70.52       0.01
//! ```
//!
//! show_perf() prints the size with size_str() (1024-based, truncated, one decimal below ten
//! units: 12000 B is "11k"), the count with cnt_str() (1000-based, truncated: 1500 is "1k") and
//! the time in seconds to 10 ms; usec/xfer is elapsed / iterations / 2. The import keeps
//! usec/xfer as the mean and bytes, #sent and time as printed, each listed in the row's
//! `rounded` when printed abbreviated (the time always). When rdmabench ran the tool itself,
//! `exact` puts the -S and -I it passed in place of the printed bytes and #sent. Nothing is
//! rebuilt from the rounded figures.
//!
//! fabtests' own show_perf() (`common/shared.c`, behind fi_rdm_pingpong, fi_msg_bw ...) prints
//! the same figures the same way under `bytes iters total ...`: [`Table`] reads both.

use super::{
    empty_row, seconds_to_ns, table_rows, usec_to_ns, ImportError, Invocation, Parsed, Row,
};
use rdmabench_stats::{Figure, LatencySummary, SizeMeasurement};

const TOOL: &str = "fi_pingpong";

/// What fi_pingpong's output must hold.
pub(super) const EXPECTED: &str =
    "rows under fi_pingpong's header `bytes #sent #ack total time MB/sec usec/xfer Mxfers/sec` (it prints none for a size it could not send)";

/// The caveat of an imported file.
const PRINTED: &str = "fi_pingpong prints no percentiles, and prints bytes, #sent and time rounded (\"11k\" for 12000 B, \"1k\" for 1500, the time to 10 ms): they are kept as printed and listed in each row's `rounded`; usec is its usec/xfer";
/// The caveat of a run rdmabench made, which knows -S and -I.
const RUN: &str = "fi_pingpong prints no percentiles; sizes and round trips are the -S and -I rdmabench passed, the time is as printed (to 10 ms, listed in `rounded`); usec is its usec/xfer";

/// A printed figure ("11k" with `base` 1024, "1k" with 1000, "1.9m", "64"; billions are "g"
/// for sizes, "b" for counts) and whether it was abbreviated, and so rounded down.
fn abbreviated(text: &str, base: f64) -> Option<(u64, bool)> {
    let (number, scale) = match text.chars().last()? {
        'k' => (&text[..text.len() - 1], base),
        'm' => (&text[..text.len() - 1], base * base),
        'g' | 'b' => (&text[..text.len() - 1], base * base * base),
        _ => (text, 1.0),
    };
    let value: f64 = number.parse().ok()?;
    (value.is_finite() && value >= 0.0).then(|| ((value * scale).round() as u64, scale > 1.0))
}

/// A size as fi_pingpong prints it (size_str(): "11k" for 12000).
fn size_str(size: u64) -> String {
    let Some((base, unit)) = [(1u64 << 30, "g"), (1 << 20, "m"), (1 << 10, "k")]
        .into_iter()
        .find(|(base, _)| size >= *base)
    else {
        return size.to_string();
    };
    let whole = size / base;
    let tenths = if whole < 10 {
        size % base * 10 / base
    } else {
        0
    };
    if tenths == 0 {
        format!("{whole}{unit}")
    } else {
        format!("{whole}.{tenths}{unit}")
    }
}

/// A count as fi_pingpong prints it (cnt_str(): "1k" for 1500).
fn cnt_str(count: u64) -> String {
    [(1_000_000_000, "b"), (1_000_000, "m"), (1_000, "k")]
        .into_iter()
        .find(|(base, _)| count >= *base)
        .map_or_else(
            || count.to_string(),
            |(base, unit)| format!("{}{unit}", count / base),
        )
}

/// A show_perf() table, fi_pingpong's (`util/pingpong.c`) or fabtests' (`common/shared.c`):
/// its header's columns, and the rows under it.
pub(super) struct Table<'a> {
    tool: &'static str,
    /// The count's column: "#sent" or "iters".
    count: &'static str,
    header: Vec<&'a str>,
    /// Its rows, each checked to have a field per column.
    pub(super) rows: Vec<Row<'a>>,
}

impl<'a> Table<'a> {
    /// The table under the first line holding the columns `bytes`, `count` ("#sent" or "iters")
    /// and `usec/xfer`, or None without one. Rows start with a size as size_str() prints it
    /// (after fabtests' optional `name` column).
    pub(super) fn find(
        tool: &'static str,
        text: &'a str,
        count: &'static str,
    ) -> Result<Option<Table<'a>>, ImportError> {
        let Some((index, header)) = header(text, count) else {
            return Ok(None);
        };
        let first = usize::from(header.first() == Some(&"name"));
        let shape = format!("{} columns: {}", header.len(), header.join(" "));
        let rows = table_rows(tool, text, index, &shape, |fields| {
            fields
                .get(first)
                .is_some_and(|f| abbreviated(f, 1024.0).is_some())
        })?;
        for row in &rows {
            if row.fields.len() != header.len() {
                return Err(row.bad(
                    tool,
                    format!("{} fields where the header has {shape}", row.fields.len()),
                ));
            }
        }
        Ok(Some(Table {
            tool,
            count,
            header,
            rows,
        }))
    }

    /// The field of `row` in column `name`, read by `read` (`what` it should be, for the
    /// message when it is not).
    pub(super) fn field<T>(
        &self,
        row: &Row,
        name: &str,
        what: &str,
        read: impl Fn(&str) -> Option<T>,
    ) -> Result<T, ImportError> {
        let column = self.header.iter().position(|h| *h == name).ok_or_else(|| {
            ImportError::Unsupported {
                tool: self.tool,
                problem: format!("no {name} column in the header {:?}", self.header.join(" ")),
            }
        })?;
        let text = row.fields[column];
        read(text).ok_or_else(|| row.bad(self.tool, format!("{name} {text:?} is not {what}")))
    }

    /// What every show_perf() row prints, as printed: the size (size_str()), the count
    /// (cnt_str()) and the time (to 10 ms), the abbreviated ones and the time listed in
    /// `rounded`.
    pub(super) fn printed(&self, row: &Row) -> Result<SizeMeasurement, ImportError> {
        let (size, size_rounded) =
            self.field(row, "bytes", "a byte count", |f| abbreviated(f, 1024.0))?;
        let (iterations, iterations_rounded) =
            self.field(row, self.count, "a count", |f| abbreviated(f, 1000.0))?;
        let total_ns = self.field(row, "time", "seconds", |f| {
            f.strip_suffix('s').and_then(seconds_to_ns)
        })?;
        let mut measured = empty_row(size);
        measured.iterations = Some(iterations);
        measured.total_ns = Some(total_ns);
        measured.rounded = [
            (size_rounded, Figure::SizeBytes),
            (iterations_rounded, Figure::Iterations),
            (true, Figure::TotalNs),
        ]
        .into_iter()
        .filter_map(|(rounded, figure)| rounded.then_some(figure))
        .collect();
        Ok(measured)
    }

    /// usec/xfer of `row`, in nanoseconds.
    pub(super) fn usec_per_xfer(&self, row: &Row) -> Result<u64, ImportError> {
        self.field(row, "usec/xfer", "a number", usec_to_ns)
    }
}

/// The header line (0-based) with the columns `bytes`, `count` and `usec/xfer`, split.
pub(super) fn header<'a>(text: &'a str, count: &str) -> Option<(usize, Vec<&'a str>)> {
    text.lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .enumerate()
        .find(|(_, fields)| {
            ["bytes", count, "usec/xfer"]
                .iter()
                .all(|c| fields.contains(c))
        })
}

pub(super) fn parse(text: &str) -> Result<Parsed, ImportError> {
    let table = Table::find(TOOL, text, "#sent")?.ok_or(ImportError::NoRows {
        tool: TOOL,
        expected: EXPECTED,
    })?;
    let mut rows = Vec::new();
    for row in &table.rows {
        let mut measured = table.printed(row)?;
        measured.latency = Some(LatencySummary::mean_only(table.usec_per_xfer(row)?));
        rows.push(measured);
    }
    Ok(Parsed {
        test: "pingpong".into(),
        version: None,
        rows,
        note: Some(PRINTED.into()),
    })
}

/// Puts the -S and -I rdmabench passed in place of the bytes and #sent fi_pingpong printed,
/// after checking that the printed ones are those figures rounded.
pub(super) fn exact(parsed: &mut Parsed, invocation: Invocation) -> Result<(), ImportError> {
    let Invocation {
        size_bytes,
        iterations,
    } = invocation;
    for row in &mut parsed.rows {
        let printed = |text: String, base| abbreviated(&text, base).map(|(value, _)| value);
        if Some(row.size_bytes) != printed(size_str(size_bytes), 1024.0)
            || row.iterations != printed(cnt_str(iterations), 1000.0)
        {
            return Err(ImportError::Unsupported {
                tool: TOOL,
                problem: format!(
                    "a row for {} B and {} round trips, where -S {size_bytes} -I {iterations} print as {} and {}",
                    row.size_bytes,
                    row.iterations.unwrap_or_default(),
                    size_str(size_bytes),
                    cnt_str(iterations)
                ),
            });
        }
        row.size_bytes = size_bytes;
        row.iterations = Some(iterations);
        row.rounded
            .retain(|f| !matches!(f, Figure::SizeBytes | Figure::Iterations));
    }
    parsed.note = Some(RUN.into());
    Ok(())
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
        // Sizes below 1 KiB are printed whole; "1k" #sent may stand for 1000 to 1999.
        assert_eq!(first.rounded, [Figure::Iterations, Figure::TotalNs]);
    }

    #[test]
    fn an_imported_run_of_1500_round_trips_of_12000_bytes_keeps_what_was_printed() {
        let parsed = parse(&fixture("fi_pingpong-1.17-tcp-rdm-I1500-S12000.txt")).unwrap();
        let [row] = &parsed.rows[..] else {
            panic!("{:?}", parsed.rows)
        };
        // "11k", "1k", "0.21s" as printed, each marked; usec/xfer is the mean.
        assert_eq!(row.size_bytes, 11 * 1024);
        assert_eq!(row.iterations, Some(1000));
        assert_eq!(row.total_ns, Some(210_000_000));
        assert_eq!(
            row.rounded,
            [Figure::SizeBytes, Figure::Iterations, Figure::TotalNs]
        );
        assert_eq!(row.mean_ns(), Some(70_520));
        // No total rebuilt from the rounded count: 70.52 x 2 x 1000 would be 0.14 s.
        assert_ne!(row.total_ns, Some(70_520 * 2 * 1000));
        assert!(parsed.note.unwrap().contains("kept as printed"));
    }

    #[test]
    fn a_run_rdmabench_made_has_the_exact_size_and_round_trips_it_passed() {
        let mut parsed = parse(&fixture("fi_pingpong-1.17-tcp-rdm-I1500-S12000.txt")).unwrap();
        let invocation = Invocation {
            size_bytes: 12000,
            iterations: 1500,
        };
        exact(&mut parsed, invocation).unwrap();
        let row = &parsed.rows[0];
        assert_eq!((row.size_bytes, row.iterations), (12000, Some(1500)));
        // The time is still fi_pingpong's, to 10 ms.
        assert_eq!(row.rounded, [Figure::TotalNs]);
        assert_eq!(row.mean_ns(), Some(70_520));
        assert!(parsed.note.unwrap().contains("-S and -I rdmabench passed"));

        // Output that is not of the run's -S and -I is refused, not relabelled.
        let mut parsed = parse(&fixture("fi_pingpong-1.17-tcp-rdm-I1500-S12000.txt")).unwrap();
        let other = Invocation {
            size_bytes: 4096,
            iterations: 1500,
        };
        assert_eq!(
            exact(&mut parsed, other).unwrap_err().to_string(),
            "fi_pingpong output: a row for 11264 B and 1000 round trips, where -S 4096 -I 1500 print as 4k and 1k"
        );
    }

    #[test]
    fn abbreviations_follow_fi_pingpong() {
        assert_eq!(abbreviated("1k", 1024.0), Some((1024, true)));
        assert_eq!(abbreviated("1k", 1000.0), Some((1000, true)));
        assert_eq!(abbreviated("1.9m", 1024.0), Some((1_992_294, true)));
        assert_eq!(abbreviated("64", 1024.0), Some((64, false)));
        assert_eq!(abbreviated("2b", 1000.0), Some((2_000_000_000, true)));
        assert_eq!(abbreviated("x", 1024.0), None);
        for (size, printed) in [
            (12000, "11k"),
            (1500, "1.4k"),
            (1024, "1k"),
            (1023, "1023"),
            (6 << 20, "6m"),
            (3 << 30, "3g"),
        ] {
            assert_eq!(size_str(size), printed, "{size}");
        }
        for (count, printed) in [
            (1500, "1k"),
            (999, "999"),
            (2_500_000, "2m"),
            (10_u64.pow(9), "1b"),
        ] {
            assert_eq!(cnt_str(count), printed, "{count}");
        }
    }

    #[test]
    fn a_broken_row_names_its_line() {
        let text =
            "bytes   #sent   #ack     total       time     MB/sec    usec/xfer   Mxfers/sec\n\
                    4       1k      =1k      7.8k        0.02s      0.53       fast       0.13\n";
        assert_eq!(
            parse(text).unwrap_err().to_string(),
            "fi_pingpong output, line 2 (\"4 1k =1k 7.8k 0.02s 0.53 fast 0.13\"): usec/xfer \"fast\" is not a number"
        );
        // A line that is no row where the first row belongs is named, not "no result row".
        let text =
            "bytes   #sent   #ack     total       time     MB/sec    usec/xfer   Mxfers/sec\n\
                    fi_pingpong: fi_send(): -11 (Resource temporarily unavailable)\n";
        assert_eq!(
            parse(text).unwrap_err().to_string(),
            "fi_pingpong output, line 2 (\"fi_pingpong: fi_send(): -11 (Resource temporarily unavailable)\"): expected the first row of the table whose header is line 1 (8 columns: bytes #sent #ack total time MB/sec usec/xfer Mxfers/sec)"
        );
        // A row cut short names the line and the columns it lacks.
        let text =
            "bytes   #sent   #ack     total       time     MB/sec    usec/xfer   Mxfers/sec\n\
                    4       1k      =1k      7.8k        0.02s\n";
        assert!(parse(text)
            .unwrap_err()
            .to_string()
            .starts_with("fi_pingpong output, line 2 (\"4 1k =1k 7.8k 0.02s\"): 5 fields where the header has 8 columns"));
    }
}
