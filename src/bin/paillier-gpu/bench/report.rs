//! A bench's results: the measurements, the table, the JSON report and the plot.

use std::path::Path;

use paillier_gpu::formats::{write_atomic, Visibility};
use paillier_gpu::{Error, Result};
use serde::Serialize;

use super::*;

/// One measured rate.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Measurement {
    pub(super) scheme: &'static str,
    pub(super) key_len: usize,
    pub(super) embed_len: usize,
    pub(super) batch: usize,
    pub(super) operation: &'static str,
    pub(super) device: String,
    /// Adapter or CPU description.
    pub(super) device_name: String,
    /// Seconds of each timed run.
    pub(super) runs_s: Vec<f64>,
    pub(super) median_s: f64,
    /// `batch / median_s`.
    pub(super) per_second: f64,
    /// On a GPU: where the time went, and which side bounds it.
    pub(super) breakdown: Option<super::breakdown::Breakdown>,
}

#[derive(Serialize)]
pub(super) struct Report<'a> {
    pub(super) tool: &'static str,
    pub(super) version: &'static str,
    /// The command line that produced the report.
    pub(super) command: Vec<String>,
    pub(super) threads: usize,
    /// The CPU measured: model, threads and arithmetic engine.
    pub(super) cpu: CpuDescription,
    pub(super) repeat: usize,
    /// The GPU measured (adapter, driver, features, limits, kernel shapes), if any.
    pub(super) gpu: Option<GpuDescription>,
    pub(super) measurements: &'a [Measurement],
}

/// One row per scheme × key_len × batch × operation, a column per device, GPU/CPU, and what
/// bounds the GPU's time. Rates count vectors (aggregate and search: records) per second.
pub(super) fn print_table(results: &[Measurement]) {
    println!(
        "{:<16} {:>7} {:>8}  {:<15} {:>14} {:>14} {:>8}  gpu bound",
        "scheme", "key_len", "batch", "operation", "cpu /s", "gpu /s", "gpu/cpu"
    );
    let rate = |m: &Measurement, device: &str| -> Option<f64> {
        results
            .iter()
            .find(|r| {
                r.device == device
                    && r.scheme == m.scheme
                    && r.key_len == m.key_len
                    && r.batch == m.batch
                    && r.operation == m.operation
            })
            .map(|r| r.per_second)
    };
    let mut seen = Vec::new();
    for m in results {
        let key = (m.scheme, m.key_len, m.batch, m.operation);
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let cpu = rate(m, "cpu");
        let gpu = rate(m, "gpu").or_else(|| rate(m, "auto"));
        let bound = results
            .iter()
            .filter(|r| r.device != "cpu")
            .find(|r| {
                r.scheme == m.scheme
                    && r.key_len == m.key_len
                    && r.batch == m.batch
                    && r.operation == m.operation
            })
            .and_then(|r| r.breakdown.as_ref())
            .map_or_else(|| "-".to_string(), |b| b.summary());
        let show = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.1}"));
        let ratio = match (cpu, gpu) {
            (Some(c), Some(g)) if c > 0.0 => format!("{:.2}x", g / c),
            _ => "-".to_string(),
        };
        println!(
            "{:<16} {:>7} {:>8}  {:<15} {:>14} {:>14} {:>8}  {}",
            m.scheme,
            m.key_len,
            m.batch,
            m.operation,
            show(cpu),
            show(gpu),
            ratio,
            bound
        );
    }
}

/// The whole searches as latencies: one line per database size and device.
pub(super) fn print_searches(results: &[Measurement]) {
    for m in results.iter().filter(|m| m.operation == "search") {
        println!(
            "search: {} k{} over {} records on {}: {:.1} ms (median; query, aggregation, \
             decoding, top {})",
            m.scheme,
            m.key_len,
            m.batch,
            m.device,
            m.median_s * 1e3,
            super::search::SEARCH_TOP_K
        );
    }
}

/// 1k, 10k, 1M: a tick label.
pub(super) fn human(x: f64) -> String {
    let (value, unit) = match x.abs() {
        a if a >= 1e9 => (x / 1e9, "G"),
        a if a >= 1e6 => (x / 1e6, "M"),
        a if a >= 1e3 => (x / 1e3, "k"),
        _ => (x, ""),
    };
    let text = format!("{value:.1}");
    format!("{}{unit}", text.trim_end_matches(".0"))
}

/// Throughput against batch size, log-log, one line per scheme × key_len × operation × device.
pub(super) fn plot(path: &Path, results: &[Measurement], caption: &str) -> Result<()> {
    use plotters::prelude::*;
    let plot_error = |e: &dyn std::fmt::Display| Error::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    };
    let (min_batch, max_batch) = results.iter().fold((usize::MAX, 1), |(lo, hi), m| {
        (lo.min(m.batch), hi.max(m.batch))
    });
    let (min_rate, max_rate) = results
        .iter()
        .fold((f64::MAX, f64::MIN_POSITIVE), |(lo, hi), m| {
            (lo.min(m.per_second), hi.max(m.per_second))
        });
    if results.is_empty() {
        return Err(Error::InvalidParameter("nothing to plot".into()));
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 640)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_error(&e))?;
        let x_range = (min_batch as f64 * 0.8)..(max_batch as f64 * 1.25);
        let y_range = (min_rate * 0.5)..(max_rate * 2.0);
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 20))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x_range.log_scale(), y_range.log_scale())
            .map_err(|e| plot_error(&e))?;
        chart
            .configure_mesh()
            .x_desc("batch size (vectors)")
            .y_desc("vectors/s (aggregate: records/s)")
            .x_label_formatter(&|x| human(*x))
            .y_label_formatter(&|y| human(*y))
            .draw()
            .map_err(|e| plot_error(&e))?;
        let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
        for m in results {
            let name = format!("{} {} k{} {}", m.operation, m.device, m.key_len, m.scheme);
            let point = (m.batch as f64, m.per_second);
            match series.iter_mut().find(|(n, _)| *n == name) {
                Some((_, points)) => points.push(point),
                None => series.push((name, vec![point])),
            }
        }
        for (i, (name, mut points)) in series.into_iter().enumerate() {
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                .map_err(|e| plot_error(&e))?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
            chart
                .draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, 3, color.filled())),
                )
                .map_err(|e| plot_error(&e))?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| plot_error(&e))?;
        root.present().map_err(|e| plot_error(&e))?;
    }
    write_atomic(path, svg.as_bytes(), Visibility::Shared)
}
