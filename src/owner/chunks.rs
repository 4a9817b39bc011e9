//! Records that are not verifiable, as drivers too: an insert in the SDK's requests of
//! [`UPLOAD_BATCH`](api::UPLOAD_BATCH) ([`InsertChunks`]), a delete by id in requests of
//! [`IDS_PER_REQUEST`](api::IDS_PER_REQUEST) ([`DeleteChunks`]) and a patch by metadata
//! ([`PatchChunks`]: the service's own, or for private metadata each record found, opened,
//! patched and sealed again). No request is sent twice: after an answer that did not come, the
//! error says which chunks were stored before it.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;

use paillier_gpu_api as api;
use serde_json::{json, Map, Value};

use super::find::{sent_filter, FindRecords};
use super::http::{expect_answer, Answered, Driver, Method, Request, Step};
use crate::error::{Error, Result};
use crate::paillier::CiphertextBatch;
use crate::verifiable::{check_unreserved, RecordCodec, SentRecord};

/// The records of `batch` (encrypted under `codec`'s context), each with what it sends
/// (`sent`, one each), inserted into `codec`'s knowledge base; it ends with their chunk ids.
pub struct InsertChunks<'a> {
    codec: Arc<RecordCodec>,
    batch: Cow<'a, CiphertextBatch>,
    sent: Vec<SentRecord>,
    ids: Vec<i64>,
    seen: HashSet<i64>,
    asked: Option<(usize, usize)>,
}

impl<'a> InsertChunks<'a> {
    /// The insert of `batch`'s records (borrowed or owned) with `sent` (one each).
    pub fn new(
        codec: Arc<RecordCodec>,
        batch: Cow<'a, CiphertextBatch>,
        sent: Vec<SentRecord>,
    ) -> Result<Self> {
        if sent.len() != batch.records() {
            return Err(Error::ShapeMismatch(format!(
                "{} documents for {} encrypted vectors",
                sent.len(),
                batch.records()
            )));
        }
        Ok(Self {
            codec,
            batch,
            sent,
            ids: Vec::new(),
            seen: HashSet::new(),
            asked: None,
        })
    }

    fn request(&mut self, start: usize) -> Result<Step<Vec<i64>>> {
        let end = (start + api::UPLOAD_BATCH).min(self.batch.records());
        let mut chunks = Vec::with_capacity(end - start);
        for record in start..end {
            // Each record is sent once: what it sends is taken, not copied.
            let sent = &mut self.sent[record];
            chunks.push(api::Chunk {
                chunk_content: std::mem::take(&mut sent.content),
                index: self.codec.index(&self.batch, record)?,
                meta_data: Some(Value::Object(std::mem::take(&mut sent.meta_data))),
                name: sent.name.take(),
            });
        }
        let body = api::InsertChunks {
            kb_id: self.codec.kb().to_owned(),
            context_id: self.codec.context().id().to_owned(),
            chunks: serde_json::value::to_raw_value(&chunks).map_err(|e| {
                Error::InvalidParameter(format!("the chunks do not serialise: {e}"))
            })?,
        };
        self.asked = Some((start, end));
        Ok(Step::Send(
            Request::new(Method::Post, "chunk", String::new()).with_json(&body)?,
        ))
    }

    fn answered(&mut self, answered: Option<Answered>) -> Result<Step<Vec<i64>>> {
        let (start, end) = self
            .asked
            .ok_or_else(|| Error::InvalidParameter("nothing asked".into()))?;
        let unanswered = format!(
            "; the request for records {start} to {} got no answer and may have been stored: it \
             is not sent again (uploading them again would store second copies; a verified \
             search given the expected count says whether they are there)",
            end - 1
        );
        let answer = expect_answer(answered, "chunk", &unanswered)?;
        answer.check_status()?;
        let without = |shown: &str| Error::Unreachable {
            route: "chunk".into(),
            detail: format!(
                "the insert of records {start} to {} was answered without {} chunk ids: {shown}",
                end - 1,
                end - start
            ),
        };
        let shown =
            String::from_utf8_lossy(&answer.body[..answer.body.len().min(200)]).into_owned();
        let given = serde_json::from_slice::<api::Inserted>(&answer.body)
            .map_err(|_| without(&shown))?
            .chunk_ids;
        let fresh = given.iter().all(|&id| id >= 0 && self.seen.insert(id));
        if given.len() != end - start || !fresh {
            return Err(without(&shown));
        }
        self.ids.extend(given);
        match end < self.batch.records() {
            true => self.request(end),
            false => Ok(Step::Done(std::mem::take(&mut self.ids))),
        }
    }
}

