//! What every handler shares: the store, and one resident index per knowledge base and context,
//! built from the store on first use and kept current by the writes that go through it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use serde_json::{Map, Value};

use super::cancel::Cancel;
use super::opened_contexts::OpenedContexts;
use super::store::{Chunk, KbVersion, Store};
use crate::api_error::ApiResult;
use crate::error::{Error, Result};
use paillier_gpu::context::PublicContext;
use paillier_gpu::formats::ciphertexts::CiphertextShape;
use paillier_gpu::hamming::EncryptedIndex;
use paillier_gpu::paillier::CiphertextBatch;
use paillier_gpu::Device;

/// The state behind every route.
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub device: Device,
    pub allow_weak_contexts: bool,
    /// The largest request body read.
    pub max_body_bytes: usize,
    /// Requests, latencies and records aggregated, for `/metrics`.
    pub metrics: super::metrics::Metrics,
    /// Slots for heavy work (searches, filters, writes, inference), [`work_slots`](Self::work_slots) of them.
    pub work: Arc<tokio::sync::Semaphore>,
    pub work_slots: usize,
    /// How long a request waits for a work slot before it is answered 503.
    pub work_queue_timeout: std::time::Duration,
    residents: Mutex<HashMap<(String, String), Slot>>,
    opened: OpenedContexts,
}

/// One knowledge base's records under one context, resident where aggregation runs.
pub struct Resident {
    pub context: PublicContext,
    /// The digest of the stored context text these records are of: a context deleted and
    /// stored again under its id (through any replica) is another key.
    pub context_digest: ContextDigest,
    /// The knowledge base's version these records are of (see [`KbVersion`]).
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
}

/// The SHA-256 of a stored context's text.
pub type ContextDigest = [u8; 32];

/// The digest of a stored context's text.
pub fn context_digest(data: &str) -> ContextDigest {
    use sha2::{Digest, Sha256};
    Sha256::digest(data.as_bytes()).into()
}

