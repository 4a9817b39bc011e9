//! The one [`Store`] over SQL: every store method written once, over a [`Dialect`]. The chunk
//! writes, which carry the store's rules of ordering, are in `chunk_writes`.

use std::collections::HashMap;

use super::dialect::{Arg, Begin, Dialect, End};
use super::rows::{
    api_key_of, chunk_of, context_of, exists, index_row_of, kb_of, text_of, version_of,
};
use super::statements::*;
use super::{chunk_writes, owner_digests, sealed_pages};
use super::{
    now, ApiKey, Chunk, ChunkPatch, DeleteContext, DigestState, DigestSwap, DigestWritten,
    IndexRow, Inserted, KbVersion, KnowledgeBase, NewChunk, Org, PageSelection, PagesRead,
    PutContext, RecordBatch, Store, StoredContext,
};
use crate::error::Result;
use Arg::Text;

impl<D: Dialect> Store for D {
    fn create_org(&self, name: &str, admin_key_hash: &str, first_n: &str) -> Result<Org> {
        let id = crate::auth::new_id("org");
        self.transaction(Begin::Plain, |s| {
            s.execute(INSERT_ORG, &[Text(&id), Text(name), Text(&now())])?;
            s.execute(
                INSERT_ADMIN_KEY,
                &[Text(admin_key_hash), Text(&id), Text(first_n), Text(&now())],
            )?;
            Ok(End::Commit(()))
        })?;
        Ok(Org {
            id,
            name: name.to_owned(),
        })
    }

    fn org_of_admin_key(&self, hash: &str) -> Result<Option<String>> {
        self.read(|s| s.one(ORG_OF_ADMIN_KEY, &[Text(hash)], text_of))
    }

    fn create_api_key(&self, key: &ApiKey) -> Result<bool> {
        let insert = [
            Text(&key.hash),
            Text(&key.org_id),
            Text(&key.name),
            Text(&key.description),
            Text(&key.first_n),
            Arg::Flag(false),
            Text(&key.created_at),
        ];
        let Some(lock) = D::KEY_CREATION_LOCK else {
            return self.write(|s| Ok(s.execute(INSERT_API_KEY, &insert)? > 0));
        };
        self.transaction(Begin::Plain, |s| {
            // One key creation of an organisation at a time: the next one's statement then sees
            // this one's key, so the clash check holds under concurrency too.
            s.execute(lock, &[Text(&key.org_id)])?;
            Ok(End::Commit(s.execute(INSERT_API_KEY, &insert)? > 0))
        })
    }

    fn api_key(&self, hash: &str) -> Result<Option<ApiKey>> {
        self.read(|s| s.one(API_KEY, &[Text(hash)], api_key_of))
    }

    fn api_keys(&self, org_id: &str) -> Result<Vec<ApiKey>> {
        self.read(|s| s.all(API_KEYS, &[Text(org_id)], api_key_of))
    }

    fn revoke_api_key(&self, org_id: &str, hash: &str) -> Result<bool> {
        let args = [Text(org_id), Text(hash), Arg::Flag(true)];
        self.write(|s| Ok(s.execute(REVOKE_API_KEY, &args)? > 0))
    }

    fn permissions(&self, hash: &str) -> Result<Vec<(String, u8)>> {
        self.read(|s| s.all(PERMISSIONS, &[Text(hash)], |r| Ok((r.text(0)?, r.byte(1)?))))
    }

    fn set_permission(&self, hash: &str, kb_id: &str, permission: u8) -> Result<()> {
        let args = [Text(hash), Text(kb_id), Arg::Small(i16::from(permission))];
        self.write(|s| s.execute(SET_PERMISSION, &args).map(drop))
    }

    fn create_kb(&self, kb: &KnowledgeBase) -> Result<()> {
        let args = [
            Text(&kb.id),
            Text(&kb.org_id),
            Text(&kb.name),
            Text(&kb.description),
            Text(&kb.created_at),
            Text(&kb.updated_at),
        ];
        self.write(|s| s.execute(INSERT_KB, &args).map(drop))
    }

    fn kb(&self, org_id: &str, kb_id: &str) -> Result<Option<KnowledgeBase>> {
        self.read(|s| s.one(KB, &[Text(org_id), Text(kb_id)], kb_of))
    }

