//! Encrypting verifiable records: each vector's slots, a fresh nonce and its tag in one
//! plaintext, encrypted as any message (by the owner modulo p² and q², or the public key).

use rayon::prelude::*;
use zeroize::Zeroizing;

use super::layout::{RecordNonce, TaggedLayout};
use super::tag::record_tag;
use super::RecordKeys;
use crate::error::{Error, Result};
use crate::hazmat::backend::{Backend, LimbBatch};
use crate::paillier::{CiphertextBatch, Encryptor, PublicKey, Scheme, SecretKey};

/// Refuses the lookup scheme: its messages are exponents of g over a small subgroup, with no
/// room above the slots for a nonce and a tag.
pub(super) fn check_scheme(public_key: &PublicKey) -> Result<()> {
    match public_key.scheme() {
        Scheme::Paillier => Ok(()),
        Scheme::PaillierLookup => Err(Error::InvalidParameter(
            "verifiable records need a context of the classic scheme (type paillier): this one \
             is paillier_lookup, whose plaintexts leave no room for a record's nonce and tag"
                .into(),
        )),
    }
}

/// Encrypts `vectors` as verifiable records of knowledge base `kb`: one record a vector, one
/// piece a record, each with a fresh random nonce (returned in order) and its tag.
pub(crate) fn encrypt_records<V: AsRef<[u8]> + Sync>(
    backend: &dyn Backend,
    public_key: &PublicKey,
    secret_key: Option<&SecretKey>,
    layout: &TaggedLayout,
    keys: &RecordKeys,
    kb: &str,
    vectors: &[V],
) -> Result<(CiphertextBatch, Vec<RecordNonce>)> {
    check_scheme(public_key)?;
    let limbs = public_key.ciphertext_limbs();
    let first_bad = vectors
        .par_iter()
        .enumerate()
        .filter_map(|(i, v)| layout.slots().check(i, v.as_ref()).err().map(|_| i))
        .min();
    if let Some(i) = first_bad {
        layout.slots().check(i, vectors[i].as_ref())?;
    }
    let nonces: Vec<RecordNonce> = (0..vectors.len()).map(|_| RecordNonce::random()).collect();
    let mut flat = Zeroizing::new(vec![0u64; vectors.len() * limbs]);
    flat.par_chunks_mut(limbs.max(1))
        .zip(vectors.par_iter().zip(nonces.par_iter()))
        .for_each(|(out, (vector, &nonce))| {
            let tag = record_tag(keys, kb, nonce, 0, vector.as_ref());
            layout.pack_into(vector.as_ref(), nonce, tag, out);
        });
    let messages = Zeroizing::new(LimbBatch::from_flat(limbs, std::mem::take(&mut *flat))?);
    let encryptor = secret_key.map_or(Encryptor::Public, Encryptor::Owner);
    let ciphertexts =
        encryptor.encrypt_limbs(public_key, backend, &messages, layout.plaintext_bits())?;
    Ok((
        CiphertextBatch::from_products(public_key.fingerprint(), 1, ciphertexts),
        nonces,
    ))
}
