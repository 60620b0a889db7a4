//! Every table rdmabench prints goes through here: aligned text laid out by one crate
//! (comfy-table), markdown by one small writer, CSV by the csv crate. Before, each output had its
//! own aligner and CSV writer, and they disagreed on widths and quoting.

use comfy_table::{presets, CellAlignment, ColumnConstraint, ContentArrangement, Width};

/// How a column's cells line up: numbers to the right (as perftest and fi_pingpong print
/// them), names to the left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text: names, paths, descriptions.
    Left,
    /// Numbers.
    Right,
}

/// Spaces between two columns of a text table (fi_pingpong's and perftest's look).
const GAP: u16 = 2;

/// `headers` over `rows` as borderless text, columns two spaces apart, no trailing spaces.
///
/// `width` is the terminal's: text cells and headings wrap so the table fits it, numbers never
/// break (a table of numbers too wide for the terminal stays too wide). Without one (a pipe, a
/// file, a test) the layout depends on the cells alone, so the output is deterministic.
pub fn text<H: AsRef<str>>(
    headers: &[H],
    rows: &[Vec<String>],
    align: impl Fn(usize) -> Align,
    width: Option<u16>,
) -> String {
    let mut table = comfy_table::Table::new();
    table
        .load_style(presets::NOTHING)
        .set_header(headers.iter().map(AsRef::as_ref).collect::<Vec<_>>())
        .add_rows(rows.iter().cloned());
    match width {
        Some(width) => table
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(width),
        None => table.set_content_arrangement(ContentArrangement::Disabled),
    };
    for (i, column) in table.column_iter_mut().enumerate() {
        let padding = if i == 0 { 0 } else { GAP };
        column.set_padding((padding, 0));
        match align(i) {
            Align::Left => column.set_cell_alignment(CellAlignment::Left),
            Align::Right => {
                // As wide as its widest number and its heading's longest word.
                let widest = rows
                    .iter()
                    .map(|row| row[i].as_str())
                    .chain(headers[i].as_ref().split_whitespace())
                    .map(|text| text.chars().count())
                    .max()
                    .unwrap_or(0);
                let least = u16::try_from(widest).unwrap_or(u16::MAX);
                column.set_cell_alignment(CellAlignment::Right);
                column.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(
                    least.saturating_add(padding),
                )));
            }
        }
    }
    let mut out = table.trim_fmt();
    out.push('\n');
    out
}

/// `headers` over `rows` as a markdown table, with `---:` under right-aligned columns.
pub fn markdown<H: AsRef<str>>(
    headers: &[H],
    rows: &[Vec<String>],
    align: impl Fn(usize) -> Align,
) -> String {
    let headers: Vec<String> = headers.iter().map(|h| h.as_ref().to_string()).collect();
    let rules: Vec<String> = (0..headers.len())
        .map(|i| match align(i) {
            Align::Left => "---".to_string(),
            Align::Right => "---:".to_string(),
        })
        .collect();
    let mut out = markdown_row(&headers);
    out.push_str(&format!("| {} |\n", rules.join(" | ")));
    out.push_str(&markdown_rows(rows));
    out
}

/// Rows of a markdown table whose header is written elsewhere (the seed README's exact lines).
pub fn markdown_rows(rows: &[Vec<String>]) -> String {
    rows.iter().map(|row| markdown_row(row)).collect()
}

/// One markdown table row, with what would break a cell escaped.
fn markdown_row(cells: &[String]) -> String {
    let cells: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
    format!("| {} |\n", cells.join(" | "))
}

/// `headers` over `rows` as CSV (RFC 4180: a field is quoted only when it holds a comma, a
/// quote or a line break, so ordinary rows stay easy to read and grep).
pub fn csv<H: AsRef<str>>(headers: &[H], rows: &[Vec<String>]) -> String {
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    let written = std::iter::once(headers.iter().map(AsRef::as_ref).collect::<Vec<&str>>())
        .chain(rows.iter().map(|r| r.iter().map(String::as_str).collect()))
        .try_for_each(|record| writer.write_record(record));
    // Writing to memory fails only on a record of another length: a bug, not bad input.
    written.expect("every CSV row has the header's columns");
    let bytes = writer.into_inner().expect("writing CSV to memory");
    String::from_utf8(bytes).expect("CSV of UTF-8 fields is UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Vec<&'static str>, Vec<Vec<String>>) {
        (
            vec!["provider", "Message size", "usec"],
            vec![
                vec!["tcp;ofi_rxm".into(), "4".into(), "10.26".into()],
                vec!["shm".into(), "65536".into(), "123.45".into()],
            ],
        )
    }

    fn numbers(i: usize) -> Align {
        if i == 0 {
            Align::Left
        } else {
            Align::Right
        }
    }

    #[test]
    fn text_tables_are_borderless_two_spaces_apart_without_trailing_spaces() {
        let (headers, rows) = sample();
        assert_eq!(
            text(&headers, &rows, numbers, None),
            "provider     Message size    usec\n\
             tcp;ofi_rxm             4   10.26\n\
             shm                 65536  123.45\n"
        );
    }

    #[test]
    fn a_terminal_narrower_than_the_table_wraps_text_and_headings_but_never_numbers() {
        let (headers, rows) = sample();
        let wide = text(&headers, &rows, numbers, None);
        let fitted = text(&headers, &rows, numbers, Some(26));
        assert_eq!(
            fitted,
            "provider   Message    usec\n\
             \x20             size\n\
             tcp;ofi_r        4   10.26\n\
             xm\n\
             shm          65536  123.45\n"
        );
        assert!(fitted.lines().all(|l| l.chars().count() <= 26), "{fitted}");
        // A terminal wide enough changes nothing.
        assert_eq!(text(&headers, &rows, numbers, Some(200)), wide);
    }

    #[test]
    fn markdown_marks_numeric_columns_and_escapes_pipes() {
        let rows = vec![vec!["a|b".to_string(), "1".to_string()]];
        assert_eq!(
            markdown(&["name", "n"], &rows, numbers),
            "| name | n |\n| --- | ---: |\n| a\\|b | 1 |\n"
        );
    }

    #[test]
    fn csv_quotes_only_fields_that_need_it() {
        let rows = vec![vec![
            "tcp;ofi_rxm".to_string(),
            "a,b".to_string(),
            "say \"hi\"".to_string(),
        ]];
        assert_eq!(
            csv(&["provider", "label", "note"], &rows),
            "provider,label,note\ntcp;ofi_rxm,\"a,b\",\"say \"\"hi\"\"\"\n"
        );
    }
}
