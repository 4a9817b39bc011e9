//! Running kernels over a batch: chunks within the adapter's limits, pooled buffers reused across
//! calls, and up to three chunks in flight, so that the host uploads one chunk and reads another
//! while the device computes a third. A large batch is cut into at least [`MIN_CHUNKS`] chunks
//! (none smaller than what fills the adapter): one chunk would leave its whole upload and readback
//! outside the device's time.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use super::buffers::BufferPool;
use super::readback::{CallTimes, InFlight};
use super::Runtime;
use crate::backend::gpu::codegen::kernels::Kernel;
use crate::backend::gpu::codegen::params::{Params, Step};
use crate::backend::gpu::codegen::shader::Shape;
use crate::backend::gpu::codegen::words::ReadWords;
use crate::backend::gpu::failure;
use crate::error::Result;

/// Chunks hold this many batches of what fills the adapter (`calibrate.rs`), so that a chunk is
/// whole waves and long enough to hide its own submission and readback behind the other chunks
/// in flight.
pub(in crate::backend::gpu) const WAVES_PER_CHUNK: usize = 8;

/// What a binding holds for one chunk of items.
pub(in crate::backend::gpu) enum Source<'a> {
    /// Host words, `item_words` per item, sliced per chunk and uploaded into a pooled buffer.
    PerItem { words: &'a [u32], item_words: usize },
    /// A device buffer of this call's, bound whole (a resident database, a cyclic operand).
    Whole(&'a wgpu::Buffer),
    /// Host words bound whole, written into a pooled buffer before each chunk: a small cyclic
    /// operand (a query), whose buffer and bind groups then survive from call to call.
    Small(&'a [u32]),
    /// A buffer the backend keeps across calls (constants, a fixed-base table), bound whole.
    Kept(&'a wgpu::Buffer),
    /// Device memory of `item_words` per item that passes of one chunk share by `slot` (state,
    /// window tables, intermediate results); never read back.
    Scratch { slot: usize, item_words: usize },
    /// The result, `item_words` per item, read back.
    Output { item_words: usize },
}

/// How a pass finds its items' operands: `operand_first` follows the chunk for cyclic operands.
#[derive(Clone, Copy, Debug)]
pub(in crate::backend::gpu) enum Operand {
    /// No operand, or one per item uploaded per chunk.
    PerChunk,
    /// `items` operands used cyclically: item i of the batch uses operand (offset + i) % items.
    Cyclic { items: usize, offset: usize },
}

/// One kernel over every item of a chunk.
pub(in crate::backend::gpu) struct Pass<'a> {
    pub kernel: Kernel,
    pub shape: Shape,
    pub params: Params,
    pub program: Vec<Step>,
    pub bindings: Vec<(u32, Source<'a>)>,
    /// Added to the chunk start to give `params.first` (a resident database's first record).
    pub first: Option<usize>,
    pub operand: Operand,
}

/// Most device scratch one chunk may use (the adapter's binding limit may be lower).
pub(in crate::backend::gpu) const SCRATCH_BUDGET_BYTES: u64 = 512 << 20;

/// Chunks in flight at once: one being uploaded, one computing, one being read back.
const IN_FLIGHT: usize = 3;

/// A batch that fills the adapter this many times over is cut into at least this many chunks.
const MIN_CHUNKS: usize = 4;

/// Invocations one item of `pass` launches: its lanes, once per row of the dispatch's second
/// dimension.
fn invocations_per_item(pass: &Pass<'_>) -> usize {
    pass.shape.lanes * grid_rows(&pass.params) as usize
}

impl Runtime {
    /// Sets the invocations per chunk (`calibrate.rs`; 0: chunks by the limits alone until
    /// calibrated again).
    pub(in crate::backend::gpu) fn set_chunk_invocations(&self, invocations: usize) {
        self.calibrated_invocations
            .store(invocations, Ordering::SeqCst);
    }

    /// Items per chunk of a `count`-item batch: within the workgroup-count limit, the binding
    /// size of every buffer sliced per item, the scratch budget, and (once calibrated) the
    /// calibrated chunk, cut so that a large batch makes [`MIN_CHUNKS`] chunks.
    fn chunk_items(&self, passes: &[Pass<'_>], count: usize) -> Result<usize> {
        let mut per_item_bytes = 4u64;
        let mut scratch_bytes = 0u64;
        let mut chunk = self.max_items_per_dispatch;
        for pass in passes {
            let groups = self.limits.max_compute_workgroups_per_dimension as usize;
            chunk = chunk.min(groups.saturating_mul(pass.shape.numbers_per_workgroup()));
            for (_, source) in &pass.bindings {
                match source {
                    Source::PerItem { item_words, .. } | Source::Output { item_words } => {
                        per_item_bytes = per_item_bytes.max((item_words * 4) as u64);
                    }
                    Source::Scratch { item_words, .. } => {
                        per_item_bytes = per_item_bytes.max((item_words * 4) as u64);
                        scratch_bytes += (item_words * 4) as u64;
                    }
                    Source::Whole(_) | Source::Kept(_) | Source::Small(_) => {}
                }
            }
        }
        chunk = chunk.min((self.max_binding_bytes / per_item_bytes) as usize);
        // The calibrated chunk (whole waves) where the limits allow it.
        let invocations = self.calibrated_invocations.load(Ordering::SeqCst);
        // Invocations per item in the passes that do the work (all of them where none does).
        let lanes = passes
            .iter()
            .filter(|p| p.kernel.sizes_chunks())
            .map(invocations_per_item)
            .max()
            .or_else(|| passes.iter().map(invocations_per_item).max())
            .unwrap_or(1);
        if invocations >= lanes {
            chunk = chunk.min(invocations / lanes);
            // Several chunks, so that uploads and readbacks overlap the device's work; but none
            // below one filling batch, which would idle the adapter.
            let filling = (invocations / WAVES_PER_CHUNK / lanes).max(1);
            chunk = chunk.min(count.div_ceil(MIN_CHUNKS).max(filling));
        }
        if let Some(by_scratch) = SCRATCH_BUDGET_BYTES.checked_div(scratch_bytes) {
            chunk = chunk.min(by_scratch as usize);
        }
        if chunk == 0 {
            return Err(failure(format!(
                "one item needs {per_item_bytes} bytes in one binding; the adapter binds at most {}",
                self.max_binding_bytes
            )));
        }
        Ok(chunk)
    }

    /// Runs `passes` in order over `count` items and returns the words of the `Output` binding.
    pub(in crate::backend::gpu) fn run(
        &self,
        passes: &[Pass<'_>],
        count: usize,
    ) -> Result<ReadWords> {
        let mut results = ReadWords::new(count * output_words(passes)?);
        self.run_into(passes, count, results.words_mut())?;
        Ok(results)
    }

    /// [`run`](Self::run), reading the `Output` binding's words straight into `results`
    /// (exactly `count` items' worth).
    pub(in crate::backend::gpu) fn run_into(
        &self,
        passes: &[Pass<'_>],
        count: usize,
        results: &mut [u32],
    ) -> Result<()> {
        self.check_health()?;
        let output_words = output_words(passes)?;
        if results.len() != count * output_words {
            return Err(failure(format!(
                "an output of {} words for {count} items of {output_words}",
                results.len()
            )));
        }
        if count == 0 {
            return Ok(());
        }
        let chunk = self.chunk_items(passes, count)?;
        let pipelines = passes
            .iter()
            .map(|p| self.pipeline(p.kernel, p.shape))
            .collect::<Result<Vec<_>>>()?;
        // Held for the whole call: one batch at a time uses the pooled buffers.
        let mut pool = self
            .pool
            .lock()
            .map_err(|_| failure("buffer pool poisoned"))?;
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let started = Instant::now();
        let mut times = CallTimes::default();
        let outcome = self.run_chunks(
            &mut pool,
            passes,
            &pipelines,
            (count, chunk, output_words),
            results,
            &mut times,
        );
        let call_s = started.elapsed().as_secs_f64();
        if let Ok(mut totals) = self.totals.lock() {
            totals.add_call(&times, call_s, self.nanoseconds_per_tick());
        }
        log::debug!(
            "{}: {count} items in {} chunk(s) of ≤{chunk}: {:.2} ms in all; uploads and \
             submissions {:.2} ms, waiting for the device {:.2} ms, copying results out {:.2} ms",
            passes[0].kernel.label(),
            times.chunks,
            call_s * 1e3,
            times.submit.as_secs_f64() * 1e3,
            times.wait.as_secs_f64() * 1e3,
            times.copy_out.as_secs_f64() * 1e3,
        );
        // Bind groups that hold this call's own buffers would keep them alive: drop them.
        let call_buffers: Vec<&wgpu::Buffer> = passes
            .iter()
            .flat_map(|p| p.bindings.iter())
            .filter_map(|(_, s)| match s {
                Source::Whole(buffer) => Some(*buffer),
                _ => None,
            })
            .collect();
        if !call_buffers.is_empty() {
            pool.bind_groups
                .retain(|key, _| !key.1.iter().any(|(_, b)| call_buffers.contains(&b)));
        }
        outcome?;
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(failure(format!("{}: {e}", passes[0].kernel.label())));
        }
        self.check_health()
    }

    /// Submits the chunks of `count` items, [`IN_FLIGHT`] at a time, and gathers their output
    /// words into `results`.
    fn run_chunks(
        &self,
        pool: &mut BufferPool,
        passes: &[Pass<'_>],
        pipelines: &[Arc<wgpu::ComputePipeline>],
        (count, chunk, output_words): (usize, usize, usize),
        results: &mut [u32],
        times: &mut CallTimes,
    ) -> Result<()> {
        let mut written = 0;
        let mut in_flight: VecDeque<InFlight> = VecDeque::new();
        let mut start = 0;
        let mut index = 0;
        while start < count {
            let end = (start + chunk).min(count);
            let set = index % IN_FLIGHT;
            let submitting = Instant::now();
            let flight = self.submit_chunk(
                pool,
                passes,
                pipelines,
                set,
                (start, end),
                output_words,
                &mut times.bytes_up,
            )?;
            times.submit += submitting.elapsed();
            times.chunks += 1;
            in_flight.push_back(flight);
            if in_flight.len() == IN_FLIGHT {
                if let Some(done) = in_flight.pop_front() {
                    written += self.collect(pool, done, &mut results[written..], times)?;
                }
            }
            start = end;
            index += 1;
        }
        while let Some(done) = in_flight.pop_front() {
            written += self.collect(pool, done, &mut results[written..], times)?;
        }
        if written != results.len() {
            return Err(failure(format!(
                "{written} result words came back where {} were expected",
                results.len()
            )));
        }
        Ok(())
    }
}

/// The dispatch grid's second dimension: the rows of a multi-exponentiation, else 1.
pub(in crate::backend::gpu) fn grid_rows(params: &Params) -> u32 {
    params.rows.max(1)
}

/// Words per item of the passes' `Output` binding.
fn output_words(passes: &[Pass<'_>]) -> Result<usize> {
    passes
        .iter()
        .flat_map(|p| p.bindings.iter())
        .find_map(|(_, s)| match s {
            Source::Output { item_words } => Some(*item_words),
            _ => None,
        })
        .ok_or_else(|| failure("a GPU job without an output"))
}
