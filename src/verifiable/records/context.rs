//! The execution context's verifiable-record operations, under the record keys bound to the
//! context and the knowledge base: its keys and layout, encrypting records and queries, and
//! verifying answers. [`RecordCodec`](crate::verifiable::RecordCodec) does the same under either derivation.

use crate::error::{Error, Result};
use crate::paillier::CiphertextBatch;
use crate::verifiable::keys::KeyDerivation;
use crate::verifiable::records::answer::{check_answer, Expectation, VerifiedRecords};
use crate::verifiable::records::decode::Decoding;
use crate::verifiable::records::encrypt::{encrypt_query, encrypt_records, Encryption};
use crate::verifiable::records::layout::{QueryNonce, RecordNonce, TaggedLayout};
use crate::verifiable::records::query::VerifiableQuery;
use crate::verifiable::records::record_layout::{LayoutKind, RecordLayout};
use crate::verifiable::DecodedRecord;
use crate::verifiable::RecordKeys;
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

    /// The two-bit layout of this context's verifiable records, or why they do not fit its key
    /// (or its scheme: the lookup scheme leaves no room above the slots).
    pub fn tagged_layout(&self) -> Result<TaggedLayout> {
        crate::verifiable::records::encrypt::check_scheme(self.public().public_key())?;
        TaggedLayout::new(self.embed_len(), self.key_len())
    }

    /// `kind` at this context's sizes, or why it does not fit (or the scheme).
    pub fn record_layout(&self, kind: LayoutKind) -> Result<RecordLayout> {
        crate::verifiable::records::encrypt::check_scheme(self.public().public_key())?;
        RecordLayout::new(kind, self.embed_len(), self.key_len())
    }

    /// The layout a new knowledge base of this context's verifiable records gets: one-bit where
    /// it fits ([`LayoutKind::preferred`]), else two-bit; an error naming both limits where
    /// neither fits.
    pub fn preferred_layout(&self) -> Result<RecordLayout> {
        crate::verifiable::records::encrypt::check_scheme(self.public().public_key())?;
        let kind = LayoutKind::preferred(self.embed_len(), self.key_len())?;
        RecordLayout::new(kind, self.embed_len(), self.key_len())
    }

    /// Encrypts binary vectors as two-bit verifiable records of knowledge base `kb`, each with
    /// a fresh nonce (returned in order: what opens the record's sealed content). Call it again
    /// for an update: the record gets a new nonce. [`encrypt_records_in`](Self::encrypt_records_in)
    /// takes the layout.
    pub fn encrypt_records<V: AsRef<[u8]> + Sync>(
        &self,
        kb: &str,
        vectors: &[V],
    ) -> Result<(CiphertextBatch, Vec<RecordNonce>)> {
        let layout = self.record_layout(LayoutKind::TwoBit)?;
        self.encrypt_records_in(&layout, kb, vectors)
    }

    /// [`encrypt_records`](Self::encrypt_records) in `layout`.
    pub fn encrypt_records_in<V: AsRef<[u8]> + Sync>(
        &self,
        layout: &RecordLayout,
        kb: &str,
        vectors: &[V],
    ) -> Result<(CiphertextBatch, Vec<RecordNonce>)> {
        self.encrypt_records_under(&self.record_keys(kb)?, layout, kb, vectors)
    }

    /// [`encrypt_records_in`](Self::encrypt_records_in) under `keys`.
    pub(crate) fn encrypt_records_under<V: AsRef<[u8]> + Sync>(
        &self,
        keys: &RecordKeys,
        layout: &RecordLayout,
        kb: &str,
        vectors: &[V],
    ) -> Result<(CiphertextBatch, Vec<RecordNonce>)> {
        let backend = self.public().backend()?;
        self.check_layout(layout)?;
        let encryption = Encryption {
            backend: backend.as_ref(),
            public_key: self.public().public_key(),
            secret_key: self.owner()?,
            layout,
        };
        encrypt_records(&encryption, keys, kb, vectors)
    }

    /// Encrypts `vector` as a query of two-bit verifiable records, with a fresh nonce: send
    /// [`VerifiableQuery::encrypted`], then verify the answer against the query.
    /// [`encrypt_query_in`](Self::encrypt_query_in) takes the layout.
    pub fn encrypt_query(&self, vector: &[u8]) -> Result<VerifiableQuery> {
        self.encrypt_query_in(&self.record_layout(LayoutKind::TwoBit)?, vector)
    }

    /// [`encrypt_query`](Self::encrypt_query) for records of `layout`: its answer is decoded
    /// under that layout.
    pub fn encrypt_query_in(
        &self,
        layout: &RecordLayout,
        vector: &[u8],
    ) -> Result<VerifiableQuery> {
        let backend = self.public().backend()?;
        self.check_layout(layout)?;
        let encryption = Encryption {
            backend: backend.as_ref(),
            public_key: self.public().public_key(),
            secret_key: self.owner()?,
            layout,
        };
        let (encrypted, nonce) = encrypt_query(&encryption, vector)?;
        Ok(VerifiableQuery {
            vector: zeroize::Zeroizing::new(vector.to_vec()),
            nonce,
            encrypted,
            layout: Some(*layout),
        })
    }

    /// Refuses a layout made for another context's sizes or scheme.
    fn check_layout(&self, layout: &RecordLayout) -> Result<()> {
        match *layout == self.record_layout(layout.kind())? {
            true => Ok(()),
            false => Err(Error::InvalidParameter(format!(
                "a {} layout of {} dimensions for a context of {}",
                layout.kind(),
                layout.embed_len(),
                self.embed_len()
            ))),
        }
    }

    /// Decodes a `compute_hamming` answer over verifiable records of `kb` to `query` record by
    /// record, in the query's layout, without judging the whole answer.
    pub fn decode_records(
        &self,
        kb: &str,
        query: &VerifiableQuery,
        responses: &CiphertextBatch,
    ) -> Result<Vec<DecodedRecord>> {
        let keys = self.record_keys(kb)?;
        let layout = query_layout(query)?;
        self.decode_records_under(
            &keys,
            layout,
            kb,
            (&query.vector, query.nonce),
            responses,
            None,
        )
    }

    /// [`decode_records`](Self::decode_records) under `keys` in `layout` for `query` (the vector
    /// and its nonce), each record's own bits written into `bits` when given.
    pub(crate) fn decode_records_under(
        &self,
        keys: &RecordKeys,
        layout: &RecordLayout,
        kb: &str,
        query: (&[u8], QueryNonce),
        responses: &CiphertextBatch,
        bits: Option<&mut Vec<u8>>,
    ) -> Result<Vec<DecodedRecord>> {
        let backend = self.secret_key_backend()?;
        self.check_layout(layout)?;
        let decoding = Decoding {
            backend: backend.as_ref(),
            public_key: self.public().public_key(),
            secret_key: self.secret_key(),
            layout,
            keys,
            kb,
        };
        decoding.decode(query.0, query.1, responses, bits)
    }

    /// Verifies a `compute_hamming` answer over verifiable records of `kb` to `query`: every
    /// record decoded and checked, then the whole answer (`chunk_ids`, one per record, against
    /// `expectation`). Any failure refuses all of it with
    /// [`Error::AnswerRejected`](crate::Error::AnswerRejected), naming the chunk ids and what
    /// each failed. The low-level check: it holds the answer to no owner's digest unless
    /// `expectation` carries one; [`RecordCodec::rank`](crate::verifiable::RecordCodec::rank), after the
    /// codec opened the knowledge base's digest, is what a client runs.
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

/// The layout `query` was made for; a query of the SDK's records has none.
pub(in crate::verifiable) fn query_layout(query: &VerifiableQuery) -> Result<&RecordLayout> {
    query.layout().ok_or_else(|| {
        Error::InvalidParameter(
            "this query was made for the SDK's records, not for verifiable ones".into(),
        )
    })
}
