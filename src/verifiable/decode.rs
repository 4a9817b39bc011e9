//! Decoding a verifiable answer: whole plaintexts (both primes: they exceed p), then, record by
//! record, the checks that an honest `E(record) · E(query)` passes and an altered one fails.

use rayon::prelude::*;

use super::layout::{RecordNonce, TaggedLayout};
use super::tag::tag_matches;
use super::RecordKeys;
use crate::error::{Error, Result};
use crate::hazmat::backend::Backend;
use crate::paillier::{CiphertextBatch, PublicKey, SecretKey};

/// What one record's answer failed, most telling first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordDefect {
    /// A bit above the nonce and tag is set: the piece was shifted by `E(δ)` or replaced.
    AboveFields,
    /// Nonce and tag are both zero: a piece forged under the public key (such as `E(0)`), or a
    /// record uploaded without verification.
    NoTag,
    /// A slot minus the query's bit is not 0 or 1: the slots were shifted, or the answer is
    /// another query's.
    SlotOutOfRange,
    /// The tag is not this knowledge base's for the nonce and the bits the piece decodes to.
    TagMismatch,
}

/// One record's answer decoded: its distance and nonce, or what it failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodedRecord {
    /// The Hamming distance its slots give.
    pub distance: u32,
    /// Its nonce, as decoded.
    pub nonce: RecordNonce,
    /// What it failed, if anything.
    pub defect: Option<RecordDefect>,
}

/// Decodes `responses` (one piece a record, `E(record) · E(query)`) against `query`, the vector
/// the owner encrypted, for knowledge base `kb`. Whole plaintexts come from the backend's CRT
/// decryption (the CPU, or a GPU when the caller's backend is one); the fields are read and
/// checked on the host.
#[allow(clippy::too_many_arguments)]
pub(crate) fn decode_records(
    backend: &dyn Backend,
    public_key: &PublicKey,
    secret_key: &SecretKey,
    layout: &TaggedLayout,
    keys: &RecordKeys,
    kb: &str,
    query: &[u8],
    responses: &CiphertextBatch,
) -> Result<(Vec<DecodedRecord>, bool)> {
    super::encrypt::check_scheme(public_key)?;
    responses
        .key()
        .expect_context_key(&public_key.fingerprint(), "the responses")?;
    layout.slots().check(0, query)?;
    if responses.chunks_per_record() != 1 {
        return Err(Error::InvalidCiphertext {
            index: 0,
            reason: format!(
                "records of {} pieces; a verifiable record has one",
                responses.chunks_per_record()
            ),
        });
    }
    let width = secret_key.crt().plaintext_limbs().max(1);
    let plaintexts = secret_key.decrypt_batch_limbs(backend, responses.limbs())?;
    let decoded: Vec<DecodedRecord> = plaintexts
        .par_chunks(width)
        .map(|plaintext| decode_one(layout, keys, kb, query, plaintext))
        .collect();
    let all_failed = !decoded.is_empty() && decoded.iter().all(|record| record.defect.is_some());
    let replayed = all_failed && answers_another_query(layout, keys, kb, query, &plaintexts, width);
    Ok((decoded, replayed))
}

fn decode_one(
    layout: &TaggedLayout,
    keys: &RecordKeys,
    kb: &str,
    query: &[u8],
    plaintext: &[u64],
) -> DecodedRecord {
    let (nonce, tag, above) = layout.fields(plaintext);
    // The slots are the owner's secrets: read without a branch on them (only whether the
    // record fails, which the search's outcome shows anyway, decides anything below).
    let mut bits = zeroize::Zeroizing::new(vec![0u8; layout.embed_len()]);
    let mut distance = 0u32;
    let mut slots_fit = true;
    for (dimension, (bit, &query_bit)) in bits.iter_mut().zip(query).enumerate() {
        let slot = layout.slot(plaintext, dimension);
        distance += u32::from(slot == 1);
        let value = slot.wrapping_sub(query_bit);
        slots_fit &= value <= 1;
        *bit = value & 1;
    }
    let defect = if above {
        Some(RecordDefect::AboveFields)
    } else if nonce.0 == 0 && tag == 0 {
        Some(RecordDefect::NoTag)
    } else if !slots_fit {
        Some(RecordDefect::SlotOutOfRange)
    } else if !tag_matches(keys, kb, nonce, 0, &bits, tag) {
        Some(RecordDefect::TagMismatch)
    } else {
        None
    };
    DecodedRecord {
        distance,
        nonce,
        defect,
    }
}

/// When every record failed: whether the answer is the honest answer to another query (the
/// previous query's answer replayed). A slot of 2 says that query's bit was 1, a slot of 0 that
/// it was 0; with that query every record must pass.
fn answers_another_query(
    layout: &TaggedLayout,
    keys: &RecordKeys,
    kb: &str,
    query: &[u8],
    plaintexts: &[u64],
    width: usize,
) -> bool {
    let mut other = vec![None::<u8>; layout.embed_len()];
    for plaintext in plaintexts.chunks(width) {
        for (dimension, bit) in other.iter_mut().enumerate() {
            let seen = match layout.slot(plaintext, dimension) {
                0 => 0,
                2 => 1,
                _ => continue,
            };
            match *bit {
                Some(known) if known != seen => return false,
                _ => *bit = Some(seen),
            }
        }
    }
    let other: Vec<u8> = other.into_iter().map(|bit| bit.unwrap_or(0)).collect();
    other != query
        && plaintexts.par_chunks(width).all(|plaintext| {
            decode_one(layout, keys, kb, &other, plaintext)
                .defect
                .is_none()
        })
}
