//! A write of records with the owner's digest, as one driver: the digest read and checked, the
//! write planned against it (by a [`Planner`], which may read records first), the digest one
//! version on, both sent in one transaction (`POST records`), and, when another writer moved
//! the digest on in between (the service refuses the compare-and-set), planned again from what
//! is stored then, [`WRITE_ATTEMPTS`](crate::verifiable::WRITE_ATTEMPTS) times at most. The
//! version written is kept as seen before the answer's ids are checked.

use std::sync::Arc;

use paillier_gpu_api as api;
use serde_json::value::RawValue;

use super::digest_read::{Current, DigestRead};
use super::http::{expect_answer, Answered, Driver, Method, Request, Step};
use super::state::OwnerState;
use super::state_dir::SeenDigest;
use crate::error::{Error, Result};
use crate::verifiable::{
    CountedRecord, LayoutKind, Partitioning, PlannedWrite, RecordCodec, RecordNonce, RecordWrite,
    WriteAttempts,
};

/// One write of records: what it sends and the pairs it adds to and takes out of the digest,
/// each with its record's value of the counted field, if the digest counts one.
#[derive(Debug, Default)]
pub struct Planned {
    /// Chunks inserted (each the JSON of an [`api::Chunk`]), with their records' nonces and
    /// counted values.
    pub insert: Vec<(Box<RawValue>, RecordNonce, Option<String>)>,
    /// Chunks replaced whole (each the JSON of a chunk with its `chunk_id`), with their new
    /// pairs.
    pub update: Vec<(Box<RawValue>, CountedRecord)>,
    /// Chunks patched (each with its `chunk_id`: its index stays), with their new pairs.
    pub patch: Vec<(Box<RawValue>, CountedRecord)>,
    /// Chunks deleted.
    pub delete: Vec<i64>,
    /// The pairs the updates, patches and deletes take out.
    pub removed: Vec<CountedRecord>,
    /// The knowledge base's partitions from this write on (none: as they are).
    pub partitions: Option<Partitioning>,
    /// Pages of sealed vectors of the chunks inserted (and of stored ones sealed again).
    pub pages: Vec<api::SentPage>,
    /// The layout of the knowledge base's records from this write on (none: as it is).
    pub layout: Option<LayoutKind>,
}

impl Planned {
    /// Whether the write changes nothing (it is then not sent).
    pub fn is_empty(&self) -> bool {
        self.insert.is_empty()
            && self.update.is_empty()
            && self.patch.is_empty()
            && self.delete.is_empty()
            && self.partitions.is_none()
            && self.pages.is_empty()
            && self.layout.is_none()
    }
}

/// What plans one write against the digest as read: started afresh for each attempt, it may
/// ask for reads (records to take out, documents to patch) before it ends with the write.
pub trait Planner {
    /// Starts planning against `current`, forgetting an earlier attempt's reads.
    fn start(&mut self, current: &Current) -> Result<()>;

    /// As [`Driver::step`]: a read to send, or the write planned.
    fn step(&mut self, answered: Option<Answered>) -> Result<Step<Planned>>;
}

/// A planner that needs no reads: `plan(current)` makes the write.
pub struct PlanWith<F> {
    plan: F,
    planned: Option<Result<Planned>>,
}

impl<F: FnMut(&Current) -> Result<Planned>> PlanWith<F> {
    /// A planner of `plan`.
    pub fn new(plan: F) -> Self {
        Self {
            plan,
            planned: None,
        }
    }
}

impl<F: FnMut(&Current) -> Result<Planned>> Planner for PlanWith<F> {
    fn start(&mut self, current: &Current) -> Result<()> {
        self.planned = Some((self.plan)(current));
        Ok(())
    }

    fn step(&mut self, _: Option<Answered>) -> Result<Step<Planned>> {
        match self.planned.take() {
            Some(planned) => planned.map(Step::Done),
            None => Err(Error::InvalidParameter(
                "a write was planned before it was started".into(),
            )),
        }
    }
}

