//! Submitting one chunk: its inputs uploaded into pooled buffers (each host input once, however
//! many passes bind it), every step's parameters and bind group, the dispatches encoded with
//! their pass times where the device keeps them (`device_times.rs`), and the copy of the results
//! (and ticks) into the staging buffer that the readback maps.

use std::sync::Arc;

use super::buffers::{BufferPool, BufferRole, MAX_BIND_GROUPS};
use super::device_times::TimedChunk;
use super::dispatch::{grid_rows, Operand, Pass, Source};
use super::readback::InFlight;
use super::Runtime;
use crate::backend::gpu::codegen::params::{Params, Step};
use crate::backend::gpu::failure;
use crate::error::Result;

impl Runtime {
    /// Uploads and submits items `start..end`; adds the bytes written to `bytes_up`.
    #[allow(clippy::too_many_arguments)]
    pub(in crate::backend::gpu) fn submit_chunk(
        &self,
        pool: &mut BufferPool,
        passes: &[Pass<'_>],
        pipelines: &[Arc<wgpu::ComputePipeline>],
        set: usize,
        (start, end): (usize, usize),
        output_words: usize,
        bytes_up: &mut u64,
    ) -> Result<InFlight> {
        // A device lost while an earlier chunk ran takes no more work.
        self.check_health()?;
        let n = end - start;
        let out_bytes = (n * output_words * 4) as u64;
        // Upload this chunk's per-item inputs, and small whole operands, into pooled buffers:
        // once per distinct input, however many passes bind it.
        for (p, pass) in passes.iter().enumerate() {
            for (binding, source) in &pass.bindings {
                let slice = match source {
                    Source::PerItem { words, item_words } => {
                        &words[start * item_words..end * item_words]
                    }
                    Source::Small(words) => words,
                    _ => continue,
                };
                let role = input_role(passes, p, *binding, source);
                if role
                    != (BufferRole::Input {
                        pass: p,
                        binding: *binding,
                    })
                {
                    continue;
                }
                let key = (set, role);
                let buffer = self.pooled(pool, key, (slice.len() * 4) as u64);
                if !slice.is_empty() {
                    self.queue
                        .write_buffer(buffer, 0, bytemuck::cast_slice(slice));
                    *bytes_up += (slice.len() * 4) as u64;
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
        // The results, then (where the device keeps time) each pass's begin and end ticks.
        let copy_bytes = out_bytes.max(4).next_multiple_of(4);
        let timed = self.device_timing().then(|| TimedChunk {
            offset: copy_bytes.next_multiple_of(8),
            kernels: passes.iter().map(|p| p.kernel).collect(),
        });
        let mapped_bytes = timed
            .as_ref()
            .map_or(copy_bytes, |t| t.offset + TimedChunk::bytes(passes.len()));
        self.pooled(pool, (set, BufferRole::Staging), mapped_bytes);
        if timed.is_some() {
            self.pass_timer(pool, set, passes.len());
        }
        // Per dispatch: its parameters into a pooled uniform buffer, and its bind group, reused
        // whenever the same buffers are bound again.
        if pool.bind_groups.len() > MAX_BIND_GROUPS {
            pool.bind_groups.clear();
        }
        let mut dispatches = Vec::new();
        for (p, (pass, pipeline)) in passes.iter().zip(pipelines).enumerate() {
            for (k, step) in pass.program.iter().enumerate() {
                let params = chunk_params(pass, step, start, n);
                let role = BufferRole::Params { pass: p, step: k };
                let uniform = self.pooled(pool, (set, role), size_of::<Params>() as u64);
                self.queue
                    .write_buffer(uniform, 0, bytemuck::bytes_of(&params));
                *bytes_up += size_of::<Params>() as u64;
                let mut bound = vec![(1, uniform.clone())];
                for (binding, source) in &pass.bindings {
                    bound.push((
                        *binding,
                        bound_buffer(passes, pool, set, p, *binding, source)?,
                    ));
                }
                let key = ((pass.kernel, pass.shape), bound);
                if !pool.bind_groups.contains_key(&key) {
                    let entries: Vec<_> = key
                        .1
                        .iter()
                        .map(|(binding, buffer)| wgpu::BindGroupEntry {
                            binding: *binding,
                            resource: buffer.as_entire_binding(),
                        })
                        .collect();
                    let group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some(pass.kernel.label()),
                        layout: &pipeline.get_bind_group_layout(0),
                        entries: &entries,
                    });
                    pool.bind_groups.insert(key.clone(), group);
                }
                dispatches.push((p, key));
            }
        }
        let pool = &*pool;
        let timer = pool.timers.get(&set).filter(|_| timed.is_some());
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some(passes[0].kernel.label()),
            });
        for (d, (p, key)) in dispatches.iter().enumerate() {
            let pass = &passes[*p];
            let bind_group = pool
                .bind_groups
                .get(key)
                .ok_or_else(|| failure("bind group missing"))?;
            let first = d == 0 || dispatches[d - 1].0 != *p;
            let last = dispatches.get(d + 1).is_none_or(|next| next.0 != *p);
            let mut compute = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(pass.kernel.label()),
                timestamp_writes: timer.and_then(|t| t.writes(*p, first, last)),
            });
            compute.set_pipeline(&pipelines[*p]);
            compute.set_bind_group(0, bind_group, &[]);
            let groups = n.div_ceil(pass.shape.numbers_per_workgroup());
            compute.dispatch_workgroups(groups as u32, grid_rows(&pass.params), 1);
        }
        let output = pool
            .buffers
            .get(&(set, BufferRole::Output))
            .ok_or_else(|| failure("output buffer missing"))?;
        let staging = pool
            .buffers
            .get(&(set, BufferRole::Staging))
            .ok_or_else(|| failure("staging buffer missing"))?;
        encoder.copy_buffer_to_buffer(output, 0, staging, 0, copy_bytes);
        if let (Some(timer), Some(timed)) = (timer, &timed) {
            timer.copy_out(&mut encoder, passes.len(), staging, timed.offset);
        }
        let submission = self.queue.submit([encoder.finish()]);
        if super::countdown_fires(&self.lose_device_in) {
            log::warn!("fault injection: destroying the GPU device");
            self.device.destroy();
        }
        let (sender, receiver) = std::sync::mpsc::channel();
        staging
            .slice(..mapped_bytes)
            .map_async(wgpu::MapMode::Read, move |r| {
                let _ = sender.send(r);
            });
        Ok(InFlight {
            set,
            bytes: out_bytes,
            mapped_bytes,
            timed,
            submission,
            receiver,
        })
    }
}

