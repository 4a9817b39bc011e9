//! Sealed vectors: the bits of a page of records (one write's records in one partition) sealed
//! together with AES-256-GCM under the owner's vector key, for a verified search that reads the
//! records it probes whole. The owner decodes every probed record anyway, so an AEAD open (well
//! under a microsecond a record) does what a Paillier decryption a record does, at 64 bytes a
//! 512-bit vector instead of 512.
//!
//! A page holds its partition, a 12-byte GCM nonce, its records' chunk ids in order and their
//! vectors sealed, the tag last. The associated data binds the knowledge base, the partition,
//! the nonce and every id in order, so a page of another knowledge base or partition, or with
//! an id changed, added, dropped or reordered, does not open.
//!
//! **The GCM nonce never repeats under one key.** It is drawn at random for every seal, and the
//! writer of pages must seal them inside a write's plan, which runs again at every attempt: a
//! 409 brings other chunk ids, a placement redone may choose another partition, so an attempt
//! never reuses the nonce of an earlier one under other associated data (a repeat would give
//! away GCM's authentication key, and the XOR of two pages' vectors). Random 96-bit nonces keep the chance
//! of any repeat below 2⁻³² while one key seals at most 2³² pages (NIST SP 800-38D, 8.3); a
//! knowledge base's key is its own (the knowledge base is in its HKDF label).
//!
//! **Record nonces.** Record i of a page has the 128-bit nonce whose high 96 bits are the page's
//! nonce (read big-endian) and whose low 32 bits are i: unique wherever page nonces are, and new
//! whenever its page is sealed again (a delete, patch or move of one record rewrites its page),
//! which is what the owner's digest tallies with its id.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use rand::RngCore;
use zeroize::Zeroizing;

use crate::error::{AnswerFailure, AnswerRejection, Error, FailureKind, Result};
use crate::verifiable::records::layout::RecordNonce;
use crate::verifiable::RecordKeys;

/// The most records one page holds.
pub const PAGE_RECORDS: usize = 1024;

const FORMAT: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Format, partition, nonce and count.
const HEADER_LEN: usize = 1 + 4 + NONCE_LEN + 4;
const AD_DOMAIN: &[u8] = b"paillier-gpu/sealed-vectors/1";
/// The partition field of a page in no partition.
const NO_PARTITION: u32 = u32::MAX;

/// A page of sealed vectors, as the service stores and returns it.
///
/// ```
/// use paillier_gpu::context::DataKey;
/// use paillier_gpu::verifiable::{RecordKeys, SealedPage};
/// let keys = RecordKeys::for_knowledge_base(&DataKey::new([7; 32]), "fp", "kb");
/// let vectors = [[1u8; 8], [2u8; 8]];
/// let records: Vec<(i64, &[u8])> = vec![(10, &vectors[0]), (11, &vectors[1])];
/// let page = SealedPage::seal(&keys, "kb", Some(3), &records)?;
/// let bytes = page.to_bytes();
/// let (read, used) = SealedPage::from_bytes(&bytes, 8)?;
/// assert_eq!(used, bytes.len());
/// let opened = read.open(&keys, "kb", 8)?;
/// assert_eq!((opened.ids(), opened.vector(1)), (&[10, 11][..], &[2u8; 8][..]));
/// assert!(read.open(&keys, "another kb", 8).is_err());
/// # Ok::<(), paillier_gpu::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedPage {
    partition: Option<u32>,
    nonce: [u8; NONCE_LEN],
    ids: Vec<i64>,
    /// The vectors' ciphertext, then the tag.
    sealed: Vec<u8>,
}

/// A page opened: its records' ids, nonces and vectors (wiped on drop; Debug shows no vector).
pub struct OpenedPage {
    partition: Option<u32>,
    ids: Vec<i64>,
    nonces: Vec<RecordNonce>,
    vector_bytes: usize,
    vectors: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for OpenedPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedPage")
            .field("partition", &self.partition)
            .field("ids", &self.ids)
            .finish_non_exhaustive()
    }
}

