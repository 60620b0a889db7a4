//! Charts as SVG text: latency and bandwidth against message size on log axes, with shaded
//! percentile bands, in one panel or several stacked on the same scales (small multiples), each
//! with a legend sized to its text. Written by hand rather than through a plotting library because the charts
//! are few and simple, and hand-written SVG is small, deterministic (snapshot-testable) and
//! needs no fonts or network when it is inlined into the HTML report.

use std::fmt::Write;

/// Colours of the series, in order (colour-blind safe, from the Okabe-Ito palette).
pub const PALETTE: [&str; 8] = [
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#f0e442", "#000000",
];

/// Narrowest a chart is drawn (wider when a long legend needs room beside a usable plot).
const MIN_WIDTH: f64 = 760.0;
/// Narrowest plot area: a legend never squeezes the data below this.
const MIN_PLOT_WIDTH: f64 = 420.0;
const LEFT: f64 = 70.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 55.0;
/// Space between the chart's right edge and its legends.
const RIGHT_MARGIN: f64 = 10.0;
/// Height of the plot area of a chart with one panel, and of each of several panels.
const SINGLE_PLOT_HEIGHT: f64 = 325.0;
const PANEL_PLOT_HEIGHT: f64 = 190.0;
/// Above each of several panels: its title.
const PANEL_TITLE: f64 = 24.0;
/// Below each panel but the last: its size labels.
const PANEL_GAP: f64 = 28.0;
/// Font size of every text but the chart's title.
const FONT_SIZE: f64 = 12.0;
const LEGEND_GAP: f64 = 16.0;
const LEGEND_PAD: f64 = 8.0;
const LEGEND_ROW: f64 = 20.0;
const SWATCH: f64 = 18.0;
const SWATCH_GAP: f64 = 6.0;
/// The dash of secondary lines (the median beside the mean), in the plot and the legend.
const DASH: &str = "6 4";

/// Advance widths of DejaVu Sans (the first font the charts ask for, and the widest of them:
/// Helvetica and Arial are narrower) for ASCII 0x20..=0x7e, in font units of 2048 per em.
/// Read from Debian's fonts-dejavu-core 2.37 DejaVuSans.ttf (hmtx through the Windows Unicode
/// cmap). Any other character counts as a full em, wider than most glyphs.
const DEJAVU_SANS_ADVANCES: [u16; 95] = [
    651, 821, 942, 1716, 1303, 1946, 1597, 563, 799, 799, 1024, 1716, 651, 739, 651, 690, 1303,
    1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 690, 690, 1716, 1716, 1716, 1087, 2048,
    1401, 1405, 1430, 1577, 1294, 1178, 1587, 1540, 604, 604, 1343, 1141, 1767, 1532, 1612, 1235,
    1612, 1423, 1300, 1251, 1499, 1401, 2025, 1403, 1251, 1403, 799, 690, 799, 1716, 1024, 1024,
    1255, 1300, 1126, 1300, 1260, 721, 1300, 1298, 569, 569, 1186, 569, 1995, 1298, 1253, 1300,
    1300, 842, 1067, 803, 1298, 1212, 1675, 1212, 1212, 1075, 1303, 690, 1303, 1716,
];
const DEJAVU_UNITS_PER_EM: f64 = 2048.0;

/// Width of `text` set at `font_size` in DejaVu Sans, without kerning (which only narrows it):
/// legends are sized from it, so a label never runs out of its box, however long.
fn text_width(text: &str, font_size: f64) -> f64 {
    let units: f64 = text
        .chars()
        .map(|c| {
            u32::from(c)
                .checked_sub(0x20)
                .and_then(|i| DEJAVU_SANS_ADVANCES.get(i as usize))
                .map_or(DEJAVU_UNITS_PER_EM, |w| f64::from(*w))
        })
        .sum();
    units / DEJAVU_UNITS_PER_EM * font_size
}

