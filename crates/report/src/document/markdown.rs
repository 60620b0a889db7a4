//! The report as markdown, for READMEs, tickets and pull requests; the seed's table keeps the
//! seed README's exact header lines.

use super::{Block, Table, SEED_MARKDOWN_HEADER};
use crate::tables;

fn table(t: &Table, out: &mut String) {
    if t.seed_style {
        out.push_str(SEED_MARKDOWN_HEADER);
        out.push_str(&tables::markdown_rows(&t.rows));
    } else {
        out.push_str(&tables::markdown(&t.headers, &t.rows, |i| t.align(i)));
    }
}

/// Renders blocks as markdown.
pub(super) fn render(blocks: &[Block]) -> String {
    super::render_text_blocks(
        blocks,
        |level, text, out| {
            out.push_str(&format!("{} {text}\n", "#".repeat(usize::from(level))));
        },
        table,
    )
}