impl SealedPage {
    /// `records` (chunk id and vector, every vector as long) sealed as one page of
    /// `partition` in knowledge base `kb`, under a fresh nonce.
    pub fn seal(
        keys: &RecordKeys,
        kb: &str,
        partition: Option<u32>,
        records: &[(i64, &[u8])],
    ) -> Result<Self> {
        let vector_bytes = records.first().map_or(0, |(_, v)| v.len());
        if records.is_empty() || records.len() > PAGE_RECORDS {
            return Err(Error::InvalidParameter(format!(
                "a page holds 1 to {PAGE_RECORDS} records, not {}",
                records.len()
            )));
        }
        if partition == Some(NO_PARTITION) {
            return Err(Error::InvalidParameter(format!(
                "partition {NO_PARTITION} is the mark of a page in none"
            )));
        }
        let mut plain = Zeroizing::new(Vec::with_capacity(records.len() * vector_bytes));
        for (id, vector) in records {
            if vector.len() != vector_bytes || vector_bytes == 0 {
                return Err(Error::ShapeMismatch(format!(
                    "record {id}'s vector is {} bytes, the page's first {vector_bytes}",
                    vector.len()
                )));
            }
            plain.extend_from_slice(vector);
        }
        let mut nonce = [0u8; NONCE_LEN];
        // All zeros would give record 0 the zero nonce, which no record holds.
        while nonce == [0; NONCE_LEN] {
            rand::rngs::OsRng.fill_bytes(&mut nonce);
        }
        let ids: Vec<i64> = records.iter().map(|(id, _)| *id).collect();
        let ad = associated_data(kb, partition, &nonce, &ids);
        let mut sealed = plain.to_vec();
        let tag = cipher(keys)
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), &ad, &mut sealed)
            .map_err(|_| Error::InvalidParameter("AES-GCM sealing failed".into()))?;
        sealed.extend_from_slice(&tag);
        Ok(Self {
            partition,
            nonce,
            ids,
            sealed,
        })
    }

    /// The page opened under the owner's keys, or refused ([`FailureKind::InvalidRecord`] over
    /// its ids): forged, altered, of another knowledge base or partition, or its ids changed.
    pub fn open(&self, keys: &RecordKeys, kb: &str, vector_bytes: usize) -> Result<OpenedPage> {
        let refused = |detail: &str| {
            Error::AnswerRejected(AnswerRejection {
                failures: vec![AnswerFailure {
                    kind: FailureKind::InvalidRecord,
                    chunk_ids: self.ids.clone(),
                    detail: Some(detail.to_owned()),
                }],
            })
        };
        let expected = self
            .ids
            .len()
            .checked_mul(vector_bytes)
            .and_then(|b| b.checked_add(TAG_LEN));
        if expected != Some(self.sealed.len()) {
            return Err(refused("a sealed page whose length is not its records'"));
        }
        let (body, tag) = self.sealed.split_at(self.sealed.len() - TAG_LEN);
        let ad = associated_data(kb, self.partition, &self.nonce, &self.ids);
        let mut vectors = Zeroizing::new(body.to_vec());
        cipher(keys)
            .decrypt_in_place_detached(
                Nonce::from_slice(&self.nonce),
                &ad,
                &mut vectors,
                Tag::from_slice(tag),
            )
            .map_err(|_| {
                refused(
                    "a sealed page that does not open: forged, altered, or of another knowledge \
                     base or partition",
                )
            })?;
        Ok(OpenedPage {
            partition: self.partition,
            nonces: (0..self.ids.len()).map(|i| self.record_nonce(i)).collect(),
            ids: self.ids.clone(),
            vector_bytes,
            vectors,
        })
    }

    /// The page's partition (none: a knowledge base not partitioned).
    pub fn partition(&self) -> Option<u32> {
        self.partition
    }

    /// Its records' chunk ids, in order.
    pub fn ids(&self) -> &[i64] {
        &self.ids
    }

    /// Its records' nonces, in order: what the owner's digest tallies with their ids.
    pub fn nonces(&self) -> Vec<RecordNonce> {
        (0..self.ids.len()).map(|i| self.record_nonce(i)).collect()
    }

    /// Record `index`'s nonce (`index` below [`PAGE_RECORDS`]): the page's nonce, then `index`.
    fn record_nonce(&self, index: usize) -> RecordNonce {
        let mut bytes = [0u8; 16];
        bytes[..NONCE_LEN].copy_from_slice(&self.nonce);
        bytes[NONCE_LEN..].copy_from_slice(&(index as u32).to_be_bytes());
        RecordNonce(u128::from_be_bytes(bytes))
    }

    /// The wire form: format, partition, nonce, count, ids, then the sealed vectors and tag.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + 8 * self.ids.len() + self.sealed.len());
        out.push(FORMAT);
        out.extend_from_slice(&self.partition.unwrap_or(NO_PARTITION).to_be_bytes());
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&(self.ids.len() as u32).to_be_bytes());
        for id in &self.ids {
            out.extend_from_slice(&id.to_be_bytes());
        }
        out.extend_from_slice(&self.sealed);
        out
    }

    /// The page at the start of `bytes` (pages of `vector_bytes`-byte vectors) and how many
    /// bytes it takes: the next page starts there. Refused as an invalid record where the
    /// bytes are not a page.
    pub fn from_bytes(bytes: &[u8], vector_bytes: usize) -> Result<(Self, usize)> {
        let malformed = |detail: String| {
            Error::AnswerRejected(AnswerRejection {
                failures: vec![AnswerFailure {
                    kind: FailureKind::InvalidRecord,
                    chunk_ids: Vec::new(),
                    detail: Some(format!("a sealed page that is not one: {detail}")),
                }],
            })
        };
        if bytes.len() < HEADER_LEN {
            return Err(malformed(format!(
                "{} bytes, short of a header",
                bytes.len()
            )));
        }
        if bytes[0] != FORMAT {
            return Err(malformed(format!(
                "format {} (this version reads {FORMAT}; a newer paillier-gpu may write others)",
                bytes[0]
            )));
        }
        let word = |at: usize| {
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let partition = match word(1) {
            NO_PARTITION => None,
            p => Some(p),
        };
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&bytes[5..5 + NONCE_LEN]);
        let count = word(5 + NONCE_LEN) as usize;
        if count == 0 || count > PAGE_RECORDS {
            return Err(malformed(format!("{count} records (1 to {PAGE_RECORDS})")));
        }
        let length = vector_bytes
            .checked_add(8)
            .and_then(|record| count.checked_mul(record))
            .and_then(|body| body.checked_add(HEADER_LEN + TAG_LEN))
            .ok_or_else(|| malformed(format!("{count} records of {vector_bytes} bytes")))?;
        if bytes.len() < length {
            return Err(malformed(format!(
                "{count} records of {vector_bytes} bytes take {length} bytes, {} given",
                bytes.len()
            )));
        }
        let ids = bytes[HEADER_LEN..HEADER_LEN + count * 8]
            .chunks_exact(8)
            .map(|id| i64::from_be_bytes([id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7]]))
            .collect();
        let sealed = bytes[HEADER_LEN + count * 8..length].to_vec();
        let page = Self {
            partition,
            nonce,
            ids,
            sealed,
        };
        Ok((page, length))
    }
}

