//! Charts as SVG text: latency and bandwidth against message size on log axes, with shaded
//! percentile bands. Written by hand rather than through a plotting library because the charts
//! are few and simple, and hand-written SVG is small, deterministic (snapshot-testable) and
//! needs no fonts or network when it is inlined into the HTML report.

use std::fmt::Write;

/// Colours of the series, in order (colour-blind safe, from the Okabe-Ito palette).
pub const PALETTE: [&str; 8] = [
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#f0e442", "#000000",
];

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 420.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 200.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 55.0;

/// A line through points (x, y), drawn solid or dashed.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Legend text.
    pub label: String,
    /// Stroke colour.
    pub color: String,
    /// Points in data units, ascending x.
    pub points: Vec<(f64, f64)>,
    /// Dashed (for secondary lines such as a tail percentile).
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

/// A chart with a log-scale x axis of message sizes.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Title above the plot.
    pub title: String,
    /// y axis label.
    pub y_label: String,
    /// Log scale on y as well.
    pub y_log: bool,
    /// Areas, drawn first.
    pub bands: Vec<Band>,
    /// Lines, drawn over the bands.
    pub lines: Vec<Line>,
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

    /// Tick values: 1-2-5 steps per decade on a log axis, about six steps on a linear one.
    fn ticks(&self) -> Vec<f64> {
        if self.log {
            let mut ticks = Vec::new();
            let mut decade = self.min;
            while decade <= self.max * 1.000_001 {
                for m in [1.0, 2.0, 5.0] {
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

impl Chart {
    /// Renders the chart as a standalone SVG document (also valid inline in HTML).
    pub fn to_svg(&self) -> String {
        let xs = || {
            self.lines
                .iter()
                .flat_map(|l| l.points.iter().map(|p| p.0))
                .chain(self.bands.iter().flat_map(|b| b.points.iter().map(|p| p.0)))
        };
        let ys = || {
            self.lines
                .iter()
                .flat_map(|l| l.points.iter().map(|p| p.1))
                .chain(
                    self.bands
                        .iter()
                        .flat_map(|b| b.points.iter().flat_map(|p| [p.1, p.2])),
                )
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
        let x = Axis {
            min: x_min,
            max: x_max,
            log: true,
            from: LEFT,
            to: WIDTH - RIGHT,
        };
        let y = Axis::new(ys(), self.y_log, HEIGHT - BOTTOM, TOP);
        let mut svg = String::new();
        let _ = writeln!(
            svg,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">"
        );
        let _ = writeln!(
            svg,
            "<rect width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"#ffffff\"/>\n<text x=\"{LEFT}\" y=\"24\" font-size=\"15\" font-weight=\"bold\">{}</text>",
            escape(&self.title)
        );
        // Grid and ticks.
        for v in y.ticks() {
            let py = y.map(v);
            let _ = writeln!(
                svg,
                "<line x1=\"{LEFT}\" y1=\"{py:.1}\" x2=\"{:.1}\" y2=\"{py:.1}\" stroke=\"#e0e0e0\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                WIDTH - RIGHT,
                LEFT - 6.0,
                py + 4.0,
                number_label(v)
            );
        }
        for v in size_ticks(x_min, x_max) {
            let px = x.map(v);
            let _ = writeln!(
                svg,
                "<line x1=\"{px:.1}\" y1=\"{TOP}\" x2=\"{px:.1}\" y2=\"{:.1}\" stroke=\"#e0e0e0\"/><text x=\"{px:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                HEIGHT - BOTTOM,
                HEIGHT - BOTTOM + 16.0,
                size_label(v)
            );
        }
        let _ = writeln!(
            svg,
            "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"#808080\"/>",
            WIDTH - RIGHT - LEFT,
            HEIGHT - BOTTOM - TOP
        );
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">message size (bytes, log scale)</text>",
            (LEFT + WIDTH - RIGHT) / 2.0,
            HEIGHT - 14.0
        );
        let _ = writeln!(
            svg,
            "<text transform=\"translate(16 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
            (TOP + HEIGHT - BOTTOM) / 2.0,
            escape(&self.y_label)
        );
        // Data.
        for band in &self.bands {
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
        for line in &self.lines {
            let points: Vec<(f64, f64)> = line
                .points
                .iter()
                .map(|p| (x.map(p.0), y.map(p.1)))
                .collect();
            let dash = if line.dashed {
                " stroke-dasharray=\"5 4\""
            } else {
                ""
            };
            let _ = writeln!(
                svg,
                "<path class=\"line\" d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{dash}/>",
                polyline(&points),
                line.color
            );
            for (px, py) in &points {
                let _ = writeln!(
                    svg,
                    "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"2.5\" fill=\"{}\"/>",
                    line.color
                );
            }
        }
        // Legend.
        let legend_x = WIDTH - RIGHT + 14.0;
        let entries = self
            .lines
            .iter()
            .map(|l| {
                (
                    l.label.as_str(),
                    l.color.as_str(),
                    if l.dashed { 0.6 } else { 1.0 },
                    true,
                )
            })
            .chain(
                self.bands
                    .iter()
                    .map(|b| (b.label.as_str(), b.color.as_str(), b.opacity, false)),
            );
        for (i, (label, color, opacity, is_line)) in entries.enumerate() {
            let ly = TOP + 10.0 + 20.0 * i as f64;
            if is_line {
                let _ = write!(
                    svg,
                    "<line x1=\"{legend_x:.1}\" y1=\"{ly:.1}\" x2=\"{:.1}\" y2=\"{ly:.1}\" stroke=\"{color}\" stroke-width=\"2\" stroke-opacity=\"{opacity}\"/>",
                    legend_x + 18.0
                );
            } else {
                let _ = write!(
                    svg,
                    "<rect x=\"{legend_x:.1}\" y=\"{:.1}\" width=\"18\" height=\"10\" fill=\"{color}\" fill-opacity=\"{opacity}\"/>",
                    ly - 5.0
                );
            }
            let _ = writeln!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                legend_x + 24.0,
                ly + 4.0,
                escape(label)
            );
        }
        svg.push_str("</svg>\n");
        svg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> Chart {
        Chart {
            title: "pingpong latency".into(),
            y_label: "half round trip (usec)".into(),
            y_log: true,
            bands: vec![Band {
                label: "node p50..p99".into(),
                color: PALETTE[0].into(),
                opacity: 0.25,
                points: vec![(4.0, 9.0, 12.0), (102_400.0, 44.0, 47.0)],
            }],
            lines: vec![Line {
                label: "node <mean>".into(),
                color: PALETTE[0].into(),
                points: vec![(4.0, 10.26), (102_400.0, 44.9)],
                dashed: false,
            }],
        }
    }

    #[test]
    fn charts_are_deterministic_svg_with_escaped_text() {
        let svg = chart().to_svg();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("node &lt;mean&gt;"));
        assert_eq!(svg, chart().to_svg());
        insta::assert_snapshot!(svg);
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
            bands: vec![],
            lines: vec![],
        }
        .to_svg();
        assert!(svg.contains("message size"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }
}
