//! Reading a codec's records back: an answer ranked (verified whole for verifiable records),
//! the nonces of stored records, and the documents fetched for them opened and checked against
//! the filter that selected them.

use serde_json::{Map, Value};

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::paillier::CiphertextBatch;
use crate::verifiable::records::answer::check_answer;
use crate::verifiable::records::check::DecodedRecord;
use crate::verifiable::records::codec::RecordCodec;
use crate::verifiable::records::layout::QueryNonce;
use crate::verifiable::records::query::VerifiableQuery;
use crate::verifiable::{
    check_filter, open_document, open_records, Document, Expectation, RecordNonce, Tally,
};

/// One of a search's nearest records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ranked {
    /// Its chunk id.
    pub chunk_id: i64,
    /// Its Hamming distance to the query.
    pub distance: u32,
    /// Its nonce, for a verifiable record (what its sealed document opens under).
    pub nonce: Option<RecordNonce>,
}

/// Stored verifiable records, each checked on its own: their nonces and, for the owner to
/// encrypt them again, their bits.
pub struct StoredRecords {
    /// Each record's nonce, in order.
    pub nonces: Vec<RecordNonce>,
    /// Each record's bits, `embed_len` a record, in order.
    pub bits: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for StoredRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredRecords")
            .field("records", &self.nonces.len())
            .finish_non_exhaustive()
    }
}

/// A record whose document is to be opened: its chunk id and nonce (verifiable records), and
/// what the service returned for it, if anything.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FetchedRecord<'a> {
    /// Its chunk id.
    pub chunk_id: i64,
    /// Its nonce, for a verifiable record.
    pub nonce: Option<RecordNonce>,
    /// Its `chunk_content` as the service returned it.
    pub content: Option<&'a str>,
    /// Its `meta_data` as the service returned it (read for the SDK's records only: sealed
    /// documents hold their own).
    pub meta_data: Option<&'a Map<String, Value>>,
    /// Its `name` as the service returned it (read for the SDK's records only).
    pub name: Option<&'a str>,
}

impl RecordCodec {
    /// Whether a search opens its top records' documents: always for verifiable records (a
    /// content swapped into the top k must fail), otherwise only when the caller wants them.
    pub fn opens_documents(&self, with_content: bool) -> bool {
        self.options().verifiable || with_content
    }

    /// `vector` encrypted as this codec's query: with a fresh nonce above the records' fields
    /// for verifiable records, as the SDK encrypts it otherwise.
    pub fn encrypt_query(&self, vector: &[u8]) -> Result<VerifiableQuery> {
        match self.options().verifiable {
            true => self.context().encrypt_query_in(&self.layout()?, vector),
            false => Ok(VerifiableQuery {
                vector: Zeroizing::new(vector.to_vec()),
                nonce: QueryNonce(0),
                encrypted: self.context().encrypt_batch(&[vector])?,
                layout: None,
            }),
        }
    }

    /// The `top_k` nearest of a `compute_hamming` answer (`responses`, one record per chunk of
    /// `chunk_ids`) to `query`, nearest first, ties by chunk id. Verifiable records are verified
    /// first, every record and the whole answer against `expectation` (with its digest, the
    /// answer's records must be exactly those it counts): any failure refuses all of it with
    /// [`Error::AnswerRejected`]. The SDK's records are decoded as they are.
    pub fn rank(
        &self,
        query: &VerifiableQuery,
        responses: &CiphertextBatch,
        chunk_ids: &[i64],
        expectation: &Expectation,
        top_k: usize,
    ) -> Result<Vec<Ranked>> {
        if !self.options().verifiable {
            let distances = self.context().decode_batch(responses)?;
            if distances.len() != chunk_ids.len() {
                return Err(Error::InvalidParameter("one chunk id a record".into()));
            }
            let mut ranked: Vec<Ranked> = chunk_ids
                .iter()
                .zip(distances)
                .map(|(&chunk_id, distance)| Ranked {
                    chunk_id,
                    distance,
                    nonce: None,
                })
                .collect();
            ranked.sort_by_key(|hit| (hit.distance, hit.chunk_id));
            ranked.truncate(top_k);
            return Ok(ranked);
        }
        let layout = self.layout()?;
        if query.layout() != Some(&layout) {
            return Err(Error::InvalidParameter(format!(
                "this query was made for other records than knowledge base {}'s ({} layout)",
                self.kb(),
                layout.kind()
            )));
        }
        let decoded = self.context().decode_records_under(
            self.keys()?,
            &layout,
            self.kb(),
            (query.vector(), query.nonce),
            responses,
            None,
        )?;
        self.verified_top_k(&decoded, chunk_ids, expectation, top_k)
    }

