//! Stored verifiable records read back by id and checked one by one: their encrypted indexes
//! fetched ([`ChunksById`]), each decoded and its tag verified, and, where the owner's digest
//! counts a field, their documents opened for its value ([`StoredPairs`]); and the first
//! planner built on it, a delete by id ([`DeleteById`]).

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::Value;
use zeroize::Zeroizing;

use super::digest_read::Current;
use super::documents::{by_chunk_id, ChunksById, DocumentsRead};
use super::http::{Answered, Driver, Step};
use super::sealed_edit::SealedEdit;
use super::write::{Planned, Planner};
use crate::context::ExecutionContext;
use crate::error::{Error, Result};
use crate::paillier::CiphertextBatch;
use crate::verifiable::{counted_value, CountedRecord, Expectation, RecordCodec, RecordNonce};

/// The encrypted indexes of `ids` in `chunks` (the service's chunks by id), one record each in
/// that order, checked as ciphertexts of `context`'s key; a chunk missing or malformed is an
/// error naming it.
pub fn stored_batch(
    context: &ExecutionContext,
    chunks: &[Value],
    ids: &[i64],
) -> Result<CiphertextBatch> {
    let shape = context.ciphertext_shape();
    let by_id = by_chunk_id(chunks);
    let unreadable = |detail: String| Error::Unreachable {
        route: "chunk".into(),
        detail,
    };
    let mut bytes = Vec::with_capacity(ids.len() * shape.pieces * shape.piece_bytes);
    for &id in ids {
        let pieces = by_id
            .get(&id)
            .and_then(|c| c.get("index"))
            .and_then(Value::as_array)
            .ok_or_else(|| unreadable(format!("chunk {id} came back without its index")))?;
        if pieces.is_empty() {
            return Err(Error::SealedVectors(format!(
                "chunk {id} holds a sealed vector while the owner's digest says the knowledge \
                 base holds Paillier records: a move to sealed vectors was cut short, and \
                 `paillier-gpu remote digest seal-vectors` (`Client.seal_vectors` in Python) \
                 finishes it"
            )));
        }
        if pieces.len() != shape.pieces {
            return Err(unreadable(format!(
                "chunk {id} has {} pieces; the context's records have {}",
                pieces.len(),
                shape.pieces
            )));
        }
        for piece in pieces {
            let raw = piece
                .as_str()
                .and_then(|text| BASE64.decode(text).ok())
                .ok_or_else(|| unreadable(format!("chunk {id}: a piece is not base64")))?;
            if raw.len() > shape.piece_bytes {
                return Err(unreadable(format!(
                    "chunk {id}: a piece of {} bytes; ciphertexts have {}",
                    raw.len(),
                    shape.piece_bytes
                )));
            }
            bytes.extend_from_slice(&raw);
            bytes.resize(bytes.len() + shape.piece_bytes - raw.len(), 0);
        }
    }
    CiphertextBatch::from_le_bytes(
        context.public().public_key(),
        shape.pieces,
        shape.piece_bytes,
        &bytes,
        0,
    )
}

/// `vectors` (one record each) as one run of bits, `embed_len` a record, each checked to be of
/// `codec`'s context's length; kept zeroised, since they are the owner's plaintext.
pub(crate) fn record_bits<V: AsRef<[u8]>>(
    codec: &RecordCodec,
    vectors: &[V],
) -> Result<Zeroizing<Vec<u8>>> {
    let embed_len = codec.context().embed_len();
    let mut bits = Zeroizing::new(Vec::with_capacity(vectors.len() * embed_len));
    for (index, vector) in vectors.iter().enumerate() {
        let vector = vector.as_ref();
        if vector.len() != embed_len {
            return Err(Error::VectorLength {
                index,
                expected: embed_len,
                found: vector.len(),
            });
        }
        bits.extend_from_slice(vector);
    }
    Ok(bits)
}

enum Phase {
    Indexes(ChunksById),
    Documents(Vec<RecordNonce>, DocumentsRead),
    Over,
}

/// The (chunk id, nonce) pairs of stored verifiable records, each verified on its own, with
/// their values of `field` (their documents opened) when the digest counts one.
pub struct StoredPairs {
    codec: Arc<RecordCodec>,
    ids: Vec<i64>,
    field: Option<String>,
    phase: Phase,
}

