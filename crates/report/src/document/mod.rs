//! The report over many results files (`rdmabench report`, and what `rdmabench run` writes):
//! per series the seed's table and percentiles, comparisons against a baseline with their
//! spread, the seed's published numbers where they apply, the environment, and notes.
//!
//! The human formats are built from one list of blocks (headings, paragraphs, tables), so the
//! terminal, markdown and HTML reports cannot disagree; JSON and CSV are data views.

mod charts;
mod csv;
mod definitions;
mod html;
mod json;
mod markdown;
mod text;

use std::fmt;
use std::str::FromStr;

use rdmabench_stats::quality::{
    ADVICE, DESCHEDULED_PER_SECOND_LIMIT, MEAN_OVER_MEDIAN_LIMIT, P99_OVER_MEDIAN_LIMIT,
    STEAL_PERCENT_LIMIT,
};
use rdmabench_stats::units::{seed_count, seed_time, usec};
use rdmabench_stats::NoiseSign;

use crate::collection::{
    Collection, LoadedRun, Metric, Series, SizeAcrossRuns, Statistic, TestGroup,
};
use crate::comparison::{baseline_index, compare, Comparison, ComparisonRow};
use crate::error::ReportError;
use crate::format::{
    cell, describe, or_dash, size_cell, BandwidthUnit, NOT_REPORTED, ROUNDED_FOOTNOTE,
};
use crate::model::Figure;
use crate::plot::Chart;
use crate::seed::{seed_verdict, SeedVerdict, SEED_ATTRIBUTION};
use crate::tables::Align;

/// How a report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// Aligned text for terminals.
    Table,
    /// For READMEs, tickets and pull requests.
    Markdown,
    /// Every figure as data, for scripts.
    Json,
    /// One row per series and size, for spreadsheets.
    Csv,
    /// One self-contained page with inline SVG charts, for browsers and tickets.
    Html,
}

/// A single run's formats as the report over several runs writes them (e.g. the summary of
/// `--repeat` runs in the format asked for one).
impl From<crate::format::Format> for ReportFormat {
    fn from(format: crate::format::Format) -> Self {
        match format {
            crate::format::Format::Table => ReportFormat::Table,
            crate::format::Format::Json => ReportFormat::Json,
            crate::format::Format::Csv => ReportFormat::Csv,
            crate::format::Format::Markdown => ReportFormat::Markdown,
        }
    }
}

impl ReportFormat {
    const ALL: [ReportFormat; 5] = [
        ReportFormat::Table,
        ReportFormat::Markdown,
        ReportFormat::Json,
        ReportFormat::Csv,
        ReportFormat::Html,
    ];

    fn name(self) -> &'static str {
        match self {
            ReportFormat::Table => "table",
            ReportFormat::Markdown => "markdown",
            ReportFormat::Json => "json",
            ReportFormat::Csv => "csv",
            ReportFormat::Html => "html",
        }
    }

    /// The usual file name extension, for files a pipeline writes.
    pub fn extension(self) -> &'static str {
        match self {
            ReportFormat::Table => "txt",
            ReportFormat::Markdown => "md",
            ReportFormat::Json => "json",
            ReportFormat::Csv => "csv",
            ReportFormat::Html => "html",
        }
    }
}

impl fmt::Display for ReportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ReportFormat {
    type Err = ReportError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        ReportFormat::ALL
            .into_iter()
            .find(|f| f.name() == wanted)
            .ok_or_else(|| ReportError::UnknownReportFormat(s.to_string()))
    }
}

/// One test's part of the report.
#[derive(Debug, Clone)]
pub struct Section {
    /// What its figures measure: latency, or bandwidth.
    pub metric: Metric,
    /// Its series, in the order given.
    pub group: TestGroup,
    /// Index of the baseline series in `group.series`.
    pub baseline: usize,
    /// Every other series against the baseline.
    pub comparisons: Vec<Comparison>,
    /// Every series against the seed's numbers (or why not).
    pub seed: Vec<SeedVerdict>,
}

