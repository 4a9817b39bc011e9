//! Device buffers: pooled ones reused across calls (they only grow), and one-off ones.

use std::collections::HashMap;

use super::GpuBackend;

/// Buffers kept across calls, by (in-flight set, role); they only grow.
#[derive(Default)]
pub(super) struct BufferPool {
    pub(super) buffers: HashMap<(usize, BufferRole), wgpu::Buffer>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum BufferRole {
    /// Per-item input of a pass's binding.
    Input {
        pass: usize,
        binding: u32,
    },
    Scratch(usize),
    Output,
    Staging,
}

impl GpuBackend {
    /// A pooled buffer of at least `bytes`, reused when large enough.
    pub(super) fn pooled<'p>(
        &self,
        pool: &'p mut BufferPool,
        key: (usize, BufferRole),
        bytes: u64,
    ) -> &'p wgpu::Buffer {
        let bytes = bytes.max(4).next_multiple_of(4);
        let usage = match key.1 {
            BufferRole::Staging => wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            _ => {
                wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST
            }
        };
        let entry = pool.buffers.entry(key);
        let buffer = entry.or_insert_with(|| self.raw_buffer("paillier-gpu pooled", bytes, usage));
        if buffer.size() < bytes {
            *buffer = self.raw_buffer("paillier-gpu pooled", bytes, usage);
        }
        buffer
    }

    pub(super) fn raw_buffer(
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
    pub(super) fn storage_buffer(&self, label: &str, words: &[u32]) -> wgpu::Buffer {
        let contents: &[u32] = if words.is_empty() { &[0] } else { words };
        let usage = wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST;
        let buffer = self.raw_buffer(label, (contents.len() * 4) as u64, usage);
        self.queue
            .write_buffer(&buffer, 0, bytemuck::cast_slice(contents));
        buffer
    }

    /// A uniform buffer holding `bytes`.
    pub(super) fn uniform_buffer(&self, bytes: &[u8]) -> wgpu::Buffer {
        let usage = wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST;
        let buffer = self.raw_buffer("paillier-gpu params", bytes.len() as u64, usage);
        self.queue.write_buffer(&buffer, 0, bytes);
        buffer
    }
}
