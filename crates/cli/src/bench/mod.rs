//! `paillier-gpu bench`: the same inputs through each device, timed per operation.
//!
//! For every scheme × key_len × batch size it creates one throwaway context, draws random binary
//! vectors, runs each operation once untimed (building tables and GPU pipelines), then
//! `--repeat` timed runs, and reports the median rate. Keys never leave the process.
//!
//! On `paillier` contexts it also times numbers (`numbers.rs`): floats encrypted by the owner
//! and with the public key, decrypted (numbers per second), and a 64 × 10 linear layer (samples
//! per second, over `batch / 64` samples).
//!
//! `search` is the whole search (encrypt a query, aggregate it over a resident database of
//! `batch` records, decode every response, keep the 10 nearest), and `--database` measures it
//! over databases of other sizes. On a GPU each measurement also records where the time went
//! (`breakdown.rs`): host-visible time, time inside GPU calls, waiting for the device, bytes
//! moved, and whether the host or the device bounds it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use paillier_gpu::hamming::{self, Selection};
use paillier_gpu::hazmat::backend::{backend_for, Backend};
use paillier_gpu::io::Output;
use paillier_gpu::paillier::CiphertextBatch;
use paillier_gpu::{ContextOptions, Device, Error, ExecutionContext, Result, Scheme};
use rand::Rng;

mod breakdown;
mod machine;
mod numbers;
mod outputs;
mod plot;
mod report;
mod search;

use breakdown::{breakdown, gpu_totals, Totals};
use machine::*;
use outputs::BenchOutput;
use report::*;
use search::{database, whole_search};

