//! The execution context's verifiable-record operations, under the record keys bound to the
//! context and the knowledge base: its keys and layout, encrypting records and queries, and
//! verifying answers. [`RecordCodec`](super::RecordCodec) does the same under either derivation.

use super::answer::{check_answer, Expectation, VerifiedRecords};
use super::decode::Decoding;
use super::encrypt::{encrypt_query, encrypt_records, Encryption};
use super::keys::KeyDerivation;
use super::layout::{QueryNonce, RecordNonce, TaggedLayout};
use super::query::VerifiableQuery;
use super::DecodedRecord;
use super::RecordKeys;
use crate::error::Result;
use crate::paillier::CiphertextBatch;
use crate::ExecutionContext;

impl ExecutionContext {
    /// The keys of verifiable records and private metadata of knowledge base `kb`, bound to
    /// this context's public key and to `kb`, derived from the data key.
    pub fn record_keys(&self, kb: &str) -> Result<RecordKeys> {
        self.record_keys_with(KeyDerivation::Bound, kb)
    }

    /// The record keys of `kb` under `derivation`.
    pub fn record_keys_with(&self, derivation: KeyDerivation, kb: &str) -> Result<RecordKeys> {
        let data_key = self.key_provider().data_key()?;
        let fingerprint = self.public().public_key().fingerprint().to_string();
        Ok(RecordKeys::of(derivation, &data_key, &fingerprint, kb))
    }

    /// The layout of this context's verifiable records, or why they do not fit its key (or
    /// its scheme: the lookup scheme leaves no room above the slots).
    pub fn tagged_layout(&self) -> Result<TaggedLayout> {
        super::encrypt::check_scheme(self.public().public_key())?;
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
        self.encrypt_records_under(&self.record_keys(kb)?, kb, vectors)
    }

    /// [`encrypt_records`](Self::encrypt_records) under `keys`.
    pub(crate) fn encrypt_records_under<V: AsRef<[u8]> + Sync>(
        &self,
        keys: &RecordKeys,
        kb: &str,
        vectors: &[V],
    ) -> Result<(CiphertextBatch, Vec<RecordNonce>)> {
        let backend = self.public().backend()?;
        let layout = self.tagged_layout()?;
        let encryption = Encryption {
            backend: backend.as_ref(),
            public_key: self.public().public_key(),
            secret_key: self.owner()?,
            layout: &layout,
        };
        encrypt_records(&encryption, keys, kb, vectors)
    }

    /// Encrypts `vector` as a query of verifiable records, with a fresh nonce: send
    /// [`VerifiableQuery::encrypted`], then verify the answer against the query.
    pub fn encrypt_query(&self, vector: &[u8]) -> Result<VerifiableQuery> {
        let backend = self.public().backend()?;
        let layout = self.tagged_layout()?;
        let encryption = Encryption {
            backend: backend.as_ref(),
            public_key: self.public().public_key(),
            secret_key: self.owner()?,
            layout: &layout,
        };
        let (encrypted, nonce) = encrypt_query(&encryption, vector)?;
        Ok(VerifiableQuery {
            vector: zeroize::Zeroizing::new(vector.to_vec()),
            nonce,
            encrypted,
        })
    }

    /// Decodes a `compute_hamming` answer over verifiable records of `kb` to `query` record by
    /// record, without judging the whole answer.
    pub fn decode_records(
        &self,
        kb: &str,
        query: &VerifiableQuery,
        responses: &CiphertextBatch,
    ) -> Result<Vec<DecodedRecord>> {
        let keys = self.record_keys(kb)?;
        self.decode_records_under(&keys, kb, (&query.vector, query.nonce), responses, None)
    }

    /// [`decode_records`](Self::decode_records) under `keys` for `query` (the vector and its
    /// nonce), each record's own bits written into `bits` when given.
    pub(crate) fn decode_records_under(
        &self,
        keys: &RecordKeys,
        kb: &str,
        query: (&[u8], QueryNonce),
        responses: &CiphertextBatch,
        bits: Option<&mut Vec<u8>>,
    ) -> Result<Vec<DecodedRecord>> {
        let backend = self.secret_key_backend()?;
        let layout = self.tagged_layout()?;
        let decoding = Decoding {
            backend: backend.as_ref(),
            public_key: self.public().public_key(),
            secret_key: self.secret_key(),
            layout: &layout,
            keys,
            kb,
        };
        decoding.decode(query.0, query.1, responses, bits)
    }

    /// Verifies a `compute_hamming` answer over verifiable records of `kb` to `query`: every
    /// record decoded and checked, then the whole answer (`chunk_ids`, one per record, against
    /// `expectation`). Any failure refuses all of it with
    /// [`Error::AnswerRejected`](crate::Error::AnswerRejected), naming the chunk ids and what
    /// each failed.
    pub fn verify_answer(
        &self,
        kb: &str,
        query: &VerifiableQuery,
        responses: &CiphertextBatch,
        chunk_ids: &[i64],
        expectation: &Expectation,
    ) -> Result<VerifiedRecords> {
        let decoded = self.decode_records(kb, query, responses)?;
        check_answer(&decoded, chunk_ids, expectation)
    }
}
