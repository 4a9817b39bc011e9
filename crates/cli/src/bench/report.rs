//! A bench's results: the measurements, the table and the JSON report (the plot: `plot.rs`).

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

/// What an operation's count and rate count: vectors, records, numbers or samples.
pub(super) fn unit_of(operation: &str) -> &'static str {
    match operation {
        "aggregate" | "search" => "records",
        _ if operation.starts_with("nums_") => "numbers",
        _ if operation.starts_with("linear") => "samples",
        _ => "vectors",
    }
}

/// One row per scheme × key_len × count × operation, a column per device, GPU/CPU, and what
/// bounds the GPU's time. Each row's count and rates are of its unit (vectors, records,
/// numbers or samples).
pub(super) fn print_table(results: &[Measurement]) {
    println!(
        "{:<16} {:>7} {:>8} {:<8} {:<19} {:>14} {:>14} {:>8}  gpu bound",
        "scheme", "key_len", "count", "of", "operation", "cpu /s", "gpu /s", "gpu/cpu"
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
            "{:<16} {:>7} {:>8} {:<8} {:<19} {:>14} {:>14} {:>8}  {}",
            m.scheme,
            m.key_len,
            m.batch,
            unit_of(m.operation),
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
