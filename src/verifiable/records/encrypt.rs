//! Encrypting verifiable records: each vector's bits (slots or one bit a dimension, as the
//! layout says), a fresh nonce and its tag in one plaintext, encrypted as any message (by the
//! owner modulo p² and q², or the public key).

use rayon::prelude::*;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::hazmat::backend::{Backend, LimbBatch};
use crate::paillier::{CiphertextBatch, Encryptor, PublicKey, Scheme, SecretKey};
use crate::verifiable::records::layout::{QueryNonce, RecordNonce};
use crate::verifiable::records::record_layout::RecordLayout;
use crate::verifiable::records::tag::record_tag;
use crate::verifiable::RecordKeys;

/// Refuses the lookup scheme: its messages are exponents of g over a small subgroup, with no
/// room above the slots for a nonce and a tag.
pub(in crate::verifiable) fn check_scheme(public_key: &PublicKey) -> Result<()> {
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
    encryption: &Encryption<'_>,
    keys: &RecordKeys,
    kb: &str,
    vectors: &[V],
) -> Result<(CiphertextBatch, Vec<RecordNonce>)> {
    let nonces: Vec<RecordNonce> = (0..vectors.len()).map(|_| RecordNonce::random()).collect();
    let layout = encryption.layout;
    let kind = layout.kind();
    let batch = encryption.encrypt(vectors, layout.record_bits(), |i, vector, out| {
        let tag = record_tag(keys, kind, kb, nonces[i], 0, vector);
        match layout {
            RecordLayout::TwoBit(layout) => layout.pack_into(vector, nonces[i], tag, out),
            RecordLayout::OneBit(layout) => layout.pack_into(vector, nonces[i], tag, out),
        }
    })?;
    Ok((batch, nonces))
}

/// Encrypts `vector` as a query of verifiable records, with a fresh nonce above the records'
/// fields (returned: the answer must hold it there). A one-bit query holds the nonce alone: the
/// owner reads the distance from the record's bits.
pub(crate) fn encrypt_query(
    encryption: &Encryption<'_>,
    vector: &[u8],
) -> Result<(CiphertextBatch, QueryNonce)> {
    let nonce = QueryNonce::random();
    let layout = encryption.layout;
    let batch = encryption.encrypt(
        &[vector],
        layout.query_bits(),
        |_, vector, out| match layout {
            RecordLayout::TwoBit(layout) => layout.pack_query_into(vector, nonce, out),
            RecordLayout::OneBit(layout) => layout.pack_query_into(nonce, out),
        },
    )?;
    Ok((batch, nonce))
}

/// What encrypting verifiable records or queries takes: the engine, the keys, the layout.
pub(crate) struct Encryption<'a> {
    /// Where the exponentiations run.
    pub backend: &'a dyn Backend,
    /// The context's public key.
    pub public_key: &'a PublicKey,
    /// The owner's secret key, when the owner encrypts (faster, modulo p² and q²).
    pub secret_key: Option<&'a SecretKey>,
    /// The records' layout.
    pub layout: &'a RecordLayout,
}

impl Encryption<'_> {
    /// Encrypts one plaintext a vector, each packed by `pack` (the vector's index, the vector,
    /// zeroed limbs) and at most `bits` long.
    fn encrypt<V: AsRef<[u8]> + Sync>(
        &self,
        vectors: &[V],
        bits: usize,
        pack: impl Fn(usize, &[u8], &mut [u64]) + Sync,
    ) -> Result<CiphertextBatch> {
        check_scheme(self.public_key)?;
        let limbs = self.public_key.ciphertext_limbs();
        let first_bad = vectors
            .par_iter()
            .enumerate()
            .filter_map(|(i, v)| self.layout.check_vector(i, v.as_ref()).err().map(|_| i))
            .min();
        if let Some(i) = first_bad {
            self.layout.check_vector(i, vectors[i].as_ref())?;
        }
        let mut flat = Zeroizing::new(vec![0u64; vectors.len() * limbs]);
        flat.par_chunks_mut(limbs.max(1))
            .zip(vectors.par_iter())
            .enumerate()
            .for_each(|(i, (out, vector))| pack(i, vector.as_ref(), out));
        let messages = Zeroizing::new(LimbBatch::from_flat(limbs, std::mem::take(&mut *flat))?);
        let encryptor = self.secret_key.map_or(Encryptor::Public, Encryptor::Owner);
        let ciphertexts =
            encryptor.encrypt_limbs(self.public_key, self.backend, &messages, bits)?;
        Ok(CiphertextBatch::from_products(
            self.public_key.fingerprint(),
            1,
            ciphertexts,
        ))
    }
}