    /// The `top_k` of decoded records (`decoded[i]` chunk `chunk_ids[i]`'s), nearest first,
    /// once the whole answer passed: each record, `expectation`, the service's claim of a
    /// digest, and the digest's tally where `expectation` holds one. Paillier answers and
    /// sealed pages alike.
    pub(in crate::verifiable) fn verified_top_k(
        &self,
        decoded: &[DecodedRecord],
        chunk_ids: &[i64],
        expectation: &Expectation,
        top_k: usize,
    ) -> Result<Vec<Ranked>> {
        let verified = check_answer(decoded, chunk_ids, expectation)?;
        self.check_digest_claim(&verified.chunk_ids)?;
        if let Some(counted) = &expectation.digest {
            counted.check(&self.tally(&verified.chunk_ids, &verified.nonces)?)?;
        }
        Ok(verified
            .top_k(top_k)
            .into_iter()
            .map(|(chunk_id, distance, nonce)| Ranked {
                chunk_id,
                distance,
                nonce: Some(nonce),
            })
            .collect())
    }

    /// The tally of records `(chunk_ids[i], nonces[i])`, as the owner's digest counts them.
    pub fn tally(&self, chunk_ids: &[i64], nonces: &[RecordNonce]) -> Result<Tally> {
        let pairs: Vec<(i64, RecordNonce)> = chunk_ids
            .iter()
            .copied()
            .zip(nonces.iter().copied())
            .collect();
        Ok(Tally::of(self.keys()?, self.kb(), &pairs))
    }

    /// Stored verifiable records (`records`: their indexes as the service returned them, one
    /// per chunk of `chunk_ids`), each checked on its own (its tag, and zero where a query's
    /// nonce would be: no query's answer passes for a record) and the whole against
    /// `expectation`: their nonces, what their sealed documents open under, and their bits.
    pub fn stored(
        &self,
        records: &CiphertextBatch,
        chunk_ids: &[i64],
        expectation: &Expectation,
    ) -> Result<StoredRecords> {
        // A record on its own is its answer to a query of zeros with no nonce.
        let zeros = vec![0u8; self.context().embed_len()];
        let mut bits = Zeroizing::new(Vec::new());
        let decoded = self.context().decode_records_under(
            self.keys()?,
            &self.layout()?,
            self.kb(),
            (&zeros, QueryNonce(0)),
            records,
            Some(&mut bits),
        )?;
        let verified = check_answer(&decoded, chunk_ids, expectation)?;
        self.check_digest_claim(&verified.chunk_ids)?;
        if let Some(counted) = &expectation.digest {
            counted.check(&self.tally(&verified.chunk_ids, &verified.nonces)?)?;
        }
        Ok(StoredRecords {
            nonces: verified.nonces,
            bits,
        })
    }

    /// Which stored verifiable records (`records`, fetched by id) pass their own checks under
    /// this codec's keys, each on its own: for the owner to tell records written under the
    /// earlier key derivation from the rest ([`with_derivation`](Self::with_derivation)).
    pub fn stored_validity(&self, records: &CiphertextBatch) -> Result<Vec<bool>> {
        let zeros = vec![0u8; self.context().embed_len()];
        let decoded = self.context().decode_records_under(
            self.keys()?,
            &self.layout()?,
            self.kb(),
            (&zeros, QueryNonce(0)),
            records,
            None,
        )?;
        Ok(decoded.iter().map(|record| record.valid).collect())
    }

    /// The documents of `records`, in order, as the owner wrote them. Verifiable records open
    /// under their nonces (a content missing, or not opening under its record, fails them all
    /// with [`Error::AnswerRejected`]); private ones are sealed without a nonce; the SDK's are
    /// decrypted, with the service's metadata and name. With `filter` (the owner's, not its
    /// tokens), sealed documents must pass it: a service that ignored the filter fails.
    pub fn open(
        &self,
        records: &[FetchedRecord<'_>],
        filter: Option<&Value>,
    ) -> Result<Vec<Document>> {
        let documents = match self.options().verifiable {
            true => {
                let sealed = records
                    .iter()
                    .map(|record| match record.nonce {
                        Some(nonce) => Ok((record.chunk_id, nonce, record.content)),
                        None => Err(Error::InvalidParameter(
                            "a verifiable record needs its nonce".into(),
                        )),
                    })
                    .collect::<Result<Vec<_>>>()?;
                open_records(self.keys()?, self.kb(), &sealed)?
            }
            false => records
                .iter()
                .map(|record| self.open_unverified(record))
                .collect::<Result<_>>()?,
        };
        // Sealed documents hold the metadata as the owner wrote it; the service's copy of the
        // SDK's records is what the filter ran on.
        if let (Some(filter), true) = (filter, self.options().sealed()) {
            let opened: Vec<(i64, &Document)> = records
                .iter()
                .map(|record| record.chunk_id)
                .zip(&documents)
                .collect();
            check_filter(filter, &opened)?;
        }
        Ok(documents)
    }

    fn open_unverified(&self, record: &FetchedRecord<'_>) -> Result<Document> {
        let content = record.content.ok_or_else(|| {
            Error::InvalidParameter(format!(
                "chunk {} came back without content",
                record.chunk_id
            ))
        })?;
        match self.options().private_meta {
            true => open_document(self.keys()?, self.kb(), None, content),
            false => Ok(Document {
                content: String::from_utf8_lossy(&self.context().decrypt_content(content)?)
                    .into_owned(),
                meta_data: record.meta_data.cloned().unwrap_or_default(),
                name: record.name.map(str::to_owned),
            }),
        }
    }
}
