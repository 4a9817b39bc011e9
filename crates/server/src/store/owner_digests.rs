//! The owner's digests, written once over a [`Dialect`]: per (knowledge base, context) a version
//! and sealed bytes the server never reads, replaced only by compare-and-set, alone or in the
//! one transaction that writes the records it covers (the chunk writes of `chunk_writes`, run
//! in that transaction). Each write first reads its knowledge base's row for a write (locked
//! where writers may run at once), so that digest writes and chunk writes of one knowledge base
//! follow one order.

use std::collections::{HashMap, HashSet};

use super::chunk_writes::{insert_in, patch_in, record_rewrite};
use super::dialect::{Arg, Begin, Dialect, End, Session};
use super::sealed_pages::{drop_pages_of, put_pages, NewPage};
use super::statements::{
    DIGEST_LINKS, KB_NEXT_AND_COUNT, OWNER_DIGEST, PUT_DIGEST_LINK, PUT_OWNER_DIGEST,
};
use super::{now, ChunkPatch, NewChunk};
use crate::error::Result;
use Arg::{Int, Text};

/// A compare-and-set of an owner digest: written when the stored version (0 when none is
/// stored) is `expected_version` and `version` is above it (a write moves it on by one; a
/// rebuild past a version its owner saw elsewhere may move it further, never back).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestSwap {
    /// The version the writer read.
    pub expected_version: i64,
    /// The version it writes.
    pub version: i64,
    /// The sealed digest, opaque to the server.
    pub sealed: Vec<u8>,
    /// The version's link, kept for the owner's other machines: `(prev, link)`.
    pub link: Option<(i64, Vec<u8>)>,
}

/// One version's link in a digest's history, as kept: `(version, prev, link)`.
pub type StoredLink = (i64, i64, Vec<u8>);

/// A knowledge base as its owner's digest of one context sees it, read at one instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestState {
    /// The stored digest, `(version, sealed)`; `None` when none was ever written.
    pub digest: Option<(i64, Vec<u8>)>,
    /// The id the knowledge base's next inserted chunk will get.
    pub next_chunk_id: i64,
    /// How many chunks the knowledge base holds (every context's).
    pub chunks: u64,
    /// The links of the versions after the `since` asked for, ascending, at most the limit
    /// asked for (none when no `since` was asked).
    pub links: Vec<StoredLink>,
}

/// What a digest write found, when it wrote nothing: the stored version (0 when none) and the
/// knowledge base's next chunk id, for the writer to read again from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DigestConflict {
    /// The version stored.
    pub current_version: i64,
    /// The id the next inserted chunk will get.
    pub next_chunk_id: i64,
}

/// Record writes committed with a digest: chunks inserted (numbered from `first_chunk_id`),
/// replaced or patched, and deleted, all under one context.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecordBatch {
    /// The id the first inserted chunk must get: the knowledge base's next id, checked in the
    /// transaction (`None` when nothing is inserted).
    pub first_chunk_id: Option<i64>,
    /// The chunks to insert, in order.
    pub insert: Vec<NewChunk>,
    /// Changes to chunks stored under the context, by id.
    pub update: Vec<(i64, ChunkPatch)>,
    /// Chunks stored under the context to delete.
    pub delete: Vec<i64>,
    /// Pages of sealed vectors of chunks stored or inserted here, each replacing the pages
    /// holding its chunks.
    pub pages: Vec<NewPage>,
}

/// What a digest write or a record write did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DigestWritten {
    /// Committed.
    Written {
        /// The ids of the chunks inserted, in order.
        chunk_ids: Vec<i64>,
        /// The knowledge base's chunk-write version after it (see
        /// [`KbVersion`](super::KbVersion)).
        kb_version: i64,
        /// The id the next inserted chunk will get.
        next_chunk_id: i64,
    },
    /// The digest's version, or the first chunk id, is not what the writer expected: nothing
    /// written.
    Conflict(DigestConflict),
    /// These ids, asked to be updated or deleted, are not stored in the knowledge base:
    /// nothing written.
    Missing(Vec<i64>),
    /// This chunk is stored under this other context: nothing written.
    OtherContext(i64, String),
    /// The context is no longer stored as it was checked (deleted or replaced): nothing written.
    ContextChanged,
    /// No such knowledge base.
    NoKb,
}

/// See [`Store::owner_digest`](super::Store::owner_digest).
pub(super) fn read<D: Dialect>(
    store: &D,
    kb_id: &str,
    context_id: &str,
    links_after: Option<(i64, usize)>,
) -> Result<Option<DigestState>> {
    store.transaction(Begin::Snapshot, |s| {
        let Some((next_chunk_id, chunks)) = s.one(KB_NEXT_AND_COUNT, &[Text(kb_id)], |r| {
            Ok((r.int(0)?, r.int(1)?))
        })?
        else {
            return Ok(End::Commit(None));
        };
        let digest = s.one(OWNER_DIGEST, &[Text(kb_id), Text(context_id)], |r| {
            Ok((r.int(0)?, r.bytes(1)?))
        })?;
        let mut links = Vec::new();
        if let Some((since, limit)) = links_after {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let args = [Text(kb_id), Text(context_id), Int(since), Int(limit)];
            s.select(DIGEST_LINKS, &args, &mut |r| {
                links.push((r.int(0)?, r.int(1)?, r.bytes(2)?));
                Ok(())
            })?;
        }
        Ok(End::Commit(Some(DigestState {
            digest,
            next_chunk_id,
            chunks: chunks.max(0) as u64,
            links,
        })))
    })
}

