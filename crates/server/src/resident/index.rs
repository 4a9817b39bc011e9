//! One knowledge base's records under one context, resident where aggregation runs: the
//! ciphertexts in an [`EncryptedIndex`], each record's chunk id and parsed metadata beside them,
//! and the posting lists of its metadata's values, which select records by filter.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::postings::Postings;
use super::selection::Plan;
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::metadata::meta_of;
use crate::store::Chunk;
use paillier_gpu::context::PublicContext;
use paillier_gpu::formats::ciphertexts::CiphertextShape;
use paillier_gpu::hamming::EncryptedIndex;
use paillier_gpu::paillier::CiphertextBatch;

/// The SHA-256 of a stored context's text.
pub type ContextDigest = [u8; 32];

/// The digest of a stored context's text.
pub fn context_digest(data: &str) -> ContextDigest {
    use sha2::{Digest, Sha256};
    Sha256::digest(data.as_bytes()).into()
}

/// One knowledge base's records under one context.
pub struct Resident {
    pub context: PublicContext,
    /// The digest of the stored context text these records are of: a context deleted and
    /// stored again under its id (through any replica) is another key.
    pub context_digest: ContextDigest,
    /// The knowledge base's version these records are of (see [`KbVersion`](crate::store::KbVersion)).
    pub version: i64,
    pub shape: CiphertextShape,
    pub index: EncryptedIndex,
    /// The chunk id of each record, ascending.
    pub chunk_ids: Vec<i64>,
    /// Each record's metadata, for filters; records with the same metadata share one map.
    pub meta: Vec<Arc<Map<String, Value>>>,
    /// The metadata maps' size, counted as their JSON text (one count per distinct map).
    meta_bytes: usize,
    /// The one map of every record without metadata.
    empty_meta: Arc<Map<String, Value>>,
    /// The positions of each value of the listed metadata fields, for selections by filter.
    postings: Postings,
}

/// What a parsed metadata map holds beyond its text, roughly (the map and its entries).
const META_MAP_OVERHEAD: usize = 128;

/// Metadata texts already parsed during one build or insert, so that records with the same
/// metadata share one map; bounded, so that all-different metadata costs no more than itself.
#[derive(Default)]
pub(super) struct MetaCache(HashMap<String, Arc<Map<String, Value>>>);

impl MetaCache {
    const MAX_ENTRIES: usize = 1 << 16;

    /// The map of `text`, and the bytes it newly holds (0 when shared).
    fn get(
        &mut self,
        text: &str,
        empty: &Arc<Map<String, Value>>,
    ) -> (Arc<Map<String, Value>>, usize) {
        if let Some(map) = self.0.get(text) {
            return (map.clone(), 0);
        }
        let map = meta_of(text);
        let (map, bytes) = if map.is_empty() {
            (empty.clone(), 0)
        } else {
            (Arc::new(map), text.len() + META_MAP_OVERHEAD)
        };
        if self.0.len() >= Self::MAX_ENTRIES {
            self.0.clear();
        }
        self.0.insert(text.to_owned(), map.clone());
        (map, bytes)
    }
}

impl Resident {
    /// An empty index of `context`'s records, on `device`.
    pub(super) fn empty(
        context: PublicContext,
        context_digest: ContextDigest,
        device: paillier_gpu::Device,
    ) -> Result<Self> {
        Ok(Self {
            shape: context.try_ciphertext_shape()?,
            index: context.new_index_on(device)?,
            version: 0,
            context_digest,
            chunk_ids: Vec::new(),
            meta: Vec::new(),
            meta_bytes: 0,
            empty_meta: Arc::new(Map::new()),
            postings: Postings::default(),
            context,
        })
    }

    /// Bytes of host memory the index holds: the ciphertexts, the chunk ids, one reference to
    /// metadata per record, the distinct metadata maps (counted as their JSON text plus a
    /// fixed overhead each) and the posting lists.
    pub fn host_bytes(&self) -> usize {
        self.index.host_bytes()
            + self.chunk_ids.capacity() * std::mem::size_of::<i64>()
            + self.meta.capacity() * std::mem::size_of::<Arc<Map<String, Value>>>()
            + self.meta_bytes
            + self.postings.host_bytes()
    }