impl Driver for InsertChunks<'_> {
    type Output = Vec<i64>;

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<Vec<i64>>> {
        let step = match self.asked {
            None if self.batch.records() == 0 => Ok(Step::Done(Vec::new())),
            None => self.request(0),
            Some(_) => self.answered(answered),
        };
        step.map_err(|error| stored_before(error, &self.ids))
    }
}

/// `error` saying which chunks were stored before it, where some were.
pub(crate) fn stored_before(error: Error, ids: &[i64]) -> Error {
    let (Some(first), Some(last)) = (ids.first(), ids.last()) else {
        return error;
    };
    let note = format!(
        "{} chunks were stored before this (ids {first} to {last})",
        ids.len()
    );
    match error {
        Error::Remote { status, message } => Error::Remote {
            status,
            message: format!("{message}; {note}"),
        },
        Error::Unreachable { route, detail } => Error::Unreachable {
            route,
            detail: format!("{detail}; {note}"),
        },
        Error::ConcurrentWrite(message) => Error::ConcurrentWrite(format!("{message}; {note}")),
        other => other,
    }
}

/// The chunks of some ids of a knowledge base deleted, as the SDK deletes chunks; it ends with
/// how many the service says it deleted.
pub struct DeleteChunks {
    kb: String,
    ids: Vec<i64>,
    asked: usize,
    deleted: u64,
}

impl DeleteChunks {
    /// The delete of chunks `ids` of `kb`.
    pub fn new(kb: &str, ids: &[i64]) -> Self {
        Self {
            kb: kb.to_owned(),
            ids: ids.to_vec(),
            asked: 0,
            deleted: 0,
        }
    }
}

impl Driver for DeleteChunks {
    type Output = u64;

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<u64>> {
        if self.asked > 0 {
            let answer = expect_answer(answered, "chunk", "")?;
            let answer: Value = answer.json("chunk")?;
            self.deleted += answer
                .get("deleted_count")
                .and_then(Value::as_u64)
                .ok_or_else(|| Error::Unreachable {
                    route: "chunk".into(),
                    detail: format!("the delete was answered without a count: {answer}"),
                })?;
        }
        if self.asked >= self.ids.len() {
            return Ok(Step::Done(self.deleted));
        }
        let end = (self.asked + api::IDS_PER_REQUEST).min(self.ids.len());
        let mut request = Request::new(Method::Delete, "chunk", String::new());
        request.query.push(("kb_id", self.kb.clone()));
        for id in &self.ids[self.asked..end] {
            request.query.push(("chunk_ids", id.to_string()));
        }
        self.asked = end;
        Ok(Step::Send(request))
    }
}

enum Patching {
    Start,
    /// The service's own patch by metadata.
    Plain,
    /// Private metadata: the records found, then patched by id.
    Found(Box<FindRecords>),
    Patched(Vec<i64>),
    Over,
}

/// A patch by metadata of records that are not verifiable (verifiable ones are
/// [`PatchByMeta`](super::PatchByMeta)'s): the service's own, or, for private metadata, each
/// record found, its document opened, patched and sealed again, and patched by id (the service
/// could only change the tokens and leave the sealed values behind). It ends with the patched
/// ids.
pub struct PatchChunks {
    codec: Arc<RecordCodec>,
    filter: Value,
    patch: Map<String, Value>,
    phase: Patching,
}