    fn kbs(&self, org_id: &str) -> Result<Vec<KnowledgeBase>> {
        self.read(|s| s.all(KBS, &[Text(org_id)], kb_of))
    }

    fn delete_kb(&self, org_id: &str, kb_id: &str) -> Result<bool> {
        self.write(|s| Ok(s.execute(DELETE_KB, &[Text(org_id), Text(kb_id)])? > 0))
    }

    fn put_context(
        &self,
        org_id: &str,
        context_id: &str,
        data: &str,
        creator_key: Option<&str>,
    ) -> Result<PutContext> {
        let row = [
            Text(org_id),
            Text(context_id),
            Text(data),
            Text(&now()),
            Arg::OptText(creator_key),
        ];
        self.transaction(Begin::Plain, |s| {
            if let Some(insert) = D::INSERT_CONTEXT_FIRST {
                if s.execute(insert, &row)? == 1 {
                    return Ok(End::Commit(PutContext::Created));
                }
            }
            Ok(End::Commit(
                match s.one(CONTEXT_DATA, &row[..2], text_of)? {
                    Some(held) if held == data => PutContext::Unchanged,
                    Some(_) => PutContext::Conflict,
                    // The row that kept this insert out was deleted before this read.
                    None if D::INSERT_CONTEXT_FIRST.is_some() => PutContext::Conflict,
                    None => {
                        s.execute(INSERT_CONTEXT, &row)?;
                        PutContext::Created
                    }
                },
            ))
        })
    }

    fn context(&self, org_id: &str, context_id: &str) -> Result<Option<StoredContext>> {
        self.read(|s| s.one(CONTEXT, &[Text(org_id), Text(context_id)], context_of))
    }

    fn contexts(&self, org_id: &str) -> Result<Vec<(String, Option<String>)>> {
        self.read(|s| {
            s.all(CONTEXTS, &[Text(org_id)], |r| {
                Ok((r.text(0)?, r.opt_text(1)?))
            })
        })
    }

    fn delete_context(&self, org_id: &str, context_id: &str) -> Result<DeleteContext> {
        let args = [Text(org_id), Text(context_id)];
        self.transaction(Begin::Write, |s| {
            // Waits for inserts under it where they hold it; the next statement then sees
            // their chunks, and inserts after this one find it gone.
            if let Some(lock) = D::CONTEXT_FOR_DELETE {
                if s.one(lock, &args, exists)?.is_none() {
                    return Ok(End::RollBack(DeleteContext::Missing));
                }
            }
            let in_use = s.all(KBS_HOLDING_CONTEXT, &args, text_of)?;
            if !in_use.is_empty() {
                return Ok(End::RollBack(DeleteContext::InUse(in_use)));
            }
            let deleted = s.execute(DELETE_CONTEXT, &args)?;
            s.execute(UNBIND_CONTEXT, &args)?;
            Ok(End::Commit(if deleted > 0 {
                DeleteContext::Deleted
            } else {
                DeleteContext::Missing
            }))
        })
    }

    fn bind(&self, org_id: &str, kb_id: &str, context_id: &str) -> Result<bool> {
        self.transaction(Begin::Write, |s| {
            let stored = s
                .one(
                    D::CONTEXT_FOR_BIND,
                    &[Text(org_id), Text(context_id)],
                    exists,
                )?
                .is_some();
            if stored {
                s.execute(BIND, &[Text(org_id), Text(kb_id), Text(context_id)])?;
            }
            Ok(End::Commit(stored))
        })
    }

    fn contexts_of_kb(&self, org_id: &str, kb_id: &str) -> Result<Vec<String>> {
        self.read(|s| s.all(CONTEXTS_OF_KB, &[Text(org_id), Text(kb_id)], text_of))
    }

    fn kbs_of_context(&self, org_id: &str, context_id: &str) -> Result<Vec<String>> {
        self.read(|s| s.all(KBS_OF_CONTEXT, &[Text(org_id), Text(context_id)], text_of))
    }

    fn insert_chunks(
        &self,
        kb_id: &str,
        context_id: &str,
        context_data: &str,
        chunks: &[NewChunk],
    ) -> Result<Option<Inserted>> {
        chunk_writes::insert_chunks(self, kb_id, context_id, context_data, chunks)
    }