    /// Gives back what building reserved beyond the records.
    pub(super) fn shrink_to_fit(&mut self) {
        self.index.shrink_to_fit();
        self.chunk_ids.shrink_to_fit();
        self.meta.shrink_to_fit();
        self.postings.shrink_to_fit();
    }

    /// How `filter` (`None`: none) selects among these records: by posting lists where it
    /// names listed values, otherwise by testing every record.
    pub fn plan(&self, filter: Option<&Filter>) -> Plan {
        Plan::new(&self.postings, filter)
    }

    /// The positions, ascending, of the records that pass `plan`'s filter and whose chunk id is
    /// in `range` (both ends included).
    pub fn select(&self, plan: &Plan, range: Option<(i64, i64)>) -> Vec<usize> {
        plan.select(&self.meta, &self.chunk_ids, range)
    }

    /// Appends chunks just committed (ids above every id held), which brought the knowledge
    /// base to `version`.
    pub(super) fn append(&mut self, chunks: &[Chunk], version: i64) -> Result<()> {
        self.append_rows(
            chunks
                .iter()
                .map(|c| (c.chunk_id, c.meta_data.as_str(), c.pieces.as_slice())),
            &mut MetaCache::default(),
        )?;
        self.version = version;
        Ok(())
    }

    /// Removes the chunks of `ids` it holds (the others are skipped), the later records moving
    /// down in order. The metadata maps' size stays counted until the next build.
    pub(super) fn remove_chunks(&mut self, ids: &[i64]) -> Result<()> {
        let mut positions: Vec<usize> = ids
            .iter()
            .filter_map(|id| self.chunk_ids.binary_search(id).ok())
            .collect();
        if positions.is_empty() {
            return Ok(());
        }
        positions.sort_unstable();
        positions.dedup();
        self.index.remove_records(&positions)?;
        self.postings.remove(&positions);
        remove_positions(&mut self.chunk_ids, &positions);
        remove_positions(&mut self.meta, &positions);
        Ok(())
    }

    /// Gives the chunk `id`, when held, the metadata `text` (a map shared through `shared` with
    /// the other records given the same text); false when it is not held.
    pub(super) fn replace_meta(&mut self, id: i64, text: &str, shared: &mut MetaCache) -> bool {
        let Ok(position) = self.chunk_ids.binary_search(&id) else {
            return false;
        };
        let (after, bytes) = shared.get(text, &self.empty_meta);
        self.postings
            .replace(position, &self.meta[position], &after);
        self.meta[position] = after;
        self.meta_bytes += bytes;
        true
    }

    /// Appends `(chunk_id, metadata, pieces)` rows: the ciphertexts first, so that a failure
    /// leaves ids and metadata as they were.
    pub(super) fn append_rows<'a>(
        &mut self,
        rows: impl Iterator<Item = (i64, &'a str, &'a [u8])> + Clone,
        shared: &mut MetaCache,
    ) -> Result<()> {
        if rows.clone().any(|(_, _, pieces)| pieces.is_empty()) {
            return Err(paillier_gpu::Error::SealedVectors(
                "the knowledge base's records under this context are sealed vectors, which hold \
                 no Paillier ciphertext: compute_hamming does not run over them (the owner's \
                 verified search reads them through POST /v1/sealed_pages)"
                    .into(),
            )
            .into());
        }
        let bytes: Vec<u8> = rows
            .clone()
            .flat_map(|(_, _, pieces)| pieces.iter().copied())
            .collect();
        let batch = CiphertextBatch::from_le_bytes(
            self.context.public_key(),
            self.shape.pieces,
            self.shape.piece_bytes,
            &bytes,
            0,
        )
        .map_err(|e| Error::Store(format!("a stored chunk does not read back: {e}")))?;
        drop(bytes);
        self.index.insert_batch(&batch)?;
        for (chunk_id, meta, _) in rows {
            let (map, bytes) = shared.get(meta, &self.empty_meta);
            self.postings.append(self.meta.len(), &map);
            self.chunk_ids.push(chunk_id);
            self.meta.push(map);
            self.meta_bytes += bytes;
        }
        Ok(())
    }
}

/// Drops the items at `positions` (ascending) from `items`, keeping the others in order.
fn remove_positions<T>(items: &mut Vec<T>, positions: &[usize]) {
    let mut removed = positions.iter().peekable();
    let mut position = 0;
    items.retain(|_| {
        let kept = removed.next_if_eq(&&position).is_none();
        position += 1;
        kept
    });
}
