//! Deletes and patches of verifiable records chosen by metadata, as planners of
//! [`RecordsWrite`](super::RecordsWrite): the records found first ([`FindRecords`]: each
//! verified, each document opened and checked against the filter), then deleted or patched by
//! id with the owner's digest. A delete is checked complete: where the digest does not count
//! what the filter selects, every record is read (checked against the whole digest) and
//! selected here, so a record the service hides from the selection is still deleted. A patched
//! record is encrypted again from its checked bits under a fresh nonce, so that its earlier
//! document no longer opens and its earlier ciphertext leaves the digest.

use std::sync::Arc;

use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

use super::digest_read::Current;
use super::find::{FindRecords, Found, FoundRecords};
use super::http::{Answered, Driver, Step};
use super::sealed_edit::{Change, SealedEdit};
use super::stored::{record_bits, StoredPairs};
use super::write::{not_started, raw, Planned, Planner};
use crate::error::{Error, Result};
use crate::verifiable::{
    check_unreserved, counted_value, covers_filter, filter_selects, in_partition, CountedRecord,
    Document, OwnerDigest, RecordCodec, RecordNonce,
};

/// What an edit by metadata is reading.
enum Reading {
    /// The records the service lists for the filter.
    Listed(FindRecords),
    /// Every record, where the digest cannot check that list complete.
    Every(FindRecords),
    /// The records found deleted from their pages of sealed vectors.
    Sealed(SealedEdit),
}

/// A delete of the verifiable records a filter selects.
pub struct DeleteByMeta {
    codec: Arc<RecordCodec>,
    filter: Value,
    digest: Option<OwnerDigest>,
    reading: Option<Reading>,
    deleted: u64,
}

impl DeleteByMeta {
    /// The delete of the records of `codec`'s knowledge base that `filter` selects.
    pub fn new(codec: Arc<RecordCodec>, filter: &Value) -> Self {
        Self {
            codec,
            filter: filter.clone(),
            digest: None,
            reading: None,
            deleted: 0,
        }
    }

    /// How many records the write deletes (once planned).
    pub fn deleted(&self) -> u64 {
        self.deleted
    }

    /// The delete of `found`, planned (Paillier records) or its sealed pages read first.
    fn delete(&mut self, found: Vec<Found>) -> Result<Step<Planned>> {
        if !self.codec.holds_sealed_vectors() {
            return Ok(Step::Done(self.planned(found)));
        }
        self.deleted = found.len() as u64;
        let ids = found.iter().map(|record| record.chunk_id).collect();
        let mut edit = SealedEdit::deleting(Arc::clone(&self.codec), ids);
        edit.begin(self.digest.as_ref().ok_or_else(not_started)?)?;
        self.reading = Some(Reading::Sealed(edit));
        self.step(None)
    }

    fn planned(&mut self, found: Vec<Found>) -> Planned {
        let field = self.digest.as_ref().and_then(OwnerDigest::counted_field);
        self.deleted = found.len() as u64;
        let mut planned = Planned::default();
        for record in found {
            if let Some(nonce) = record.nonce {
                let value = counted_value(&record.document.meta_data, field);
                planned.removed.push(((record.chunk_id, nonce), value));
            }
            planned.delete.push(record.chunk_id);
        }
        planned
    }
}

impl Planner for DeleteByMeta {
    fn start(&mut self, current: &Current) -> Result<()> {
        let find = FindRecords::new(Arc::clone(&self.codec), &self.filter, Some(&current.digest));
        self.reading = Some(Reading::Listed(find));
        self.digest = Some(current.digest.clone());
        Ok(())
    }

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<Planned>> {
        match self.reading.take().ok_or_else(not_started)? {
            Reading::Listed(mut find) => {
                let listed = match find.step(answered)? {
                    Step::Send(request) => {
                        self.reading = Some(Reading::Listed(find));
                        return Ok(Step::Send(request));
                    }
                    Step::Done(listed) => listed.found,
                };
                let digest = self.digest.as_ref().ok_or_else(not_started)?;
                if covers_filter(digest, &self.filter) {
                    return self.delete(listed);
                }
                let every = json!({});
                let find = FindRecords::new(Arc::clone(&self.codec), &every, Some(digest));
                self.reading = Some(Reading::Every(find));
                self.step(None)
            }
            Reading::Every(mut find) => match find.step(answered)? {
                Step::Send(request) => {
                    self.reading = Some(Reading::Every(find));
                    Ok(Step::Send(request))
                }
                Step::Done(every) => {
                    let mut selected = Vec::new();
                    for record in every.found {
                        if filter_selects(&self.filter, &record.document.meta_data)? {
                            selected.push(record);
                        }
                    }
                    self.delete(selected)
                }
            },
            Reading::Sealed(mut edit) => {
                let step = edit.step(answered);
                self.reading = Some(Reading::Sealed(edit));
                step
            }
        }
    }
}

