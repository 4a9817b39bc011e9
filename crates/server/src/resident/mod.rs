//! The resident indexes: one per knowledge base and context, each the records aggregation runs
//! over. [`ResidentIndexes`] is the one owner of keeping them coherent with the store, whoever
//! writes it (this replica or another): built on first use, caught up with what was appended
//! since, followed in place after an insert, a delete or a metadata edit through it, dropped
//! after any other rewrite, forgotten when their context or knowledge base goes. Builds and
//! catch-ups stop when their client goes.

mod follow;
mod index;
mod postings;
mod selection;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

pub use follow::{Change, Rewrite};
use index::MetaCache;
pub use index::{context_digest, ContextDigest, Resident};

use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::store::{Chunk, KbVersion, Store, StoredContext};
use paillier_gpu::context::PublicContext;
use paillier_gpu::Device;

/// Rows read from the store per step of a build.
const BUILD_PAGE_ROWS: usize = 4096;

/// A resident index, absent until first used (or after a write it could not follow).
type Slot = Arc<RwLock<Option<Resident>>>;

/// What an insert committed: the knowledge base's version after it, and the chunks as stored.
pub struct Committed {
    /// The knowledge base's version the insert brought it to.
    pub version: i64,
    /// The chunks inserted, with the ids the store gave them.
    pub chunks: Vec<Chunk>,
}

/// Every resident index of this replica.
pub struct ResidentIndexes {
    store: Arc<dyn Store>,
    device: Device,
    slots: Mutex<HashMap<(String, String), Slot>>,
}

