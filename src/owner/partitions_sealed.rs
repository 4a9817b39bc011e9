//! A partitions rebuild's move of sealed vectors as a write's plan: each record of the batch
//! (whole pages of them) sealed in a page of its target partition under a fresh nonce, its
//! document given that partition and sealed anew to the new nonce, the digest trading each
//! old pair and partition for the new.

use serde_json::Value;

use super::sent_pages::{sealed_for_sending, sealed_update};
use super::write::Planned;
use crate::error::{Error, Result};
use crate::verifiable::{
    counted_value, partition_value, PartitionsRebuild, RecordCodec, PARTITION_FIELD,
};

/// The write of `batch` (records of `rebuild`, each with its target partition).
pub(super) fn sealed_moves(
    codec: &RecordCodec,
    rebuild: &PartitionsRebuild,
    batch: &[(usize, u32)],
) -> Result<Planned> {
    let mut planned = Planned::default();
    let mut moving = Vec::with_capacity(batch.len());
    for &(i, to) in batch {
        let (record, bits) = rebuild
            .record(i)
            .ok_or_else(|| Error::ShapeMismatch(format!("record {i} of the rebuild")))?;
        let old = counted_value(&record.document.meta_data, Some(PARTITION_FIELD));
        planned.removed.push(((record.chunk_id, record.nonce), old));
        let mut document = record.document.clone();
        document
            .meta_data
            .insert(PARTITION_FIELD.into(), Value::String(partition_value(to)));
        moving.push((record.chunk_id, bits, to, document));
    }
    let entries: Vec<(i64, &[u8], Option<u32>)> = moving
        .iter()
        .map(|(id, bits, to, _)| (*id, *bits, Some(*to)))
        .collect();
    let (pages, nonces) = sealed_for_sending(codec, &entries)?;
    planned.pages = pages;
    for ((chunk_id, _, to, document), nonce) in moving.iter().zip(nonces) {
        let chunk = sealed_update(codec, *chunk_id, nonce, document)?;
        let value = Some(partition_value(*to));
        planned.update.push((chunk, ((*chunk_id, nonce), value)));
    }
    Ok(planned)
}
