//! The report as one self-contained HTML page: inline CSS and SVG, no scripts, no fetches, so
//! it can be mailed, attached to a ticket or opened offline and always looks the same.

use std::fmt::Write;

use super::{Block, Table};
use crate::plot::escape;

const STYLE: &str = "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#202020;line-height:1.4}\
h1{font-size:1.7em}h2{font-size:1.35em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.8em}h3{font-size:1.1em;margin-top:1.4em}\
table{border-collapse:collapse;margin:.6em 0 1em;font-size:.9em}th,td{border:1px solid #d0d0d0;padding:.25em .6em}\
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}\
figure{margin:1em 0}svg.chart{max-width:100%;height:auto;border:1px solid #e8e8e8}";

fn table(t: &Table, out: &mut String) {
    out.push_str("<table>\n<tr>");
    for h in &t.headers {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr>\n");
    for row in &t.rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let numeric = t.seed_style || (t.numeric && i > 0);
            let class = if numeric { " class=\"num\"" } else { "" };
            let _ = write!(out, "<td{class}>{}</td>", escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

/// Renders blocks as a complete HTML document.
pub(super) fn render(blocks: &[Block]) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>rdmabench report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
    );
    for block in blocks {
        match block {
            Block::Heading(level, text) => {
                let _ = writeln!(out, "<h{level}>{}</h{level}>", escape(text));
            }
            Block::Paragraph(text) => {
                let _ = writeln!(out, "<p>{}</p>", escape(text));
            }
            Block::Table(t) => table(t, &mut out),
            Block::List(items) => {
                out.push_str("<ul>\n");
                for item in items {
                    let _ = writeln!(out, "<li>{}</li>", escape(item));
                }
                out.push_str("</ul>\n");
            }
            Block::Chart { name, chart } => {
                let _ = write!(
                    out,
                    "<figure id=\"{}\">\n{}</figure>\n",
                    escape(name),
                    chart.to_svg()
                );
            }
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}
