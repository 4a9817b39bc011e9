//! Decoding a verifiable answer: whole plaintexts (both primes: they exceed p), then, record by
//! record, the checks that an honest `E(record) · E(query)` passes and an altered one fails.

use rayon::prelude::*;

use super::layout::{RecordNonce, TaggedLayout};
use super::RecordKeys;
use crate::error::{Error, Result};
use crate::hazmat::backend::Backend;
use crate::paillier::{CiphertextBatch, PublicKey, SecretKey};

/// What one record's answer failed. Two verdicts only, each decided from what the service
/// already knows: which of several checks failed would depend on the record's and the query's
/// bits (a slot shifted by one passes the slot check or not as the stored bit is 0 or 1), so a
/// service that read the verdicts could learn the stored vectors from refused answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordDefect {
    /// No tag and nothing above the fields: a piece forged under the public key (such as
    /// `E(0)`), or a record uploaded without verification.
    NoTag,
    /// Not this knowledge base's record answering this query: a bit above the fields, a slot
    /// minus the query's bit outside {0, 1}, or a tag that does not match the nonce and bits.
    Invalid,
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
) -> Result<Vec<DecodedRecord>> {
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
    Ok(plaintexts
        .par_chunks(width)
        .map(|plaintext| decode_one(layout, keys, kb, query, plaintext))
        .collect())
}

fn decode_one(
    layout: &TaggedLayout,
    keys: &RecordKeys,
    kb: &str,
    query: &[u8],
    plaintext: &[u64],
) -> DecodedRecord {
    let check = keys.check_record(layout, kb, query, plaintext);
    let defect = match (check.valid, check.tagless) {
        (true, _) => None,
        // A tag of zero is what a piece with none decodes to; a service cannot make a
        // record's tag zero without knowing it.
        (false, true) => Some(RecordDefect::NoTag),
        (false, false) => Some(RecordDefect::Invalid),
    };
    DecodedRecord {
        distance: check.distance,
        nonce: check.nonce,
        defect,
    }
}