impl OpenedPage {
    /// The page's partition.
    pub fn partition(&self) -> Option<u32> {
        self.partition
    }

    /// Its records' chunk ids, in order.
    pub fn ids(&self) -> &[i64] {
        &self.ids
    }

    /// Its records' nonces, in order.
    pub fn nonces(&self) -> &[RecordNonce] {
        &self.nonces
    }

    /// Record `index`'s vector; panics past the page's last record (`ids().len()` of them).
    pub fn vector(&self, index: usize) -> &[u8] {
        &self.vectors[index * self.vector_bytes..(index + 1) * self.vector_bytes]
    }
}

fn cipher(keys: &RecordKeys) -> Aes256Gcm {
    Aes256Gcm::new(aes_gcm::Key::<Aes256Gcm>::from_slice(&*keys.vectors))
}

/// domain ‖ len(kb) ‖ kb ‖ partition ‖ nonce ‖ count ‖ ids.
fn associated_data(
    kb: &str,
    partition: Option<u32>,
    nonce: &[u8; NONCE_LEN],
    ids: &[i64],
) -> Vec<u8> {
    let mut ad =
        Vec::with_capacity(AD_DOMAIN.len() + 8 + kb.len() + 4 + NONCE_LEN + 4 + 8 * ids.len());
    ad.extend_from_slice(AD_DOMAIN);
    ad.extend_from_slice(&(kb.len() as u64).to_be_bytes());
    ad.extend_from_slice(kb.as_bytes());
    ad.extend_from_slice(&partition.unwrap_or(NO_PARTITION).to_be_bytes());
    ad.extend_from_slice(nonce);
    ad.extend_from_slice(&(ids.len() as u32).to_be_bytes());
    for id in ids {
        ad.extend_from_slice(&id.to_be_bytes());
    }
    ad
}

#[cfg(test)]
#[path = "sealed_page_tests.rs"]
mod tests;