/// `value` as the raw JSON a write sends.
pub(crate) fn raw(value: &serde_json::Value) -> Result<Box<RawValue>> {
    serde_json::value::to_raw_value(value)
        .map_err(|e| Error::InvalidParameter(format!("a record does not serialise: {e}")))
}

/// The error of a planner stepped before [`Planner::start`].
pub(crate) fn not_started() -> Error {
    Error::InvalidParameter("a write was planned before it started".into())
}

/// What a write stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// The inserted chunks' ids, in order.
    pub chunk_ids: Vec<i64>,
}

enum Phase {
    Reading(DigestRead),
    /// The digest read, the plan not started.
    Read(Current),
    Planning(Current),
    Sending(PlannedWrite),
    Failed(Error),
    Over,
}

/// A write of records with the owner's digest (see the module's documentation). A knowledge
/// base that holds chunks but no digest is refused until the owner has counted them, unless
/// the write is the one that counts them ([`RecordsWrite::allowing_uncounted`]).
pub struct RecordsWrite<P> {
    codec: Arc<RecordCodec>,
    state: Arc<OwnerState>,
    planner: P,
    attempts: WriteAttempts,
    uncounted_ok: bool,
    phase: Phase,
}

impl<P: Planner> RecordsWrite<P> {
    /// A write into `codec`'s knowledge base that `planner` plans.
    pub fn new(codec: Arc<RecordCodec>, state: Arc<OwnerState>, planner: P) -> Self {
        let mut attempts = WriteAttempts::new(codec.kb());
        let phase = match attempts.start() {
            Ok(()) => Phase::Reading(DigestRead::new(Arc::clone(&codec), Arc::clone(&state))),
            Err(error) => Phase::Failed(error),
        };
        Self {
            phase,
            codec,
            state,
            planner,
            attempts,
            uncounted_ok: false,
        }
    }

    /// The same write, planned first over `current`, the digest just read (by the operation this
    /// write is part of) rather than read again; a conflict reads it afresh as ever.
    pub fn over(mut self, current: Current) -> Self {
        if matches!(self.phase, Phase::Reading(_)) {
            self.phase = Phase::Read(current);
        }
        self
    }

    /// The same write into a knowledge base whose records the digest may not count yet: for
    /// the write that counts them (re-sealing).
    pub fn allowing_uncounted(mut self) -> Self {
        self.uncounted_ok = true;
        self
    }

    /// The planner (what it gathered, once the write is over).
    pub fn planner(&self) -> &P {
        &self.planner
    }

    /// The planner, taken back.
    pub fn into_planner(self) -> P {
        self.planner
    }

    /// The request of `planned`'s write.
    fn send(&mut self, current: &Current, planned: Planned) -> Result<Step<Written>> {
        let (kb, context_id) = (self.codec.kb(), self.codec.context().id());
        let mut write = RecordWrite {
            removed: planned.removed,
            partitions: planned.partitions,
            layout: planned.layout,
            ..RecordWrite::default()
        };
        let mut insert = Vec::with_capacity(planned.insert.len());
        for (chunk, nonce, value) in planned.insert {
            write.inserted.push((nonce, value));
            insert.push(chunk);
        }
        let mut replaced = |chunks: Vec<(Box<RawValue>, CountedRecord)>| {
            let mut sent = Vec::with_capacity(chunks.len());
            for (chunk, pair) in chunks {
                write.replaced.push(pair);
                sent.push(chunk);
            }
            sent
        };
        let (update, patch) = (replaced(planned.update), replaced(planned.patch));
        let next = self.codec.plan_write(
            &current.digest,
            current.next_chunk_id,
            current.chunks,
            write,
            self.uncounted_ok,
        )?;
        let body = api::RecordWrites {
            kb_id: kb.to_owned(),
            context_id: context_id.to_owned(),
            owner_digest: api::DigestWrite {
                expected_version: next.expected_version,
                version: next.digest.version(),
                sealed: next.sealed.clone(),
                link: next.digest.link(),
            },
            first_chunk_id: next.first_chunk_id(),
            insert: raw_list(&insert)?,
            update: raw_list(&update)?,
            patch: raw_list(&patch)?,
            delete: planned.delete,
            pages: match planned.pages.is_empty() {
                true => None,
                false => Some(api::raw_list(&planned.pages).map_err(|e| {
                    Error::InvalidParameter(format!("the pages do not serialise: {e}"))
                })?),
            },
        };
        let request = Request::new(Method::Post, "records", String::new()).with_json(&body)?;
        self.phase = Phase::Sending(next);
        Ok(Step::Send(request))
    }