/// A report over any number of results files.
#[derive(Debug, Clone)]
pub struct Report {
    /// One section per test.
    pub sections: Vec<Section>,
    /// What a reader must know that the tables do not show.
    pub notes: Vec<String>,
    /// How many files it covers.
    pub files: usize,
    /// How the text formats show bandwidth.
    pub bandwidth_unit: BandwidthUnit,
    /// The terminal's width, to fit the table format to; None (pipes, files) keeps one fixed,
    /// deterministic layout.
    pub terminal_width: Option<u16>,
}

impl Report {
    /// Groups the runs and compares each test's series with its baseline (`baseline` names
    /// one by label; by default node mode, else kernel TCP, else the first series) on the
    /// latency `statistic` (`--metric`).
    pub fn build(
        runs: Vec<LoadedRun>,
        baseline: Option<&str>,
        statistic: Statistic,
    ) -> Result<Report, ReportError> {
        if runs.is_empty() {
            return Err(ReportError::NoResults);
        }
        let files = runs.len();
        let Collection { tests, notes } = Collection::new(runs);
        let mut sections = Vec::new();
        for group in tests {
            let base = baseline_index(&group.test, &group.series, baseline)
                .map_err(|e| ReportError::Baseline(e.to_string()))?;
            let metric = Metric::of(&group.series);
            let comparisons = group
                .series
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != base)
                .map(|(_, other)| compare(metric, statistic, &group.series[base], other))
                .collect();
            let seed = group.series.iter().map(seed_verdict).collect();
            sections.push(Section {
                metric,
                group,
                baseline: base,
                comparisons,
                seed,
            });
        }
        Ok(Report {
            sections,
            notes,
            files,
            bandwidth_unit: BandwidthUnit::default(),
            terminal_width: None,
        })
    }

    /// Writes the report in `format`.
    pub fn render(&self, format: ReportFormat) -> String {
        match format {
            ReportFormat::Table => text::render(&self.blocks(), self.terminal_width),
            ReportFormat::Markdown => markdown::render(&self.blocks()),
            ReportFormat::Json => json::render(self),
            ReportFormat::Csv => csv::render(self),
            ReportFormat::Html => html::render(&self.blocks()),
        }
    }

    /// Every chart of the report with its file stem, for writing them as files.
    pub fn charts(&self) -> Vec<(String, Chart)> {
        self.blocks()
            .into_iter()
            .filter_map(|block| match block {
                Block::Chart { name, chart } => Some((name, chart)),
                _ => None,
            })
            .collect()
    }

    /// The report as headings, paragraphs and tables, for the human formats.
    pub fn blocks(&self) -> Vec<Block> {
        let mut blocks = vec![
            Block::Heading(1, "rdmabench report".into()),
            Block::Paragraph(format!(
                "{} results file{}. Latencies are half round trips in usec; \"usec\" is total \
                 time / (2 x messages), as fi_pingpong and the seed's table define it. With \
                 repetitions, figures are medians across them.",
                self.files,
                if self.files == 1 { "" } else { "s" }
            )),
        ];
        // The summary charts lead, before any table (the text formats leave charts out).
        for section in &self.sections {
            charts::summary_chart(section, &mut blocks);
        }
        for section in &self.sections {
            section_blocks(section, self.bandwidth_unit, &mut blocks);
        }
        blocks.push(Block::Heading(2, "Environment".into()));
        blocks.push(environment_table(&self.sections));
        if !self.notes.is_empty() {
            blocks.push(Block::Heading(2, "Notes".into()));
            blocks.push(Block::List(self.notes.clone()));
        }
        blocks
    }
}

/// A piece of a human-readable report.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A heading of level 1-3.
    Heading(u8, String),
    /// A line of text.
    Paragraph(String),
    /// A table.
    Table(Table),
    /// A bulleted list.
    List(Vec<String>),
    /// A chart; `name` is its file stem when written on its own (the text formats skip it).
    Chart {
        /// File stem, e.g. "pingpong-latency".
        name: String,
        /// The chart.
        chart: Chart,
    },
}