/// A patch of the verifiable records a filter selects: `patch` merged into each one's
/// metadata, each encrypted again under a fresh nonce.
pub struct PatchByMeta {
    codec: Arc<RecordCodec>,
    filter: Value,
    patch: Map<String, Value>,
    field: Option<String>,
    digest: Option<OwnerDigest>,
    find: Option<FindRecords>,
    sealed: Option<SealedEdit>,
    patched: Vec<i64>,
}

impl PatchByMeta {
    /// The patch of the records of `codec`'s knowledge base that `filter` selects; a patch of
    /// the partitions' own field is refused.
    pub fn new(
        codec: Arc<RecordCodec>,
        filter: &Value,
        patch: &Map<String, Value>,
    ) -> Result<Self> {
        check_unreserved(patch)?;
        Ok(Self {
            codec,
            filter: filter.clone(),
            patch: patch.clone(),
            field: None,
            digest: None,
            find: None,
            sealed: None,
            patched: Vec::new(),
        })
    }

    /// The ids of the records the write patches (once planned).
    pub fn patched(&self) -> &[i64] {
        &self.patched
    }

    fn planned(&mut self, found: FoundRecords) -> Result<Planned> {
        let FoundRecords { found, bits } = found;
        self.patched = found.iter().map(|record| record.chunk_id).collect();
        let mut planned = Planned::default();
        if found.is_empty() {
            return Ok(planned);
        }
        let codec = &self.codec;
        let field = self.field.as_deref();
        let vectors: Vec<&[u8]> = bits.chunks(codec.context().embed_len().max(1)).collect();
        let records = codec.encrypt(&vectors)?;
        let nonces = records.nonces.as_deref().unwrap_or_default();
        for (i, (record, &nonce)) in found.iter().zip(nonces).enumerate() {
            let sent = codec.patched(&record.document, &self.patch, Some(nonce))?;
            let chunk = json!({
                "chunk_id": record.chunk_id,
                "chunk_content": sent.content,
                "index": codec.index(&records.batch, i)?,
                "meta_data": sent.meta_data,
                "name": sent.name,
            });
            let mut meta_data = record.document.meta_data.clone();
            meta_data.extend(self.patch.clone());
            let value = counted_value(&meta_data, field);
            planned
                .update
                .push((raw(&chunk)?, ((record.chunk_id, nonce), value)));
            if let Some(old) = record.nonce {
                let value = counted_value(&record.document.meta_data, field);
                planned.removed.push(((record.chunk_id, old), value));
            }
        }
        Ok(planned)
    }
}

impl Planner for PatchByMeta {
    fn start(&mut self, current: &Current) -> Result<()> {
        self.sealed = None;
        self.digest = Some(current.digest.clone());
        self.field = current.digest.counted_field().map(str::to_owned);
        let find = FindRecords::new(Arc::clone(&self.codec), &self.filter, Some(&current.digest));
        self.find = Some(find);
        Ok(())
    }

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<Planned>> {
        if let Some(edit) = &mut self.sealed {
            return edit.step(answered);
        }
        let mut find = self.find.take().ok_or_else(not_started)?;
        match find.step(answered)? {
            Step::Send(request) => {
                self.find = Some(find);
                Ok(Step::Send(request))
            }
            Step::Done(found) if self.codec.holds_sealed_vectors() => {
                self.patched = found.found.iter().map(|r| r.chunk_id).collect();
                let changes = self
                    .patched
                    .iter()
                    .map(|_| Change::Patch(self.patch.clone()))
                    .collect();
                let ids = self.patched.clone();
                let mut edit = SealedEdit::new(Arc::clone(&self.codec), ids, changes);
                edit.begin(self.digest.as_ref().ok_or_else(not_started)?)?;
                self.sealed = Some(edit);
                self.step(None)
            }
            Step::Done(found) => Ok(Step::Done(self.planned(found)?)),
        }
    }
}

