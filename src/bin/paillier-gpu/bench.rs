//! `paillier-gpu bench`: the same inputs through each device, timed per operation.
//!
//! For every scheme × key_len × batch size it creates one throwaway context, draws random binary
//! vectors, runs each operation once untimed (building tables and GPU pipelines), then
//! `--repeat` timed runs, and reports the median rate. Keys never leave the process.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use paillier_gpu::backend::{backend_for, Backend};
use paillier_gpu::formats::{write_atomic, Visibility};
use paillier_gpu::hamming::{self, Selection};
use paillier_gpu::{ContextOptions, Device, Error, ExecutionContext, Result, Scheme};
use rand::Rng;
use serde::Serialize;

/// What `bench` was asked to measure.
#[derive(Debug)]
pub struct BenchPlan {
    pub devices: Vec<Device>,
    pub schemes: Vec<Scheme>,
    pub key_lens: Vec<usize>,
    /// Batch sizes; `None` for the defaults of [`default_batches`].
    pub batches: Option<Vec<usize>>,
    pub embed_len: usize,
    /// Lookup contexts' alpha_len (capped at key_len / 2 for small keys).
    pub alpha_len: usize,
    pub repeat: usize,
    pub json: Option<PathBuf>,
    pub plot: Option<PathBuf>,
}

/// Batch measured on every device when `--batch` is not given.
const DEFAULT_BATCH: usize = 1000;

/// The batches measured when `--batch` is not given: [`DEFAULT_BATCH`], and on a hardware GPU also
/// one calibrated chunk, the smallest batch that keeps every wave of the adapter full (1,000
/// vectors fill only a few percent of a large GPU). A software adapter gets no extra batch: its
/// "chunk" would take minutes and say nothing about GPUs.
fn default_batches(gpu: Option<&GpuDescription>) -> Vec<usize> {
    let mut batches = vec![DEFAULT_BATCH];
    if let Some(chunk) = gpu.and_then(calibrated_chunk) {
        if chunk > DEFAULT_BATCH {
            batches.push(chunk);
        }
    }
    batches
}

#[cfg(feature = "gpu")]
fn calibrated_chunk(gpu: &GpuDescription) -> Option<usize> {
    match (&gpu.calibration, gpu.software) {
        (Some(c), false) => Some(c.chunk_items),
        _ => None,
    }
}

#[cfg(not(feature = "gpu"))]
fn calibrated_chunk(_: &GpuDescription) -> Option<usize> {
    None
}

/// The operations timed, in table order. Each rate counts vectors (or records) per second.
const OPERATIONS: [&str; 4] = ["encrypt_owner", "encrypt_public", "aggregate", "decode"];

/// One measured rate.
#[derive(Debug, Clone, Serialize)]
struct Measurement {
    scheme: &'static str,
    key_len: usize,
    embed_len: usize,
    batch: usize,
    operation: &'static str,
    device: String,
    /// Adapter or CPU description.
    device_name: String,
    /// Seconds of each timed run.
    runs_s: Vec<f64>,
    median_s: f64,
    /// `batch / median_s`.
    per_second: f64,
}

#[derive(Serialize)]
struct Report<'a> {
    tool: &'static str,
    version: &'static str,
    /// The command line that produced the report.
    command: Vec<String>,
    threads: usize,
    /// The CPU measured: model, threads and arithmetic engine.
    cpu: CpuDescription,
    repeat: usize,
    /// The GPU measured (adapter, driver, features, limits, kernel shapes), if any.
    gpu: Option<GpuDescription>,
    measurements: &'a [Measurement],
}

/// The machine's CPU as the report and the plot name it.
#[derive(Clone, Debug, Serialize)]
struct CpuDescription {
    model: String,
    threads: usize,
    /// `Portable` or `Ifma52`: the Montgomery engine the CPU backend runs on.
    engine: String,
}

impl CpuDescription {
    fn this_machine() -> Self {
        let model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|m| m.trim().to_owned())
            })
            .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
        let engine = paillier_gpu::bigint::MontgomeryModulus::new(&num_bigint::BigUint::from(
            (1u128 << 127) - 1,
        ))
        .map(|m| format!("{:?}", m.engine()))
        .unwrap_or_else(|_| "unknown".into());
        Self {
            model,
            threads: rayon::current_num_threads(),
            engine,
        }
    }

    fn line(&self) -> String {
        format!(
            "{}, {} threads, {} engine",
            self.model, self.threads, self.engine
        )
    }
}

#[cfg(feature = "gpu")]
type GpuDescription = paillier_gpu::backend::gpu::GpuReport;
#[cfg(not(feature = "gpu"))]
type GpuDescription = ();