/// Writes blocks in a text format: `heading` and `table` are the format's own, paragraphs are
/// lines, lists are "- " items, charts are left to the HTML report and the plot files, and a
/// blank line separates blocks.
fn render_text_blocks(
    blocks: &[Block],
    heading: impl Fn(u8, &str, &mut String),
    table: impl Fn(&Table, &mut String),
) -> String {
    let mut out = String::new();
    for block in blocks {
        match block {
            Block::Heading(level, text) => heading(*level, text, &mut out),
            Block::Paragraph(text) => {
                out.push_str(text);
                out.push('\n');
            }
            Block::Table(t) => table(t, &mut out),
            Block::List(items) => {
                for item in items {
                    out.push_str("- ");
                    out.push_str(item);
                    out.push('\n');
                }
            }
            Block::Chart { .. } => continue,
        }
        out.push('\n');
    }
    out.pop();
    out
}

/// A table of text cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Column headings.
    pub headers: Vec<String>,
    /// Rows of cells, one per header.
    pub rows: Vec<Vec<String>>,
    /// The seed README's table, which markdown writes with the seed's exact separator line.
    pub seed_style: bool,
    /// Columns after the first are numbers (right-aligned).
    pub numeric: bool,
}

impl Table {
    /// How column `i` lines up: numbers right; the seed's table all right, as fi_pingpong
    /// prints it.
    fn align(&self, i: usize) -> Align {
        if self.seed_style || self.numeric && i > 0 {
            Align::Right
        } else {
            Align::Left
        }
    }

    fn block(headers: &[&str], rows: Vec<Vec<String>>) -> Block {
        Block::Table(Table {
            headers: headers.iter().map(|h| (*h).to_string()).collect(),
            rows,
            seed_style: false,
            numeric: true,
        })
    }
}

/// The seed README's header row, as markdown writes it.
pub const SEED_MARKDOWN_HEADER: &str = "| Number of messages | Message size | Time spent | usec |\n| ------------------ | ------------ | ---------- | ---------------- |\n";

/// The seed table's columns.
const SEED_HEADERS: [&str; 4] = ["Number of messages", "Message size", "Time spent", "usec"];

fn percent(value: f64) -> String {
    format!("{value:+.2}%")
}

/// `other` as a multiple of `baseline` ("1.05x"); "-" without a baseline figure.
fn ratio(other: u64, baseline: u64) -> String {
    if baseline == 0 {
        NOT_REPORTED.into()
    } else {
        format!("{:.2}x", other as f64 / baseline as f64)
    }
}

/// What the marks mean, under a table that has any.
fn rounded_footnote(marked: bool, out: &mut Vec<Block>) {
    if marked {
        out.push(Block::Paragraph(ROUNDED_FOOTNOTE.into()));
    }
}

/// Whether the series labelled `label` holds `size` rounded as its tool printed it.
fn size_rounded(section: &Section, label: &str, size: u64) -> bool {
    section
        .group
        .series
        .iter()
        .filter(|s| s.label == label)
        .filter_map(|s| s.size(size))
        .any(|s| s.is_rounded(Figure::SizeBytes))
}

