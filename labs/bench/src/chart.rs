//! SVG charts of a bench report, drawn with `plotters` (SVG backend only).
//! The book's charts are `book/src/images/ch04-tuning-<name>.svg` (they
//! illustrate 四.7 配置调优 and 附录 E), redrawn by a full run.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use ch04_tuning::lesson::Compression;

use crate::clients::{Client, ProducerSpec, Role};
use crate::plan::Sweep;
use crate::report::{BenchReport, CaseResult, ClientSummary};

/// One line of a chart: a name for the legend and a value per x category.
#[derive(Debug, Clone)]
pub struct Series {
    /// The client the line belongs to (its colour), if any.
    pub client: Option<Client>,
    pub name: String,
    pub values: Vec<Option<f64>>,
}

/// A chart with categorical x values.
#[derive(Debug, Clone)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub categories: Vec<String>,
    pub series: Vec<Series>,
    /// Curves that rise to the right leave the upper left free for the legend.
    pub legend_left: bool,
}

const COLORS: [RGBColor; 9] = [
    RGBColor(0xd9, 0x48, 0x1c), // ours: warm
    RGBColor(0xe8, 0x9b, 0x2f),
    RGBColor(0xb5, 0x6a, 0xc4),
    RGBColor(0xc2, 0x18, 0x5b),
    RGBColor(0x8b, 0x1a, 0x1a),
    RGBColor(0x1f, 0x6f, 0xb4), // Java
    RGBColor(0x2a, 0x9d, 0x8f), // kafka-go
    RGBColor(0x4c, 0x8c, 0x2b), // franz-go
    RGBColor(0x55, 0x55, 0x55),
];

fn color_for(client: Option<Client>, index: usize) -> RGBColor {
    match client {
        Some(Client::RustBase) => COLORS[0],
        Some(Client::RustThreaded) => COLORS[1],
        Some(Client::RustFuture | Client::RustFutureWindow) => COLORS[2],
        Some(Client::RustPermits) => COLORS[3],
        Some(Client::RustRecommended) => COLORS[4],
        Some(Client::RustInstances) => COLORS[8],
        Some(Client::JavaPerf) => COLORS[5],
        Some(Client::KafkaGo) => COLORS[6],
        Some(Client::FranzGo) => COLORS[7],
        None => COLORS[index % COLORS.len()],
    }
}

