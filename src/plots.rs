//! The report's charts as files: SVG as the report draws them, and PNG rasterised from the
//! same SVG (resvg, with the system's fonts) for places that take no SVG.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, Result};
use rdmabench_report::plot::Chart;
use resvg::{tiny_skia, usvg};

use crate::output::emit;

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

/// Rasterises an SVG document to PNG bytes.
pub fn svg_to_png(svg: &str) -> Result<Vec<u8>> {
    let tree = usvg::Tree::from_str(svg, options()).context("parsing the chart's SVG")?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(PNG_SCALE)
        .context("chart size")?;
    let mut pixmap =
        tiny_skia::Pixmap::new(size.width(), size.height()).context("allocating the PNG")?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(PNG_SCALE, PNG_SCALE),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().context("encoding the PNG")
}

/// Writes every chart as `<name>.svg` and `<name>.png` into `dir` (created if missing);
/// returns the files written.
pub fn write_charts(charts: &[(String, Chart)], dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = Vec::new();
    for (name, chart) in charts {
        let svg = chart.to_svg();
        let svg_path = dir.join(format!("{name}.svg"));
        emit(&svg, Some(&svg_path))?;
        let png_path = dir.join(format!("{name}.png"));
        let png = svg_to_png(&svg).with_context(|| format!("drawing {}", png_path.display()))?;
        std::fs::write(&png_path, png)
            .with_context(|| format!("writing {}", png_path.display()))?;
        written.extend([svg_path, png_path]);
    }
    Ok(written)
}