/// A resident index, absent until first used (or after a write it could not follow).
pub type Slot = Arc<RwLock<Option<Resident>>>;

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        device: Device,
        allow_weak_contexts: bool,
        max_body_bytes: usize,
        work_slots: usize,
        work_queue_timeout: std::time::Duration,
    ) -> Self {
        let work_slots = work_slots.max(1);
        Self {
            store,
            device,
            allow_weak_contexts,
            max_body_bytes,
            work: Arc::new(tokio::sync::Semaphore::new(work_slots)),
            work_slots,
            work_queue_timeout,
            metrics: super::metrics::Metrics::default(),
            residents: Mutex::new(HashMap::new()),
            opened: OpenedContexts::default(),
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

    /// Every slot of a knowledge base, by context id: writers lock them in this one order.
    pub fn slots_of(&self, kb_id: &str) -> Vec<Slot> {
        let residents = self.residents.lock().unwrap_or_else(|e| e.into_inner());
        let mut slots: Vec<(&String, &Slot)> = residents
            .iter()
            .filter(|((kb, _), _)| kb == kb_id)
            .map(|((_, context), slot)| (context, slot))
            .collect();
        slots.sort_by(|a, b| a.0.cmp(b.0));
        slots.into_iter().map(|(_, slot)| slot.clone()).collect()
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

    /// The resident indexes now built: how many, their records, and their host bytes
    /// ([`Resident::host_bytes`]). An index being written is skipped rather than waited for.
    pub fn resident_stats(&self) -> (usize, usize, usize) {
        let slots: Vec<Slot> = {
            let residents = self.residents.lock().unwrap_or_else(|e| e.into_inner());
            residents.values().cloned().collect()
        };
        let mut totals = (0, 0, 0);
        for slot in slots {
            if let Ok(held) = slot.try_read() {
                if let Some(resident) = held.as_ref() {
                    totals.0 += 1;
                    totals.1 += resident.chunk_ids.len();
                    totals.2 += resident.host_bytes();
                }
            }
        }
        totals
    }

    /// Forgets the indexes of a context (it was deleted), in every knowledge base.
    /// Context ids are the organisation's own: another's indexes under the same id stay.
    /// On a store error the indexes stay, and go on the next search under the context.
    pub fn forget_context(&self, org_id: &str, context_id: &str) {
        self.opened.forget(org_id, context_id);
        let Ok(kbs) = self.store.kbs(org_id) else {
            return;
        };
        let kbs: Vec<String> = kbs.into_iter().map(|kb| kb.id).collect();
        let mut residents = self.residents.lock().unwrap_or_else(|e| e.into_inner());
        residents.retain(|(kb, context), _| context != context_id || !kbs.contains(kb));
    }

    /// Forgets the index of `(kb_id, context_id)`.
    pub fn forget_index(&self, kb_id: &str, context_id: &str) {
        let mut residents = self.residents.lock().unwrap_or_else(|e| e.into_inner());
        residents.remove(&(kb_id.to_owned(), context_id.to_owned()));
    }

    /// Forgets a knowledge base's indexes (it was deleted).
    pub fn forget(&self, kb_id: &str) {
        let mut residents = self.residents.lock().unwrap_or_else(|e| e.into_inner());
        residents.retain(|(kb, _), _| kb != kb_id);
    }

    /// Forgets the indexes of knowledge bases the store no longer has (deleted through another
    /// replica: this one would otherwise hold their memory until it restarts). A store error
    /// leaves everything as it is, for the next sweep.
    pub fn forget_deleted_kbs(&self) {
        let held: Vec<String> = {
            let residents = self.residents.lock().unwrap_or_else(|e| e.into_inner());
            let mut kbs: Vec<String> = residents.keys().map(|(kb, _)| kb.clone()).collect();
            kbs.sort();
            kbs.dedup();
            kbs
        };
        for kb in held {
            if let Ok(None) = self.store.kb_version(&kb) {
                self.forget(&kb);
            }
        }
    }

    /// The public part of a stored context, or an error a client can act on.
    pub fn public_context(&self, org_id: &str, context_id: &str) -> Result<Option<PublicContext>> {
        match self.store.context(org_id, context_id)? {
            Some(stored) => self.open_public(org_id, context_id, &stored.data).map(Some),
            None => Ok(None),
        }
    }

    /// The public part of context `context_id` of `org_id`, stored as `data`, on the server's
    /// device (opened once for as long as the stored text stays the same). For checking and
    /// aggregating, which build nothing large inside the key.
    pub fn open_public(&self, org_id: &str, context_id: &str, data: &str) -> Result<PublicContext> {
        self.opened
            .get_or_open(org_id, context_id, data, |data| self.open_fresh(data))
    }

    /// The public part of a context's JSON, opened anew: for encrypting, whose fixed-base
    /// tables (megabytes) are then dropped with the request rather than kept in the cache.
    pub fn open_fresh(&self, data: &str) -> Result<PublicContext> {
        let context = PublicContext::from_public_json(data)?.with_device(self.device);
        Ok(if self.allow_weak_contexts {
            context.with_insecure_parameters_allowed()
        } else {
            context
        })
    }

    /// Builds the resident index of `(kb_id, context_id)` from the store, a page of rows at a
    /// time: the ciphertexts are held once (in the index) plus one page. Stops, with
    /// `cancel`'s error, once the client has gone.
    pub fn build(
        &self,
        context: PublicContext,
        context_digest: ContextDigest,
        kb_id: &str,
        context_id: &str,
        cancel: &Cancel,
    ) -> ApiResult<Resident> {
        let shape = context.try_ciphertext_shape()?;
        let index = context.new_index_on(self.device)?;
        let mut resident = Resident {
            shape,
            index,
            version: 0,
            context_digest,
            chunk_ids: Vec::new(),
            meta: Vec::new(),
            meta_bytes: 0,
            empty_meta: Arc::new(Map::new()),
            context,
        };
        resident.version = self
            .append_from_store(&mut resident, kb_id, context_id, cancel)?
            .version;
        resident.index.shrink_to_fit();
        resident.chunk_ids.shrink_to_fit();
        resident.meta.shrink_to_fit();
        Ok(resident)
    }

    /// Brings `resident` up to the store's last commit by appending the chunks above its last
    /// id (whoever wrote them: another replica included). False, with the resident to be
    /// rebuilt, when the knowledge base was rewritten (a delete, an edit) since the resident's
    /// version; on an error the resident is to be dropped.
    pub fn catch_up(
        &self,
        resident: &mut Resident,
        kb_id: &str,
        context_id: &str,
        cancel: &Cancel,
    ) -> ApiResult<bool> {
        let read = self.append_from_store(resident, kb_id, context_id, cancel)?;
        if read.rewritten > resident.version {
            return Ok(false);
        }
        resident.version = read.version;
        Ok(true)
    }

    /// Appends the rows above `resident`'s last id, a page at a time; the knowledge base's
    /// version they were read at (one snapshot).
    fn append_from_store(
        &self,
        resident: &mut Resident,
        kb_id: &str,
        context_id: &str,
        cancel: &Cancel,
    ) -> ApiResult<KbVersion> {
        let after = resident.chunk_ids.last().copied().unwrap_or(0);
        let mut shared = MetaCache::default();
        let mut gone = None;
        let read = self
            .store
            .index_rows(kb_id, context_id, after, BUILD_PAGE_ROWS, &mut |rows| {
                if let Err(e) = cancel.check() {
                    gone = Some(e);
                    return Err(Error::ClientGone);
                }
                resident.append_rows(
                    rows.iter()
                        .map(|r| (r.chunk_id, r.meta_data.as_str(), r.pieces.as_slice())),
                    &mut shared,
                )
            });
        if let Some(gone) = gone {
            return Err(gone);
        }
        Ok(read?)
    }
}

/// Rows read from the store per step of a build.
const BUILD_PAGE_ROWS: usize = 4096;

/// What a parsed metadata map holds beyond its text, roughly (the map and its entries).
const META_MAP_OVERHEAD: usize = 128;

/// Metadata texts already parsed during one build or insert, so that records with the same
/// metadata share one map; bounded, so that all-different metadata costs no more than itself.
#[derive(Default)]
struct MetaCache(HashMap<String, Arc<Map<String, Value>>>);

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
    /// Bytes of host memory the index holds: the ciphertexts, the chunk ids, one reference to
    /// metadata per record and the distinct metadata maps (counted as their JSON text plus a
    /// fixed overhead each).
    pub fn host_bytes(&self) -> usize {
        self.index.host_bytes()
            + self.chunk_ids.capacity() * std::mem::size_of::<i64>()
            + self.meta.capacity() * std::mem::size_of::<Arc<Map<String, Value>>>()
            + self.meta_bytes
    }

    /// Appends chunks just committed (ids above every id held), which brought the knowledge
    /// base to `version`.
    pub fn append(&mut self, chunks: &[Chunk], version: i64) -> Result<()> {
        self.append_rows(
            chunks
                .iter()
                .map(|c| (c.chunk_id, c.meta_data.as_str(), c.pieces.as_slice())),
            &mut MetaCache::default(),
        )?;
        self.version = version;
        Ok(())
    }

    /// Appends `(chunk_id, metadata, pieces)` rows: the ciphertexts first, so that a failure
    /// leaves ids and metadata as they were.
    fn append_rows<'a>(
        &mut self,
        rows: impl Iterator<Item = (i64, &'a str, &'a [u8])> + Clone,
        shared: &mut MetaCache,
    ) -> Result<()> {
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
            self.chunk_ids.push(chunk_id);
            self.meta.push(map);
            self.meta_bytes += bytes;
        }
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
