//! The report as markdown, for READMEs, tickets and pull requests; the seed's table keeps the
//! seed README's exact header lines.

use std::fmt::Write;

use super::{Block, Table, SEED_MARKDOWN_HEADER};

/// Escapes what would break a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn table(t: &Table, out: &mut String) {
    if t.seed_style {
        out.push_str(SEED_MARKDOWN_HEADER);
    } else {
        let headers: Vec<String> = t.headers.iter().map(|h| cell(h)).collect();
        let _ = writeln!(out, "| {} |", headers.join(" | "));
        let rules: Vec<&str> = (0..t.headers.len())
            .map(|i| if t.numeric && i > 0 { "---:" } else { "---" })
            .collect();
        let _ = writeln!(out, "| {} |", rules.join(" | "));
    }
    for row in &t.rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
}

/// Renders blocks as markdown.
pub(super) fn render(blocks: &[Block]) -> String {
    super::render_text_blocks(
        blocks,
        |level, text, out| {
            let _ = writeln!(out, "{} {text}", "#".repeat(usize::from(level)));
        },
        table,
    )
}