/// A replacement of verifiable records by id with new vectors and documents: encrypted under
/// fresh nonces at each attempt (in the layout the digest read says), each going to the
/// partition nearest its vector in that digest, its document sealed anew, and the digest
/// trading each record's old pair (read back and verified) for its new one.
pub struct UpdateById {
    codec: Arc<RecordCodec>,
    chunk_ids: Vec<i64>,
    vectors: Zeroizing<Vec<u8>>,
    documents: Vec<Document>,
    nonces: Vec<RecordNonce>,
    update: Vec<(Box<RawValue>, CountedRecord)>,
    read: Option<StoredPairs>,
    sealed: Option<SealedEdit>,
}

impl UpdateById {
    /// The update of records `chunk_ids` to `vectors` (one each, in the same order) with
    /// `documents` (one each, or none).
    pub fn new<V: AsRef<[u8]>>(
        codec: Arc<RecordCodec>,
        chunk_ids: &[i64],
        vectors: &[V],
        documents: Vec<Document>,
    ) -> Result<Self> {
        let bits = record_bits(&codec, vectors)?;
        let records = vectors.len();
        let documents_fit = documents.is_empty() || documents.len() == records;
        if records != chunk_ids.len() || !documents_fit {
            return Err(Error::ShapeMismatch(format!(
                "{} chunk ids, {records} vectors and {} documents",
                chunk_ids.len(),
                documents.len()
            )));
        }
        Ok(Self {
            codec,
            chunk_ids: chunk_ids.to_vec(),
            vectors: bits,
            documents,
            nonces: Vec::new(),
            update: Vec::new(),
            read: None,
            sealed: None,
        })
    }

    /// Each record's new nonce, in order (once written).
    pub fn nonces(&self) -> &[RecordNonce] {
        &self.nonces
    }

    /// The write over sealed vectors: each record's page sealed again with its new vector.
    fn sealed_edit(&self) -> SealedEdit {
        let embed_len = self.codec.context().embed_len().max(1);
        let changes = self
            .vectors
            .chunks(embed_len)
            .enumerate()
            .map(|(i, bits)| {
                Change::Replace(
                    Zeroizing::new(bits.to_vec()),
                    self.documents.get(i).cloned(),
                )
            })
            .collect();
        SealedEdit::new(Arc::clone(&self.codec), self.chunk_ids.clone(), changes)
    }
}

impl Planner for UpdateById {
    fn start(&mut self, current: &Current) -> Result<()> {
        if self.codec.holds_sealed_vectors() {
            let mut edit = self.sealed_edit();
            edit.start(current)?;
            self.sealed = Some(edit);
            return Ok(());
        }
        let codec = &self.codec;
        let field = current.digest.counted_field();
        let model = current.digest.partition_model();
        let vectors: Vec<&[u8]> = self
            .vectors
            .chunks(codec.context().embed_len().max(1))
            .collect();
        let records = codec.encrypt(&vectors)?;
        self.nonces = records.nonces.clone().unwrap_or_default();
        self.update = Vec::with_capacity(self.chunk_ids.len());
        for (i, (&chunk_id, &nonce)) in self.chunk_ids.iter().zip(&self.nonces).enumerate() {
            let given = self.documents.get(i);
            let document = match model {
                Some(model) => Some(in_partition(given, model.assign(vectors[i])?)?),
                None => {
                    if let Some(document) = given {
                        check_unreserved(&document.meta_data)?;
                    }
                    given.cloned()
                }
            };
            let sent = codec.record(&records, i, document.as_ref())?;
            let chunk = json!({
                "chunk_id": chunk_id,
                "chunk_content": sent.content,
                "index": codec.index(&records.batch, i)?,
                "meta_data": sent.meta_data,
                "name": sent.name,
            });
            let value = document.and_then(|d| counted_value(&d.meta_data, field));
            self.update.push((raw(&chunk)?, ((chunk_id, nonce), value)));
        }
        self.read = Some(StoredPairs::new(Arc::clone(codec), &self.chunk_ids, field));
        Ok(())
    }

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<Planned>> {
        if let Some(edit) = &mut self.sealed {
            let step = edit.step(answered)?;
            if let Step::Done(_) = step {
                let nonces = self.chunk_ids.iter().map(|&id| edit.nonce_of(id));
                self.nonces = nonces.collect::<Option<_>>().ok_or_else(not_started)?;
            }
            return Ok(step);
        }
        let read = self.read.as_mut().ok_or_else(not_started)?;
        Ok(match read.step(answered)? {
            Step::Send(request) => Step::Send(request),
            Step::Done(removed) => Step::Done(Planned {
                update: std::mem::take(&mut self.update),
                removed,
                ..Planned::default()
            }),
        })
    }
}
