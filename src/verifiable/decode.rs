//! Decoding a verifiable answer: whole plaintexts (both primes: they exceed p), then, record by
//! record, the checks that an honest `E(record) · E(query)` passes and an altered one fails.

use rayon::prelude::*;

use super::layout::TaggedLayout;
use super::DecodedRecord;
use super::RecordKeys;
use crate::error::{Error, Result};
use crate::hazmat::backend::Backend;
use crate::paillier::{CiphertextBatch, PublicKey, SecretKey};

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
    if responses.pieces_per_record() != 1 {
        return Err(Error::InvalidCiphertext {
            index: 0,
            reason: format!(
                "records of {} pieces; a verifiable record has one",
                responses.pieces_per_record()
            ),
        });
    }
    let width = secret_key.crt().plaintext_limbs().max(1);
    let plaintexts = secret_key.decrypt_batch_limbs(backend, responses.limbs())?;
    Ok(plaintexts
        .par_chunks(width)
        .map(|plaintext| keys.check_record(layout, kb, query, plaintext))
        .collect())
}
