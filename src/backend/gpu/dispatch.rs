//! Running kernels over a batch: chunks within the adapter's limits, pooled buffers reused across
//! calls, and two chunks in flight, so that the host prepares and reads one chunk while the device
//! computes the next.

use std::collections::VecDeque;
use std::sync::Arc;

use bytemuck::{Pod, Zeroable};

use super::buffers::{BufferPool, BufferRole};
use super::kernels::Kernel;
use super::shader::Shape;
use super::{failure, GpuBackend};
use crate::error::Result;

/// Uniform parameters of every kernel; field order matches `Params` in `shaders/params.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub(super) struct Params {
    pub count: u32,
    pub first: u32,
    pub operand_count: u32,
    pub operand_first: u32,
    pub exp_words: u32,
    pub exp_bits: u32,
    pub m0_inv: u32,
    pub window: u32,
    pub limbs: u32,
    pub phase: u32,
    pub step_from: u32,
    pub step_to: u32,
    pub x_limbs: u32,
    pub mask_words: u32,
    pub m0_inv_q: u32,
    pub pad: u32,
}

/// Phase bits of the exponentiation kernels.
pub(super) const PHASE_START: u32 = 1;
pub(super) const PHASE_FINISH: u32 = 2;

/// One dispatch of a kernel: phase bits and a step range.
#[derive(Clone, Copy, Debug)]
pub(super) struct Step {
    pub phase: u32,
    pub from: u32,
    pub to: u32,
}

/// The dispatches of an exponentiation of `steps` steps costing `edges_per_step` loop back-edges
/// each, within `budget` back-edges per dispatch: the first starts, the last finishes.
pub(super) fn phased_program(steps: usize, edges_per_step: usize, budget: usize) -> Vec<Step> {
    let per = (budget / edges_per_step.max(1)).max(1);
    let mut program = Vec::new();
    let mut from = 0;
    loop {
        let to = (from + per).min(steps);
        let mut phase = 0;
        if from == 0 {
            phase |= PHASE_START;
        }
        if to == steps {
            phase |= PHASE_FINISH;
        }
        program.push(Step {
            phase,
            from: from as u32,
            to: to as u32,
        });
        if to == steps {
            return program;
        }
        from = to;
    }
}