/// The GPU backend's report when a GPU device is among those measured: the kernel shapes for n²,
/// p² and p of every key length.
#[cfg(feature = "gpu")]
fn gpu_description(
    backends: &[(Device, Arc<dyn Backend>)],
    key_lens: &[usize],
) -> Option<GpuDescription> {
    if !backends.iter().any(|(_, b)| b.device() != Device::Cpu) {
        return None;
    }
    let gpu = paillier_gpu::backend::gpu::GpuBackend::shared().ok()?;
    // Compile and calibrate at the widest n² measured (the report records what it found).
    if let Some(&key_len) = key_lens.iter().max() {
        let all_ones = (num_bigint::BigUint::from(1u32) << (4 * key_len)) - 1u32;
        let warmed = paillier_gpu::bigint::MontgomeryModulus::new(&all_ones)
            .and_then(|modulus| gpu.warm_up(&modulus));
        if let Err(e) = warmed {
            eprintln!("paillier-gpu: bench: GPU warm-up failed: {e}");
        }
    }
    let mut widths: Vec<usize> = key_lens.iter().flat_map(|&k| [4 * k, 2 * k, k]).collect();
    widths.sort_unstable();
    widths.dedup();
    Some(gpu.report(&widths))
}

#[cfg(not(feature = "gpu"))]
fn gpu_description(_: &[(Device, Arc<dyn Backend>)], _: &[usize]) -> Option<GpuDescription> {
    None
}

/// One line naming the GPU, and a warning when it is a software renderer.
#[cfg(feature = "gpu")]
fn gpu_banner(gpu: &GpuDescription) -> String {
    let shapes: Vec<String> = gpu
        .shapes
        .iter()
        .map(|s| format!("{}b: T={} L={}", s.bits, s.lanes, s.limbs_per_lane))
        .collect();
    let mut line = format!(
        "gpu: {} ({}, {} {}), {}-bit limbs, {} exchange, {}",
        gpu.adapter,
        gpu.device_type,
        gpu.driver,
        gpu.driver_info,
        gpu.limb_bits,
        gpu.exchange,
        shapes.join(", ")
    );
    if let Some(c) = &gpu.calibration {
        line.push_str(&format!(
            "\ncalibration: {} {}-bit products fill the adapter; chunks of {} items",
            c.saturating_items, c.bits, c.chunk_items
        ));
    }
    if gpu.software {
        line.push_str(
            "\nwarning: the \"gpu\" is a software adapter running on the CPU; its timings say nothing about GPUs",
        );
    }
    line
}

#[cfg(not(feature = "gpu"))]
fn gpu_banner(_: &GpuDescription) -> String {
    String::new()
}

pub fn run(plan: &BenchPlan) -> Result<()> {
    let given_zero = plan.batches.as_ref().is_some_and(|b| b.contains(&0));
    if plan.repeat == 0 || given_zero {
        return Err(Error::InvalidParameter(
            "--repeat and every --batch must be at least 1".into(),
        ));
    }
    let backends = backends(&plan.devices)?;
    let cpu = CpuDescription::this_machine();
    println!("cpu: {}", cpu.line());
    // Warm up and calibrate before timing anything: the default batches depend on it.
    let gpu = gpu_description(&backends, &plan.key_lens);
    if let Some(gpu) = &gpu {
        println!("{}", gpu_banner(gpu));
    }
    let batches = match &plan.batches {
        Some(given) => given.clone(),
        None => default_batches(gpu.as_ref()),
    };
    let mut results = Vec::new();
    for &scheme in &plan.schemes {
        for &key_len in &plan.key_lens {
            let options = ContextOptions {
                scheme,
                key_len,
                embed_len: plan.embed_len,
                // Throwaway keys that never leave the process: small sizes are allowed here.
                allow_insecure: true,
                alpha_len: plan.alpha_len.min(key_len / 2),
                device: Device::Cpu,
            };
            let mut ctx = ExecutionContext::create_with_passphrase(&options, "bench")?;
            for &batch in &batches {
                let vectors = random_vectors(batch, plan.embed_len);
                for (device, backend) in &backends {
                    ctx = ctx.with_backend(backend.clone());
                    let rates = measure(&ctx, *device, &vectors, plan.repeat)?;
                    for (operation, runs) in OPERATIONS.iter().zip(rates) {
                        let median = median(&runs);
                        results.push(Measurement {
                            scheme: scheme.name(),
                            key_len,
                            embed_len: plan.embed_len,
                            batch,
                            operation,
                            device: device.to_string(),
                            device_name: backend_name(backend.as_ref()),
                            per_second: batch as f64 / median,
                            median_s: median,
                            runs_s: runs,
                        });
                    }
                }
            }
        }
    }
    print_table(&results);
    if let Some(path) = &plan.json {
        let report = Report {
            tool: "paillier-gpu bench",
            version: env!("CARGO_PKG_VERSION"),
            command: std::env::args().collect(),
            threads: rayon::current_num_threads(),
            cpu: cpu.clone(),
            repeat: plan.repeat,
            gpu: gpu.clone(),
            measurements: &results,
        };
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Error::InvalidParameter(format!("bench report: {e}")))?;
        write_atomic(path, text.as_bytes(), Visibility::Shared)?;
    }
    if let Some(path) = &plan.plot {
        let caption = match &gpu {
            Some(g) => format!(
                "paillier-gpu bench on {}; gpu: {}",
                cpu.line(),
                gpu_caption(g)
            ),
            None => format!("paillier-gpu bench on {}", cpu.line()),
        };
        plot(path, &results, &caption)?;
    }
    Ok(())
}