/// A line through points (x, y), drawn solid or dashed.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Legend text.
    pub label: String,
    /// Stroke colour.
    pub color: String,
    /// Points in data units, ascending x.
    pub points: Vec<(f64, f64)>,
    /// Dashed: the secondary line of a pair (the median beside the mean), told apart by more
    /// than colour.
    pub dashed: bool,
}

/// A shaded area between two curves over the same x values.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// Legend text.
    pub label: String,
    /// Fill colour (drawn translucent).
    pub color: String,
    /// Opacity of the fill, 0..1.
    pub opacity: f64,
    /// (x, low, high) in data units, ascending x.
    pub points: Vec<(f64, f64, f64)>,
}

/// One plot area of a chart, with its own legend: several panels of a chart share both axes'
/// scales (small multiples), so their spreads compare by eye without being drawn over each
/// other.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Panel {
    /// Title above the panel; a chart of one panel has only the chart's title.
    pub title: String,
    /// Areas, drawn first.
    pub bands: Vec<Band>,
    /// Lines, drawn over the bands; lines without points are left out, legend included.
    pub lines: Vec<Line>,
}

/// A chart with a log-scale x axis of message sizes.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Title above the plot.
    pub title: String,
    /// y axis label.
    pub y_label: String,
    /// Log scale on y as well.
    pub y_log: bool,
    /// Plot areas, stacked top to bottom.
    pub panels: Vec<Panel>,
}

/// Escapes text for SVG and HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Bytes as people write them on an axis: 4, 1K, 64K, 1M.
fn size_label(bytes: f64) -> String {
    let b = bytes.round() as u64;
    match b {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{}M", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{}K", b >> 10),
        b => b.to_string(),
    }
}

/// A value for an axis label without needless digits.
fn number_label(value: f64) -> String {
    if value >= 100.0 || value == value.round() {
        format!("{value:.0}")
    } else if value >= 1.0 {
        format!("{value:.1}")
    } else {
        let text = format!("{value:.3}");
        text.trim_end_matches('0').to_string()
    }
}

/// Maps data values onto pixels, on a linear or log10 scale.
#[derive(Debug, Clone, Copy)]
struct Axis {
    min: f64,
    max: f64,
    log: bool,
    from: f64,
    to: f64,
}

impl Axis {
    fn new(values: impl Iterator<Item = f64>, log: bool, from: f64, to: f64) -> Axis {
        let (mut min, mut max) = values
            .filter(|v| v.is_finite() && (!log || *v > 0.0))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        if !min.is_finite() {
            (min, max) = (1.0, 10.0);
        }
        if log {
            // Whole decades (or powers of two for sizes, set by the caller's ticks) around the data.
            min = 10f64.powf(min.log10().floor());
            max = 10f64.powf(max.log10().ceil().max(min.log10() + 1.0));
        } else {
            min = 0f64.min(min);
            max = if max <= min { min + 1.0 } else { max * 1.08 };
        }
        Axis {
            min,
            max,
            log,
            from,
            to,
        }
    }

    fn map(&self, v: f64) -> f64 {
        let t = if self.log {
            (v.max(self.min).log10() - self.min.log10()) / (self.max.log10() - self.min.log10())
        } else {
            (v - self.min) / (self.max - self.min)
        };
        self.from + t * (self.to - self.from)
    }