impl PatchChunks {
    /// The patch `patch` of the records of `codec`'s knowledge base `filter` selects; a patch
    /// of the partitions' own field is refused.
    pub fn new(
        codec: Arc<RecordCodec>,
        filter: &Value,
        patch: &Map<String, Value>,
    ) -> Result<Self> {
        check_unreserved(patch)?;
        if codec.options().verifiable {
            return Err(Error::InvalidParameter(
                "verifiable records are patched with the owner's digest".into(),
            ));
        }
        Ok(Self {
            codec,
            filter: filter.clone(),
            patch: patch.clone(),
            phase: Patching::Start,
        })
    }

    fn patch_by_id(&mut self, found: Vec<super::find::Found>) -> Result<Step<Vec<i64>>> {
        let ids: Vec<i64> = found.iter().map(|record| record.chunk_id).collect();
        if found.is_empty() {
            return Ok(Step::Done(ids));
        }
        let mut patches = Vec::with_capacity(found.len());
        for record in &found {
            let sent = self.codec.patched(&record.document, &self.patch, None)?;
            // Private metadata's name travels only sealed: the stored one is left as it is.
            patches.push(json!({
                "chunk_id": record.chunk_id,
                "chunk_content": sent.content,
                "meta_data": sent.meta_data,
            }));
        }
        let body = json!({
            "kb_id": self.codec.kb(),
            "context_id": self.codec.context().id(),
            "chunk_patches": patches,
        });
        self.phase = Patching::Patched(ids);
        Ok(Step::Send(
            Request::new(Method::Patch, "chunk", String::new()).with_json(&body)?,
        ))
    }
}

impl Driver for PatchChunks {
    type Output = Vec<i64>;

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<Vec<i64>>> {
        match std::mem::replace(&mut self.phase, Patching::Over) {
            Patching::Start if self.codec.options().private_meta => {
                let find = FindRecords::new(Arc::clone(&self.codec), &self.filter, None);
                self.phase = Patching::Found(Box::new(find));
                self.step(None)
            }
            Patching::Start => {
                let body = api::MetaSearch {
                    kb_id: self.codec.kb().to_owned(),
                    context_id: self.codec.context().id().to_owned(),
                    meta_filter: Some(sent_filter(&self.codec, &self.filter)?),
                    patch: Some(serde_json::value::to_raw_value(&self.patch).map_err(|e| {
                        Error::InvalidParameter(format!("the patch does not serialise: {e}"))
                    })?),
                    ..api::MetaSearch::default()
                };
                self.phase = Patching::Plain;
                Ok(Step::Send(
                    Request::new(Method::Patch, "chunk/by-meta", String::new()).with_json(&body)?,
                ))
            }
            Patching::Plain => {
                let answer: Value =
                    expect_answer(answered, "chunk/by-meta", "")?.json("chunk/by-meta")?;
                let ids = answer.get("chunk_ids").and_then(Value::as_array);
                let ids =
                    ids.and_then(|ids| ids.iter().map(Value::as_i64).collect::<Option<Vec<_>>>());
                ids.map(Step::Done).ok_or_else(|| Error::Unreachable {
                    route: "chunk/by-meta".into(),
                    detail: format!("the patch by metadata's chunk ids are not a list: {answer}"),
                })
            }
            Patching::Found(mut find) => match find.step(answered)? {
                Step::Send(request) => {
                    self.phase = Patching::Found(find);
                    Ok(Step::Send(request))
                }
                Step::Done(found) => self.patch_by_id(found.found),
            },
            Patching::Patched(ids) => {
                expect_answer(answered, "chunk", "")?.check_status()?;
                Ok(Step::Done(ids))
            }
            Patching::Over => Err(Error::InvalidParameter(
                "the patch is over: a driver is not stepped after its end".into(),
            )),
        }
    }
}

