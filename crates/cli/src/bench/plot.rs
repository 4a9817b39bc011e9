//! `bench --plot`: one SVG that carries the comparison. A title block (the machine, and a warning
//! in red when the GPU is a software adapter), throughput against batch size (a colour per
//! operation, solid for the CPU and dashed for the GPU), and, when both devices ran, the GPU/CPU
//! ratio of every operation at every batch size as bars, so that a single batch size still reads
//! as a comparison rather than as lone dots.

use paillier_gpu::io::Output;
use paillier_gpu::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::outputs::PLOT_MARK;
use super::report::{human, unit_of, Measurement};

/// Distinct colours that read on white: Okabe and Ito's palette, then darker ones.
const COLOURS: [RGBColor; 12] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(140, 86, 75),
    RGBColor(110, 40, 140),
    RGBColor(0, 90, 50),
    RGBColor(120, 120, 120),
    RGBColor(150, 150, 0),
];

/// A log axis spanning whole decades around `lo..hi`, so that it always has labelled ticks.
fn decades(lo: f64, hi: f64) -> std::ops::Range<f64> {
    let lo = 10f64.powf(lo.max(f64::MIN_POSITIVE).log10().floor());
    let hi = 10f64.powf(hi.max(lo).log10().ceil());
    lo..if hi > lo { hi } else { lo * 10.0 }
}

/// A log-axis tick label at 1, 2 and 5 times a power of ten; none between (they crowd).
fn round_tick(x: f64, unit: &str) -> String {
    let leading = x / 10f64.powf(x.log10().floor());
    if [1.0, 2.0, 5.0, 10.0]
        .iter()
        .any(|d| (leading - d).abs() < 1e-6)
    {
        format!("{}{unit}", human(x))
    } else {
        String::new()
    }
}

const WIDTH: u32 = 1100;
const TITLE_HEIGHT: u32 = 96;
const THROUGHPUT_HEIGHT: u32 = 520;
const LEGEND_WIDTH: u32 = 330;

/// What the title block says: the machine, and whether the GPU's timings are a software adapter's.
pub(super) struct Caption {
    pub(super) cpu: String,
    pub(super) gpu: Option<String>,
    pub(super) software_gpu: bool,
    pub(super) repeat: usize,
}

/// One line of the throughput chart: an operation under one scheme and key length, on a device.
struct Series {
    label: String,
    device: String,
    points: Vec<(f64, f64)>,
}

pub(super) fn plot(output: Output, results: &[Measurement], caption: &Caption) -> Result<()> {
    let path = output.requested().to_path_buf();
    if results.is_empty() {
        return Err(Error::InvalidParameter("nothing to plot".into()));
    }
    let plot_error = |e: &dyn std::fmt::Display| Error::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    };
    let ratios = ratios(results);
    let ratio_height = if ratios.is_empty() {
        0
    } else {
        120 + 26 * ratios.len() as u32
    };
    let mut svg = format!("{PLOT_MARK}\n");
    {
        let height = TITLE_HEIGHT + THROUGHPUT_HEIGHT + ratio_height;
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_error(&e))?;
        let (title, rest) = root.split_vertically(TITLE_HEIGHT);
        let (throughput, ratio_area) = rest.split_vertically(THROUGHPUT_HEIGHT);
        draw_title(&title, caption).map_err(|e| plot_error(&e))?;
        draw_throughput(&throughput, results, caption.repeat).map_err(|e| plot_error(&e))?;
        if !ratios.is_empty() {
            draw_ratios(&ratio_area, &ratios).map_err(|e| plot_error(&e))?;
        }
        root.present().map_err(|e| plot_error(&e))?;
    }
    output.write_bytes(svg.as_bytes())
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

fn draw_title(area: &Area, caption: &Caption) -> DrawResult {
    let bold = ("sans-serif", 22).into_font().style(FontStyle::Bold);
    area.draw_text(
        &format!(
            "paillier-gpu bench: median of {} run{}",
            caption.repeat,
            if caption.repeat == 1 { "" } else { "s" }
        ),
        &bold.color(&BLACK),
        (16, 10),
    )?;
    let plain = ("sans-serif", 15).into_font();
    area.draw_text(
        &format!("CPU: {}", caption.cpu),
        &plain.color(&BLACK),
        (16, 42),
    )?;
    if let Some(gpu) = &caption.gpu {
        area.draw_text(&format!("GPU: {gpu}"), &plain.color(&BLACK), (16, 62))?;
        if caption.software_gpu {
            let warning = ("sans-serif", 15).into_font().style(FontStyle::Bold);
            area.draw_text(
                "the GPU is a SOFTWARE adapter: its timings are this CPU running Vulkan, not a GPU's",
                &warning.color(&RGBColor(200, 0, 0)),
                (16, 80),
            )?;
        }
    }
    Ok(())
}

