//! Ciphertexts in bulk: the form they take from a file reader, through the search backend's
//! index and the backends, to a file writer, without a big integer per ciphertext.

use std::fmt;

use rayon::prelude::*;

use super::{Ciphertext, KeyFingerprint, PublicKey};
use crate::error::{Error, Result};
use crate::hazmat::backend::LimbBatch;

/// Records of ciphertexts under one public key, stored as n²-width little-endian limbs, one flat
/// vector for the whole batch.
///
/// Invariants, checked once when the batch is made: every ciphertext satisfies `0 < c < n²` and
/// shares no factor with n (it is invertible modulo n²) for the key named by [`key`](Self::key),
/// and every record has [`pieces_per_record`](Self::pieces_per_record) ciphertexts. Values from
/// outside ([`from_le_bytes`](Self::from_le_bytes), [`push_le_records`](Self::push_le_records),
/// [`from_ciphertexts`](Self::from_ciphertexts), the file readers) are checked, each once, and
/// refused with [`Error::InvalidCiphertext`] naming the record; what this crate computes
/// (encryptions, products of checked batches) holds them by construction. Whatever takes a batch
/// (the index, the writers, decoding) relies on them instead of checking again; [`Ciphertext`]
/// (one `BigUint`) stays at the SDK's boundary.
///
/// ```
/// use paillier_gpu::paillier::{generate_keypair, Ciphertext, CiphertextBatch, KeyGenOptions, Scheme};
/// use num_bigint::BigUint;
/// let (pk, _) = generate_keypair(Scheme::Paillier, 256, &KeyGenOptions::insecure_for_tests()).unwrap();
/// let c = Ciphertext::from_biguint(BigUint::from(7u32));
/// let batch = CiphertextBatch::from_ciphertexts(&pk, 1, [&c, &c]).unwrap();
/// assert_eq!(batch.records(), 2);
/// assert_eq!(batch.ciphertext(1), c);
/// // Zero is not a ciphertext, nor is n (it shares a factor with n): refused when the batch is
/// // made.
/// let zero = Ciphertext::from_biguint(BigUint::from(0u32));
/// assert!(CiphertextBatch::from_ciphertexts(&pk, 1, [&zero]).is_err());
/// let n = Ciphertext::from_biguint(pk.n().clone());
/// assert!(CiphertextBatch::from_ciphertexts(&pk, 1, [&n]).is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct CiphertextBatch {
    key: KeyFingerprint,
    pieces_per_record: usize,
    limbs: LimbBatch,
}

impl fmt::Debug for CiphertextBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CiphertextBatch")
            .field("key", &self.key)
            .field("records", &self.records())
            .field("pieces_per_record", &self.pieces_per_record)
            .finish_non_exhaustive()
    }
}

impl CiphertextBatch {
    /// An empty batch for `public_key`, records of `pieces_per_record` ciphertexts.
    pub fn new(public_key: &PublicKey, pieces_per_record: usize) -> Result<Self> {
        if pieces_per_record == 0 {
            return Err(Error::InvalidParameter(
                "a record holds at least one ciphertext".into(),
            ));
        }
        Ok(Self {
            key: public_key.fingerprint(),
            pieces_per_record,
            limbs: LimbBatch::new(public_key.ciphertext_limbs()),
        })
    }

