//! One batch of a move to sealed vectors as a write's plan: its records' vectors sealed in
//! pages of their partitions under fresh nonces, their chunks' Paillier indexes emptied and
//! their documents sealed anew to the new nonces, the digest trading each old pair for its new
//! one; the move's last write also names the layout sealed vectors.

use std::sync::Arc;

use zeroize::Zeroizing;

use super::digest_read::Current;
use super::http::{Answered, Step};
use super::sent_pages::{sealed_for_sending, sealed_update};
use super::write::not_started;
use super::write::{Planned, Planner};
use crate::error::{Error, Result};
use crate::verifiable::{
    counted_value, document_partition, Document, LayoutKind, RecordCodec, RecordNonce,
};

/// A record as read: its id, nonce, bits and document, and whether it is sealed already.
pub(super) struct Held {
    pub(super) chunk_id: i64,
    pub(super) nonce: RecordNonce,
    pub(super) bits: Zeroizing<Vec<u8>>,
    pub(super) sealed: bool,
    pub(super) document: Document,
}

/// One batch of a move as a write's plan.
pub(super) struct SealBatch {
    pub(super) codec: Arc<RecordCodec>,
    pub(super) records: Vec<Held>,
    /// The move's last write: it names the layout sealed vectors.
    pub(super) last: bool,
    /// The digest's version the batch was read under (or the move's last write left).
    pub(super) expected_version: i64,
    pub(super) planned: Option<Planned>,
}

impl Planner for SealBatch {
    fn start(&mut self, current: &Current) -> Result<()> {
        if current.digest.version() != self.expected_version {
            return Err(Error::ConcurrentWrite(format!(
                "knowledge base {}: another writer moved the owner's digest on (version {}, \
                 this move expected {}); what was moved stays moved: run the move again to \
                 finish it",
                self.codec.kb(),
                current.digest.version(),
                self.expected_version
            )));
        }
        let codec = &self.codec;
        let partitioned = current.digest.partition_model().is_some();
        let field = current.digest.write_counted_field(partitioned);
        let entries: Vec<(i64, &[u8], Option<u32>)> = self
            .records
            .iter()
            .map(|r| {
                let partition = partitioned
                    .then(|| document_partition(&r.document))
                    .flatten();
                (r.chunk_id, &r.bits[..], partition)
            })
            .collect();
        let (pages, nonces) = sealed_for_sending(codec, &entries)?;
        let mut planned = Planned {
            layout: self.last.then_some(LayoutKind::Sealed),
            pages,
            ..Planned::default()
        };
        for (record, &nonce) in self.records.iter().zip(&nonces) {
            let value = counted_value(&record.document.meta_data, field);
            planned
                .removed
                .push(((record.chunk_id, record.nonce), value.clone()));
            let chunk = sealed_update(codec, record.chunk_id, nonce, &record.document)?;
            planned
                .update
                .push((chunk, ((record.chunk_id, nonce), value)));
        }
        self.planned = Some(planned);
        Ok(())
    }

    fn step(&mut self, _: Option<Answered>) -> Result<Step<Planned>> {
        self.planned.take().map(Step::Done).ok_or_else(not_started)
    }
}