/// What a binding holds for one chunk of items.
pub(super) enum Source<'a> {
    /// Host words, `item_words` per item, sliced per chunk and uploaded into a pooled buffer.
    PerItem { words: &'a [u32], item_words: usize },
    /// A device buffer bound whole (constants, a table, a resident database, a cyclic operand).
    Whole(&'a wgpu::Buffer),
    /// Device memory of `item_words` per item that passes of one chunk share by `slot` (state,
    /// window tables, intermediate results); never read back.
    Scratch { slot: usize, item_words: usize },
    /// The result, `item_words` per item, read back.
    Output { item_words: usize },
}

/// How a pass finds its items' operands: `operand_first` follows the chunk for cyclic operands.
#[derive(Clone, Copy, Debug)]
pub(super) enum Operand {
    /// No operand, or one per item uploaded per chunk.
    PerChunk,
    /// `items` operands used cyclically: item i of the batch uses operand (offset + i) % items.
    Cyclic { items: usize, offset: usize },
}

/// One kernel over every item of a chunk.
pub(super) struct Pass<'a> {
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
const SCRATCH_BUDGET_BYTES: u64 = 512 << 20;

/// Chunks in flight at once.
const IN_FLIGHT: usize = 2;

/// A chunk submitted and not yet read.
struct InFlight {
    set: usize,
    bytes: u64,
    submission: wgpu::SubmissionIndex,
    receiver: std::sync::mpsc::Receiver<std::result::Result<(), wgpu::BufferAsyncError>>,
}

impl GpuBackend {
    /// Items per chunk: within the workgroup-count limit, the binding size of every buffer sliced
    /// per item, and the scratch budget.
    fn chunk_items(&self, passes: &[Pass<'_>]) -> Result<usize> {
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
                    Source::Whole(_) => {}
                }
            }
        }
        chunk = chunk.min((self.max_binding_bytes / per_item_bytes) as usize);
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
    pub(super) fn run(&self, passes: &[Pass<'_>], count: usize) -> Result<Vec<u32>> {
        self.check_health()?;
        let output_words = passes
            .iter()
            .flat_map(|p| p.bindings.iter())
            .find_map(|(_, s)| match s {
                Source::Output { item_words } => Some(*item_words),
                _ => None,
            })
            .ok_or_else(|| failure("a GPU job without an output"))?;
        let mut results = Vec::with_capacity(count * output_words);
        if count == 0 {
            return Ok(results);
        }
        let chunk = self.chunk_items(passes)?;
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
        let mut in_flight: VecDeque<InFlight> = VecDeque::new();
        let mut start = 0;
        let mut index = 0;
        while start < count {
            let end = (start + chunk).min(count);
            let set = index % IN_FLIGHT;
            let flight =
                self.submit_chunk(&mut pool, passes, &pipelines, set, start, end, output_words)?;
            in_flight.push_back(flight);
            if in_flight.len() == IN_FLIGHT {
                if let Some(done) = in_flight.pop_front() {
                    self.collect(&mut pool, done, &mut results)?;
                }
            }
            start = end;
            index += 1;
        }
        while let Some(done) = in_flight.pop_front() {
            self.collect(&mut pool, done, &mut results)?;
        }
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(failure(format!("{}: {e}", passes[0].kernel.label())));
        }
        self.check_health()?;
        Ok(results)
    }

    #[allow(clippy::too_many_arguments)]
    fn submit_chunk(
        &self,
        pool: &mut BufferPool,
        passes: &[Pass<'_>],
        pipelines: &[Arc<wgpu::ComputePipeline>],
        set: usize,
        start: usize,
        end: usize,
        output_words: usize,
    ) -> Result<InFlight> {
        // A device lost while an earlier chunk ran takes no more work.
        self.check_health()?;
        let n = end - start;
        let out_bytes = (n * output_words * 4) as u64;
        // Upload this chunk's per-item inputs into pooled buffers.
        for (p, pass) in passes.iter().enumerate() {
            for (binding, source) in &pass.bindings {
                if let Source::PerItem { words, item_words } = source {
                    let slice = &words[start * item_words..end * item_words];
                    let key = (
                        set,
                        BufferRole::Input {
                            pass: p,
                            binding: *binding,
                        },
                    );
                    let buffer = self.pooled(pool, key, (slice.len() * 4) as u64);
                    if !slice.is_empty() {
                        self.queue
                            .write_buffer(buffer, 0, bytemuck::cast_slice(slice));
                    }
                }
            }
        }
        for pass in passes {
            for (_, source) in &pass.bindings {
                match source {
                    Source::Scratch { slot, item_words } => {
                        self.pooled(
                            pool,
                            (set, BufferRole::Scratch(*slot)),
                            (n * item_words * 4) as u64,
                        );
                    }
                    Source::Output { .. } => {
                        self.pooled(pool, (set, BufferRole::Output), out_bytes);
                    }
                    _ => {}
                }
            }
        }
        self.pooled(pool, (set, BufferRole::Staging), out_bytes);
        let pool = &*pool;
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some(passes[0].kernel.label()),
            });
        for (p, (pass, pipeline)) in passes.iter().zip(pipelines).enumerate() {
            let layout = pipeline.get_bind_group_layout(0);
            for step in &pass.program {
                let mut params = pass.params;
                params.count = n as u32;
                params.first = pass.first.map_or(0, |first| first + start) as u32;
                if let Operand::Cyclic { items, offset } = pass.operand {
                    params.operand_count = items as u32;
                    params.operand_first = ((offset + start) % items.max(1)) as u32;
                } else {
                    params.operand_count = n as u32;
                    params.operand_first = 0;
                }
                params.phase = step.phase;
                params.step_from = step.from;
                params.step_to = step.to;
                let uniform = self.uniform_buffer(bytemuck::bytes_of(&params));
                let mut entries = vec![wgpu::BindGroupEntry {
                    binding: 1,
                    resource: uniform.as_entire_binding(),
                }];
                for (binding, source) in &pass.bindings {
                    entries.push(wgpu::BindGroupEntry {
                        binding: *binding,
                        resource: binding_resource(pool, set, p, *binding, source)?,
                    });
                }
                let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some(pass.kernel.label()),
                    layout: &layout,
                    entries: &entries,
                });
                let mut compute = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some(pass.kernel.label()),
                    timestamp_writes: None,
                });
                compute.set_pipeline(pipeline);
                compute.set_bind_group(0, &bind_group, &[]);
                let groups = n.div_ceil(pass.shape.numbers_per_workgroup());
                compute.dispatch_workgroups(groups as u32, 1, 1);
            }
        }
        let output = pool
            .buffers
            .get(&(set, BufferRole::Output))
            .ok_or_else(|| failure("output buffer missing"))?;
        let staging = pool
            .buffers
            .get(&(set, BufferRole::Staging))
            .ok_or_else(|| failure("staging buffer missing"))?;
        let copy_bytes = out_bytes.max(4).next_multiple_of(4);
        encoder.copy_buffer_to_buffer(output, 0, staging, 0, copy_bytes);
        let submission = self.queue.submit([encoder.finish()]);
        if super::countdown_fires(&self.lose_device_in) {
            log::warn!("fault injection: destroying the GPU device");
            self.device.destroy();
        }
        let (sender, receiver) = std::sync::mpsc::channel();
        staging
            .slice(..copy_bytes)
            .map_async(wgpu::MapMode::Read, move |r| {
                let _ = sender.send(r);
            });
        Ok(InFlight {
            set,
            bytes: out_bytes,
            submission,
            receiver,
        })
    }

    /// Waits for a chunk and appends its result words.
    fn collect(&self, pool: &mut BufferPool, done: InFlight, results: &mut Vec<u32>) -> Result<()> {
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(done.submission),
                timeout: None,
            })
            .map_err(|e| failure(format!("waiting for the GPU: {e}")))?;
        done.receiver
            .recv()
            .map_err(|_| failure("the GPU never answered the readback"))?
            .map_err(|e| failure(format!("reading results back: {e}")))?;
        self.check_health()?;
        let staging = pool
            .buffers
            .get(&(done.set, BufferRole::Staging))
            .ok_or_else(|| failure("staging buffer missing"))?;
        let words = (done.bytes / 4) as usize;
        let first = results.len();
        {
            let view = staging
                .slice(..done.bytes.max(4).next_multiple_of(4))
                .get_mapped_range()
                .map_err(|e| failure(format!("mapping results: {e}")))?;
            results.extend_from_slice(&bytemuck::cast_slice::<u8, u32>(&view)[..words]);
        }
        staging.unmap();
        if super::countdown_fires(&self.corrupt_result_in) {
            log::warn!("fault injection: corrupting a GPU result");
            if let Some(word) = results.get_mut(first) {
                *word ^= 1;
            }
        }
        Ok(())
    }
}

/// The buffer behind `source` for binding `binding` of pass `pass` in in-flight set `set`.
fn binding_resource<'b>(
    pool: &'b BufferPool,
    set: usize,
    pass: usize,
    binding: u32,
    source: &Source<'b>,
) -> Result<wgpu::BindingResource<'b>> {
    let key = match source {
        Source::Whole(buffer) => return Ok(buffer.as_entire_binding()),
        Source::PerItem { .. } => (set, BufferRole::Input { pass, binding }),
        Source::Scratch { slot, .. } => (set, BufferRole::Scratch(*slot)),
        Source::Output { .. } => (set, BufferRole::Output),
    };
    pool.buffers
        .get(&key)
        .map(|b| b.as_entire_binding())
        .ok_or_else(|| failure("pooled buffer missing"))
}