    /// Checks and gathers ciphertexts, record after record. Errors name the record.
    pub fn from_ciphertexts<'a>(
        public_key: &PublicKey,
        pieces_per_record: usize,
        ciphertexts: impl IntoIterator<Item = &'a Ciphertext>,
    ) -> Result<Self> {
        let mut batch = Self::new(public_key, pieces_per_record)?;
        let ciphertexts: Vec<&Ciphertext> = ciphertexts.into_iter().collect();
        let flat = Self::gather_limbs(public_key, pieces_per_record, &ciphertexts, 0)?;
        batch.limbs = LimbBatch::from_flat(public_key.ciphertext_limbs(), flat)?;
        batch.check_whole_records(ciphertexts.len())?;
        Ok(batch)
    }

    /// The flat limbs (n²'s width each) of `ciphertexts`, each checked to be one of this key
    /// (`0 < c < n²`, sharing no factor with n), checked and converted on every core. The first
    /// bad ciphertext (the one a serial scan would meet first) names its record, counted from
    /// `first_record`.
    pub(crate) fn gather_limbs(
        public_key: &PublicKey,
        pieces_per_record: usize,
        ciphertexts: &[&Ciphertext],
        first_record: usize,
    ) -> Result<Vec<u64>> {
        let limbs = public_key.ciphertext_limbs();
        let mut flat = vec![0u64; ciphertexts.len() * limbs];
        let all_valid = flat
            .par_chunks_mut(limbs.max(1))
            .zip(ciphertexts.par_iter())
            .all(|(out, c)| {
                let c = c.as_biguint();
                if public_key.check_ciphertext(c, 0).is_err() {
                    return false;
                }
                out.iter_mut()
                    .zip(c.iter_u64_digits())
                    .for_each(|(limb, digit)| *limb = digit);
                true
            });
        // The first out of range, if any; a non-unit before it comes first.
        let out_of_range = if all_valid {
            None
        } else {
            ciphertexts
                .iter()
                .position(|c| public_key.check_ciphertext(c.as_biguint(), 0).is_err())
        };
        if let Some(i) = out_of_range {
            // `all` stops at the first failure, on whichever core finds it: items before it may
            // not have been converted, and a zero left there would read as a non-unit.
            flat[..i * limbs]
                .par_chunks_mut(limbs.max(1))
                .zip(ciphertexts[..i].par_iter())
                .for_each(|(out, c)| {
                    out.fill(0);
                    out.iter_mut()
                        .zip(c.as_biguint().iter_u64_digits())
                        .for_each(|(limb, digit)| *limb = digit);
                });
        }
        let checked = out_of_range.unwrap_or(ciphertexts.len()) * limbs;
        public_key.check_units(&flat[..checked], pieces_per_record, first_record)?;
        if let Some(i) = out_of_range {
            let record = first_record + i / pieces_per_record.max(1);
            public_key.check_ciphertext(ciphertexts[i].as_biguint(), record)?;
        }
        Ok(flat)
    }

    /// Checks and gathers records given as concatenated little-endian pieces of `piece_bytes`
    /// bytes each (the binary file form, and base64-decoded JSON Lines). `first_record` is the
    /// index the first record has in its file, for the errors.
    pub fn from_le_bytes(
        public_key: &PublicKey,
        pieces_per_record: usize,
        piece_bytes: usize,
        bytes: &[u8],
        first_record: usize,
    ) -> Result<Self> {
        let mut batch = Self::new(public_key, pieces_per_record)?;
        batch.push_le_records(public_key, piece_bytes, bytes, first_record)?;
        Ok(batch)
    }

    /// Appends records given as [`from_le_bytes`](Self::from_le_bytes) takes them, each
    /// ciphertext checked (`0 < c < n²`, sharing no factor with n); on an error the batch is left
    /// as it was. `first_record` is the index the first record has in its file, for the errors.
    pub fn push_le_records(
        &mut self,
        public_key: &PublicKey,
        piece_bytes: usize,
        bytes: &[u8],
        first_record: usize,
    ) -> Result<()> {
        if piece_bytes == 0 || !bytes.len().is_multiple_of(piece_bytes) {
            return Err(Error::InvalidParameter(format!(
                "{} bytes do not split into chunks of {piece_bytes}",
                bytes.len()
            )));
        }
        let count = bytes.len() / piece_bytes;
        self.check_whole_records(count)?;
        self.limbs.reserve(count);
        let before = self.limbs.len();
        let pieces_per_record = self.pieces_per_record;
        let mut out_of_range = Ok(());
        for (i, chunk) in bytes.chunks_exact(piece_bytes).enumerate() {
            out_of_range =
                self.push_le_piece(public_key, chunk, first_record + i / pieces_per_record);
            if out_of_range.is_err() {
                break;
            }
        }
        // The pieces pushed come before any out of range: a non-unit among them is named first.
        let checked = self
            .check_units_from(public_key, before, first_record)
            .and(out_of_range);
        if checked.is_err() {
            self.limbs.truncate(before);
        }
        checked
    }

    /// An error naming the record of the first ciphertext from item `first_item` on (each
    /// already below n²) that shares a factor with n; `first_record` is the index of the record
    /// that starts at `first_item`, for the errors. Readers that push piece by piece
    /// ([`push_le_piece`](Self::push_le_piece)) call it once for all they pushed.
    pub(crate) fn check_units_from(
        &self,
        public_key: &PublicKey,
        first_item: usize,
        first_record: usize,
    ) -> Result<()> {
        let width = self.limbs.limbs_per_item();
        let items = &self.limbs.as_flat()[first_item.min(self.limbs.len()) * width..];
        public_key.check_units(items, self.pieces_per_record, first_record)
    }

    /// The flat limbs, one item per ciphertext (n² width), record after record.
    pub fn into_limbs(self) -> LimbBatch {
        self.limbs
    }

    /// Removes every record, keeping the allocation: a reader refills one batch block after
    /// block.
    pub fn clear(&mut self) {
        self.limbs.clear();
    }

    /// Keeps the first `records` records (a reader's undo after an error).
    pub(crate) fn truncate_records(&mut self, records: usize) {
        self.limbs
            .truncate(records.saturating_mul(self.pieces_per_record));
    }

    /// Appends one ciphertext given as little-endian bytes, checked to be below n² and not zero;
    /// `record` names it in errors. Callers push whole records, then check that none shares a
    /// factor with n ([`check_units_from`](Self::check_units_from)).
    pub(crate) fn push_le_piece(
        &mut self,
        public_key: &PublicKey,
        chunk: &[u8],
        record: usize,
    ) -> Result<()> {
        let modulus = public_key.n_squared_modulus();
        let limbs = modulus.len();
        if chunk.iter().skip(limbs * 8).any(|&b| b != 0) {
            return Err(not_below_n_squared(record));
        }
        let item = self.limbs.push_zeroed();
        for (limb, word) in item.iter_mut().zip(chunk.chunks(8)) {
            let mut bytes = [0u8; 8];
            bytes[..word.len()].copy_from_slice(word);
            *limb = u64::from_le_bytes(bytes);
        }
        let zero = item.iter().all(|&l| l == 0);
        let reduced = modulus.is_reduced(item);
        if zero || !reduced {
            self.limbs.pop();
            return Err(if zero {
                Error::InvalidCiphertext {
                    index: record,
                    reason: "ciphertext is zero".into(),
                }
            } else {
                not_below_n_squared(record)
            });
        }
        Ok(())
    }

    /// Products computed mod n² by a backend: below n² and units by construction.
    pub(crate) fn from_products(
        key: KeyFingerprint,
        pieces_per_record: usize,
        limbs: LimbBatch,
    ) -> Self {
        Self {
            key,
            pieces_per_record,
            limbs,
        }
    }

    /// Makes this batch hold `ciphertexts` products computed mod n² by `fill` (into the flat
    /// limbs) under `public_key`, reusing its allocation: below n² and units by construction. On an
    /// error the batch is left empty, never half filled.
    pub(crate) fn refill_products(
        &mut self,
        public_key: &PublicKey,
        pieces_per_record: usize,
        ciphertexts: usize,
        fill: impl FnOnce(&mut [u64]) -> Result<()>,
    ) -> Result<()> {
        self.key = public_key.fingerprint();
        self.pieces_per_record = pieces_per_record;
        if self.limbs.limbs_per_item() != public_key.ciphertext_limbs() {
            self.limbs = LimbBatch::new(public_key.ciphertext_limbs());
        }
        self.limbs.resize(ciphertexts);
        let filled = fill(self.limbs.as_flat_mut());
        if filled.is_err() {
            self.limbs.clear();
        }
        filled
    }

    fn check_whole_records(&self, ciphertexts: usize) -> Result<()> {
        if !ciphertexts.is_multiple_of(self.pieces_per_record) {
            return Err(Error::InvalidCiphertext {
                index: ciphertexts / self.pieces_per_record,
                reason: format!(
                    "{} ciphertext(s) where records hold {}",
                    ciphertexts % self.pieces_per_record,
                    self.pieces_per_record
                ),
            });
        }
        Ok(())
    }

    /// The fingerprint of the key every ciphertext was checked against.
    pub fn key(&self) -> KeyFingerprint {
        self.key
    }

    /// Ciphertexts per record.
    pub fn pieces_per_record(&self) -> usize {
        self.pieces_per_record
    }

    /// Number of records.
    pub fn records(&self) -> usize {
        self.limbs.len() / self.pieces_per_record
    }

    /// True when the batch holds no record.
    pub fn is_empty(&self) -> bool {
        self.limbs.is_empty()
    }

    /// Every ciphertext's limbs, record-major.
    pub fn limbs(&self) -> &LimbBatch {
        &self.limbs
    }

    /// Ciphertext `i` (record `i / pieces_per_record`, piece `i % pieces_per_record`) as a
    /// [`Ciphertext`], for the SDK's boundary.
    pub fn ciphertext(&self, i: usize) -> Ciphertext {
        Ciphertext::from_limbs(self.limbs.item(i))
    }

    /// A copy of records `range` (already checked: nothing is checked again).
    pub fn records_in(&self, range: std::ops::Range<usize>) -> Result<CiphertextBatch> {
        if range.start > range.end || range.end > self.records() {
            return Err(Error::InvalidSelection(format!(
                "records {}..{} of a batch of {}",
                range.start,
                range.end,
                self.records()
            )));
        }
        let width = self.limbs.limbs_per_item() * self.pieces_per_record;
        let flat = self.limbs.as_flat()[range.start * width..range.end * width].to_vec();
        Ok(Self {
            key: self.key,
            pieces_per_record: self.pieces_per_record,
            limbs: LimbBatch::from_flat(self.limbs.limbs_per_item(), flat)?,
        })
    }

    /// Appends `other`'s records: both must hold ciphertexts of the same key and record shape.
    pub fn extend(&mut self, other: &CiphertextBatch) -> Result<()> {
        self.check_compatible(other)?;
        Ok(self.limbs.extend(&other.limbs)?)
    }

    /// An error unless `other` is of this batch's key and record shape.
    pub fn check_compatible(&self, other: &CiphertextBatch) -> Result<()> {
        other
            .key
            .expect(&self.key, "the batch added", "this batch is under")?;
        if other.pieces_per_record != self.pieces_per_record {
            return Err(Error::InvalidCiphertext {
                index: 0,
                reason: format!(
                    "records of {} chunk(s) where {} are expected",
                    other.pieces_per_record, self.pieces_per_record
                ),
            });
        }
        Ok(())
    }
}

fn not_below_n_squared(record: usize) -> Error {
    Error::InvalidCiphertext {
        index: record,
        reason: "ciphertext is not below n^2".into(),
    }
}