impl ResidentIndexes {
    /// No index yet; each is built from `store` on first use, on `device`.
    pub fn new(store: Arc<dyn Store>, device: Device) -> Self {
        Self {
            store,
            device,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `read` on the index of `(kb_id, context_id)`, read-locked, holding every chunk
    /// committed before this call (by this replica or another) under the context as `stored`
    /// now: built on first use (its context opened by `open`), caught up from the store when
    /// writes were appended since, rebuilt when the knowledge base was rewritten or the context
    /// stored anew. `None` when the knowledge base is not stored.
    pub fn read_current<T>(
        &self,
        kb_id: &str,
        context_id: &str,
        stored: &StoredContext,
        open: impl Fn() -> Result<PublicContext>,
        cancel: &Cancel,
        read: impl FnOnce(&Resident) -> T,
    ) -> Result<Option<T>> {
        let Some(store) = self.store.kb_version(kb_id)? else {
            return Ok(None);
        };
        let slot = self.slot(kb_id, context_id);
        let digest = context_digest(&stored.data);
        let current = |r: &Resident| r.context_digest == digest && r.version >= store.version;
        loop {
            {
                let held = slot.read().unwrap_or_else(|e| e.into_inner());
                if let Some(resident) = held.as_ref().filter(|r| current(r)) {
                    return Ok(Some(read(resident)));
                }
            }
            let mut held = slot.write().unwrap_or_else(|e| e.into_inner());
            match held.as_mut() {
                Some(resident) if current(resident) => {}
                Some(resident)
                    if resident.context_digest == digest && store.rewritten <= resident.version =>
                {
                    match self.catch_up(resident, kb_id, context_id, cancel) {
                        Ok(true) => {}
                        // Rewritten meanwhile: the next turn rebuilds.
                        Ok(false) => *held = None,
                        // The client went: what was appended is a prefix of a later snapshot,
                        // and the version is still the old one, so the index stays usable.
                        Err(e) if cancel.check().is_err() => return Err(e),
                        Err(e) => {
                            *held = None;
                            return Err(e);
                        }
                    }
                }
                _ => {
                    *held = None;
                    *held = Some(self.build(open()?, digest, kb_id, context_id, cancel)?);
                }
            }
        }
    }

    /// Runs `commit`, an insert into `(kb_id, context_id)` under the context of `digest`, while
    /// holding the index's write lock, so that no search sees half of it; then appends what it
    /// committed when the index was at the version just before (otherwise the next search
    /// catches up from the store). The ids committed, in order.
    pub fn insert<E>(
        &self,
        kb_id: &str,
        context_id: &str,
        digest: ContextDigest,
        commit: impl FnOnce() -> std::result::Result<Committed, E>,
    ) -> std::result::Result<Vec<i64>, E> {
        let slot = self.slot(kb_id, context_id);
        let mut held = slot.write().unwrap_or_else(|e| e.into_inner());
        let committed = commit()?;
        if held.as_ref().is_some_and(|r| r.context_digest != digest) {
            // Built for an earlier context under this id (deleted and stored again elsewhere).
            *held = None;
        }
        if let Some(resident) = held.as_mut() {
            if resident.version + 1 == committed.version
                && resident
                    .append(&committed.chunks, committed.version)
                    .is_err()
            {
                *held = None;
            }
        }
        Ok(committed.chunks.iter().map(|c| c.chunk_id).collect())
    }

    /// Runs `write`, a change to knowledge base `kb_id` in the store, while holding every
    /// resident index of it, so that no search sees a mix of before and after; then the
    /// indexes follow the [`Change`] it says it committed.
    pub fn rewrite<T, E>(
        &self,
        kb_id: &str,
        write: impl FnOnce() -> std::result::Result<(T, Change), E>,
    ) -> std::result::Result<T, E> {
        let slots = self.slots_of(kb_id);
        let mut held: Vec<_> = slots
            .iter()
            .map(|s| s.write().unwrap_or_else(|e| e.into_inner()))
            .collect();
        let (written, change) = write()?;
        match change {
            Change::Nothing => {}
            Change::Described(rewrite) => self.follow(kb_id, &rewrite, &mut held),
            Change::Undescribed => {
                for resident in &mut held {
                    **resident = None;
                }
            }
        }
        Ok(written)
    }

    /// The indexes now built: how many, their records, and their host bytes
    /// ([`Resident::host_bytes`]). An index being written is skipped rather than waited for.
    pub fn stats(&self) -> (usize, usize, usize) {
        let slots: Vec<Slot> = self.lock().values().cloned().collect();
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

    /// Forgets the indexes of a context of `org_id` (it was deleted), in every knowledge base.
    /// Context ids are the organisation's own: another's indexes under the same id stay. On a
    /// store error the indexes stay, and go on the next search under the context.
    pub fn forget_context(&self, org_id: &str, context_id: &str) {
        let Ok(kbs) = self.store.kbs(org_id) else {
            return;
        };
        let kbs: Vec<String> = kbs.into_iter().map(|kb| kb.id).collect();
        self.lock()
            .retain(|(kb, context), _| context != context_id || !kbs.contains(kb));
    }

    /// Forgets the index of `(kb_id, context_id)` (its context is gone).
    pub fn forget_index(&self, kb_id: &str, context_id: &str) {
        self.lock()
            .remove(&(kb_id.to_owned(), context_id.to_owned()));
    }

    /// Forgets a knowledge base's indexes (it was deleted).
    pub fn forget_kb(&self, kb_id: &str) {
        self.lock().retain(|(kb, _), _| kb != kb_id);
    }

    /// Forgets the indexes of knowledge bases the store no longer has (deleted through another
    /// replica: this one would otherwise hold their memory until it restarts). A store error
    /// leaves everything as it is, for the next sweep.
    pub fn forget_deleted_kbs(&self) {
        let held: Vec<String> = {
            let mut kbs: Vec<String> = self.lock().keys().map(|(kb, _)| kb.clone()).collect();
            kbs.sort();
            kbs.dedup();
            kbs
        };
        for kb in held {
            if let Ok(None) = self.store.kb_version(&kb) {
                self.forget_kb(&kb);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Slot>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The slot of `(kb_id, context_id)`.
    fn slot(&self, kb_id: &str, context_id: &str) -> Slot {
        self.lock()
            .entry((kb_id.to_owned(), context_id.to_owned()))
            .or_default()
            .clone()
    }

    /// Every slot of a knowledge base, by context id: writers lock them in this one order.
    fn slots_of(&self, kb_id: &str) -> Vec<Slot> {
        let slots = self.lock();
        let mut of_kb: Vec<(&String, &Slot)> = slots
            .iter()
            .filter(|((kb, _), _)| kb == kb_id)
            .map(|((_, context), slot)| (context, slot))
            .collect();
        of_kb.sort_by(|a, b| a.0.cmp(b.0));
        of_kb.into_iter().map(|(_, slot)| slot.clone()).collect()
    }

    /// Builds the index of `(kb_id, context_id)` from the store, a page of rows at a time: the
    /// ciphertexts are held once (in the index) plus one page. Stops, with
    /// [`Error::ClientGone`], once the client has gone.
    fn build(
        &self,
        context: PublicContext,
        digest: ContextDigest,
        kb_id: &str,
        context_id: &str,
        cancel: &Cancel,
    ) -> Result<Resident> {
        let mut resident = Resident::empty(context, digest, self.device)?;
        resident.version = self
            .append_from_store(&mut resident, kb_id, context_id, cancel)?
            .version;
        resident.shrink_to_fit();
        Ok(resident)
    }

    /// Brings `resident` up to the store's last commit by appending the chunks above its last
    /// id (whoever wrote them: another replica included). False, with the resident to be
    /// rebuilt, when the knowledge base was rewritten (a delete, an edit) since the resident's
    /// version; on an error the resident is to be dropped.
    fn catch_up(
        &self,
        resident: &mut Resident,
        kb_id: &str,
        context_id: &str,
        cancel: &Cancel,
    ) -> Result<bool> {
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
    ) -> Result<KbVersion> {
        let after = resident.chunk_ids.last().copied().unwrap_or(0);
        let mut shared = MetaCache::default();
        let mut gone = false;
        let read = self
            .store
            .index_rows(kb_id, context_id, after, BUILD_PAGE_ROWS, &mut |rows| {
                if cancel.check().is_err() {
                    gone = true;
                    return Err(Error::ClientGone);
                }
                resident.append_rows(
                    rows.iter()
                        .map(|r| (r.chunk_id, r.meta_data.as_str(), r.pieces.as_slice())),
                    &mut shared,
                )
            });
        // Whatever the store made of the visitor's error, the client's departure is the cause.
        if gone {
            return Err(Error::ClientGone);
        }
        read
    }
}