/// The pooled buffer role of host input `source`, bound at `binding` of pass `pass`: that of the
/// first binding of the call with the very same words (the owner's encryption binds its messages
/// and noise exponents in the passes of both primes), so that each input crosses once.
pub(in crate::backend::gpu) fn input_role(
    passes: &[Pass<'_>],
    pass: usize,
    binding: u32,
    source: &Source<'_>,
) -> BufferRole {
    let same = |other: &Source<'_>| match (source, other) {
        (
            Source::PerItem { words, item_words },
            Source::PerItem {
                words: w,
                item_words: i,
            },
        ) => std::ptr::eq(*words, *w) && item_words == i,
        (Source::Small(words), Source::Small(w)) => std::ptr::eq(*words, *w),
        _ => false,
    };
    passes
        .iter()
        .enumerate()
        .flat_map(|(p, pass)| pass.bindings.iter().map(move |(b, s)| (p, *b, s)))
        .find(|(_, _, other)| same(other))
        .map_or(BufferRole::Input { pass, binding }, |(p, b, _)| {
            BufferRole::Input {
                pass: p,
                binding: b,
            }
        })
}

/// The buffer behind `source` for binding `binding` of pass `pass` in in-flight set `set`.
fn bound_buffer(
    passes: &[Pass<'_>],
    pool: &BufferPool,
    set: usize,
    pass: usize,
    binding: u32,
    source: &Source<'_>,
) -> Result<wgpu::Buffer> {
    let key = match source {
        Source::Whole(buffer) | Source::Kept(buffer) => return Ok((*buffer).clone()),
        Source::PerItem { .. } | Source::Small(_) => {
            (set, input_role(passes, pass, binding, source))
        }
        Source::Scratch { slot, .. } => (set, BufferRole::Scratch(*slot)),
        Source::Output { .. } => (set, BufferRole::Output),
    };
    pool.buffers
        .get(&key)
        .cloned()
        .ok_or_else(|| failure("pooled buffer missing"))
}

/// The parameters of `step` of `pass` for the chunk of `n` items from `start`.
fn chunk_params(pass: &Pass<'_>, step: &Step, start: usize, n: usize) -> Params {
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
    params
}