/// See [`Store::write_records`](super::Store::write_records); [`Store::put_owner_digest`]
/// (super::Store::put_owner_digest) is the same with an empty batch.
pub(super) fn write<D: Dialect>(
    store: &D,
    kb_id: &str,
    context_id: &str,
    context_data: &str,
    swap: &DigestSwap,
    batch: &RecordBatch,
) -> Result<DigestWritten> {
    store.transaction(Begin::Write, |s| {
        let Some(next) = s.one(D::KB_FOR_WRITE, &[Text(kb_id)], |r| r.int(0))? else {
            return Ok(End::RollBack(DigestWritten::NoKb));
        };
        let current = stored_version(s, kb_id, context_id)?;
        let first_fits = batch.insert.is_empty() || batch.first_chunk_id == Some(next);
        if current != swap.expected_version || swap.version <= swap.expected_version || !first_fits
        {
            return Ok(End::RollBack(DigestWritten::Conflict(DigestConflict {
                current_version: current,
                next_chunk_id: next,
            })));
        }
        if let Some(refused) = unfit_ids::<D>(s, kb_id, context_id, batch)? {
            return Ok(End::RollBack(refused));
        }
        // A chunk deleted, given a new Paillier index or sealed again takes its page of sealed
        // vectors with it: only when the write also deletes or seals again the page's others.
        let reindexed = batch.update.iter().filter(|(_, p)| p.pieces.is_some());
        let unpaged: Vec<i64> = (reindexed.map(|(id, _)| *id))
            .chain(batch.delete.iter().copied())
            .collect();
        let going: HashSet<i64> = (unpaged.iter().copied())
            .chain(batch.pages.iter().flat_map(|page| page.ids.iter().copied()))
            .collect();
        if !batch.update.is_empty() || !batch.delete.is_empty() {
            drop_pages_of::<D>(s, kb_id, &unpaged, &going)?;
            patch_in(s, kb_id, context_id, &batch.update)?;
            let deleted = s.execute_ids(D::DELETE_CHUNKS, kb_id, &batch.delete)?;
            record_rewrite(s, kb_id, deleted)?;
        }
        let mut chunk_ids = Vec::new();
        if !batch.insert.is_empty() {
            match insert_in::<D>(s, kb_id, context_id, context_data, &batch.insert)? {
                Some(inserted) => chunk_ids = inserted.ids,
                None => return Ok(End::RollBack(DigestWritten::ContextChanged)),
            }
        }
        let unstored = put_pages::<D>(s, kb_id, context_id, &batch.pages, &going)?;
        if !unstored.is_empty() {
            return Ok(End::RollBack(DigestWritten::Missing(unstored)));
        }
        s.execute(
            PUT_OWNER_DIGEST,
            &[
                Text(kb_id),
                Text(context_id),
                Int(swap.version),
                Arg::OptBytes(Some(&swap.sealed)),
                Text(&now()),
            ],
        )?;
        if let Some((prev, link)) = &swap.link {
            let args = [
                Text(kb_id),
                Text(context_id),
                Int(swap.version),
                Int(*prev),
                Arg::OptBytes(Some(link)),
            ];
            s.execute(PUT_DIGEST_LINK, &args)?;
        }
        let (next_chunk_id, kb_version) = s
            .one(D::KB_FOR_WRITE, &[Text(kb_id)], |r| {
                Ok((r.int(0)?, r.int(2)?))
            })?
            .unwrap_or((next, 0));
        Ok(End::Commit(DigestWritten::Written {
            chunk_ids,
            kb_version,
            next_chunk_id,
        }))
    })
}

/// The digest's stored version; 0 when none is stored.
fn stored_version(s: &mut dyn Session, kb_id: &str, context_id: &str) -> Result<i64> {
    Ok(
        s.one(OWNER_DIGEST, &[Text(kb_id), Text(context_id)], |r| r.int(0))?
            .unwrap_or(0),
    )
}

/// Why the batch's updated and deleted ids cannot be written, if they cannot: some are not
/// stored in the knowledge base, or one is stored under another context.
fn unfit_ids<D: Dialect>(
    s: &mut dyn Session,
    kb_id: &str,
    context_id: &str,
    batch: &RecordBatch,
) -> Result<Option<DigestWritten>> {
    let asked: Vec<i64> = (batch.update.iter().map(|(id, _)| *id))
        .chain(batch.delete.iter().copied())
        .collect();
    if asked.is_empty() {
        return Ok(None);
    }
    let mut stored = HashMap::new();
    s.select_ids(D::CHUNK_CONTEXTS, kb_id, &asked, &mut |r| {
        stored.insert(r.int(0)?, r.text(1)?);
        Ok(())
    })?;
    let missing: Vec<i64> = asked
        .iter()
        .copied()
        .filter(|id| !stored.contains_key(id))
        .collect();
    if !missing.is_empty() {
        return Ok(Some(DigestWritten::Missing(missing)));
    }
    Ok(asked.iter().find_map(|id| {
        stored
            .get(id)
            .filter(|held| *held != context_id)
            .map(|held| DigestWritten::OtherContext(*id, held.clone()))
    }))
}