/// The backend of each requested device. `Gpu` fails without an adapter; `both` reports a
/// missing GPU on stderr and measures the CPU alone.
fn backends(devices: &[Device]) -> Result<Vec<(Device, Arc<dyn Backend>)>> {
    let mut out = Vec::new();
    for &device in devices {
        match backend_for(device) {
            Ok(backend) => out.push((device, backend)),
            Err(e) if devices.len() > 1 => {
                eprintln!("paillier-gpu: bench: skipping {device}: {e}");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The adapter's name for the plot's caption, marked when it is a software renderer.
#[cfg(feature = "gpu")]
fn gpu_caption(gpu: &GpuDescription) -> String {
    if gpu.software {
        format!("{} (SOFTWARE adapter: not a GPU timing)", gpu.adapter)
    } else {
        gpu.adapter.clone()
    }
}

#[cfg(not(feature = "gpu"))]
fn gpu_caption(_: &GpuDescription) -> String {
    String::new()
}

fn backend_name(backend: &dyn Backend) -> String {
    match backend.device() {
        Device::Cpu => format!("cpu ({} threads)", rayon::current_num_threads()),
        other => match gpu_adapter_name() {
            Some(name) => format!("{other}: {name}"),
            None => other.to_string(),
        },
    }
}

#[cfg(feature = "gpu")]
fn gpu_adapter_name() -> Option<String> {
    let gpu = paillier_gpu::backend::gpu::GpuBackend::shared().ok()?;
    Some(gpu.adapter_info().name.clone())
}

#[cfg(not(feature = "gpu"))]
fn gpu_adapter_name() -> Option<String> {
    None
}

fn random_vectors(count: usize, embed_len: usize) -> Vec<Vec<u8>> {
    let mut rng = rand::thread_rng();
    (0..count)
        .map(|_| (0..embed_len).map(|_| rng.gen_range(0..=1)).collect())
        .collect()
}

/// Seconds of each timed run, per operation in [`OPERATIONS`] order.
fn measure(
    ctx: &ExecutionContext,
    device: Device,
    vectors: &[Vec<u8>],
    repeat: usize,
) -> Result<Vec<Vec<f64>>> {
    let backend = ctx.backend().as_ref();
    let layout = ctx.layout();
    let time = |f: &mut dyn FnMut() -> Result<()>| -> Result<Vec<f64>> {
        f()?; // untimed: tables, pipelines, resident buffers
        (0..repeat)
            .map(|_| {
                let start = Instant::now();
                f()?;
                Ok(start.elapsed().as_secs_f64())
            })
            .collect()
    };
    let encrypt_owner = time(&mut || ctx.encrypt_vectors(vectors).map(drop))?;
    let encrypt_public = time(&mut || {
        hamming::encrypt_vectors(backend, ctx.public_key(), None, layout, vectors).map(drop)
    })?;
    let database = ctx.encrypt_vectors(vectors)?;
    let mut index = ctx.new_index()?;
    index.insert(&database)?;
    let query = ctx.encrypt_vector(&vectors[0])?;
    let mut responses = Vec::new();
    let aggregate = time(&mut || {
        responses = index.aggregate(&query, &Selection::All)?;
        Ok(())
    })?;
    let decode = time(&mut || ctx.decode_distances(&responses).map(drop))?;
    log::debug!("bench on {device} done");
    Ok(vec![encrypt_owner, encrypt_public, aggregate, decode])
}

fn median(runs: &[f64]) -> f64 {
    let mut sorted = runs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

/// One row per scheme × key_len × batch × operation, a column per device, and GPU/CPU.
fn print_table(results: &[Measurement]) {
    println!(
        "{:<16} {:>7} {:>8}  {:<15} {:>14} {:>14} {:>8}",
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
        let show = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.1}"));
        let ratio = match (cpu, gpu) {
            (Some(c), Some(g)) if c > 0.0 => format!("{:.2}x", g / c),
            _ => "-".to_string(),
        };
        println!(
            "{:<16} {:>7} {:>8}  {:<15} {:>14} {:>14} {:>8}",
            m.scheme,
            m.key_len,
            m.batch,
            m.operation,
            show(cpu),
            show(gpu),
            ratio
        );
    }
}

/// 1k, 10k, 1M: a tick label.
fn human(x: f64) -> String {
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
fn plot(path: &Path, results: &[Measurement], caption: &str) -> Result<()> {
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