/// Draws `chart` into an SVG file at `path`.
pub fn draw(chart: &Chart, path: &Path) -> Result<()> {
    let n = chart.categories.len();
    if n == 0 || chart.series.is_empty() {
        return Err(anyhow!("chart {:?} has no data", chart.title));
    }
    let y_max = chart
        .series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .copied()
        .fold(0.0_f64, f64::max)
        .max(1e-9)
        * 1.4; // head room for the legend
    let root = SVGBackend::new(path, (760, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let mut context = ChartBuilder::on(&root)
        .caption(&chart.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(72)
        // Categories at x = 0, 1, … n-1, half a slot of margin on each side,
        // a tick (and label) exactly at each category.
        // (the labels are drawn below, one per category)
        .build_cartesian_2d(-0.5..n as f64 - 0.5, 0.0..y_max)
        .map_err(|e| anyhow!("{e}"))?;
    let categories = chart.categories.clone();
    context
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .x_labels(0)
        .y_label_formatter(&|v| human(*v))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    for (index, series) in chart.series.iter().enumerate() {
        let color = color_for(series.client, index);
        let points: Vec<(f64, f64)> = series
            .values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i as f64, v)))
            .collect();
        context
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(|e| anyhow!("{e}"))?
            .label(series.name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        context
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 4, color.filled())),
            )
            .map_err(|e| anyhow!("{e}"))?;
    }
    let label_style = ("sans-serif", 12)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    for (i, category) in categories.iter().enumerate() {
        let (x, y) = context.backend_coord(&(i as f64, 0.0));
        root.draw(&PathElement::new(vec![(x, y), (x, y + 5)], BLACK))
            .map_err(|e| anyhow!("{e}"))?;
        root.draw(&Text::new(
            category.clone(),
            (x, y + 8),
            label_style.clone(),
        ))
        .map_err(|e| anyhow!("{e}"))?;
    }
    context
        .configure_series_labels()
        .position(if chart.legend_left {
            SeriesLabelPosition::UpperLeft
        } else {
            SeriesLabelPosition::UpperRight
        })
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    root.present().map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// 12345.6 → "12k", 2500000 → "2.5M".
fn human(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn cases(report: &BenchReport, filter: impl Fn(&CaseResult) -> bool) -> Vec<&CaseResult> {
    report.produce.iter().filter(|c| filter(c)).collect()
}

fn series_of(
    cases: &[&CaseResult],
    clients: &[Client],
    value: impl Fn(&ClientSummary) -> Option<f64>,
) -> Vec<Series> {
    clients
        .iter()
        .map(|client| Series {
            client: Some(*client),
            name: client.label(Role::Produce).to_string(),
            values: cases
                .iter()
                .map(|c| c.client(*client).and_then(&value))
                .collect(),
        })
        .filter(|s| s.values.iter().any(Option::is_some))
        .collect()
}

/// The clients of the sweeps that have peers.
const PEERED: [Client; 4] = [
    Client::RustBase,
    Client::JavaPerf,
    Client::KafkaGo,
    Client::FranzGo,
];

/// The charts a report supports (only those whose sweep was run).
pub fn charts(report: &BenchReport) -> Vec<(&'static str, Chart)> {
    let mut out = Vec::new();
    let default = ProducerSpec::default();
    let by_size = cases(report, |c| c.sweep == Sweep::Size);
    if !by_size.is_empty() {
        out.push((
            "record-size",
            Chart {
                title: "Producer throughput by record size (acks=all, linger.ms=5)".into(),
                x_label: "record size (bytes)".into(),
                y_label: "MiB/s".into(),
                categories: by_size.iter().map(|c| c.record_size.to_string()).collect(),
                series: series_of(&by_size, &Client::PRODUCERS, |s| Some(s.mib_per_second)),
                legend_left: true,
            },
        ));
        out.push((
            "cpu",
            Chart {
                title: "Client CPU per million records (user+sys)".into(),
                x_label: "record size (bytes)".into(),
                y_label: "CPU seconds / 1M records".into(),
                categories: by_size.iter().map(|c| c.record_size.to_string()).collect(),
                series: series_of(&by_size, &Client::PRODUCERS, |s| {
                    Some(s.cpu_seconds_per_million)
                }),
                legend_left: true,
            },
        ));
    }
    let mut linger: Vec<&CaseResult> = cases(report, |c| {
        c.producer.as_ref().is_some_and(|p| {
            matches!(c.sweep, Sweep::Linger | Sweep::Size)
                && p.record_size == 1000
                && p.batch_size == default.batch_size
        })
    });
    linger.sort_by_key(|c| c.producer.as_ref().map_or(0, |p| p.linger_ms));
    if linger.len() > 1 {
        let categories: Vec<String> = linger
            .iter()
            .map(|c| c.producer.as_ref().map_or(0, |p| p.linger_ms).to_string())
            .collect();
        out.push((
            "linger",
            Chart {
                title: "Producer throughput vs linger.ms (1 KB, acks=all)".into(),
                x_label: "linger.ms".into(),
                y_label: "records/s".into(),
                categories: categories.clone(),
                series: series_of(&linger, &PEERED, |s| Some(s.records_per_second)),
                legend_left: false,
            },
        ));
    }
    let mut at_rate: Vec<&CaseResult> = cases(report, |c| c.sweep == Sweep::Latency);
    at_rate.sort_by_key(|c| c.producer.as_ref().map_or(0, |p| p.linger_ms));
    if at_rate.len() > 1 {
        let categories: Vec<String> = at_rate
            .iter()
            .map(|c| c.producer.as_ref().map_or(0, |p| p.linger_ms).to_string())
            .collect();
        let rate = at_rate
            .first()
            .and_then(|c| c.producer.as_ref())
            .map_or(0, |p| p.rate);
        out.push((
            "linger-latency",
            Chart {
                title: format!("p50 latency vs linger.ms at {rate} records/s (1 KB, acks=all)"),
                x_label: "linger.ms".into(),
                y_label: "milliseconds (send → delivery report)".into(),
                categories: categories.clone(),
                series: series_of(&at_rate, &PEERED, |s| s.p50_ms),
                legend_left: false,
            },
        ));
        out.push((
            "linger-latency-p99",
            Chart {
                title: format!("p99 latency vs linger.ms at {rate} records/s (1 KB, acks=all)"),
                x_label: "linger.ms".into(),
                y_label: "milliseconds (send → delivery report)".into(),
                categories,
                series: series_of(&at_rate, &PEERED, |s| s.p99_ms),
                legend_left: false,
            },
        ));
    }
    let mut batch = cases(report, |c| c.sweep == Sweep::Batch);
    batch.sort_by_key(|c| c.producer.as_ref().map_or(0, |p| p.batch_size));
    if batch.len() > 1 {
        out.push((
            "batch",
            Chart {
                title: "BaseProducer throughput vs batch.size (1 KB, linger.ms=100)".into(),
                x_label: "batch.size (bytes)".into(),
                y_label: "records/s".into(),
                categories: batch
                    .iter()
                    .map(|c| c.producer.as_ref().map_or(0, |p| p.batch_size).to_string())
                    .collect(),
                series: series_of(&batch, &[Client::RustBase], |s| Some(s.records_per_second)),
                legend_left: false,
            },
        ));
    }
    let compression: Vec<&CaseResult> = Compression::ALL
        .iter()
        .filter_map(|codec| {
            report.produce.iter().find(|c| {
                c.producer.as_ref().is_some_and(|p| {
                    p.compression == *codec
                        && p.record_size == 1000
                        && p.linger_ms == default.linger_ms
                        && p.batch_size == default.batch_size
                        && p.acks == default.acks
                        && !p.idempotence
                })
            })
        })
        .collect();
    if compression.len() > 1 {
        let categories: Vec<String> = compression
            .iter()
            .filter_map(|c| {
                c.producer
                    .as_ref()
                    .map(|p| p.compression.name().to_string())
            })
            .collect();
        out.push((
            "compression",
            Chart {
                title: "Producer throughput by compression.type (1 KB, acks=all)".into(),
                x_label: "compression.type".into(),
                y_label: "records/s".into(),
                categories: categories.clone(),
                series: series_of(&compression, &PEERED, |s| Some(s.records_per_second)),
                legend_left: false,
            },
        ));
        out.push((
            "compression-cpu",
            Chart {
                title: "Client CPU per million records by compression.type (1 KB)".into(),
                x_label: "compression.type".into(),
                y_label: "CPU seconds / 1M records".into(),
                categories,
                series: series_of(&compression, &PEERED, |s| Some(s.cpu_seconds_per_million)),
                legend_left: false,
            },
        ));
    }
    out
}

/// Writes every chart of `report` as `<dir>/ch04-tuning-<name>.svg`.
pub fn write_all(report: &BenchReport, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (name, chart) in charts(report) {
        let path = dir.join(format!("ch04-tuning-{name}.svg"));
        draw(&chart, &path)?;
        written.push(path);
    }
    Ok(written)
}
