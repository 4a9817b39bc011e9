//! Records written with the owner's digest: each write planned against the digest as it is,
//! the digest advanced by what it adds and removes, and both sent in one transaction that the
//! service commits only if the digest is still at the version read. Another writer in between
//! (another machine of the owner) makes the service refuse it; the write is then planned again
//! from what is stored now.

use paillier_gpu::verifiable::{
    CountedRecord, Partitioning, RecordCodec, RecordNonce, RecordWrite, WriteAttempts,
};
use serde_json::Value;

use super::{Current, SeenDigest};
use crate::api;
use crate::error::{Error, Result};
use crate::Client;

/// One write of records: what it sends and the pairs it adds to and removes from the digest.
/// Each pair comes with its record's value of the counted field, if the digest counts one.
#[derive(Debug, Default)]
pub(crate) struct Planned {
    /// Chunks inserted, with their records' nonces and counted values.
    pub insert: Vec<(api::Chunk, RecordNonce, Option<String>)>,
    /// Chunks replaced whole (each with its `chunk_id`), with their new pairs.
    pub update: Vec<(Value, (i64, RecordNonce), Option<String>)>,
    /// Chunks deleted.
    pub delete: Vec<i64>,
    /// Chunks patched (each with its `chunk_id`; its index stays), with their new pairs.
    pub patch: Vec<(Value, (i64, RecordNonce), Option<String>)>,
    /// The pairs the updates, patches and deletes take out.
    pub removed: Vec<CountedRecord>,
    /// The knowledge base's partitions from this write on (none: as they are); the digest
    /// then counts the partition per value.
    pub partitions: Option<Partitioning>,
}

impl Planned {
    fn is_empty(&self) -> bool {
        self.insert.is_empty()
            && self.update.is_empty()
            && self.patch.is_empty()
            && self.delete.is_empty()
            && self.partitions.is_none()
    }
}

/// `items` as a raw JSON list, none when empty.
fn raw_list<T: serde::Serialize>(items: &[T]) -> Result<Option<Box<serde_json::value::RawValue>>> {
    if items.is_empty() {
        return Ok(None);
    }
    api::raw_list(items)
        .map(Some)
        .map_err(|e| Error::InvalidSetting(format!("the records do not serialise: {e}")))
}

/// What a write stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Written {
    /// The inserted chunks' ids, in order.
    pub chunk_ids: Vec<i64>,
}

impl Client {
    /// Writes what `plan` makes of the digest as stored, with the digest advanced, in one
    /// transaction; plans again ([`WriteAttempts`]) after another writer moved it on.
    /// A knowledge base that holds chunks but no digest (written before digests) is refused
    /// until the owner has counted them (`remote digest rebuild`).
    pub(crate) fn write_with_digest(
        &self,
        codec: &RecordCodec,
        plan: impl FnMut(&Current) -> Result<Planned>,
    ) -> Result<Written> {
        self.write_planned(codec, false, plan)
    }

    /// [`write_with_digest`](Self::write_with_digest) into a knowledge base whose records the
    /// digest may not count yet: for the write that counts them (re-sealing).
    pub(crate) fn write_with_digest_allowing_uncounted(
        &self,
        codec: &RecordCodec,
        plan: impl FnMut(&Current) -> Result<Planned>,
    ) -> Result<Written> {
        self.write_planned(codec, true, plan)
    }

    fn write_planned(
        &self,
        codec: &RecordCodec,
        uncounted_ok: bool,
        mut plan: impl FnMut(&Current) -> Result<Planned>,
    ) -> Result<Written> {
        let (kb, context_id) = (codec.kb(), codec.context().id());
        let mut attempts = WriteAttempts::new(kb);
        loop {
            attempts.start()?;
            let current = self.current_digest(codec)?;
            if !uncounted_ok {
                codec.check_chunks_counted(&current.digest, current.chunks)?;
            }
            let planned = plan(&current)?;
            if planned.is_empty() {
                return Ok(Written {
                    chunk_ids: Vec::new(),
                });
            }
            let mut write = RecordWrite {
                removed: planned.removed,
                partitions: planned.partitions,
                ..RecordWrite::default()
            };
            let mut insert = Vec::with_capacity(planned.insert.len());
            for (chunk, nonce, value) in planned.insert {
                write.inserted.push((nonce, value));
                insert.push(chunk);
            }
            let mut replaced = |chunks: Vec<(Value, (i64, RecordNonce), Option<String>)>| {
                let mut sent = Vec::with_capacity(chunks.len());
                for (chunk, pair, value) in chunks {
                    write.replaced.push((pair, value));
                    sent.push(chunk);
                }
                sent
            };
            let (update, patch) = (replaced(planned.update), replaced(planned.patch));
            let next = codec.plan_write(
                &current.digest,
                current.next_chunk_id,
                current.chunks,
                write,
                uncounted_ok,
            )?;
            let body = api::RecordWrites {
                kb_id: kb.to_owned(),
                context_id: context_id.to_owned(),
                owner_digest: api::DigestWrite {
                    expected_version: next.expected_version,
                    version: next.digest.version(),
                    sealed: next.sealed.clone(),
                    link: super::wire_link(&next.digest),
                },
                first_chunk_id: next.first_chunk_id(),
                insert: raw_list(&insert)?,
                update: raw_list(&update)?,
                patch: raw_list(&patch)?,
                delete: planned.delete,
            };
            match self.write_records(&body) {
                Ok(written) => {
                    self.keep_seen(
                        context_id,
                        kb,
                        &SeenDigest {
                            version: next.digest.version(),
                            sealed: next.sealed.clone(),
                        },
                    )?;
                    if let Some(detail) = next.ids_mismatch(&written.chunk_ids) {
                        return Err(Error::RemoteUnreachable {
                            url: self.address("records", ""),
                            detail,
                        });
                    }
                    return Ok(Written {
                        chunk_ids: written.chunk_ids,
                    });
                }
                Err(Error::DigestConflict { .. }) => continue,
                Err(other) => return Err(other),
            }
        }
    }
}
