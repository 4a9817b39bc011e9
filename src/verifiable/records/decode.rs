//! Decoding a verifiable answer: whole plaintexts (two-bit records: both primes, they exceed p)
//! or plaintexts modulo p less the query's (one-bit records: one prime), then, record by record,
//! the checks that an honest `E(record) · E(query)` passes and an altered one fails.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::hazmat::backend::Backend;
use crate::paillier::{CiphertextBatch, PublicKey, SecretKey};
use crate::verifiable::records::layout::QueryNonce;
use crate::verifiable::records::record_layout::RecordLayout;
use crate::verifiable::DecodedRecord;
use crate::verifiable::RecordKeys;
use zeroize::Zeroizing;

/// What decoding a verifiable answer takes: the engine, the keys, the layout and the query.
pub(crate) struct Decoding<'a> {
    /// Where the decryptions run (the CPU, or a GPU when the caller's backend is one).
    pub backend: &'a dyn Backend,
    /// The context's public key.
    pub public_key: &'a PublicKey,
    /// The owner's secret key.
    pub secret_key: &'a SecretKey,
    /// The records' layout (the query's).
    pub layout: &'a RecordLayout,
    /// The knowledge base's record keys.
    pub keys: &'a RecordKeys,
    /// The knowledge base.
    pub kb: &'a str,
}

impl Decoding<'_> {
    /// Decodes `responses` (one piece a record, `E(record) · E(query)`) against `query`, the
    /// vector the owner encrypted with `query_nonce`. Whole plaintexts come from the backend's
    /// CRT decryption; the fields are read and checked on the host. With `bits`, each record's
    /// own bits are written there too (`embed_len` a record, zero for a refused one).
    pub(crate) fn decode(
        &self,
        query: &[u8],
        query_nonce: QueryNonce,
        responses: &CiphertextBatch,
        bits: Option<&mut Vec<u8>>,
    ) -> Result<Vec<DecodedRecord>> {
        crate::verifiable::records::encrypt::check_scheme(self.public_key)?;
        responses
            .key()
            .expect_context_key(&self.public_key.fingerprint(), "the responses")?;
        self.layout.check_vector(0, query)?;
        if responses.pieces_per_record() != 1 {
            return Err(Error::InvalidCiphertext {
                index: 0,
                reason: format!(
                    "records of {} pieces; a verifiable record has one",
                    responses.pieces_per_record()
                ),
            });
        }
        let width = self.secret_key.crt().plaintext_limbs().max(1);
        let embed_len = self.layout.embed_len();
        // Whole plaintexts (two-bit), or plaintexts modulo p (one-bit: half the work).
        let plaintexts = match self.layout {
            RecordLayout::TwoBit(_) => self
                .secret_key
                .decrypt_batch_limbs(self.backend, responses.limbs())?,
            RecordLayout::OneBit(_) => self
                .secret_key
                .decrypt_batch_limbs_mod_p(self.backend, responses.limbs())?,
        };
        let p = self.secret_key.larger_prime_limbs();
        let check = |plaintext: &[u64], out: &mut [u8]| match self.layout {
            RecordLayout::TwoBit(layout) => {
                self.keys
                    .check_record_bits(layout, self.kb, query, query_nonce, plaintext, out)
            }
            RecordLayout::OneBit(layout) => self.keys.check_one_bit_answer(
                layout,
                self.kb,
                query,
                query_nonce,
                plaintext,
                p,
                out,
            ),
        };
        Ok(match bits {
            Some(bits) => {
                bits.clear();
                bits.resize(responses.records() * embed_len, 0);
                plaintexts
                    .par_chunks(width)
                    .zip(bits.par_chunks_mut(embed_len.max(1)))
                    .map(|(plaintext, out)| check(plaintext, out))
                    .collect()
            }
            None => plaintexts
                .par_chunks(width)
                .map(|plaintext| {
                    let mut out = Zeroizing::new(vec![0u8; embed_len]);
                    check(plaintext, &mut out)
                })
                .collect(),
        })
    }
}
