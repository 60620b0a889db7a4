//! PNG copies of the report's SVG charts (for papers and tickets that take no SVG), rasterised
//! from the same SVG with resvg and the system's fonts. Behind the `png` feature: a
//! benchmark-only build leaves resvg and its font stack out.

use std::sync::OnceLock;

use resvg::{tiny_skia, usvg};

/// Pixels per SVG unit in the PNG files: twice the SVG size, sharp enough for slides.
const PNG_SCALE: f32 = 2.0;

/// The font database, loaded once: reading every system font takes a while.
fn options() -> &'static usvg::Options<'static> {
    static OPTIONS: OnceLock<usvg::Options<'static>> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut options = usvg::Options::default();
        options.fontdb_mut().load_system_fonts();
        if options.fontdb.is_empty() {
            eprintln!(
                "rdmabench: no system fonts found, so the PNG charts have no text (the SVG ones do); install fonts-dejavu-core"
            );
        }
        options
    })
}

/// Rasterises an SVG document to PNG bytes; the error says which step failed.
pub fn svg_to_png(svg: &str) -> Result<Vec<u8>, String> {
    let tree = usvg::Tree::from_str(svg, options())
        .map_err(|e| format!("parsing the chart's SVG: {e}"))?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(PNG_SCALE)
        .ok_or("the chart has no size")?;
    let mut pixmap =
        tiny_skia::Pixmap::new(size.width(), size.height()).ok_or("allocating the PNG failed")?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(PNG_SCALE, PNG_SCALE),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| format!("encoding the PNG: {e}"))
}