    /// Tick values: 1-2-5 steps per decade on a log axis (whole decades only where a decade
    /// is too short for three labels), about six steps on a linear one.
    fn ticks(&self) -> Vec<f64> {
        if self.log {
            let decades = (self.max / self.min).log10();
            let steps: &[f64] = if (self.to - self.from).abs() / decades < 60.0 {
                &[1.0]
            } else {
                &[1.0, 2.0, 5.0]
            };
            let mut ticks = Vec::new();
            let mut decade = self.min;
            while decade <= self.max * 1.000_001 {
                for &m in steps {
                    let v = decade * m;
                    if v >= self.min * 0.999_999 && v <= self.max * 1.000_001 {
                        ticks.push(v);
                    }
                }
                decade *= 10.0;
            }
            ticks
        } else {
            let raw = (self.max - self.min) / 6.0;
            let magnitude = 10f64.powf(raw.log10().floor());
            let step = [1.0, 2.0, 5.0, 10.0]
                .into_iter()
                .map(|m| m * magnitude)
                .find(|s| *s >= raw)
                .unwrap_or(raw);
            (0..)
                .map(|i| self.min + f64::from(i) * step)
                .take_while(|v| *v <= self.max * 1.000_001)
                .collect()
        }
    }
}

/// Size ticks: powers of two, every second or fourth one so labels do not collide.
fn size_ticks(min: f64, max: f64) -> Vec<f64> {
    let (lo, hi) = (min.log2().floor() as i32, max.log2().ceil() as i32);
    let step = match hi - lo {
        0..=8 => 1,
        9..=16 => 2,
        _ => 4,
    };
    (lo..=hi)
        .filter(|e| (e - lo) % step == 0)
        .map(|e| 2f64.powi(e))
        .collect()
}

fn polyline(points: &[(f64, f64)]) -> String {
    let mut d = String::new();
    for (i, (x, y)) in points.iter().enumerate() {
        let _ = write!(d, "{}{x:.1},{y:.1}", if i == 0 { "M" } else { " L" });
    }
    d
}

