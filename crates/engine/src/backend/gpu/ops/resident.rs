//! Device-resident batches (a search backend's database): sharded over buffers of at most the
//! adapter's binding size, grown on the device, multiplied in place.

use super::modmul::{modmul_on_device, multiply_into, Factors};
use super::Gpu;
use crate::backend::encryption::copy_ciphertexts;
use crate::backend::gpu::failure;
use crate::backend::operation::{Modmul, ModmulResident};
use crate::backend::{DeviceBatch, LimbBatch, ResidentBatch};
use crate::error::{Error, Result};

/// One buffer of a resident batch.
struct Shard {
    buffer: wgpu::Buffer,
    items: usize,
    capacity: usize,
}

/// A resident batch: shards of at most `shard_items` items each, all full but the last.
struct ResidentBuffer {
    /// The device the shards live on: a copy made by another backend is never used here.
    device: wgpu::Device,
    shards: Vec<Shard>,
    item_words: usize,
    shard_items: usize,
}

impl ResidentBuffer {
    fn items(&self) -> usize {
        self.shards.iter().map(|s| s.items).sum()
    }
}

/// Items one shard holds: what the binding limit allows, at most the option.
fn shard_items(gpu: &Gpu<'_>, item_words: usize, most: usize) -> usize {
    let by_binding = (gpu.runtime.max_binding_bytes / (item_words as u64 * 4)).max(1) as usize;
    by_binding.min(most)
}

fn resident_buffer(gpu: &Gpu<'_>, capacity: usize, item_words: usize) -> wgpu::Buffer {
    gpu.runtime.raw_buffer(
        "paillier-gpu resident",
        (capacity * item_words * 4) as u64,
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
    )
}

/// Appends `words` (whole items) to `shard`, growing its buffer geometrically on the device.
fn fill_shard(gpu: &Gpu<'_>, shard: &mut Shard, words: &[u32], item_words: usize, limit: usize) {
    let adding = words.len() / item_words;
    let needed = shard.items + adding;
    if needed > shard.capacity {
        let capacity = needed
            .max(shard.capacity * 2)
            .max(64)
            .min(limit)
            .max(needed);
        let buffer = resident_buffer(gpu, capacity, item_words);
        if shard.items > 0 {
            let mut encoder =
                gpu.runtime
                    .device
                    .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                        label: Some("paillier-gpu grow"),
                    });
            let bytes = (shard.items * item_words * 4) as u64;
            encoder.copy_buffer_to_buffer(&shard.buffer, 0, &buffer, 0, bytes);
            gpu.runtime.queue.submit([encoder.finish()]);
        }
        shard.buffer = buffer;
        shard.capacity = capacity;
    }
    if !words.is_empty() {
        let offset = (shard.items * item_words * 4) as u64;
        gpu.runtime
            .queue
            .write_buffer(&shard.buffer, offset, bytemuck::cast_slice(words));
    }
    shard.items = needed;
}

/// [`Backend::append_resident`](crate::backend::Backend::append_resident): the items go to
/// the device copy (made from the host copy when there is none of this device's), then to
/// the host copy; when the device fails, the host copy is left as it was. A new device copy
/// keeps at most `shard_items` items a shard.
pub(in crate::backend::gpu) fn append_resident_on_device(
    gpu: &Gpu<'_>,
    shard_items: usize,
    batch: &mut ResidentBatch,
    items: &LimbBatch,
) -> Result<()> {
    batch.check_width(items)?;
    let appended = if own_copy(gpu, batch).is_some() {
        match batch.device_copy_mut() {
            Some(copy) => append_to(gpu, copy, items),
            None => Err(failure("the device copy vanished")),
        }
    } else {
        let mut all = batch.host().clone();
        all.extend(items)?;
        upload(gpu, shard_items, &all).map(|copy| batch.set_device_copy(copy))
    };
    if let Err(e) = appended {
        batch.forget_device_copy();
        return Err(e);
    }
    batch.append_host(items)
}

/// The batch's device copy when it is complete and lives on this device.
fn own_copy<'b>(gpu: &Gpu<'_>, batch: &'b ResidentBatch) -> Option<&'b ResidentBuffer> {
    batch
        .device_copy()
        .and_then(|copy| copy.storage().downcast_ref::<ResidentBuffer>())
        .filter(|buffer| buffer.device == gpu.runtime.device)
}

