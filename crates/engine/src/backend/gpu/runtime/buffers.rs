//! Device buffers: pooled ones reused across calls (they only grow), constants kept across
//! calls, and one-off ones.

use std::collections::HashMap;

use super::device_times::PassTimer;
use super::Runtime;
use crate::backend::gpu::codegen::kernels::PipelineKey;
use crate::backend::gpu::codegen::words::to_gpu_words;
use crate::backend::gpu::{failure, LimbPath};
use crate::error::Result;

/// Buffers kept across calls, by (in-flight set, role); they only grow. Bind groups are kept
/// too, by pipeline and the exact buffers they bind, so a chunk, a step or a later call that
/// binds the same buffers reuses them.
#[derive(Default)]
pub(in crate::backend::gpu) struct BufferPool {
    pub(in crate::backend::gpu) buffers: HashMap<(usize, BufferRole), wgpu::Buffer>,
    pub(in crate::backend::gpu) bind_groups: HashMap<BindGroupKey, wgpu::BindGroup>,
    /// Timestamp queries by in-flight set, where the device keeps time.
    pub(in crate::backend::gpu) timers: HashMap<usize, PassTimer>,
}

/// A bind group's identity: the pipeline and the buffer at each binding.
pub(in crate::backend::gpu) type BindGroupKey = (PipelineKey, Vec<(u32, wgpu::Buffer)>);

/// Bind groups kept at most; past it the cache starts over (stale ones hold old buffers alive).
pub(in crate::backend::gpu) const MAX_BIND_GROUPS: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(in crate::backend::gpu) enum BufferRole {
    /// Per-item input of a pass's binding.
    Input {
        pass: usize,
        binding: u32,
    },
    Scratch(usize),
    Output,
    Staging,
    /// The uniform parameters of one dispatch (pass, step).
    Params {
        pass: usize,
        step: usize,
    },
}

impl Runtime {
    /// A storage buffer of constants `limbs` in `path`'s words, uploaded once and kept (16 at
    /// most) under the SHA-256 of the limbs: the host keeps no copy of a secret modulus, only
    /// its digest.
    pub(in crate::backend::gpu) fn constants_buffer(
        &self,
        limbs: &[u64],
        path: LimbPath,
    ) -> Result<wgpu::Buffer> {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        for limb in limbs {
            hasher.update(limb.to_le_bytes());
        }
        let digest: [u8; 32] = hasher.finalize().into();
        let mut kept = self
            .constants
            .lock()
            .map_err(|_| failure("constants cache poisoned"))?;
        if let Some((_, buffer)) = kept.iter().find(|(d, _)| *d == digest) {
            return Ok(buffer.clone());
        }
        let mut words = to_gpu_words(limbs, path);
        let buffer = self.storage_buffer("paillier-gpu constants", &words);
        zeroize::Zeroize::zeroize(&mut words);
        if kept.len() >= 16 {
            kept.remove(0);
        }
        kept.push((digest, buffer.clone()));
        Ok(buffer)
    }

    /// A pooled buffer of at least `bytes`, reused when large enough.
    pub(in crate::backend::gpu) fn pooled<'p>(
        &self,
        pool: &'p mut BufferPool,
        key: (usize, BufferRole),
        bytes: u64,
    ) -> &'p wgpu::Buffer {
        let bytes = bytes.max(4).next_multiple_of(4);
        let usage = match key.1 {
            BufferRole::Staging => wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            BufferRole::Params { .. } => wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            _ => {
                wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST
            }
        };
        let too_small = pool.buffers.get(&key).is_some_and(|b| b.size() < bytes);
        if too_small {
            // Replaced: the bind groups that hold the old buffer go with it.
            if let Some(old) = pool.buffers.remove(&key) {
                pool.bind_groups
                    .retain(|group, _| !group.1.iter().any(|(_, b)| *b == old));
            }
        }
        pool.buffers
            .entry(key)
            .or_insert_with(|| self.raw_buffer("paillier-gpu pooled", bytes, usage))
    }

    pub(in crate::backend::gpu) fn raw_buffer(
        &self,
        label: &str,
        bytes: u64,
        usage: wgpu::BufferUsages,
    ) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes.max(4),
            usage,
            mapped_at_creation: false,
        })
    }

    /// A storage buffer holding `words` (one word when empty: empty bindings are invalid).
    /// Written through the queue rather than mapped at creation, which would panic on a lost
    /// device instead of failing the call.
    pub(in crate::backend::gpu) fn storage_buffer(
        &self,
        label: &str,
        words: &[u32],
    ) -> wgpu::Buffer {
        let contents: &[u32] = if words.is_empty() { &[0] } else { words };
        let usage = wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST;
        let buffer = self.raw_buffer(label, (contents.len() * 4) as u64, usage);
        self.queue
            .write_buffer(&buffer, 0, bytemuck::cast_slice(contents));
        buffer
    }

    /// Set `set`'s timer, able to time `passes` passes (it only grows).
    pub(in crate::backend::gpu) fn pass_timer<'p>(
        &self,
        pool: &'p mut BufferPool,
        set: usize,
        passes: usize,
    ) -> &'p PassTimer {
        if pool.timers.get(&set).is_some_and(|t| t.passes() < passes) {
            pool.timers.remove(&set);
        }
        pool.timers
            .entry(set)
            .or_insert_with(|| PassTimer::new(self, passes))
    }
}
