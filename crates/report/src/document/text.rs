//! The report as aligned text for terminals.

use std::fmt::Write;

use super::{Block, Table};

fn table(t: &Table, out: &mut String) {
    let widths: Vec<usize> = t
        .headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            t.rows
                .iter()
                .map(|r| r[i].chars().count())
                .fold(h.chars().count(), usize::max)
        })
        .collect();
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if t.numeric && i > 0 || t.seed_style {
                    format!("{c:>w$}")
                } else {
                    format!("{c:<w$}")
                }
            })
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let _ = writeln!(out, "{}", line(&t.headers));
    for row in &t.rows {
        let _ = writeln!(out, "{}", line(row));
    }
}

/// Renders blocks as text: headings underlined, tables aligned, a blank line between blocks.
pub(super) fn render(blocks: &[Block]) -> String {
    super::render_text_blocks(
        blocks,
        |level, text, out| {
            let mark = match level {
                1 => '=',
                2 => '-',
                _ => '~',
            };
            let _ = writeln!(
                out,
                "{text}\n{}",
                mark.to_string().repeat(text.chars().count())
            );
        },
        table,
    )
}