impl StoredPairs {
    /// The pairs of records `ids` of `codec`'s knowledge base.
    pub fn new(codec: Arc<RecordCodec>, ids: &[i64], field: Option<&str>) -> Self {
        let phase = Phase::Indexes(ChunksById::new(codec.kb(), ids, &["index"]));
        Self {
            codec,
            ids: ids.to_vec(),
            field: field.map(str::to_owned),
            phase,
        }
    }

    fn pairs(&self, nonces: &[RecordNonce], values: &[Option<String>]) -> Vec<CountedRecord> {
        self.ids
            .iter()
            .zip(nonces)
            .enumerate()
            .map(|(i, (&id, &nonce))| ((id, nonce), values.get(i).cloned().flatten()))
            .collect()
    }
}

impl Driver for StoredPairs {
    type Output = Vec<CountedRecord>;

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<Vec<CountedRecord>>> {
        match std::mem::replace(&mut self.phase, Phase::Over) {
            Phase::Indexes(mut chunks) => {
                let listed = match chunks.step(answered)? {
                    Step::Send(request) => {
                        self.phase = Phase::Indexes(chunks);
                        return Ok(Step::Send(request));
                    }
                    Step::Done(listed) => listed,
                };
                if self.ids.is_empty() {
                    return Ok(Step::Done(Vec::new()));
                }
                let batch = stored_batch(self.codec.context(), &listed, &self.ids)?;
                let nonces = self
                    .codec
                    .stored(&batch, &self.ids, &Expectation::default())?
                    .nonces;
                if self.field.is_none() {
                    return Ok(Step::Done(self.pairs(&nonces, &[])));
                }
                let records = self.ids.iter().zip(&nonces).map(|(&id, &n)| (id, Some(n)));
                let documents =
                    DocumentsRead::new(Arc::clone(&self.codec), records.collect(), None);
                self.phase = Phase::Documents(nonces, documents);
                self.step(None)
            }
            Phase::Documents(nonces, mut documents) => match documents.step(answered)? {
                Step::Send(request) => {
                    self.phase = Phase::Documents(nonces, documents);
                    Ok(Step::Send(request))
                }
                Step::Done(documents) => {
                    let field = self.field.as_deref();
                    let values: Vec<Option<String>> = documents
                        .iter()
                        .map(|d| counted_value(&d.meta_data, field))
                        .collect();
                    Ok(Step::Done(self.pairs(&nonces, &values)))
                }
            },
            Phase::Over => Err(Error::InvalidParameter(
                "the read is over: a driver is not stepped after its end".into(),
            )),
        }
    }
}

/// A delete of verifiable records by id: each read back and verified first, then deleted with
/// the digest less their pairs (a planner of [`RecordsWrite`](super::RecordsWrite)); sealed
/// vectors' pages are sealed again without them.
pub struct DeleteById {
    codec: Arc<RecordCodec>,
    ids: Vec<i64>,
    read: Option<StoredPairs>,
    sealed: Option<SealedEdit>,
}

impl DeleteById {
    /// The delete of records `ids` of `codec`'s knowledge base.
    pub fn new(codec: Arc<RecordCodec>, ids: &[i64]) -> Self {
        Self {
            codec,
            ids: ids.to_vec(),
            read: None,
            sealed: None,
        }
    }
}

impl Planner for DeleteById {
    fn start(&mut self, current: &Current) -> Result<()> {
        if self.codec.holds_sealed_vectors() {
            let mut edit = SealedEdit::deleting(Arc::clone(&self.codec), self.ids.clone());
            edit.start(current)?;
            self.sealed = Some(edit);
            return Ok(());
        }
        let field = current.digest.counted_field();
        self.read = Some(StoredPairs::new(Arc::clone(&self.codec), &self.ids, field));
        Ok(())
    }

    fn step(&mut self, answered: Option<Answered>) -> Result<Step<Planned>> {
        if let Some(edit) = &mut self.sealed {
            return edit.step(answered);
        }
        let read = self.read.as_mut().ok_or_else(|| {
            Error::InvalidParameter("a write was planned before it started".into())
        })?;
        Ok(match read.step(answered)? {
            Step::Send(request) => Step::Send(request),
            Step::Done(removed) => Step::Done(Planned {
                removed,
                delete: self.ids.clone(),
                ..Planned::default()
            }),
        })
    }
}