fn series_blocks(series: &Series, metric: Metric, unit: BandwidthUnit, out: &mut Vec<Block>) {
    out.push(Block::Heading(3, series.label.clone()));
    let first = &series.runs[0].results;
    let runs = series.runs.len();
    out.push(Block::Paragraph(format!(
        "{}; {} run{}.",
        describe(first),
        runs,
        if runs == 1 {
            String::new()
        } else {
            "s, medians across them".to_string()
        }
    )));
    let marked = series.sizes.iter().any(|s| !s.rounded.is_empty());
    if metric == Metric::Bandwidth {
        bandwidth_series_table(series, unit, out);
        rounded_footnote(marked, out);
        return;
    }
    let seed_rows = series
        .sizes
        .iter()
        .map(|s| {
            vec![
                cell(
                    s.iterations.map(seed_count),
                    s.is_rounded(Figure::Iterations),
                ),
                size_cell(s.size_bytes, s.is_rounded(Figure::SizeBytes)),
                cell(s.total_ns.map(seed_time), s.is_rounded(Figure::TotalNs)),
                or_dash(s.mean_ns),
            ]
        })
        .collect();
    out.push(Block::Table(Table {
        headers: SEED_HEADERS.iter().map(|h| (*h).to_string()).collect(),
        rows: seed_rows,
        seed_style: true,
        numeric: false,
    }));
    let mut headers = vec![
        "Message size",
        "min",
        "p50",
        "p90",
        "p99",
        "p99.9",
        "max",
        "MB/s",
    ];
    if runs > 1 {
        headers.push("usec across runs");
    }
    let precision = series.sizes.iter().any(|s| !s.precision_by_run.is_empty());
    if precision {
        headers.push("mean's 95 % CI");
    }
    let noisy = series.sizes.iter().any(|s| s.noisy_runs() > 0);
    if noisy {
        headers.push("noise");
    }
    let rows = series
        .sizes
        .iter()
        .map(|s| {
            let mut row = vec![
                size_cell(s.size_bytes, s.is_rounded(Figure::SizeBytes)),
                or_dash(s.min_ns),
                or_dash(s.p50_ns),
                or_dash(s.p90_ns),
                or_dash(s.p99_ns),
                or_dash(s.p999_ns),
                or_dash(s.max_ns),
                cell(
                    s.megabytes_per_sec.map(|m| format!("{m:.1}")),
                    s.is_rounded(Figure::SizeBytes),
                ),
            ];
            if runs > 1 {
                row.push(format!(
                    "{} .. {}",
                    or_dash(s.mean_ns_min),
                    or_dash(s.mean_ns_max)
                ));
            }
            if precision {
                row.push(precision_cell(&s.precision_by_run));
            }
            if noisy {
                row.push(noise_cell(s));
            }
            row
        })
        .collect();
    out.push(Table::block(&headers, rows));
    rounded_footnote(marked, out);
    if noisy {
        out.push(Block::Paragraph(format!(
            "Noise: the sizes marked were measured with signs of a disturbed host (limits: mean above {MEAN_OVER_MEDIAN_LIMIT}x the median, p99 above {P99_OVER_MEDIAN_LIMIT}x, over {DESCHEDULED_PER_SECOND_LIMIT} involuntary context switches a second, over {STEAL_PERCENT_LIMIT} % CPU steal), so their figures may be the host's: {ADVICE}."
        )));
    }
}

/// The signs of noise of a size across runs ("mean >> median, descheduled (2 of 3 runs)"), or
/// "-".
fn noise_cell(s: &SizeAcrossRuns) -> String {
    let signs = signs_text(&s.noise_signs());
    match (s.noisy_runs(), s.noise_by_run.len()) {
        (0, _) => "-".into(),
        (_, 1) => signs,
        (noisy, runs) => format!("{signs} ({noisy} of {runs} runs)"),
    }
}