    /// The write's answer: what it stored, a conflict to plan again after, or the error.
    fn answered(
        &mut self,
        next: PlannedWrite,
        answered: Option<Answered>,
    ) -> Result<Step<Written>> {
        let unanswered = "; the write got no answer and may have been committed: it is not sent \
                          again (read the owner's digest: its version says whether it was)";
        let answer = expect_answer(answered, "records", unanswered)?;
        if answer.status == 409
            && serde_json::from_slice::<api::DigestConflict>(&answer.body).is_ok()
        {
            self.attempts.start()?;
            let read = DigestRead::new(Arc::clone(&self.codec), Arc::clone(&self.state));
            self.phase = Phase::Reading(read);
            return self.step(None);
        }
        answer.check_status()?;
        let written: api::RecordsWritten =
            serde_json::from_slice(&answer.body).map_err(|e| Error::Unreachable {
                route: "records".into(),
                detail: format!("the answer is not the API's ({e}); the write was committed"),
            })?;
        let (kb, context_id) = (self.codec.kb(), self.codec.context().id());
        let seen = SeenDigest {
            version: next.digest.version(),
            sealed: next.sealed.clone(),
        };
        self.state.keep(context_id, kb, &seen)?;
        if let Some(detail) = next.ids_mismatch(&written.chunk_ids) {
            return Err(Error::Unreachable {
                route: "records".into(),
                detail,
            });
        }
        Ok(Step::Done(Written {
            chunk_ids: written.chunk_ids,
        }))
    }
}

impl<P: Planner> Driver for RecordsWrite<P> {
    type Output = Written;

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<Written>> {
        match std::mem::replace(&mut self.phase, Phase::Over) {
            Phase::Reading(mut read) => match read.step(answered)? {
                Step::Send(request) => {
                    self.phase = Phase::Reading(read);
                    Ok(Step::Send(request))
                }
                Step::Done(current) => self.plan_over(current),
            },
            Phase::Read(current) => self.plan_over(current),
            Phase::Planning(current) => match self.planner.step(answered)? {
                Step::Send(request) => {
                    self.phase = Phase::Planning(current);
                    Ok(Step::Send(request))
                }
                Step::Done(planned) if planned.is_empty() => Ok(Step::Done(Written::default())),
                Step::Done(planned) => self.send(&current, planned),
            },
            Phase::Sending(next) => self.answered(next, answered),
            Phase::Failed(error) => Err(error),
            Phase::Over => Err(Error::InvalidParameter(
                "the write is over: a driver is not stepped after its end".into(),
            )),
        }
    }
}

impl<P: Planner> RecordsWrite<P> {
    /// The plan started over the digest as read.
    fn plan_over(&mut self, current: Current) -> Result<Step<Written>> {
        if !self.uncounted_ok {
            self.codec
                .check_chunks_counted(&current.digest, current.chunks)?;
        }
        self.planner.start(&current)?;
        self.phase = Phase::Planning(current);
        self.step(None)
    }
}

/// `items` as a raw JSON list, none when empty.
fn raw_list(items: &[Box<RawValue>]) -> Result<Option<Box<RawValue>>> {
    if items.is_empty() {
        return Ok(None);
    }
    api::raw_list(items)
        .map(Some)
        .map_err(|e| Error::InvalidParameter(format!("the records do not serialise: {e}")))
}
