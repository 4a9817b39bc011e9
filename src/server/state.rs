//! What every handler shares: the store, and one resident index per knowledge base and context,
//! built from the store on first use and kept current by the writes that go through it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use serde_json::{Map, Value};

use super::store::{Chunk, Store};
use crate::context::PublicContext;
use crate::error::{Error, Result};
use crate::formats::ciphertexts::CiphertextShape;
use crate::hamming::EncryptedIndex;
use crate::paillier::CiphertextBatch;
use crate::Device;

/// The state behind every route.
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub device: Device,
    pub allow_weak_contexts: bool,
    /// The largest request body read.
    pub max_body_bytes: usize,
    /// Requests, latencies and records aggregated, for `/metrics`.
    pub metrics: super::metrics::Metrics,
    residents: Mutex<HashMap<(String, String), Slot>>,
}

/// One knowledge base's records under one context, resident where aggregation runs.
pub struct Resident {
    pub context: PublicContext,
    pub shape: CiphertextShape,
    pub index: EncryptedIndex,
    /// The chunk id of each record, ascending.
    pub chunk_ids: Vec<i64>,
    /// Each record's metadata, for filters.
    pub meta: Vec<Map<String, Value>>,
}

/// A resident index, absent until first used (or after a write it could not follow).
pub type Slot = Arc<RwLock<Option<Resident>>>;

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        device: Device,
        allow_weak_contexts: bool,
        max_body_bytes: usize,
    ) -> Self {
        Self {
            store,
            device,
            allow_weak_contexts,
            max_body_bytes,
            metrics: super::metrics::Metrics::default(),
            residents: Mutex::new(HashMap::new()),
        }
    }

    /// The slot of `(kb_id, context_id)`. Writers hold its write lock across their commit, so
    /// that a search sees the records of one instant.
    pub fn slot(&self, kb_id: &str, context_id: &str) -> Slot {
        let mut residents = self.residents.lock().unwrap_or_else(|e| e.into_inner());
        residents
            .entry((kb_id.to_owned(), context_id.to_owned()))
            .or_default()
            .clone()
    }

    /// Every slot of a knowledge base.
    pub fn slots_of(&self, kb_id: &str) -> Vec<Slot> {
        let residents = self.residents.lock().unwrap_or_else(|e| e.into_inner());
        residents
            .iter()
            .filter(|((kb, _), _)| kb == kb_id)
            .map(|(_, slot)| slot.clone())
            .collect()
    }

    /// Runs `write`, a change to knowledge base `kb_id` in the store, while holding every
    /// resident index of it; if the change succeeds, drops them, so that the next search
    /// rebuilds from the store and no search sees a mix of before and after.
    pub fn rewrite<T, E>(
        &self,
        kb_id: &str,
        write: impl FnOnce() -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let slots = self.slots_of(kb_id);
        let mut held: Vec<_> = slots
            .iter()
            .map(|s| s.write().unwrap_or_else(|e| e.into_inner()))
            .collect();
        let written = write()?;
        for resident in &mut held {
            **resident = None;
        }
        Ok(written)
    }

    /// Forgets a knowledge base's indexes (it was deleted).
    pub fn forget(&self, kb_id: &str) {
        let mut residents = self.residents.lock().unwrap_or_else(|e| e.into_inner());
        residents.retain(|(kb, _), _| kb != kb_id);
    }

    /// The public part of a stored context, or an error a client can act on.
    pub fn public_context(&self, org_id: &str, context_id: &str) -> Result<Option<PublicContext>> {
        let Some(data) = self.store.context(org_id, context_id)? else {
            return Ok(None);
        };
        let context = PublicContext::from_json(&data)?.with_device(self.device);
        if self.allow_weak_contexts {
            context.public_key().allow_insecure_parameters();
        }
        Ok(Some(context))
    }

    /// Builds the resident index of `(kb_id, context_id)` from the store.
    pub fn build(&self, context: PublicContext, kb_id: &str, context_id: &str) -> Result<Resident> {
        let shape = context.ciphertext_shape()?;
        let mut index = context.new_index(self.device)?;
        let chunks = self.store.chunks_of(kb_id, context_id)?;
        let mut resident = Resident {
            shape,
            index: {
                let batch = batch_of(&context, shape, &chunks)?;
                index.insert_batch(&batch)?;
                index
            },
            chunk_ids: chunks.iter().map(|c| c.chunk_id).collect(),
            meta: chunks.iter().map(|c| meta_of(&c.meta_data)).collect(),
            context,
        };
        resident.chunk_ids.shrink_to_fit();
        Ok(resident)
    }
}

impl Resident {
    /// Appends chunks just committed (ids above every id held).
    pub fn append(&mut self, chunks: &[Chunk]) -> Result<()> {
        let batch = batch_of(&self.context, self.shape, chunks)?;
        self.index.insert_batch(&batch)?;
        self.chunk_ids.extend(chunks.iter().map(|c| c.chunk_id));
        self.meta
            .extend(chunks.iter().map(|c| meta_of(&c.meta_data)));
        Ok(())
    }
}

/// A chunk's stored metadata as an object (anything else counts as none).
pub fn meta_of(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

fn batch_of(
    context: &PublicContext,
    shape: CiphertextShape,
    chunks: &[Chunk],
) -> Result<CiphertextBatch> {
    let bytes: Vec<u8> = chunks
        .iter()
        .flat_map(|c| c.pieces.iter().copied())
        .collect();
    CiphertextBatch::from_le_bytes(
        context.public_key(),
        shape.chunks,
        shape.chunk_bytes,
        &bytes,
        0,
    )
    .map_err(|e| Error::Store(format!("a stored chunk does not read back: {e}")))
}