/// A delete by metadata of records that are not verifiable: the records found first as
/// [`FindRecords`] finds them (each document opened and checked against the filter, so a
/// filter given in the wrong mode deletes nothing), then deleted by id; with `dry_run`,
/// only counted. It ends with how many were deleted (or would be).
pub struct DeleteFound {
    find: FindRecords,
    delete: Option<DeleteChunks>,
    dry_run: bool,
}

impl DeleteFound {
    /// The delete of the records of `codec`'s knowledge base that `filter` selects.
    pub fn new(codec: Arc<RecordCodec>, filter: &Value, dry_run: bool) -> Result<Self> {
        if codec.options().verifiable && !dry_run {
            return Err(Error::InvalidParameter(
                "verifiable records are deleted with the owner's digest".into(),
            ));
        }
        Ok(Self {
            find: FindRecords::new(codec, filter, None),
            delete: None,
            dry_run,
        })
    }

    /// The same, verifiable records checked against the owner's digest read first (a dry run's
    /// count of verifiable records).
    pub fn reading_digest(
        codec: Arc<RecordCodec>,
        state: Arc<super::state::OwnerState>,
        filter: &Value,
    ) -> Self {
        Self {
            find: FindRecords::reading_digest(codec, state, filter),
            delete: None,
            dry_run: true,
        }
    }
}

impl Driver for DeleteFound {
    type Output = u64;

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<u64>> {
        if let Some(delete) = &mut self.delete {
            return delete.step(answered);
        }
        let found = match self.find.step(answered)? {
            Step::Send(request) => return Ok(Step::Send(request)),
            Step::Done(found) => found.found,
        };
        if self.dry_run {
            return Ok(Step::Done(found.len() as u64));
        }
        let ids: Vec<i64> = found.iter().map(|record| record.chunk_id).collect();
        let kb = self.find.kb().to_owned();
        self.delete = Some(DeleteChunks::new(&kb, &ids));
        self.step(None)
    }
}

/// Records that are not verifiable replaced whole by id (`PUT chunk`, all or none): each of
/// `batch`'s records (encrypted under `codec`'s context) with what it sends (`sent`, one
/// each) under its chunk id.
pub struct ReplaceChunks<'a> {
    codec: Arc<RecordCodec>,
    chunk_ids: Vec<i64>,
    batch: Cow<'a, CiphertextBatch>,
    sent: Vec<SentRecord>,
    asked: bool,
}

impl<'a> ReplaceChunks<'a> {
    /// The replacement of records `chunk_ids` by `batch`'s, with `sent` (one each).
    pub fn new(
        codec: Arc<RecordCodec>,
        chunk_ids: &[i64],
        batch: Cow<'a, CiphertextBatch>,
        sent: Vec<SentRecord>,
    ) -> Result<Self> {
        if chunk_ids.len() != batch.records() || sent.len() != batch.records() {
            return Err(Error::ShapeMismatch(format!(
                "{} chunk ids for {} vectors",
                chunk_ids.len(),
                batch.records()
            )));
        }
        Ok(Self {
            codec,
            chunk_ids: chunk_ids.to_vec(),
            batch,
            sent,
            asked: false,
        })
    }
}

impl Driver for ReplaceChunks<'_> {
    type Output = ();

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<()>> {
        if self.asked {
            expect_answer(answered, "chunk", "")?.check_status()?;
            return Ok(Step::Done(()));
        }
        let mut updates = Vec::with_capacity(self.chunk_ids.len());
        for (record, (&chunk_id, sent)) in self.chunk_ids.iter().zip(&mut self.sent).enumerate() {
            updates.push(json!({
                "chunk_id": chunk_id,
                "chunk_content": std::mem::take(&mut sent.content),
                "index": self.codec.index(&self.batch, record)?,
                "meta_data": std::mem::take(&mut sent.meta_data),
                "name": sent.name.take(),
            }));
        }
        let body = json!({
            "kb_id": self.codec.kb(),
            "context_id": self.codec.context().id(),
            "chunk_updates": updates,
        });
        self.asked = true;
        Ok(Step::Send(
            Request::new(Method::Put, "chunk", String::new()).with_json(&body)?,
        ))
    }
}