fn series(results: &[Measurement]) -> Vec<Series> {
    let mut all: Vec<Series> = Vec::new();
    for m in results {
        let label = format!(
            "{} k{} {} ({}/s)",
            m.operation,
            m.key_len,
            m.scheme,
            unit_of(m.operation)
        );
        let point = (m.batch as f64, m.per_second);
        match all
            .iter_mut()
            .find(|s| s.label == label && s.device == m.device)
        {
            Some(s) => s.points.push(point),
            None => all.push(Series {
                label,
                device: m.device.clone(),
                points: vec![point],
            }),
        }
    }
    for s in &mut all {
        s.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    all
}

fn draw_throughput(area: &Area, results: &[Measurement], repeat: usize) -> DrawResult {
    let (chart_area, legend_area) = area.split_horizontally(WIDTH - LEGEND_WIDTH);
    let (min_batch, max_batch) = results.iter().fold((f64::MAX, 1.0f64), |(lo, hi), m| {
        (lo.min(m.batch as f64), hi.max(m.batch as f64))
    });
    let (min_rate, max_rate) = results
        .iter()
        .fold((f64::MAX, f64::MIN_POSITIVE), |(lo, hi), m| {
            (lo.min(m.per_second), hi.max(m.per_second))
        });
    let mut chart = ChartBuilder::on(&chart_area)
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(76)
        .build_cartesian_2d(
            decades(min_batch, max_batch).log_scale(),
            decades(min_rate, max_rate).log_scale(),
        )?;
    chart
        .configure_mesh()
        .x_desc("batch size (vectors)")
        .y_desc(format!(
            "items per second, median of {repeat} (each line's unit in its label)"
        ))
        .x_label_formatter(&|x| round_tick(*x, ""))
        .y_label_formatter(&|y| round_tick(*y, ""))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .draw()?;
    let all = series(results);
    let labels: Vec<&str> = {
        let mut seen: Vec<&str> = Vec::new();
        for s in &all {
            if !seen.contains(&s.label.as_str()) {
                seen.push(&s.label);
            }
        }
        seen
    };
    let colour_of = |label: &str| {
        let i = labels.iter().position(|l| *l == label).unwrap_or(0);
        COLOURS[i % COLOURS.len()]
    };
    for s in &all {
        let colour = colour_of(&s.label);
        if s.device == "cpu" {
            chart.draw_series(LineSeries::new(s.points.clone(), colour.stroke_width(2)))?;
            chart.draw_series(s.points.iter().map(|&p| Circle::new(p, 4, colour.filled())))?;
        } else {
            chart.draw_series(DashedLineSeries::new(
                s.points.clone(),
                8,
                5,
                colour.stroke_width(2),
            ))?;
            chart.draw_series(
                s.points
                    .iter()
                    .map(|&p| TriangleMarker::new(p, 6, colour.filled())),
            )?;
        }
    }
    // The legend beside the chart, where it hides no line: a colour per operation, then the
    // line style per device.
    let text = ("sans-serif", 14).into_font();
    let mut y = 24;
    for label in &labels {
        let colour = colour_of(label);
        legend_area.draw(&PathElement::new(
            vec![(8, y), (40, y)],
            colour.stroke_width(3),
        ))?;
        legend_area.draw_text(label, &text.color(&BLACK), (48, y - 8))?;
        y += 22;
    }
    y += 10;
    legend_area.draw(&PathElement::new(
        vec![(8, y), (40, y)],
        BLACK.stroke_width(2),
    ))?;
    legend_area.draw(&Circle::new((24, y), 4, BLACK.filled()))?;
    legend_area.draw_text("CPU (solid, circles)", &text.color(&BLACK), (48, y - 8))?;
    y += 22;
    for x in [8, 22] {
        legend_area.draw(&PathElement::new(
            vec![(x, y), (x + 9, y)],
            BLACK.stroke_width(2),
        ))?;
    }
    legend_area.draw(&TriangleMarker::new((36, y), 6, BLACK.filled()))?;
    legend_area.draw_text("GPU (dashed, triangles)", &text.color(&BLACK), (48, y - 8))?;
    Ok(())
}

/// GPU/CPU rate ratios: one row per operation × key length × scheme, one value per batch size.
struct RatioRow {
    label: String,
    by_batch: Vec<(usize, f64)>,
}

fn ratios(results: &[Measurement]) -> Vec<RatioRow> {
    let mut rows: Vec<RatioRow> = Vec::new();
    // The linear layer's "batch" is a number of samples derived from the one asked for: its
    // ratio is in the table, not among the batches asked for here.
    let asked = |m: &&Measurement| m.device != "cpu" && unit_of(m.operation) != "samples";
    for gpu in results.iter().filter(asked) {
        let cpu = results.iter().find(|m| {
            m.device == "cpu"
                && m.operation == gpu.operation
                && m.key_len == gpu.key_len
                && m.scheme == gpu.scheme
                && m.batch == gpu.batch
        });
        let Some(cpu) = cpu else { continue };
        let label = format!("{} k{} {}", gpu.operation, gpu.key_len, gpu.scheme);
        let ratio = gpu.per_second / cpu.per_second;
        match rows.iter_mut().find(|r| r.label == label) {
            Some(row) => row.by_batch.push((gpu.batch, ratio)),
            None => rows.push(RatioRow {
                label,
                by_batch: vec![(gpu.batch, ratio)],
            }),
        }
    }
    rows
}

fn draw_ratios(area: &Area, rows: &[RatioRow]) -> DrawResult {
    let mut batches: Vec<usize> = rows
        .iter()
        .flat_map(|r| r.by_batch.iter().map(|&(b, _)| b))
        .collect();
    batches.sort_unstable();
    batches.dedup();
    let (lo, hi) = rows
        .iter()
        .flat_map(|r| r.by_batch.iter().map(|&(_, ratio)| ratio))
        .fold((1.0f64, 1.0f64), |(lo, hi), r| (lo.min(r), hi.max(r)));
    let (lo, hi) = (lo / 1.5, hi * 1.5);
    let (chart_area, legend_area) = area.split_horizontally(WIDTH - LEGEND_WIDTH);
    let mut chart = ChartBuilder::on(&chart_area)
        .caption(
            "GPU rate / CPU rate: right of 1× the GPU is faster, left of it the CPU",
            ("sans-serif", 17),
        )
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(240)
        .build_cartesian_2d((lo..hi).log_scale(), 0.0..rows.len() as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .y_labels(0)
        .x_desc("GPU rate / CPU rate (log scale)")
        .x_label_formatter(&|x| round_tick(*x, "×"))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .draw()?;
    let bar = 0.8 / batches.len() as f64;
    for (i, row) in rows.iter().enumerate() {
        // The first row at the top.
        let top = (rows.len() - i) as f64 - 0.1;
        for &(batch, ratio) in &row.by_batch {
            let j = batches.iter().position(|&b| b == batch).unwrap_or(0);
            let colour = COLOURS[j % COLOURS.len()];
            let y1 = top - j as f64 * bar;
            // From 1×: the bar's side says who wins, its length by how much.
            chart.draw_series(std::iter::once(Rectangle::new(
                [(1.0, y1 - bar), (ratio, y1)],
                colour.filled(),
            )))?;
        }
        // backend_coord is in the whole picture's pixels; draw_text in this area's.
        let (x, y) = chart.backend_coord(&(lo, top - 0.4));
        let (base_x, base_y) = chart_area.get_base_pixel();
        let (x, y) = (x - base_x, y - base_y);
        let style = ("sans-serif", 14)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Right, VPos::Center));
        chart_area.draw_text(&row.label, &style, (x - 8, y))?;
    }
    // Where the GPU starts to win.
    chart.draw_series(LineSeries::new(
        vec![(1.0, 0.0), (1.0, rows.len() as f64)],
        BLACK.stroke_width(2),
    ))?;
    let text = ("sans-serif", 14).into_font();
    legend_area.draw_text("batch size", &text.color(&BLACK), (8, 40))?;
    for (j, batch) in batches.iter().enumerate() {
        let y = 66 + 22 * j as i32;
        legend_area.draw(&Rectangle::new(
            [(8, y - 7), (34, y + 7)],
            COLOURS[j % COLOURS.len()].filled(),
        ))?;
        legend_area.draw_text(&human(*batch as f64), &text.color(&BLACK), (44, y - 8))?;
    }
    Ok(())
}
