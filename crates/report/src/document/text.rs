//! The report as aligned text for terminals.

use std::fmt::Write;

use super::{Block, Table};
use crate::tables;

/// Renders blocks as text: headings underlined, tables aligned (fitted to `width`, the
/// terminal's, when there is one), a blank line between blocks.
pub(super) fn render(blocks: &[Block], width: Option<u16>) -> String {
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
        |t: &Table, out: &mut String| {
            out.push_str(&tables::text(&t.headers, &t.rows, |i| t.align(i), width));
        },
    )
}