    fn kb_version(&self, kb_id: &str) -> Result<Option<KbVersion>> {
        self.read(|s| s.one(KB_VERSION, &[Text(kb_id)], version_of))
    }

    fn chunks_by_id(&self, kb_id: &str, ids: &[i64]) -> Result<Vec<Chunk>> {
        let mut found = HashMap::new();
        self.read(|s| {
            s.select_ids(D::CHUNKS_BY_ID, kb_id, ids, &mut |r| {
                let chunk = chunk_of(r)?;
                found.insert(chunk.chunk_id, chunk);
                Ok(())
            })
        })?;
        Ok(in_asked_order(ids, found))
    }

    fn chunk_contexts(&self, kb_id: &str, ids: &[i64]) -> Result<Vec<(i64, String)>> {
        let mut found = HashMap::new();
        self.read(|s| {
            s.select_ids(D::CHUNK_CONTEXTS, kb_id, ids, &mut |r| {
                found.insert(r.int(0)?, (r.int(0)?, r.text(1)?));
                Ok(())
            })
        })?;
        Ok(in_asked_order(ids, found))
    }

    fn chunks_of(&self, kb_id: &str, context_id: &str) -> Result<Vec<Chunk>> {
        self.read(|s| {
            s.all(
                CHUNKS_OF_CONTEXT,
                &[Text(kb_id), Text(context_id)],
                chunk_of,
            )
        })
    }

    fn index_rows(
        &self,
        kb_id: &str,
        context_id: &str,
        after: i64,
        page: usize,
        visit: &mut dyn FnMut(&[IndexRow]) -> Result<()>,
    ) -> Result<KbVersion> {
        // The version and the rows of one snapshot, handed on a page at a time (so that
        // building an index never holds the whole table twice); an error from `visit` ends it.
        let page = page.max(1);
        self.transaction(Begin::Snapshot, |s| {
            let version = s
                .one(KB_VERSION, &[Text(kb_id)], version_of)?
                .unwrap_or_default();
            let mut held = Vec::with_capacity(page);
            let args = [Text(kb_id), Text(context_id), Arg::Int(after)];
            s.select_paged(INDEX_ROWS, &args, page, &mut |row| {
                held.push(index_row_of(row)?);
                if held.len() == page {
                    visit(&held)?;
                    held.clear();
                }
                Ok(())
            })?;
            if !held.is_empty() {
                visit(&held)?;
            }
            Ok(End::Commit(version))
        })
    }

    fn delete_chunks(&self, kb_id: &str, ids: &[i64]) -> Result<usize> {
        chunk_writes::delete_chunks(self, kb_id, ids)
    }

    fn patch_chunks(
        &self,
        kb_id: &str,
        context_id: &str,
        patches: &[(i64, ChunkPatch)],
        all_or_nothing: bool,
    ) -> Result<Vec<i64>> {
        chunk_writes::patch_chunks(self, kb_id, context_id, patches, all_or_nothing)
    }

    fn owner_digest(
        &self,
        kb_id: &str,
        context_id: &str,
        links_after: Option<(i64, usize)>,
    ) -> Result<Option<DigestState>> {
        owner_digests::read(self, kb_id, context_id, links_after)
    }

    fn put_owner_digest(
        &self,
        kb_id: &str,
        context_id: &str,
        swap: &DigestSwap,
    ) -> Result<DigestWritten> {
        // No chunks: no context to check them against.
        owner_digests::write(self, kb_id, context_id, "", swap, &RecordBatch::default())
    }

    fn write_records(
        &self,
        kb_id: &str,
        context_id: &str,
        context_data: &str,
        swap: &DigestSwap,
        batch: &RecordBatch,
    ) -> Result<DigestWritten> {
        owner_digests::write(self, kb_id, context_id, context_data, swap, batch)
    }

    fn sealed_pages(
        &self,
        kb_id: &str,
        context_id: &str,
        selection: PageSelection<'_>,
        max_bytes: usize,
    ) -> Result<PagesRead> {
        sealed_pages::read_pages(self, kb_id, context_id, selection, max_bytes)
    }
}

/// What was found of `ids`, in the order asked for (repeats included).
fn in_asked_order<T: Clone>(ids: &[i64], found: HashMap<i64, T>) -> Vec<T> {
    ids.iter().filter_map(|id| found.get(id).cloned()).collect()
}