use crate::say::{counted, wrote};
/// What `bench` was asked to measure.
#[derive(Debug)]
pub struct BenchPlan {
    pub devices: Vec<Device>,
    pub schemes: Vec<Scheme>,
    pub key_lens: Vec<usize>,
    /// Batch sizes; `None` for the defaults of [`default_batches`].
    pub batches: Option<Vec<usize>>,
    /// Database sizes of extra `search` measurements (`--database`).
    pub databases: Vec<usize>,
    pub embed_len: usize,
    /// Lookup contexts' alpha_len (capped at key_len / 2 for small keys).
    pub alpha_len: usize,
    pub repeat: usize,
    pub json: Option<PathBuf>,
    pub plot: Option<PathBuf>,
    /// Replace a `json` or `plot` file that bench did not write.
    pub force: bool,
    /// Whether to time the number operations and the linear layer (classic contexts).
    pub numbers: bool,
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
const OPERATIONS: [&str; 5] = [
    "encrypt_owner",
    "encrypt_public",
    "aggregate",
    "decode",
    "search",
];

pub fn run(plan: &BenchPlan) -> Result<()> {
    let given_zero =
        plan.batches.as_ref().is_some_and(|b| b.contains(&0)) || plan.databases.contains(&0);
    if plan.repeat == 0 || given_zero {
        return Err(Error::InvalidParameter(
            "--repeat, every --batch and every --database must be at least 1".into(),
        ));
    }
    // Checked and locked before minutes of measuring, and held until written.
    let prepare = |path: &Option<PathBuf>, kind: BenchOutput| {
        path.as_deref()
            .map(|path| Output::prepare_as(path, &[], &kind, plan.force))
            .transpose()
    };
    let json_output = prepare(&plan.json, BenchOutput::Report)?;
    let plot_output = prepare(&plan.plot, BenchOutput::Plot)?;
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
                    let timed = measure(&ctx, *device, &vectors, plan.repeat)?;
                    for (operation, timed) in OPERATIONS.iter().zip(timed) {
                        let name = backend_name(backend.as_ref());
                        results.push(timed.measurement(&ctx, operation, batch, *device, name));
                    }
                    if scheme == Scheme::Paillier && plan.numbers {
                        // Batches with as many samples as one before time the layer once.
                        let samples = numbers::linear_samples(batch);
                        let linear = !results.iter().any(|m: &Measurement| {
                            m.operation == numbers::LINEAR
                                && m.key_len == key_len
                                && m.batch == samples
                                && m.device == device.to_string()
                        });
                        let timed =
                            numbers::measure_numbers(&ctx, *device, batch, linear, plan.repeat)?;
                        for (operation, (timed, count)) in
                            numbers::NUMBER_OPERATIONS.iter().zip(timed)
                        {
                            let name = backend_name(backend.as_ref());
                            results.push(timed.measurement(&ctx, operation, count, *device, name));
                        }
                    }
                }
            }
            for &records in &plan.databases {
                let vectors = random_vectors(records, plan.embed_len);
                for (device, backend) in &backends {
                    ctx = ctx.with_backend(backend.clone());
                    let index = database(&ctx, &vectors)?;
                    let timed = timed(*device, plan.repeat, &mut || {
                        whole_search(&ctx, &index, &vectors[0]).map(drop)
                    })?;
                    let name = backend_name(backend.as_ref());
                    results.push(timed.measurement(&ctx, "search", records, *device, name));
                }
            }
        }
    }
    print_table(&results);
    print_searches(&results);
    if let Some(output) = json_output {
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
        let path = output.requested().to_path_buf();
        output.write_bytes(text.as_bytes())?;
        wrote(&format!(
            "{} to {}",
            counted(results.len(), "measurement", "measurements"),
            path.display()
        ));
    }
    if let Some(output) = plot_output {
        let caption = plot::Caption {
            cpu: cpu.line(),
            gpu: gpu.as_ref().map(gpu_caption),
            software_gpu: gpu.as_ref().is_some_and(is_software),
            repeat: plan.repeat,
        };
        let path = output.requested().to_path_buf();
        plot::plot(output, &results, &caption)?;
        wrote(&format!("the plot to {}", path.display()));
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
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

fn random_vectors(count: usize, embed_len: usize) -> Vec<Vec<u8>> {
    let mut rng = rand::thread_rng();
    (0..count)
        .map(|_| (0..embed_len).map(|_| rng.gen_range(0..=1)).collect())
        .collect()
}

/// One operation's timed runs, and what the GPU's calls cost during them.
struct Timed {
    runs: Vec<f64>,
    before: Option<Totals>,
    after: Option<Totals>,
}

impl Timed {
    fn measurement(
        self,
        ctx: &ExecutionContext,
        operation: &'static str,
        batch: usize,
        device: Device,
        device_name: String,
    ) -> Measurement {
        let median = median(&self.runs);
        Measurement {
            scheme: ctx.scheme().name(),
            key_len: ctx.key_len(),
            embed_len: ctx.embed_len(),
            batch,
            operation,
            device: device.to_string(),
            device_name,
            per_second: batch as f64 / median,
            median_s: median,
            breakdown: breakdown(self.before, self.after, &self.runs),
            runs_s: self.runs,
        }
    }
}

/// `f` once untimed (tables, pipelines, resident buffers), then `repeat` timed runs.
fn timed(device: Device, repeat: usize, f: &mut dyn FnMut() -> Result<()>) -> Result<Timed> {
    f()?;
    let before = gpu_totals(device);
    let runs = (0..repeat)
        .map(|_| {
            let start = Instant::now();
            f()?;
            Ok(start.elapsed().as_secs_f64())
        })
        .collect::<Result<Vec<f64>>>()?;
    Ok(Timed {
        runs,
        before,
        after: gpu_totals(device),
    })
}

/// Each operation's timed runs, in [`OPERATIONS`] order.
fn measure(
    ctx: &ExecutionContext,
    device: Device,
    vectors: &[Vec<u8>],
    repeat: usize,
) -> Result<Vec<Timed>> {
    let backend = ctx.public().backend()?.as_ref();
    let layout = ctx.layout();
    let time = |f: &mut dyn FnMut() -> Result<()>| timed(device, repeat, f);
    // Batches, as `encrypt` writes them: no big integer per ciphertext.
    let encrypt_owner = time(&mut || ctx.encrypt_batch(vectors).map(drop))?;
    let encrypt_public = time(&mut || {
        hamming::encrypt_batch(backend, ctx.public().public_key(), None, layout, vectors).map(drop)
    })?;
    // A search backend's path: batches in and out, the database resident on the device, one
    // output reused from query to query.
    let index = database(ctx, vectors)?;
    let query = ctx.encrypt_batch(&vectors[..1])?;
    let mut responses = CiphertextBatch::new(ctx.public().public_key(), layout.pieces())?;
    let aggregate =
        time(&mut || index.aggregate_batch_into(&query, &Selection::All, &mut responses))?;
    let decode = time(&mut || ctx.decode_batch(&responses).map(drop))?;
    let search = time(&mut || whole_search(ctx, &index, &vectors[0]).map(drop))?;
    log::debug!("bench on {device} done");
    Ok(vec![
        encrypt_owner,
        encrypt_public,
        aggregate,
        decode,
        search,
    ])
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
