//! Following a delete or a metadata edit in place: the records removed, the metadata replaced,
//! in each resident index of the knowledge base that was current just before, so that the next
//! search does not rebuild the index from the store (tens of seconds at a million records).

use std::sync::RwLockWriteGuard;

use super::{MetaCache, Resident, ResidentIndexes};
use crate::error::Result;
use crate::store::Chunk;

/// What a write through [`ResidentIndexes::rewrite`] committed to the knowledge base's chunks.
#[derive(Debug)]
pub enum Change {
    /// Nothing (the write found nothing to change): the indexes stay as they are.
    Nothing,
    /// Deletes and metadata patches: followed in place where the indexes were current.
    Described(Rewrite),
    /// Anything else (a chunk's ciphertexts replaced, a knowledge base deleted, an insert in
    /// the same commit): the indexes are dropped, and the next search rebuilds them.
    Undescribed,
}

/// Deletes and metadata patches, committed together.
#[derive(Debug, Default)]
pub struct Rewrite {
    /// The chunks asked to be deleted (those not stored were skipped by the store too).
    pub deleted: Vec<i64>,
    /// The chunks whose metadata may have changed (their ciphertexts did not).
    pub patched: Vec<i64>,
}

impl ResidentIndexes {
    /// Follows `rewrite`, just committed to knowledge base `kb_id`, in `held` (its indexes,
    /// write-locked since before the commit); drops those it cannot follow.
    ///
    /// The patched chunks' metadata is read first, then the knowledge base's version: when
    /// that is one past an index's, the one chunk write since the index was current is this
    /// commit (every chunk write adds one), and the metadata read before it is this commit's.
    /// Anything else (another replica wrote meanwhile, a store error) drops the index, and the
    /// next search rebuilds it.
    pub(super) fn follow(
        &self,
        kb_id: &str,
        rewrite: &Rewrite,
        held: &mut [RwLockWriteGuard<'_, Option<Resident>>],
    ) {
        if held.iter().all(|resident| resident.is_none()) {
            return;
        }
        let read = || -> Result<_> {
            let patched = if rewrite.patched.is_empty() {
                Vec::new()
            } else {
                self.store.chunks_by_id(kb_id, &rewrite.patched)?
            };
            Ok((patched, self.store.kb_version(kb_id)?))
        };
        let (patched, version) = match read() {
            Ok((patched, Some(version))) => (patched, version.version),
            _ => {
                for resident in held.iter_mut() {
                    **resident = None;
                }
                return;
            }
        };
        for resident in held.iter_mut() {
            let followed = match resident.as_mut() {
                Some(r) if r.version + 1 == version => {
                    let applied = apply(r, rewrite, &patched);
                    r.version = version;
                    applied.is_ok()
                }
                _ => false,
            };
            if !followed {
                **resident = None;
            }
        }
    }
}

/// Removes the deleted chunks from `resident` and gives the patched ones their stored
/// metadata: records given the same metadata by one write share one map (a build shares more
/// widely, so an index followed through many patches may hold more maps than one rebuilt).
fn apply(resident: &mut Resident, rewrite: &Rewrite, patched: &[Chunk]) -> Result<()> {
    resident.remove_chunks(&rewrite.deleted)?;
    let mut shared = MetaCache::default();
    for chunk in patched {
        resident.replace_meta(chunk.chunk_id, &chunk.meta_data, &mut shared);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What following costs at a million records of 2048-bit keys (one piece each), against
    /// the tens of seconds of a rebuild from the store: `cargo test --release -p
    /// paillier-gpu-server --lib follow_timing -- --ignored --nocapture`.
    #[test]
    #[ignore = "timing, run by hand"]
    fn follow_timing() {
        use paillier_gpu::{ContextOptions, Device, ExecutionContext, Scheme};
        let options = ContextOptions {
            scheme: Scheme::Paillier,
            key_len: 2048,
            embed_len: 512,
            ..ContextOptions::default()
        };
        let ctx = ExecutionContext::create_with_passphrase(&options, "pw").unwrap();
        let public = ctx.public().clone();
        let shape = public.try_ciphertext_shape().unwrap();
        let record = ctx.encrypt_batch(&[vec![1u8; 512]]).unwrap();
        let mut pieces = Vec::new();
        for piece in 0..shape.pieces {
            record
                .write_item_le_bytes(piece, shape.piece_bytes, &mut pieces)
                .unwrap();
        }
        let mut resident = Resident::empty(public, [0; 32], Device::Cpu).unwrap();
        let records = 1_000_000i64;
        let metas: Vec<String> = (0..1000)
            .map(|p| format!("{{\"partition\": \"p{p}\"}}"))
            .collect();
        let mut pages = MetaCache::default();
        for page in 0..(records / 4096 + 1) {
            let ids = (page * 4096 + 1)..((page + 1) * 4096 + 1).min(records + 1);
            let rows: Vec<(i64, &str, &[u8])> = ids
                .map(|id| (id, metas[(id % 1000) as usize].as_str(), pieces.as_slice()))
                .collect();
            resident
                .append_rows(rows.iter().copied(), &mut pages)
                .unwrap();
        }
        resident.shrink_to_fit();
        let started = std::time::Instant::now();
        resident.remove_chunks(&[5, 500_000, 999_999]).unwrap();
        eprintln!("3 deletes at 1M: {:?}", started.elapsed());
        let started = std::time::Instant::now();
        let mut shared = MetaCache::default();
        for id in [7, 600_000, 999_000] {
            assert!(resident.replace_meta(id, "{\"partition\": \"p3\"}", &mut shared));
        }
        eprintln!("3 metadata patches at 1M: {:?}", started.elapsed());
        assert_eq!(resident.chunk_ids.len(), 999_997);
    }
}