/// A fresh device copy of `items`.
fn upload(gpu: &Gpu<'_>, most_shard_items: usize, items: &LimbBatch) -> Result<DeviceBatch> {
    let item_words = items.limbs_per_item() * gpu.shapes.limb_path.per_u64();
    let mut copy = DeviceBatch::new(
        0,
        Box::new(ResidentBuffer {
            device: gpu.runtime.device.clone(),
            shards: Vec::new(),
            item_words,
            shard_items: shard_items(gpu, item_words, most_shard_items),
        }),
    );
    append_to(gpu, &mut copy, items)?;
    Ok(copy)
}

fn append_to(gpu: &Gpu<'_>, copy: &mut DeviceBatch, items: &LimbBatch) -> Result<()> {
    let resident = copy
        .storage_mut()
        .downcast_mut::<ResidentBuffer>()
        .ok_or_else(|| failure("a device batch of another backend"))?;
    let words = gpu.shapes.words_of(items);
    let item_words = resident.item_words;
    let limit = resident.shard_items;
    let mut rest = &words[..];
    while !rest.is_empty() {
        if resident.shards.last().is_none_or(|s| s.items == limit) {
            resident.shards.push(Shard {
                buffer: resident_buffer(gpu, 0, item_words),
                items: 0,
                capacity: 0,
            });
        }
        let shard = resident
            .shards
            .last_mut()
            .ok_or_else(|| failure("resident shard missing"))?;
        let take = (limit - shard.items).min(rest.len() / item_words);
        let (now, later) = rest.split_at(take * item_words);
        fill_shard(gpu, shard, now, item_words, limit);
        rest = later;
    }
    let items = resident.items();
    copy.set_len(items);
    gpu.runtime.check_health()
}

/// [`Backend::modmul_resident`](crate::backend::Backend::modmul_resident): from this
/// device's complete copy when the batch has one, else from the host copy like any product.
pub(in crate::backend::gpu) fn modmul_resident_on_device(
    gpu: &Gpu<'_>,
    op: &ModmulResident<'_>,
) -> Result<LimbBatch> {
    op.batch.check_range(&op.range)?;
    if own_copy(gpu, op.batch).is_none() {
        return modmul_host_items(gpu, op);
    }
    let mut out = vec![0u64; op.range.len() * op.modulus.len()];
    modmul_resident_into_on_device(gpu, op, &mut out)?;
    LimbBatch::from_flat(op.modulus.len(), out)
}

/// The products of a resident batch's host items, as any product: for a batch this device
/// keeps no copy of.
fn modmul_host_items(gpu: &Gpu<'_>, op: &ModmulResident<'_>) -> Result<LimbBatch> {
    let items = op.batch.host_items(op.range.clone())?;
    modmul_on_device(
        gpu,
        &Modmul {
            modulus: op.modulus,
            a: items.as_ref(),
            b: op.b,
        },
    )
}

/// [`Backend::modmul_resident_into`](crate::backend::Backend::modmul_resident_into): each
/// shard's products are read straight into their place in `out`.
pub(in crate::backend::gpu) fn modmul_resident_into_on_device(
    gpu: &Gpu<'_>,
    op: &ModmulResident<'_>,
    out: &mut [u64],
) -> Result<()> {
    let ModmulResident {
        modulus,
        batch,
        ref range,
        b,
    } = *op;
    batch.check_range(range)?;
    let width = modulus.len();
    if out.len() != range.len() * width {
        return Err(Error::InvalidParameter(format!(
            "an output of {} limbs for {} products of {width}",
            out.len(),
            range.len()
        )));
    }
    let Some(resident) = own_copy(gpu, batch) else {
        return copy_ciphertexts(&modmul_host_items(gpu, op)?, out);
    };
    if batch.limbs_per_item() != width || b.limbs_per_item() != width {
        return Err(Error::InvalidParameter(
            "operand width differs from the modulus".into(),
        ));
    }
    if b.is_empty() {
        return Err(Error::InvalidParameter("empty operand batch".into()));
    }
    // One run per shard the range touches; operands stay cyclic over the whole range.
    let mut shard_start = 0;
    for shard in &resident.shards {
        let shard_range = shard_start..shard_start + shard.items;
        shard_start += shard.items;
        let from = range.start.max(shard_range.start);
        let to = range.end.min(shard_range.end);
        if from >= to {
            continue;
        }
        let factors = Factors::Resident {
            buffer: &shard.buffer,
            first: from - shard_range.start,
        };
        let place = &mut out[(from - range.start) * width..(to - range.start) * width];
        multiply_into(
            gpu,
            modulus,
            factors,
            to - from,
            b,
            from - range.start,
            place,
        )?;
    }
    Ok(())
}