/// Signs in a few words each, or "-" for none.
fn signs_text(signs: &[NoiseSign]) -> String {
    if signs.is_empty() {
        return "-".into();
    }
    signs
        .iter()
        .map(|s| s.short())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which side of a comparison row was noisy, and how.
fn comparison_noise_cell(c: &Comparison, r: &ComparisonRow) -> String {
    [(&c.baseline, &r.baseline_noise), (&c.other, &r.other_noise)]
        .into_iter()
        .filter(|(_, signs)| !signs.is_empty())
        .map(|(label, signs)| format!("{label}: {}", signs_text(signs)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The widest 95 % interval of the mean among the runs (`--precision`), marked when a ceiling
/// stopped a run before it reached the target.
fn precision_cell(qualities: &[rdmabench_stats::Precision]) -> String {
    use rdmabench_stats::StopReason;
    if qualities.is_empty() {
        return "-".into();
    }
    let widest = qualities
        .iter()
        .map(|q| q.mean_ci95_percent)
        .try_fold(0.0_f64, |w, p| p.map(|p| w.max(p)));
    let interval = widest.map_or("none".to_string(), |w| format!("+-{w:.2}%"));
    if qualities
        .iter()
        .all(|q| q.stopped == StopReason::PrecisionReached)
    {
        interval
    } else {
        format!(
            "{interval} (ceiling before +-{}%)",
            qualities[0].target_percent
        )
    }
}

/// A bandwidth series: perftest's columns, medians across runs, and the runs' spread.
fn bandwidth_series_table(series: &Series, unit: BandwidthUnit, out: &mut Vec<Block>) {
    let runs = series.runs.len();
    let name = unit.name();
    let peak = format!("BW peak [{name}]");
    let average = format!("BW average [{name}]");
    let spread = format!("BW average across runs [{name}]");
    let mut headers = vec![
        "Message size",
        "Messages",
        &peak,
        &average,
        "MsgRate [Mpps]",
    ];
    if runs > 1 {
        headers.push(&spread);
    }
    let rows = series
        .sizes
        .iter()
        .map(|s| {
            let mut row = vec![
                size_cell(s.size_bytes, s.is_rounded(Figure::SizeBytes)),
                cell(
                    s.iterations.map(seed_count),
                    s.is_rounded(Figure::Iterations),
                ),
                unit.or_dash(s.peak_bytes_per_sec),
                unit.or_dash(s.average_bytes_per_sec),
                s.messages_per_sec
                    .map_or_else(|| NOT_REPORTED.into(), |m| format!("{:.3}", m as f64 / 1e6)),
            ];
            if runs > 1 {
                row.push(format!(
                    "{} .. {}",
                    unit.or_dash(s.average_bytes_per_sec_min),
                    unit.or_dash(s.average_bytes_per_sec_max)
                ));
            }
            row
        })
        .collect();
    out.push(Table::block(&headers, rows));
}

/// How a comparison's figures are shown: usec for latency, the bandwidth unit otherwise.
fn show_figure(metric: Metric, unit: BandwidthUnit, value: u64) -> String {
    match metric {
        Metric::Latency => usec(value),
        Metric::Bandwidth => unit.show(value),
    }
}

fn comparison_blocks(section: &Section, c: &Comparison, unit: BandwidthUnit, out: &mut Vec<Block>) {
    out.push(Block::Heading(
        3,
        format!("{} against {} (baseline)", c.other, c.baseline),
    ));
    let spread_header = if c.pairs > 1 {
        format!("spread across {} paired runs", c.pairs)
    } else {
        "spread across runs".to_string()
    };
    let figure = match c.metric {
        Metric::Latency => format!("{} usec", c.statistic.name()),
        Metric::Bandwidth => unit.name().to_string(),
    };
    let baseline_header = format!("{} {figure}", c.baseline);
    let other_header = format!("{} {figure}", c.other);
    let difference_header = format!("difference {figure}");
    let ratio_header = format!("{} / {}", c.other, c.baseline);
    let noisy = c.rows.iter().any(ComparisonRow::is_noisy);
    let mut headers = vec![
        "Message size",
        baseline_header.as_str(),
        other_header.as_str(),
        difference_header.as_str(),
        ratio_header.as_str(),
        "overhead",
        spread_header.as_str(),
    ];
    if noisy {
        headers.push("noise");
    }
    let size_rounded =
        |size| size_rounded(section, &c.baseline, size) || size_rounded(section, &c.other, size);
    let rows = c
        .rows
        .iter()
        .map(|r| {
            let spread = match (
                r.paired_overheads_percent.iter().copied().reduce(f64::min),
                r.paired_overheads_percent.iter().copied().reduce(f64::max),
            ) {
                (Some(lo), Some(hi)) => format!(
                    "{} .. {} (median {})",
                    percent(lo),
                    percent(hi),
                    percent(r.paired_median_percent)
                ),
                _ => "one run each: repeat to see the spread".to_string(),
            };
            let mut row = vec![
                size_cell(r.size_bytes, size_rounded(r.size_bytes)),
                show_figure(c.metric, unit, r.baseline),
                show_figure(c.metric, unit, r.other),
                match c.metric {
                    Metric::Latency => format!("{:+.2}", r.difference as f64 / 1000.0),
                    Metric::Bandwidth => {
                        let sign = if r.difference < 0 { "-" } else { "+" };
                        format!("{sign}{}", unit.show(r.difference.unsigned_abs()))
                    }
                },
                ratio(r.other, r.baseline),
                percent(r.overhead_percent),
                spread,
            ];
            if noisy {
                row.push(comparison_noise_cell(c, r));
            }
            row
        })
        .collect();
    out.push(Table::block(&headers, rows));
    rounded_footnote(c.rows.iter().any(|r| size_rounded(r.size_bytes)), out);
    if let Some(note) = &c.statistic_note {
        out.push(Block::Paragraph(format!("Compared: means. {note}.")));
    }
    if noisy {
        out.push(Block::Paragraph(format!(
            "Noise: at the sizes marked, a side was measured on a disturbed host, so the difference may be the host's: {ADVICE}."
        )));
    }
    if !c.uncompared_sizes.is_empty() {
        let sizes: Vec<String> = c.uncompared_sizes.iter().map(u64::to_string).collect();
        out.push(Block::Paragraph(format!(
            "Not compared: size(s) {} B were measured by only one of the two.",
            sizes.join(", ")
        )));
    }
}

fn seed_blocks(section: &Section, out: &mut Vec<Block>) {
    out.push(Block::Heading(
        3,
        "Against the seed's published numbers".into(),
    ));
    out.push(Block::Paragraph(format!("Reference: {SEED_ATTRIBUTION}.")));
    for verdict in &section.seed {
        match verdict {
            SeedVerdict::Compared {
                series,
                seed_mode,
                rows,
            } => {
                let ours = format!("{series} usec");
                let seed = format!("seed {seed_mode} usec");
                let rounded = |size| size_rounded(section, series, size);
                let marked = rows.iter().any(|r| rounded(r.size_bytes));
                let rows = rows
                    .iter()
                    .map(|r| {
                        vec![
                            size_cell(r.size_bytes, rounded(r.size_bytes)),
                            usec(r.measured_ns),
                            usec(r.seed_ns),
                            percent(r.difference_percent),
                        ]
                    })
                    .collect();
                out.push(Table::block(
                    &["Message size", &ours, &seed, "difference"],
                    rows,
                ));
                rounded_footnote(marked, out);
            }
            SeedVerdict::NotComparable { series, reasons } => {
                out.push(Block::Paragraph(format!(
                    "{series}: not compared, the setup differs: {}.",
                    reasons.join("; ")
                )));
            }
        }
    }
}

fn section_blocks(section: &Section, unit: BandwidthUnit, out: &mut Vec<Block>) {
    out.push(Block::Heading(2, section.group.test.clone()));
    if section.metric == Metric::Bandwidth {
        out.push(Block::Paragraph(
            "Bandwidth test: higher is better; overhead = how much less bandwidth a series \
             has than the baseline (baseline / series - 1)."
                .into(),
        ));
    }
    for series in &section.group.series {
        series_blocks(series, section.metric, unit, out);
    }
    definitions::definitions(section, out);
    charts::section_charts(section, out);
    for comparison in &section.comparisons {
        comparison_blocks(section, comparison, unit, out);
        charts::comparison_chart(&section.group.test, comparison, out);
    }
    seed_blocks(section, out);
}

/// The libfabric version, with the EFA installer and kernel module where the host has them
/// (two EFA runs with the same libfabric can differ in both).
fn libfabric_and_efa(host: &rdmabench_results::HostFacts) -> String {
    let mut text = host.libfabric_version.clone().unwrap_or_else(|| "-".into());
    if let Some(efa) = &host.efa {
        let parts: Vec<String> = [
            efa.installer_version
                .as_ref()
                .map(|v| format!("EFA installer {v}")),
            efa.kernel_module
                .as_ref()
                .map(|v| format!("efa module {v}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !parts.is_empty() {
            text.push_str(&format!(" ({})", parts.join(", ")));
        }
    }
    text
}

fn environment_table(sections: &[Section]) -> Block {
    let or_dash = |value: Option<&String>| value.map_or("-".to_string(), Clone::clone);
    let mut rows = Vec::new();
    for series in sections.iter().flat_map(|s| &s.group.series) {
        for run in &series.runs {
            let r = &run.results;
            let local = &r.endpoints.local;
            let hosts = match &r.endpoints.peer {
                Some(peer) => format!("{} / {}", local.hostname, peer.hostname),
                None => local.hostname.clone(),
            };
            let provider = match (&r.fabric, r.parameters.transport.as_str()) {
                (Some(f), _) => format!("{} ({}, {})", f.provider, f.fabric, f.domain),
                (None, "socket") => "kernel TCP".to_string(),
                // Another tool's run: the provider it was given.
                (None, _) => r.parameters.provider.clone(),
            };
            let placement = r.placement.as_ref().map_or("-".to_string(), |p| {
                let mut text = format!("{} {} {}", p.target, p.cluster, p.mode);
                if !p.instance_type.is_empty() {
                    text.push_str(&format!(" on {}", p.instance_type));
                }
                if !p.server_node.is_empty() {
                    text.push_str(&format!(", {} -> {}", p.client_node, p.server_node));
                }
                // Only pod mode depends on these: node mode reaches the devices through the host
                // and uses the host network, which no policy governs.
                let pod_mode = p.mode == "pod";
                if let Some(mechanism) = p.efa_devices.as_ref().filter(|_| pod_mode) {
                    text.push_str(&format!(", EFA by {mechanism}"));
                }
                if let Some(policy) = p
                    .network_policy
                    .as_ref()
                    .filter(|n| pod_mode && n.enforcing)
                {
                    let engine = policy.engine.as_deref().unwrap_or("unknown engine");
                    text.push_str(&format!(", NetworkPolicies enforced ({engine})"));
                }
                text
            });
            rows.push(vec![
                series.label.clone(),
                run.source.clone(),
                r.timestamp.clone(),
                hosts,
                or_dash(local.kernel.as_ref()),
                or_dash(local.cpu_model.as_ref()),
                libfabric_and_efa(local),
                provider,
                placement,
            ]);
        }
    }
    Block::Table(Table {
        headers: [
            "series",
            "file",
            "started",
            "hosts",
            "kernel",
            "CPU",
            "libfabric",
            "provider (fabric, domain)",
            "placement",
        ]
        .iter()
        .map(|h| (*h).to_string())
        .collect(),
        rows,
        seed_style: false,
        numeric: false,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::format::sample;
    use crate::model::{Placement, ResultsFile};

    fn placed(mode: &str, percent: u64, repetition: u32) -> ResultsFile {
        let mut r = sample::results();
        r.placement = Some(Placement {
            target: "eks".into(),
            cluster: "rdmabench".into(),
            mode: mode.into(),
            namespace: "rdmabench".into(),
            server_node: "ip-a".into(),
            client_node: "ip-b".into(),
            instance_type: "m7g.16xlarge".into(),
            image: "repo:tag".into(),
            repetition,
            efa_devices: Some("dra".into()),
            network_policy: Some(crate::model::NetworkPolicyEnforcement {
                engine: Some("calico".into()),
                enforcing: true,
                policies_in_namespace: 0,
            }),
        });
        // Slower by `percent` in every figure, as a pod whose path costs more would be.
        let scale = |ns: u64| ns * percent / 100;
        for row in &mut r.results {
            row.total_ns = row.total_ns.map(scale);
            if let Some(l) = &mut row.latency {
                for figure in [
                    &mut l.min_ns,
                    &mut l.p50_ns,
                    &mut l.p90_ns,
                    &mut l.p99_ns,
                    &mut l.p999_ns,
                    &mut l.max_ns,
                ] {
                    *figure = figure.map(scale);
                }
                l.mean_ns = scale(l.mean_ns);
            }
        }
        r
    }

    /// A node-vs-pod run with two repetitions each, alternating as `k8s run` writes them.
    pub fn node_and_pod() -> Report {
        let runs = [
            ("node-1.json", placed("node", 100, 1)),
            ("pod-1.json", placed("pod", 102, 1)),
            ("node-2.json", placed("node", 101, 2)),
            ("pod-2.json", placed("pod", 104, 2)),
        ]
        .into_iter()
        .map(|(source, results)| LoadedRun {
            source: source.into(),
            results,
        })
        .collect();
        Report::build(runs, None, Statistic::default()).unwrap()
    }

    #[test]
    fn node_against_pod_with_repetitions_and_the_seed() {
        let report = node_and_pod();
        let section = &report.sections[0];
        assert_eq!(section.group.series[section.baseline].label, "node");
        assert_eq!(section.comparisons.len(), 1);
        let markdown = report.render(ReportFormat::Markdown);
        assert!(markdown.contains(SEED_MARKDOWN_HEADER), "{markdown}");
        assert!(
            markdown.contains("### pod against node (baseline)"),
            "{markdown}"
        );
        insta::assert_snapshot!("node_and_pod_markdown", markdown);
        insta::assert_snapshot!("node_and_pod_table", report.render(ReportFormat::Table));
        insta::assert_snapshot!("node_and_pod_csv", report.render(ReportFormat::Csv));
        insta::assert_snapshot!("node_and_pod_json", report.render(ReportFormat::Json));
        let html = report.render(ReportFormat::Html);
        assert_eq!(
            html.matches("<svg ").count(),
            4,
            "summary, latency, bandwidth, overhead"
        );
        assert!(!html.contains("<script") && !html.contains("src=\"http"));
        insta::assert_snapshot!("node_and_pod_html", html);
    }

    #[test]
    fn rounded_figures_of_an_imported_run_are_marked_wherever_they_show() {
        // rdmabench measured 11264 B too, so fi_pingpong's printed "11k" is compared with it.
        let mut ours = sample::results();
        ours.results[1].size_bytes = 11 * 1024;
        ours.parameters.sizes_bytes[1] = 11 * 1024;
        let runs = [
            ("ours.json", ours),
            ("fi.json", sample::imported_fi_pingpong()),
        ]
        .into_iter()
        .map(|(source, results)| LoadedRun {
            source: source.into(),
            results,
        })
        .collect();
        let report = Report::build(runs, None, Statistic::default()).unwrap();
        let markdown = report.render(ReportFormat::Markdown);
        assert!(
            markdown.contains("| ~1k | ~11264 | ~0.21s | 70.52 |"),
            "{markdown}"
        );
        assert!(
            markdown.contains("| 1m | 11264 | 89.79s | 44.90 |"),
            "rdmabench's own figures stay unmarked: {markdown}"
        );
        let comparison = markdown
            .split("against")
            .nth(1)
            .expect("a comparison with the baseline");
        assert!(comparison.contains("| ~11264 | 44."), "{markdown}");
        // Under the series' tables and under the comparison's.
        assert_eq!(markdown.matches(ROUNDED_FOOTNOTE).count(), 2, "{markdown}");
        let json: serde_json::Value =
            serde_json::from_str(&report.render(ReportFormat::Json)).unwrap();
        let fi = &json["tests"][0]["series"][1];
        assert_eq!(
            fi["sizes"][0]["rounded"],
            serde_json::json!(["size_bytes", "iterations", "total_ns"])
        );
        assert_eq!(
            json["tests"][0]["series"][0]["sizes"][1]["rounded"],
            serde_json::json!([])
        );
    }

    #[test]
    fn an_empty_report_and_an_unknown_baseline_are_errors() {
        assert!(matches!(
            Report::build(Vec::new(), None, Statistic::default()).unwrap_err(),
            ReportError::NoResults
        ));
        let runs = vec![LoadedRun {
            source: "a".into(),
            results: sample::results(),
        }];
        let error = Report::build(runs, Some("pod"), Statistic::default())
            .unwrap_err()
            .to_string();
        assert!(error.contains("names no series"), "{error}");
    }

    /// `--precision` runs show the widest of their mean's intervals, and say when a ceiling
    /// came first.
    #[test]
    fn precision_runs_show_their_widest_interval_and_any_ceiling() {
        use rdmabench_stats::{Precision, StopReason};
        let quality = |percent: Option<f64>, stopped| Precision {
            target_percent: 1.0,
            mean_ci95_percent: percent,
            median_ci95_percent: percent,
            batches: 40,
            batch_size: 16,
            lag1_autocorrelation: 0.0,
            stopped,
        };
        let reached = quality(Some(0.5), StopReason::PrecisionReached);
        assert_eq!(precision_cell(&[]), "-");
        assert_eq!(
            precision_cell(&[
                reached.clone(),
                quality(Some(0.9), StopReason::PrecisionReached)
            ]),
            "+-0.90%"
        );
        assert_eq!(
            precision_cell(&[reached, quality(Some(3.25), StopReason::IterationCeiling)]),
            "+-3.25% (ceiling before +-1%)"
        );
        assert_eq!(
            precision_cell(&[quality(None, StopReason::TimeCeiling)]),
            "none (ceiling before +-1%)"
        );
    }

    #[test]
    fn report_format_names_round_trip() {
        for format in ReportFormat::ALL {
            assert_eq!(format.to_string().parse::<ReportFormat>().unwrap(), format);
        }
        assert_eq!(
            "pdf".parse::<ReportFormat>().unwrap_err().to_string(),
            "unknown report format 'pdf': use one of table, markdown, json, csv, html"
        );
    }
}
