//! The execution context's verifiable-record operations: its keys and layout, encrypting
//! records, and verifying answers.

use super::answer::{check_answer, Expectation, VerifiedRecords};
use super::decode::decode_records;
use super::encrypt::encrypt_records;
use super::layout::{RecordNonce, TaggedLayout};
use super::DecodedRecord;
use super::RecordKeys;
use crate::error::Result;
use crate::paillier::CiphertextBatch;
use crate::ExecutionContext;

impl ExecutionContext {
    /// The keys of verifiable records and private metadata, derived from the data key.
    pub fn record_keys(&self) -> Result<RecordKeys> {
        Ok(RecordKeys::derive(&self.key_provider().data_key()?))
    }

    /// The layout of this context's verifiable records, or why they do not fit its key.
    pub fn tagged_layout(&self) -> Result<TaggedLayout> {
        TaggedLayout::new(self.embed_len(), self.key_len())
    }

    /// Encrypts binary vectors as verifiable records of knowledge base `kb`, each with a fresh
    /// nonce (returned in order: what opens the record's sealed content). Call it again for an
    /// update: the record gets a new nonce.
    pub fn encrypt_records<V: AsRef<[u8]> + Sync>(
        &self,
        kb: &str,
        vectors: &[V],
    ) -> Result<(CiphertextBatch, Vec<RecordNonce>)> {
        encrypt_records(
            self.public().backend()?.as_ref(),
            self.public().public_key(),
            self.owner()?,
            &self.tagged_layout()?,
            &self.record_keys()?,
            kb,
            vectors,
        )
    }

    /// Decodes a `compute_hamming` answer over verifiable records of `kb` to `query` (the vector
    /// encrypted for it) record by record, without judging the whole answer.
    pub fn decode_records(
        &self,
        kb: &str,
        query: &[u8],
        responses: &CiphertextBatch,
    ) -> Result<Vec<DecodedRecord>> {
        decode_records(
            self.secret_key_backend()?.as_ref(),
            self.public().public_key(),
            self.secret_key(),
            &self.tagged_layout()?,
            &self.record_keys()?,
            kb,
            query,
            responses,
        )
    }

    /// Verifies a `compute_hamming` answer over verifiable records of `kb` to `query`: every
    /// record decoded and checked, then the whole answer (`chunk_ids`, one per record, against
    /// `expectation`). Any failure refuses all of it with
    /// [`Error::AnswerRejected`](crate::Error::AnswerRejected), naming the chunk ids and what
    /// each failed.
    pub fn verify_answer(
        &self,
        kb: &str,
        query: &[u8],
        responses: &CiphertextBatch,
        chunk_ids: &[i64],
        expectation: &Expectation,
    ) -> Result<VerifiedRecords> {
        let decoded = self.decode_records(kb, query, responses)?;
        check_answer(&decoded, chunk_ids, expectation)
    }
}
