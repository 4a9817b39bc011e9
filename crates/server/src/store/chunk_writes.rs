//! The chunk writes, written once: each one transaction that numbers, edits or deletes chunks
//! and moves its knowledge base's version (see [`KbVersion`](super::KbVersion)). Where writers
//! may run at once, each locks its knowledge base's row first, so that ids and versions follow
//! the commit order.

use super::dialect::{Arg, Begin, Dialect, End, Session};
use super::patches::{merged, too_large};
use super::rows::{exists, text_of};
use super::sealed_pages::drop_pages_of;
use super::statements::{BIND, CHUNK_META, PATCH_CHUNK, RECORD_INSERT, REWROTE};
use super::{now, ChunkPatch, Inserted, NewChunk, MAX_META_BYTES};
use crate::error::Result;
use Arg::{Int, Text};

/// See [`Store::insert_chunks`](super::Store::insert_chunks).
pub(super) fn insert_chunks<D: Dialect>(
    store: &D,
    kb_id: &str,
    context_id: &str,
    context_data: &str,
    chunks: &[NewChunk],
) -> Result<Option<Inserted>> {
    // The context's check and the insert are one write, with no other between.
    store.transaction(Begin::Write, |s| {
        Ok(
            match insert_in::<D>(s, kb_id, context_id, context_data, chunks)? {
                Some(inserted) => End::Commit(Some(inserted)),
                None => End::RollBack(None),
            },
        )
    })
}

/// The insert of [`insert_chunks`], in the caller's transaction: the chunks numbered on from
/// the knowledge base's next id (its row read, and locked where writers may run at once), the
/// context bound, the version moved by one. `None`, with nothing written, when the knowledge
/// base is not stored or the context is no longer stored as `context_data`.
pub(super) fn insert_in<D: Dialect>(
    s: &mut dyn Session,
    kb_id: &str,
    context_id: &str,
    context_data: &str,
    chunks: &[NewChunk],
) -> Result<Option<Inserted>> {
    let Some((first, org_id, version)) = s.one(D::KB_FOR_WRITE, &[Text(kb_id)], |r| {
        Ok((r.int(0)?, r.text(1)?, r.int(2)?))
    })?
    else {
        return Ok(None);
    };
    let stored = s.one(
        D::CONTEXT_FOR_INSERT,
        &[Text(&org_id), Text(context_id)],
        text_of,
    )?;
    if stored.as_deref() != Some(context_data) {
        return Ok(None);
    }
    s.execute(BIND, &[Text(&org_id), Text(kb_id), Text(context_id)])?;
    s.insert_chunks(kb_id, context_id, first, chunks)?;
    let next = first + chunks.len() as i64;
    s.execute(
        RECORD_INSERT,
        &[
            Int(next),
            Int(chunks.len() as i64),
            Text(&now()),
            Int(version + 1),
            Text(kb_id),
        ],
    )?;
    Ok(Some(Inserted {
        ids: (first..next).collect(),
        version: version + 1,
    }))
}

/// See [`Store::delete_chunks`](super::Store::delete_chunks).
pub(super) fn delete_chunks<D: Dialect>(store: &D, kb_id: &str, ids: &[i64]) -> Result<usize> {
    store.transaction(Begin::Plain, |s| {
        if !locked_kb::<D>(s, kb_id)? {
            return Ok(End::RollBack(0));
        }
        let going = ids.iter().copied().collect();
        drop_pages_of::<D>(s, kb_id, ids, &going)?;
        let deleted = s.execute_ids(D::DELETE_CHUNKS, kb_id, ids)?;
        if deleted == 0 {
            return Ok(End::RollBack(0));
        }
        record_rewrite(s, kb_id, deleted)?;
        Ok(End::Commit(deleted))
    })
}

/// See [`Store::patch_chunks`](super::Store::patch_chunks): metadata merged key by key, none
/// past [`MAX_META_BYTES`], and nothing written unless every patch (or, without
/// `all_or_nothing`, any) found its chunk.
pub(super) fn patch_chunks<D: Dialect>(
    store: &D,
    kb_id: &str,
    context_id: &str,
    patches: &[(i64, ChunkPatch)],
    all_or_nothing: bool,
) -> Result<Vec<i64>> {
    store.transaction(Begin::Plain, |s| {
        if !locked_kb::<D>(s, kb_id)? {
            return Ok(End::RollBack(Vec::new()));
        }
        // A chunk given a Paillier index leaves its page of sealed vectors, as a delete does.
        let reindexed: Vec<i64> = (patches.iter())
            .filter(|(_, patch)| patch.pieces.is_some())
            .map(|(id, _)| *id)
            .collect();
        let going = reindexed.iter().copied().collect();
        drop_pages_of::<D>(s, kb_id, &reindexed, &going)?;
        let found = patch_in(s, kb_id, context_id, patches)?;
        if all_or_nothing && found.len() != patches.len() || found.is_empty() {
            return Ok(End::RollBack(found));
        }
        record_rewrite(s, kb_id, 0)?;
        Ok(End::Commit(found))
    })
}

/// The patches of [`patch_chunks`] applied in the caller's transaction to the chunks stored
/// under `context_id` (the others are skipped); the ids patched. The caller records the rewrite
/// ([`record_rewrite`]) if it commits them.
pub(super) fn patch_in(
    s: &mut dyn Session,
    kb_id: &str,
    context_id: &str,
    patches: &[(i64, ChunkPatch)],
) -> Result<Vec<i64>> {
    let mut found = Vec::new();
    for (id, patch) in patches {
        // A chunk keeps the context it was inserted under: one under another is not found.
        let read = [Text(kb_id), Int(*id), Text(context_id)];
        let Some(meta) = s.one(CHUNK_META, &read, text_of)? else {
            continue;
        };
        let meta = match &patch.meta_data {
            None => meta,
            Some(changes) => merged(&meta, changes),
        };
        if meta.len() > MAX_META_BYTES {
            return Err(too_large(*id, meta.len()));
        }
        s.execute(
            PATCH_CHUNK,
            &[
                Text(kb_id),
                Int(*id),
                Arg::OptText(patch.name.as_deref()),
                Arg::OptText(patch.content.as_deref()),
                Text(&meta),
                Arg::OptBytes(patch.pieces.as_deref()),
            ],
        )?;
        found.push(*id);
    }
    Ok(found)
}

/// Records a rewrite (a delete or an edit, see [`KbVersion`](super::KbVersion)) of knowledge
/// base `kb_id` that left `fewer` chunks in it, in the caller's transaction.
pub(super) fn record_rewrite(s: &mut dyn Session, kb_id: &str, fewer: usize) -> Result<()> {
    s.execute(REWROTE, &[Int(fewer as i64), Text(&now()), Text(kb_id)])
        .map(drop)
}

/// Locks the knowledge base's row for a rewrite where writers may run at once; false when it
/// does not exist (then there is nothing to rewrite).
pub(super) fn locked_kb<D: Dialect>(s: &mut dyn Session, kb_id: &str) -> Result<bool> {
    if D::ONE_WRITER {
        return Ok(true);
    }
    Ok(s.one(D::KB_FOR_WRITE, &[Text(kb_id)], exists)?.is_some())
}