/// A file-name- and id-safe form of a label.
pub(crate) fn slug(text: &str) -> String {
    let slug: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    slug.split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// What a legend entry shows beside its text.
enum Swatch<'a> {
    Line { color: &'a str, dashed: bool },
    Area { color: &'a str, opacity: f64 },
}

impl Panel {
    /// The lines that have points: only those are drawn and named.
    fn drawn_lines(&self) -> impl Iterator<Item = &Line> {
        self.lines.iter().filter(|l| !l.points.is_empty())
    }

    fn legend(&self) -> Vec<(&str, Swatch<'_>)> {
        self.drawn_lines()
            .map(|l| {
                let swatch = Swatch::Line {
                    color: &l.color,
                    dashed: l.dashed,
                };
                (l.label.as_str(), swatch)
            })
            .chain(self.bands.iter().map(|b| {
                let swatch = Swatch::Area {
                    color: &b.color,
                    opacity: b.opacity,
                };
                (b.label.as_str(), swatch)
            }))
            .collect()
    }
}

/// Width of a legend box: swatch, gap, the widest text, padding on both sides; whole pixels.
fn legend_width(labels: &[(&str, Swatch<'_>)]) -> f64 {
    let widest = labels
        .iter()
        .map(|(label, _)| text_width(label, FONT_SIZE))
        .fold(0.0, f64::max);
    if labels.is_empty() {
        0.0
    } else {
        (2.0 * LEGEND_PAD + SWATCH + SWATCH_GAP + widest).ceil()
    }
}

/// Where the panels go: every panel has the same plot area, stacked.
struct Layout {
    width: f64,
    height: f64,
    plot_right: f64,
    plot_height: f64,
    panel_title: f64,
}

impl Layout {
    fn new(panels: usize, legend_width: f64) -> Layout {
        let width = MIN_WIDTH.max(LEFT + MIN_PLOT_WIDTH + LEGEND_GAP + legend_width + RIGHT_MARGIN);
        let (plot_height, panel_title) = if panels > 1 {
            (PANEL_PLOT_HEIGHT, PANEL_TITLE)
        } else {
            (SINGLE_PLOT_HEIGHT, 0.0)
        };
        let n = panels as f64;
        Layout {
            width,
            height: TOP + n * (panel_title + plot_height) + (n - 1.0) * PANEL_GAP + BOTTOM,
            plot_right: width - RIGHT_MARGIN - legend_width - LEGEND_GAP,
            plot_height,
            panel_title,
        }
    }

    /// The top edge of panel `i`'s plot area.
    fn panel_top(&self, i: usize) -> f64 {
        TOP + i as f64 * (self.panel_title + self.plot_height + PANEL_GAP) + self.panel_title
    }
}

impl Chart {
    /// Renders the chart as a standalone SVG document (also valid inline in HTML).
    pub fn to_svg(&self) -> String {
        let empty = [Panel::default()];
        let panels: &[Panel] = if self.panels.is_empty() {
            &empty
        } else {
            &self.panels
        };
        let xs = || {
            panels.iter().flat_map(|panel| {
                panel
                    .lines
                    .iter()
                    .flat_map(|l| l.points.iter().map(|p| p.0))
                    .chain(
                        panel
                            .bands
                            .iter()
                            .flat_map(|b| b.points.iter().map(|p| p.0)),
                    )
            })
        };
        let ys = || {
            panels.iter().flat_map(|panel| {
                panel
                    .lines
                    .iter()
                    .flat_map(|l| l.points.iter().map(|p| p.1))
                    .chain(
                        panel
                            .bands
                            .iter()
                            .flat_map(|b| b.points.iter().flat_map(|p| [p.1, p.2])),
                    )
            })
        };
        let x_min = xs().fold(f64::INFINITY, f64::min);
        let x_max = xs().fold(f64::NEG_INFINITY, f64::max);
        let (x_min, x_max) = if x_min.is_finite() && x_min > 0.0 {
            (
                2f64.powf(x_min.log2().floor()),
                2f64.powf(x_max.log2().ceil().max(x_min.log2().floor() + 1.0)),
            )
        } else {
            (1.0, 2.0)
        };
        let legends: Vec<_> = panels.iter().map(Panel::legend).collect();
        let legend_w = legends.iter().map(|l| legend_width(l)).fold(0.0, f64::max);
        let layout = Layout::new(panels.len(), legend_w);
        let (width, height, right) = (layout.width, layout.height, layout.plot_right);
        let x = Axis {
            min: x_min,
            max: x_max,
            log: true,
            from: LEFT,
            to: right,
        };
        // One y scale for every panel: the panels compare by position.
        let y_scale = Axis::new(ys(), self.y_log, 0.0, 1.0);
        let mut svg = String::new();
        let _ = writeln!(
            svg,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"{FONT_SIZE}\">"
        );
        let _ = writeln!(
            svg,
            "<rect width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>\n<text x=\"{LEFT}\" y=\"24\" font-size=\"15\" font-weight=\"bold\">{}</text>",
            escape(&self.title)
        );
        let id = slug(&self.title);
        for (i, (panel, legend)) in panels.iter().zip(&legends).enumerate() {
            let top = layout.panel_top(i);
            let bottom = top + layout.plot_height;
            let y = Axis {
                from: bottom,
                to: top,
                ..y_scale
            };
            if !panel.title.is_empty() {
                let _ = writeln!(
                    svg,
                    "<text x=\"{LEFT}\" y=\"{:.1}\" font-size=\"13\" font-weight=\"bold\">{}</text>",
                    top - 8.0,
                    escape(&panel.title)
                );
            }
            axes(&mut svg, &x, &y);
            data(&mut svg, panel, &x, &y);
            let legend_id = format!("legend-{id}-{i}");
            legend_box(
                &mut svg,
                legend,
                &legend_id,
                right + LEGEND_GAP,
                top,
                legend_w,
            );
        }
        // Axis titles once, centred on all panels.
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">message size (bytes, log scale)</text>",
            (LEFT + right) / 2.0,
            height - 14.0
        );
        let _ = writeln!(
            svg,
            "<text transform=\"translate(16 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
            (TOP + height - BOTTOM) / 2.0,
            escape(&self.y_label)
        );
        svg.push_str("</svg>\n");
        svg
    }
}

/// Grid, tick labels and frame of one panel.
fn axes(svg: &mut String, x: &Axis, y: &Axis) {
    let (right, top, bottom) = (x.to, y.to, y.from);
    for v in y.ticks() {
        let py = y.map(v);
        let _ = writeln!(
            svg,
            "<line x1=\"{LEFT}\" y1=\"{py:.1}\" x2=\"{right:.1}\" y2=\"{py:.1}\" stroke=\"#e0e0e0\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT - 6.0,
            py + 4.0,
            number_label(v)
        );
    }
    for v in size_ticks(x.min, x.max) {
        let px = x.map(v);
        let _ = writeln!(
            svg,
            "<line x1=\"{px:.1}\" y1=\"{top:.1}\" x2=\"{px:.1}\" y2=\"{bottom:.1}\" stroke=\"#e0e0e0\"/><text x=\"{px:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            bottom + 16.0,
            size_label(v)
        );
    }
    let _ = writeln!(
        svg,
        "<rect x=\"{LEFT}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"#808080\"/>",
        right - LEFT,
        bottom - top
    );
}

/// The bands, then the lines with a dot per point, of one panel.
fn data(svg: &mut String, panel: &Panel, x: &Axis, y: &Axis) {
    for band in &panel.bands {
        let mut outline: Vec<(f64, f64)> = band
            .points
            .iter()
            .map(|p| (x.map(p.0), y.map(p.2)))
            .collect();
        outline.extend(band.points.iter().rev().map(|p| (x.map(p.0), y.map(p.1))));
        let _ = writeln!(
            svg,
            "<path class=\"band\" d=\"{} Z\" fill=\"{}\" fill-opacity=\"{}\" stroke=\"none\"/>",
            polyline(&outline),
            band.color,
            band.opacity
        );
    }
    for line in panel.drawn_lines() {
        let points: Vec<(f64, f64)> = line
            .points
            .iter()
            .map(|p| (x.map(p.0), y.map(p.1)))
            .collect();
        let _ = writeln!(
            svg,
            "<path class=\"line\" d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{}/>",
            polyline(&points),
            line.color,
            dash(line.dashed)
        );
        for (px, py) in &points {
            let _ = writeln!(
                svg,
                "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"2.5\" fill=\"{}\"/>",
                line.color
            );
        }
    }
}

fn dash(dashed: bool) -> String {
    if dashed {
        format!(" stroke-dasharray=\"{DASH}\"")
    } else {
        String::new()
    }
}

/// A panel's legend: a framed box as wide as its widest text (`width`, from
/// [`legend_width`]), one row per entry. The box and texts carry ids so tests can find them.
fn legend_box(
    svg: &mut String,
    entries: &[(&str, Swatch<'_>)],
    id: &str,
    left: f64,
    top: f64,
    width: f64,
) {
    if entries.is_empty() {
        return;
    }
    let _ = writeln!(
        svg,
        "<rect id=\"{id}\" x=\"{left:.1}\" y=\"{top:.1}\" width=\"{width}\" height=\"{:.1}\" fill=\"#ffffff\" stroke=\"#c8c8c8\"/>",
        2.0 * LEGEND_PAD + LEGEND_ROW * entries.len() as f64
    );
    let swatch_x = left + LEGEND_PAD;
    for (j, (label, swatch)) in entries.iter().enumerate() {
        let row_middle = top + LEGEND_PAD + LEGEND_ROW * (j as f64 + 0.5);
        match swatch {
            Swatch::Line { color, dashed } => {
                let _ = write!(
                    svg,
                    "<line x1=\"{swatch_x:.1}\" y1=\"{row_middle:.1}\" x2=\"{:.1}\" y2=\"{row_middle:.1}\" stroke=\"{color}\" stroke-width=\"2\"{}/>",
                    swatch_x + SWATCH,
                    dash(*dashed)
                );
            }
            Swatch::Area { color, opacity } => {
                let _ = write!(
                    svg,
                    "<rect x=\"{swatch_x:.1}\" y=\"{:.1}\" width=\"{SWATCH}\" height=\"10\" fill=\"{color}\" fill-opacity=\"{opacity}\"/>",
                    row_middle - 5.0
                );
            }
        }
        let _ = writeln!(
            svg,
            "<text id=\"{id}-{j}\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            swatch_x + SWATCH + SWATCH_GAP,
            row_middle + 4.0,
            escape(label)
        );
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn chart() -> Chart {
        Chart {
            title: "pingpong latency".into(),
            y_label: "half round trip (usec)".into(),
            y_log: true,
            panels: vec![
                Panel {
                    title: "node".into(),
                    bands: vec![Band {
                        label: "p50..p99".into(),
                        color: PALETTE[0].into(),
                        opacity: 0.25,
                        points: vec![(4.0, 9.0, 12.0), (102_400.0, 44.0, 47.0)],
                    }],
                    lines: vec![
                        Line {
                            label: "<mean>".into(),
                            color: PALETTE[0].into(),
                            points: vec![(4.0, 10.26), (102_400.0, 44.9)],
                            dashed: false,
                        },
                        Line {
                            label: "median (p50)".into(),
                            color: PALETTE[0].into(),
                            points: vec![(4.0, 9.5), (102_400.0, 44.1)],
                            dashed: true,
                        },
                    ],
                },
                Panel {
                    title: "tcp;ofi_rxm pod, imported from fi_pingpong".into(),
                    bands: Vec::new(),
                    lines: vec![Line {
                        label: "mean (no median reported) — µs, WWWW".into(),
                        color: PALETTE[1].into(),
                        points: vec![(4.0, 11.0), (102_400.0, 51.0)],
                        dashed: false,
                    }],
                },
            ],
        }
    }

    /// Legend entries whose text, as usvg lays it out with the system fonts, is not inside
    /// its legend's box (ids `legend-...-N` for the box, `legend-...-N-J` for its texts).
    pub(crate) fn legend_overflows(svg: &str) -> Vec<String> {
        use resvg::usvg::{self, Node, Rect};
        use std::collections::BTreeMap;
        fn collect(
            group: &usvg::Group,
            boxes: &mut BTreeMap<String, Rect>,
            texts: &mut Vec<(String, Rect)>,
        ) {
            for node in group.children() {
                match node {
                    Node::Group(g) => collect(g, boxes, texts),
                    Node::Path(p) if p.id().starts_with("legend-") => {
                        boxes.insert(p.id().to_string(), p.abs_bounding_box());
                    }
                    Node::Text(t) if t.id().starts_with("legend-") => {
                        texts.push((t.id().to_string(), t.abs_bounding_box()));
                    }
                    _ => {}
                }
            }
        }
        let mut options = usvg::Options::default();
        options.fontdb_mut().load_system_fonts();
        assert!(
            !options.fontdb.is_empty(),
            "no system fonts to lay text out with: install fonts-dejavu-core"
        );
        let tree = usvg::Tree::from_str(svg, &options).expect("the chart parses");
        let (mut boxes, mut texts) = (BTreeMap::new(), Vec::new());
        collect(tree.root(), &mut boxes, &mut texts);
        assert!(
            !texts.is_empty(),
            "no legend text found (or no font laid it out)"
        );
        texts
            .into_iter()
            .filter_map(|(id, text)| {
                let legend = &boxes[id.rsplit_once('-').expect("a legend text id").0];
                let inside = text.left() >= legend.left()
                    && text.right() <= legend.right()
                    && text.top() >= legend.top()
                    && text.bottom() <= legend.bottom();
                (!inside).then(|| format!("{id}: text {text:?} outside its box {legend:?}"))
            })
            .collect()
    }

    #[test]
    fn every_legend_text_fits_its_box() {
        let svg = chart().to_svg();
        assert_eq!(legend_overflows(&svg), Vec::<String>::new());
        // The check catches a box too small for its text: the same chart with 40 px legends.
        let narrowed: String = svg
            .lines()
            .map(|line| match line.strip_prefix("<rect id=\"legend-") {
                Some(rest) => {
                    let (head, tail) = rest.split_once(" width=\"").unwrap();
                    let tail = &tail[tail.find('"').unwrap()..];
                    format!("<rect id=\"legend-{head} width=\"40{tail}\n")
                }
                None => format!("{line}\n"),
            })
            .collect();
        assert_ne!(narrowed, svg);
        assert_eq!(
            legend_overflows(&narrowed).len(),
            4,
            "every text but none of the boxes"
        );
    }

    #[test]
    fn legends_are_as_wide_as_their_widest_text() {
        let short = vec![(
            "mean",
            Swatch::Line {
                color: "#000",
                dashed: false,
            },
        )];
        let long = vec![(
            "mean (no median reported)",
            Swatch::Line {
                color: "#000",
                dashed: false,
            },
        )];
        assert!(legend_width(&long) > legend_width(&short) + 100.0);
        assert_eq!(legend_width(&[]), 0.0);
        // DejaVu Sans at 12 px: "mean" is 1995+1260+1255+1298 units of 2048 per em.
        assert!((text_width("mean", 12.0) - 5808.0 / 2048.0 * 12.0).abs() < 1e-9);
        // A character outside the table counts as a whole em.
        assert_eq!(text_width("測", 12.0), 12.0);
        // A legend too wide for the minimum width widens the chart, not squeezes the plot.
        let layout = Layout::new(1, 600.0);
        assert!(layout.plot_right - LEFT >= MIN_PLOT_WIDTH);
        assert!(layout.width > MIN_WIDTH);
    }

    #[test]
    fn charts_are_deterministic_svg_with_escaped_text() {
        let svg = chart().to_svg();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains(">&lt;mean&gt;</text>"));
        assert!(svg.contains("tcp;ofi_rxm pod"));
        // The median is dashed in the plot and in the legend; the mean is not.
        assert_eq!(svg.matches("stroke-dasharray=\"6 4\"").count(), 2);
        assert_eq!(svg, chart().to_svg());
        insta::assert_snapshot!(svg);
    }

    #[test]
    fn slugs_are_file_name_safe() {
        assert_eq!(slug("kernel TCP"), "kernel-tcp");
        assert_eq!(slug("tcp;ofi_rxm node"), "tcp-ofi-rxm-node");
    }

    #[test]
    fn log_axes_cover_the_data_in_whole_decades_and_powers_of_two() {
        let y = Axis::new([10.26, 44.9].into_iter(), true, 100.0, 0.0);
        assert_eq!((y.min, y.max), (10.0, 100.0));
        assert_eq!(y.ticks(), [10.0, 20.0, 50.0, 100.0]);
        assert!((y.map(10.0) - 100.0).abs() < 1e-9 && y.map(100.0).abs() < 1e-9);
        assert_eq!(size_ticks(4.0, 131_072.0).len(), 8); // 2^2 .. 2^17 every second power
        assert_eq!(size_label(65_536.0), "64K");
        assert_eq!(size_label(1_048_576.0), "1M");
        assert_eq!(size_label(10_240.0), "10K");
        assert_eq!(number_label(0.25), "0.25");
        assert_eq!(number_label(2.5), "2.5");
        let linear = Axis::new([0.0, 950.0].into_iter(), false, 0.0, 100.0);
        assert_eq!(linear.ticks().first(), Some(&0.0));
        assert!(linear.ticks().len() <= 8);
    }

    #[test]
    fn an_empty_chart_still_renders_axes() {
        let svg = Chart {
            title: "empty".into(),
            y_label: "y".into(),
            y_log: false,
            panels: vec![],
        }
        .to_svg();
        assert!(svg.contains("message size"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        assert!(!svg.contains("legend-"), "no entries, no legend box");
    }
}
